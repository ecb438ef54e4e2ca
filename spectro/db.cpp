#include "spectro/db.hpp"

#include <algorithm>
#include <cmath>

namespace spectro {

float to_db_ref_max(float* values, std::size_t n, double power, double top_db) {
    constexpr double kAminPower = 1e-10;  // power_to_db's amin; amplitude_to_db's 1e-5 squared
    double ref = 0.0;
    for (std::size_t i = 0; i < n; ++i) ref = std::max(ref, as_power(values[i], power));
    const double ref_db = 10.0 * std::log10(std::max(kAminPower, ref));
    double top = -1e300;
    for (std::size_t i = 0; i < n; ++i) {
        double db = 10.0 * std::log10(std::max(kAminPower, as_power(values[i], power))) - ref_db;
        values[i] = float(db);
        top = std::max(top, db);
    }
    const float floor_db = float(top - top_db);
    for (std::size_t i = 0; i < n; ++i) values[i] = std::max(values[i], floor_db);
    return float(ref);
}

}  // namespace spectro
