#include "spectro/mel_filterbank.hpp"

#include <algorithm>
#include <cmath>

namespace spectro {

// librosa.core.convert.hz_to_mel / mel_to_hz: Slaney's Auditory Toolbox scale (linear below
// 1 kHz, logarithmic above) or HTK's 2595 * log10(1 + f / 700).
namespace {
constexpr double kFSp = 200.0 / 3.0;
constexpr double kMinLogHz = 1000.0;
constexpr double kMinLogMel = kMinLogHz / kFSp;
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel(double hz, MelScale scale) {
    if (scale == MelScale::Htk) return 2595.0 * std::log10(1.0 + hz / 700.0);
    if (hz >= kMinLogHz) return kMinLogMel + std::log(hz / kMinLogHz) / kLogStep;
    return hz / kFSp;
}

double mel_to_hz(double mel, MelScale scale) {
    if (scale == MelScale::Htk) return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
    if (mel >= kMinLogMel) return kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel));
    return kFSp * mel;
}

MelFilterbank::MelFilterbank(const SpectroSettings& s) : n_bins_(s.n_fft / 2 + 1) {
    s.validate();
    const int n_mels = s.n_mels;
    // mel_frequencies(n_mels + 2, fmin, fmax): equally spaced on the mel scale.
    const double mel_lo = hz_to_mel(s.fmin, s.mel_scale);
    const double mel_hi = hz_to_mel(s.resolved_fmax(), s.mel_scale);
    std::vector<double> mel_f(size_t(n_mels) + 2);
    for (int i = 0; i < n_mels + 2; ++i) {
        // np.linspace: start + i * step, with the last point exactly `stop`.
        double m = (i == n_mels + 1) ? mel_hi : mel_lo + i * ((mel_hi - mel_lo) / (n_mels + 1));
        mel_f[size_t(i)] = mel_to_hz(m, s.mel_scale);
    }
    rows_.resize(size_t(n_mels));
    for (int m = 0; m < n_mels; ++m) {
        const double f_lo = mel_f[size_t(m)], f_c = mel_f[size_t(m) + 1], f_hi = mel_f[size_t(m) + 2];
        const double fdiff_lo = f_c - f_lo, fdiff_hi = f_hi - f_c;
        // Slaney area normalisation: 2 / (f_hi - f_lo), so each band has unit area.
        const double enorm = s.mel_norm == MelNorm::Slaney ? 2.0 / (f_hi - f_lo) : 1.0;
        Row& row = rows_[size_t(m)];
        row.first_bin = -1;
        // Only bins strictly between f_lo and f_hi can weigh more than 0 (outside, one ramp is
        // <= 0), so the loop visits that span, widened by a bin on each side against rounding;
        // the weights it computes are the same expressions as over all bins. Visiting every
        // bin for every band made building the filterbank a fifth of a 3 s clip's spectrogram.
        const double bins_per_hz = double(s.n_fft) / s.sample_rate;
        const int k_begin = std::max(0, int(std::floor(f_lo * bins_per_hz)) - 1);
        const int k_end = std::min(n_bins_, int(std::ceil(f_hi * bins_per_hz)) + 2);
        row.weights.reserve(size_t(std::max(0, k_end - k_begin)));
        for (int k = k_begin; k < k_end; ++k) {
            const double f = double(k) * s.sample_rate / s.n_fft;  // np.fft.rfftfreq
            const double lower = -(f_lo - f) / fdiff_lo;           // -ramps[i] / fdiff[i]
            const double upper = (f_hi - f) / fdiff_hi;            // ramps[i+2] / fdiff[i+1]
            // librosa stores the weights as float32 before normalising in float32.
            const float w = float(std::max(0.0, std::min(lower, upper)));
            const float weight = float(double(w) * enorm);
            if (weight > 0.0f) {
                if (row.first_bin < 0) row.first_bin = k;
                row.weights.resize(size_t(k - row.first_bin + 1), 0.0f);
                row.weights.back() = weight;
            }
        }
        if (row.first_bin < 0) row.first_bin = 0;  // an empty band (librosa warns): all zeros
    }
}

void MelFilterbank::apply(const float* spectrum, float* out) const {
    for (size_t m = 0; m < rows_.size(); ++m) {
        const Row& row = rows_[m];
        const float* s = spectrum + row.first_bin;
        float acc = 0.0f;
        for (size_t i = 0; i < row.weights.size(); ++i) acc += row.weights[i] * s[i];
        out[m] = acc;
    }
}

std::vector<float> MelFilterbank::dense() const {
    std::vector<float> out(rows_.size() * size_t(n_bins_), 0.0f);
    for (size_t m = 0; m < rows_.size(); ++m)
        for (size_t i = 0; i < rows_[m].weights.size(); ++i)
            out[m * size_t(n_bins_) + size_t(rows_[m].first_bin) + i] = rows_[m].weights[i];
    return out;
}

}  // namespace spectro
