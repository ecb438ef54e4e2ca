#pragma once
// Long audio, window by window, streaming: mel frames go in, one classified window comes out as
// soon as its last frame has arrived (files, HTTP bodies and live streams share this path).
//  - windows of the bundle's image.frames frames, every hop_s seconds, plus one final window
//    aligned to the end so the tail is covered;
//  - a clip no longer than one window is one window fitted by the bundle's clip policy, which
//    makes its image byte-identical to the one spectro-dump writes for training;
//  - a window that does not hold speech (SpeechDetector: silence, noise, clicks, tones, music) is
//    reported with voiced = false and not classified.
#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "classify/speech_detector.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace classify {

class WindowStream {
public:
    using SegmentSink = std::function<void(const Segment&)>;

    WindowStream(Classifier& classifier, double hop_s, const SegmentSink& sink);
    void push_frame(const float* mel);
    void finish();  // classifies what remains; the stream can then be reused
    std::size_t frames_seen() const { return frames_seen_; }
    // The detector's verdict on the window last given to the sink (valid inside the sink).
    const WindowVerdict& last_verdict() const { return last_verdict_; }

private:
    void emit(std::size_t first, const spectro::FrameWindow& placement, const spectro::MelMatrix& mel,
              const WindowVerdict& verdict);
    void emit_from_ring(std::size_t first);

    Classifier& classifier_;
    const ModelBundle& bundle_;
    SpeechDetector detector_;
    SegmentSink sink_;
    std::size_t window_, hop_;
    std::deque<std::vector<float>> ring_;  // the last window_ + hop_ frames
    std::deque<FrameCues> ring_cues_;
    std::vector<FrameCues> window_cues_;
    std::size_t ring_first_ = 0;   // absolute index of ring_.front()
    std::size_t frames_seen_ = 0;
    std::size_t next_start_ = 0;
    bool emitted_ = false;
    std::size_t last_end_ = 0;
    spectro::MelMatrix scratch_;
    WindowVerdict last_verdict_;
};

}  // namespace classify
