#include "spectro/resampler.hpp"

#include <samplerate.h>
#include <soxr.h>

#include <cmath>

#include "spectro/error.hpp"

namespace spectro {
namespace {
int converter_type(ResampleQuality q) {
    switch (q) {
        case ResampleQuality::SincBest: return SRC_SINC_BEST_QUALITY;
        case ResampleQuality::SincMedium: return SRC_SINC_MEDIUM_QUALITY;
        case ResampleQuality::SincFastest: return SRC_SINC_FASTEST;
        case ResampleQuality::Linear: return SRC_LINEAR;
        case ResampleQuality::SoxrHq: break;
    }
    return SRC_SINC_MEDIUM_QUALITY;
}
}  // namespace

Resampler::Resampler(int input_rate, int output_rate, ResampleQuality quality) {
    if (input_rate <= 0 || output_rate <= 0) throw emoclass::Error("resampler", "sample rates must be positive");
    if (input_rate == output_rate) return;
    ratio_ = double(output_rate) / double(input_rate);
    in_rate_ = input_rate;
    out_rate_ = output_rate;
    if (quality == ResampleQuality::SoxrHq) {
        // Exactly what python-soxr 0.5 does for soxr.resample(x, in, out, quality='soxr_hq'):
        // soxr_io_spec(FLOAT32_I, FLOAT32_I), soxr_quality_spec(SOXR_HQ, 0), default runtime
        // (one thread). Its output does not depend on how the input is cut into blocks.
        const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        const soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
        soxr_error_t err = nullptr;
        soxr_ = soxr_create(double(input_rate), double(output_rate), 1, &err, &io, &q, &runtime);
        if (err || !soxr_)
            throw emoclass::Error("resampler", "cannot convert " + std::to_string(input_rate) + " Hz to " +
                                         std::to_string(output_rate) + " Hz (" + (err ? err : "soxr") + ")");
        return;
    }
    if (!src_is_valid_ratio(ratio_))
        throw emoclass::Error("resampler", "cannot convert " + std::to_string(input_rate) + " Hz to " +
                                     std::to_string(output_rate) + " Hz");
    int err = 0;
    samplerate_ = src_new(converter_type(quality), 1, &err);
    if (!samplerate_) throw emoclass::Error("resampler", src_strerror(err));
}

Resampler::~Resampler() {
    if (samplerate_) src_delete(samplerate_);
    if (soxr_) soxr_delete(soxr_);
}

void Resampler::convert_samplerate(const float* in, std::size_t n, bool last) {
    // Generous output room: the ratio plus the converter's internal delay being flushed.
    scratch_.resize(size_t(std::ceil(double(n) * ratio_)) + 4096);
    SRC_DATA data{};
    // libsamplerate ignores a NULL input even when flushing; an empty non-NULL buffer works.
    static const float kNothing = 0.0f;
    data.data_in = in ? in : &kNothing;
    data.input_frames = long(n);
    data.src_ratio = ratio_;
    data.end_of_input = last ? 1 : 0;
    for (;;) {
        data.data_out = scratch_.data();
        data.output_frames = long(scratch_.size());
        int err = src_process(samplerate_, &data);
        if (err) throw emoclass::Error("resampler", src_strerror(err));
        held_.insert(held_.end(), scratch_.begin(), scratch_.begin() + data.output_frames_gen);
        data.data_in += data.input_frames_used;
        data.input_frames -= data.input_frames_used;
        // Done when all input is consumed and (if last) the delay line produced nothing more.
        if (data.input_frames == 0 && (!last || data.output_frames_gen == 0)) break;
    }
}

void Resampler::convert_soxr(const float* in, std::size_t n, bool last) {
    std::size_t used = 0;
    while (used < n) {  // soxr may take only part of the input per call when the output is full
        scratch_.resize(size_t(std::ceil(double(n - used) * ratio_)) + 256);
        size_t idone = 0, odone = 0;
        soxr_error_t err = soxr_process(soxr_, in + used, n - used, &idone, scratch_.data(), scratch_.size(), &odone);
        if (err) throw emoclass::Error("resampler", err);
        held_.insert(held_.end(), scratch_.begin(), scratch_.begin() + long(odone));
        used += idone;
        if (idone == 0 && odone == 0) throw emoclass::Error("resampler", "libsoxr made no progress");
    }
    if (!last) return;
    // A NULL input marks the end; repeat until the delay line is drained.
    scratch_.resize(4096);
    for (;;) {
        size_t odone = 0;
        soxr_error_t err = soxr_process(soxr_, nullptr, 0, nullptr, scratch_.data(), scratch_.size(), &odone);
        if (err) throw emoclass::Error("resampler", err);
        if (odone == 0) break;
        held_.insert(held_.end(), scratch_.begin(), scratch_.begin() + long(odone));
    }
}

void Resampler::process(const float* in, std::size_t n, bool last, std::vector<float>& out) {
    if (passthrough()) {
        out.insert(out.end(), in, in + n);
        return;
    }
    consumed_ += n;
    if (soxr_)
        convert_soxr(in, n, last);
    else
        convert_samplerate(in, n, last);
    // The converter's output length differs from the exact length by a few samples either way;
    // keep the newest back until the end, then trim or zero-pad to ceil(n_in * ratio).
    constexpr std::size_t kHold = 64;
    if (last) {
        const unsigned long long expected =
            (consumed_ * (unsigned long long)out_rate_ + (unsigned long long)in_rate_ - 1) / (unsigned long long)in_rate_;
        held_.resize(std::size_t(expected > produced_ ? expected - produced_ : 0), 0.0f);
    }
    const std::size_t release = last ? held_.size() : (held_.size() > kHold ? held_.size() - kHold : 0);
    out.insert(out.end(), held_.begin(), held_.begin() + long(release));
    held_.erase(held_.begin(), held_.begin() + long(release));
    produced_ += release;
}

std::string samplerate_version() { return src_get_version(); }
std::string soxr_version() { return std::string("libsoxr-") + ::soxr_version(); }

}  // namespace spectro
