#pragma once
// Resampler: streaming sample-rate conversion with libsamplerate (mono). When the input rate
// equals the output rate it passes samples through untouched, so 16 kHz input is bit-exact.
#include <cstddef>
#include <vector>

#include "spectro/settings.hpp"

struct SRC_STATE_tag;

namespace spectro {

class Resampler {
public:
    Resampler(int input_rate, int output_rate, ResampleQuality quality);
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    // Appends the converted samples of `in` to `out`. `last` flushes the converter's delay line.
    // In total exactly ceil(n_in * out_rate / in_rate) samples come out, as librosa.resample
    // gives, so frame counts agree with librosa on resampled input too.
    void process(const float* in, std::size_t n, bool last, std::vector<float>& out);
    bool passthrough() const { return state_ == nullptr; }

private:
    SRC_STATE_tag* state_ = nullptr;
    double ratio_ = 1.0;
    long long in_rate_ = 0, out_rate_ = 0;
    unsigned long long consumed_ = 0, produced_ = 0;
    std::vector<float> scratch_;
    std::vector<float> held_;  // the newest output samples, kept back until the length is known
};

std::string samplerate_version();

}  // namespace spectro
