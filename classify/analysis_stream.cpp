#include "classify/analysis_stream.hpp"

#include <algorithm>
#include <cmath>

#include "spectro/downmix.hpp"
#include "spectro/error.hpp"

namespace classify {

AnalysisStream::AnalysisStream(Classifier& classifier, double hop_s, int input_rate, std::string name,
                               WindowStream::SegmentSink sink)
    : input_rate_(input_rate),
      name_(std::move(name)),
      sink_(std::move(sink)),
      windows_(classifier, hop_s > 0 ? hop_s : classifier.bundle().window.hop_s,
               [this](const Segment& s) {
                   Segment clamped = s;
                   clamped.end_s = std::min(clamped.end_s, duration_s());
                   sink_(clamped);
               }),
      mel_(classifier.bundle().spectro, input_rate),
      to_windows_([this](const float* frame) {
          if (kept_mel_) kept_mel_->values.insert(kept_mel_->values.end(), frame, frame + kept_mel_->n_mels);
          windows_.push_frame(frame);
      }) {}

void AnalysisStream::keep_mel(spectro::MelMatrix* into) {
    kept_mel_ = into;
    if (!into) return;
    into->n_mels = mel_.settings().n_mels;
    into->values.clear();
}

// Errors from the resampler, the STFT or the model name this stream's input, as the decoders do.
template <class F> void AnalysisStream::naming_errors(F&& f) {
    try {
        f();
    } catch (const emoclass::Error& e) {
        if (e.subject() == name_) throw;
        throw emoclass::Error(name_, e.reason());
    }
}

void AnalysisStream::push(const float* mono, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(mono[i]))
            throw emoclass::Error(name_, "holds NaN or infinite samples (frame " + std::to_string(samples_in_ + i) + ")");
    samples_in_ += n;
    naming_errors([&] { mel_.push(mono, n, to_windows_); });
}

void AnalysisStream::push_channels(const float* samples, std::size_t channels, std::size_t frames,
                                   std::size_t frame_step, std::size_t channel_step) {
    if (channels == 0) throw emoclass::Error(name_, "no audio channels");
    if (channels == 1 && frame_step == 1) return push(samples, frames);
    mono_.resize(frames);
    spectro::downmix_mean(samples, channels, frames, frame_step, channel_step, mono_.data());
    push(mono_.data(), frames);
}

bool AnalysisStream::finish() {
    bool any = false;
    naming_errors([&] {
        mel_.finish(to_windows_);
        any = windows_.frames_seen() > 0;
        windows_.finish();
    });
    return any;
}

}  // namespace classify
