#include "spectro/db.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace spectro {

namespace {

// librosa.power_to_db's arithmetic on any value type; `as_power_of` gives a value's power.
// ref < 0 means the maximum power (ref=np.max); top_db < 0 means no clipping (top_db=None).
template <class T, class AsPower>
double to_db(T* values, std::size_t n, AsPower as_power_of, double ref, double amin, double top_db) {
    double max_power = 0.0;
    if (ref < 0)
        for (std::size_t i = 0; i < n; ++i) max_power = std::max(max_power, double(as_power_of(values[i])));
    const double ref_db = 10.0 * std::log10(std::max(amin, ref < 0 ? max_power : ref));
    double top = -1e300;
    for (std::size_t i = 0; i < n; ++i) {
        double db = 10.0 * std::log10(std::max(amin, double(as_power_of(values[i])))) - ref_db;
        values[i] = T(db);
        top = std::max(top, db);
    }
    if (top_db >= 0) {
        const T floor_db = T(top - top_db);
        for (std::size_t i = 0; i < n; ++i) values[i] = std::max(values[i], floor_db);
    }
    return max_power;
}

}  // namespace

float to_db_ref_max(float* values, std::size_t n, double power, double top_db) {
    constexpr double kAminPower = 1e-10;  // power_to_db's amin; amplitude_to_db's 1e-5 squared
    return float(to_db(values, n, [power](float v) { return as_power(v, power); }, -1.0, kAminPower, top_db));
}

void power_to_db(float* values, std::size_t n, double ref, double amin, double top_db) {
    // In float, as librosa computes for float32 input: log10f is several times cheaper than
    // log10, and the rounding (~1e-6 dB) is far below what the spectrogram's own floats carry.
    float max_power = 0.0f;
    if (ref < 0)
        for (std::size_t i = 0; i < n; ++i) max_power = std::max(max_power, values[i]);
    const float amin_f = float(amin);
    const float ref_db = 10.0f * std::log10(std::max(amin_f, ref < 0 ? max_power : float(ref)));
    float top = -std::numeric_limits<float>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
        values[i] = 10.0f * std::log10(std::max(amin_f, values[i])) - ref_db;
        top = std::max(top, values[i]);
    }
    if (top_db >= 0) {
        const float floor_db = float(double(top) - top_db);
        for (std::size_t i = 0; i < n; ++i) values[i] = std::max(values[i], floor_db);
    }
}

void power_to_db(double* values, std::size_t n, double ref, double amin, double top_db) {
    to_db(values, n, [](double v) { return v; }, ref, amin, top_db);
}

}  // namespace spectro
