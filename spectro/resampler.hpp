#pragma once
// Resampler: streaming sample-rate conversion (mono). Two engines:
//  - libsoxr configured as python-soxr's quality 'soxr_hq' (SOXR_HQ, flags 0 = linear phase,
//    float32 in and out, one thread), which is what librosa 0.10's load(sr=...) calls, so
//    resampled input gives librosa's samples;
//  - libsamplerate (sinc_best / sinc_medium / sinc_fastest / linear), kept so that bundles
//    trained with it give the results they always gave.
// When the input rate equals the output rate it passes samples through untouched, so 16 kHz
// input is bit-exact. Memory is bounded: each call converts one block.
#include <cstddef>
#include <string>
#include <vector>

#include "spectro/settings.hpp"

struct SRC_STATE_tag;
struct soxr;

namespace spectro {

class Resampler {
public:
    Resampler(int input_rate, int output_rate, ResampleQuality quality);
    ~Resampler();
    Resampler(const Resampler&) = delete;
    Resampler& operator=(const Resampler&) = delete;

    // Appends the converted samples of `in` to `out`. `last` flushes the converter's delay line.
    // In total exactly ceil(n_in * out_rate / in_rate) samples come out (zero-padded or trimmed
    // at the end), as librosa.resample's fix_length gives, so frame counts agree with librosa.
    void process(const float* in, std::size_t n, bool last, std::vector<float>& out);
    bool passthrough() const { return samplerate_ == nullptr && soxr_ == nullptr; }

private:
    void convert_samplerate(const float* in, std::size_t n, bool last);
    void convert_soxr(const float* in, std::size_t n, bool last);

    SRC_STATE_tag* samplerate_ = nullptr;
    soxr* soxr_ = nullptr;
    double ratio_ = 1.0;
    long long in_rate_ = 0, out_rate_ = 0;
    unsigned long long consumed_ = 0, produced_ = 0;
    std::vector<float> scratch_;
    std::vector<float> held_;  // the newest output samples, kept back until the length is known
};

std::string samplerate_version();
std::string soxr_version();

}  // namespace spectro
