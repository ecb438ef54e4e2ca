#include "classify/windows.hpp"

#include "spectro/db.hpp"

#include <algorithm>
#include <cmath>

namespace classify {

VoiceActivity::VoiceActivity(const spectro::SpectroSettings& settings, double floor_dbfs)
    : settings_(settings), floor_dbfs_(floor_dbfs) {
    // Reference level: a full-scale 1 kHz sine through the same STFT + mel (its middle frame).
    const int n = settings.n_fft * 4;
    std::vector<float> sine(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) sine[size_t(i)] = float(std::sin(2.0 * M_PI * 1000.0 * i / settings.sample_rate));
    spectro::SpectroSettings s = settings;
    s.center = false;
    auto mel = spectro::mel_from_samples(sine.data(), sine.size(), settings.sample_rate, s);
    reference_db_ = mel.frames() ? level_dbfs(mel.frame(mel.frames() / 2)) : 0.0;
}

double VoiceActivity::level_dbfs(const float* mel) const {
    double energy = 0;
    for (int m = 0; m < settings_.n_mels; ++m) energy += spectro::as_power(mel[m], settings_.power);
    return 10.0 * std::log10(energy + 1e-30) - reference_db_;
}

WindowStream::WindowStream(Classifier& classifier, double hop_s, const SegmentSink& sink)
    : classifier_(classifier),
      bundle_(classifier.bundle()),
      vad_(classifier.bundle().spectro),
      sink_(sink),
      window_(std::size_t(bundle_.spectro.image.frames)),
      hop_(std::max<std::size_t>(1, std::size_t(std::lround(hop_s * bundle_.spectro.sample_rate /
                                                             bundle_.spectro.hop_length)))) {
    scratch_.n_mels = bundle_.spectro.n_mels;
}

void WindowStream::emit(std::size_t first, const spectro::FrameWindow& placement, const spectro::MelMatrix& mel,
                        double voiced_fraction) {
    const auto& s = bundle_.spectro;
    Segment seg;
    seg.start_s = double(first) * s.hop_length / s.sample_rate;
    seg.end_s = double(first + placement.count) * s.hop_length / s.sample_rate;
    seg.voiced = voiced_fraction >= bundle_.window.min_voiced_fraction && voiced_fraction > 0;
    if (seg.voiced) seg.probabilities = classifier_.classify(spectro::render_window(mel, placement, s));
    emitted_ = true;
    last_end_ = first + placement.count;
    sink_(seg);
}

void WindowStream::emit_from_ring(std::size_t first) {
    const std::size_t n_mels = std::size_t(bundle_.spectro.n_mels);
    scratch_.values.resize(window_ * n_mels);
    std::size_t voiced = 0;
    for (std::size_t i = 0; i < window_; ++i) {
        const auto& f = ring_[first - ring_first_ + i];
        std::copy(f.begin(), f.end(), scratch_.values.begin() + long(i * n_mels));
        voiced += std::size_t(ring_voiced_[first - ring_first_ + i]);
    }
    spectro::FrameWindow placement;
    placement.count = placement.width = window_;
    emit(first, placement, scratch_, double(voiced) / double(window_));
}

void WindowStream::push_frame(const float* mel) {
    ring_.emplace_back(mel, mel + bundle_.spectro.n_mels);
    ring_voiced_.push_back(vad_.voiced(mel) ? 1 : 0);
    ++frames_seen_;
    if (frames_seen_ == next_start_ + window_) {
        emit_from_ring(next_start_);
        next_start_ += hop_;
    }
    while (ring_.size() > window_ + hop_) {
        ring_.pop_front();
        ring_voiced_.pop_front();
        ++ring_first_;
    }
}

void WindowStream::finish() {
    if (!emitted_ && frames_seen_ > 0) {
        // Shorter than a window: the whole clip, placed by the clip policy (as spectro-dump does).
        spectro::MelMatrix clip;
        clip.n_mels = bundle_.spectro.n_mels;
        std::size_t voiced = 0;
        for (std::size_t i = 0; i < ring_.size(); ++i) {
            clip.values.insert(clip.values.end(), ring_[i].begin(), ring_[i].end());
            voiced += std::size_t(ring_voiced_[i]);
        }
        auto placement = spectro::choose_window(clip, bundle_.spectro.image);
        emit(0, placement, clip, double(voiced) / double(ring_.size()));
    } else if (emitted_ && last_end_ < frames_seen_) {
        emit_from_ring(frames_seen_ - window_);  // the tail, aligned to the end
    }
    ring_.clear();
    ring_voiced_.clear();
    ring_first_ = frames_seen_ = next_start_ = last_end_ = 0;
    emitted_ = false;
}

}  // namespace classify
