#include "classify/windows.hpp"

#include <algorithm>
#include <cmath>

namespace classify {

WindowStream::WindowStream(Classifier& classifier, double hop_s, const SegmentSink& sink)
    : classifier_(classifier),
      bundle_(classifier.bundle()),
      detector_(classifier.bundle().spectro, classifier.bundle().window.min_voiced_fraction),
      sink_(sink),
      window_(std::size_t(bundle_.spectro.image.frames)),
      hop_(std::max<std::size_t>(1, std::size_t(std::lround(hop_s * bundle_.spectro.sample_rate /
                                                             bundle_.spectro.hop_length)))) {
    scratch_.n_mels = bundle_.spectro.n_mels;
}

void WindowStream::emit(std::size_t first, const spectro::FrameWindow& placement, const spectro::MelMatrix& mel,
                        const WindowVerdict& verdict) {
    const auto& s = bundle_.spectro;
    Segment seg;
    seg.start_s = s.frames_seconds(first);
    seg.end_s = s.frames_seconds(first + placement.count);
    seg.voiced = verdict.speech();
    last_verdict_ = verdict;
    if (seg.voiced) seg.probabilities = classifier_.classify(spectro::render_window(mel, placement, s));
    emitted_ = true;
    last_end_ = first + placement.count;
    sink_(seg);
}

void WindowStream::emit_from_ring(std::size_t first) {
    const std::size_t n_mels = std::size_t(bundle_.spectro.n_mels);
    scratch_.values.resize(window_ * n_mels);
    window_cues_.clear();
    for (std::size_t i = 0; i < window_; ++i) {
        const auto& f = ring_[first - ring_first_ + i];
        std::copy(f.begin(), f.end(), scratch_.values.begin() + long(i * n_mels));
        window_cues_.push_back(ring_cues_[first - ring_first_ + i]);
    }
    spectro::FrameWindow placement;
    placement.count = placement.width = window_;
    emit(first, placement, scratch_, detector_.judge(window_cues_.data(), window_cues_.size()));
}

void WindowStream::push_frame(const float* mel) {
    ring_.emplace_back(mel, mel + bundle_.spectro.n_mels);
    ring_cues_.push_back(detector_.push(mel));
    ++frames_seen_;
    if (frames_seen_ == next_start_ + window_) {
        emit_from_ring(next_start_);
        next_start_ += hop_;
    }
    while (ring_.size() > window_ + hop_) {
        ring_.pop_front();
        ring_cues_.pop_front();
        ++ring_first_;
    }
}

void WindowStream::finish() {
    if (!emitted_ && frames_seen_ > 0) {
        // Shorter than a window: the whole clip, placed by the clip policy (as spectro-dump does).
        spectro::MelMatrix clip;
        clip.n_mels = bundle_.spectro.n_mels;
        for (const auto& frame : ring_) clip.values.insert(clip.values.end(), frame.begin(), frame.end());
        window_cues_.assign(ring_cues_.begin(), ring_cues_.end());
        auto placement = spectro::choose_window(clip, bundle_.spectro.image);
        emit(0, placement, clip, detector_.judge(window_cues_.data(), window_cues_.size()));
    } else if (emitted_ && last_end_ < frames_seen_) {
        emit_from_ring(frames_seen_ - window_);  // the tail, aligned to the end
    }
    ring_.clear();
    ring_cues_.clear();
    detector_.reset();
    ring_first_ = frames_seen_ = next_start_ = last_end_ = 0;
    emitted_ = false;
}

}  // namespace classify
