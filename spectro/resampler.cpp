#include "spectro/resampler.hpp"

#include <samplerate.h>

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
    }
    return SRC_SINC_MEDIUM_QUALITY;
}
}  // namespace

Resampler::Resampler(int input_rate, int output_rate, ResampleQuality quality) {
    if (input_rate <= 0 || output_rate <= 0) throw Error("resampler", "sample rates must be positive");
    if (input_rate == output_rate) return;
    ratio_ = double(output_rate) / double(input_rate);
    in_rate_ = input_rate;
    out_rate_ = output_rate;
    if (!src_is_valid_ratio(ratio_))
        throw Error("resampler", "cannot convert " + std::to_string(input_rate) + " Hz to " +
                                     std::to_string(output_rate) + " Hz");
    int err = 0;
    state_ = src_new(converter_type(quality), 1, &err);
    if (!state_) throw Error("resampler", src_strerror(err));
}

Resampler::~Resampler() {
    if (state_) src_delete(state_);
}

void Resampler::process(const float* in, std::size_t n, bool last, std::vector<float>& out) {
    if (!state_) {
        out.insert(out.end(), in, in + n);
        return;
    }
    consumed_ += n;
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
        int err = src_process(state_, &data);
        if (err) throw Error("resampler", src_strerror(err));
        held_.insert(held_.end(), scratch_.begin(), scratch_.begin() + data.output_frames_gen);
        data.data_in += data.input_frames_used;
        data.input_frames -= data.input_frames_used;
        // Done when all input is consumed and (if last) the delay line produced nothing more.
        if (data.input_frames == 0 && (!last || data.output_frames_gen == 0)) break;
    }
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

}  // namespace spectro
