#pragma once
// librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db) and, for magnitudes,
// librosa.amplitude_to_db(S, ref=np.max, amin=1e-5, top_db). Both reduce to the same formula on
// the squared magnitude, so one function serves both:
//   dB = 10 log10(max(1e-10, P)) - 10 log10(max(1e-10, max P)),  then clipped at max(dB) - top_db.
#include <cstddef>

namespace spectro {

// Converts `n` values in place. `power` is 1 (values are magnitudes) or 2 (values are powers).
// Returns the maximum of the input as a power (0 when every value is zero).
float to_db_ref_max(float* values, std::size_t n, double power, double top_db);

// librosa.power_to_db(S, ref, amin, top_db) in full, in place, for values that are powers:
// ref < 0 stands for ref=np.max (the maximum of the values), top_db < 0 for top_db=None.
void power_to_db(float* values, std::size_t n, double ref, double amin, double top_db);
void power_to_db(double* values, std::size_t n, double ref, double amin, double top_db);

// Power (or squared magnitude) of one value, as the dB formula sees it.
inline double as_power(float v, double power) { return power == 1.0 ? double(v) * v : double(v); }

}  // namespace spectro
