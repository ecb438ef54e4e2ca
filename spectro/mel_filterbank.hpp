#pragma once
// MelFilterbank: librosa.filters.mel (0.10) as sparse rows: each mel band keeps the first FFT bin
// with a non-zero weight and its run of weights, so applying it costs ~2 weights per FFT bin
// instead of n_mels of them.
#include <vector>

#include "spectro/settings.hpp"

namespace spectro {

double hz_to_mel(double hz, MelScale scale);
double mel_to_hz(double mel, MelScale scale);

class MelFilterbank {
public:
    explicit MelFilterbank(const SpectroSettings& settings);
    int n_mels() const { return int(rows_.size()); }
    int n_bins() const { return n_bins_; }
    // out[m] = sum_k weight[m][k] * spectrum[k]
    void apply(const float* spectrum, float* out) const;
    // Dense [n_mels][n_bins] copy, for tests and figures.
    std::vector<float> dense() const;

private:
    struct Row {
        int first_bin = 0;
        std::vector<float> weights;
    };
    std::vector<Row> rows_;
    int n_bins_;
};

}  // namespace spectro
