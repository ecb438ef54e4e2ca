#pragma once
// Long audio, window by window, streaming: mel frames go in, one classified window comes out as
// soon as its last frame has arrived (files, HTTP bodies and live streams share this path).
//  - windows of the bundle's image.frames frames, every hop_s seconds, plus one final window
//    aligned to the end so the tail is covered;
//  - a clip no longer than one window is one window fitted by the bundle's clip policy, which
//    makes its image byte-identical to the one spectro-dump writes for training;
//  - a window whose share of voiced frames is below min_voiced_fraction is skipped.
#include <cstddef>
#include <deque>
#include <functional>
#include <vector>

#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace classify {

// Frame-level voice activity from mel energy: a frame is voiced when its level is above
// `floor_dbfs`, measured against a full-scale 1 kHz sine analysed with the same settings.
class VoiceActivity {
public:
    explicit VoiceActivity(const spectro::SpectroSettings& settings, double floor_dbfs = -55.0);
    double level_dbfs(const float* mel) const;
    bool voiced(const float* mel) const { return level_dbfs(mel) > floor_dbfs_; }

private:
    spectro::SpectroSettings settings_;
    double reference_db_ = 0;
    double floor_dbfs_;
};

class WindowStream {
public:
    using SegmentSink = std::function<void(const Segment&)>;

    WindowStream(Classifier& classifier, double hop_s, const SegmentSink& sink);
    void push_frame(const float* mel);
    void finish();  // classifies what remains; the stream can then be reused
    std::size_t frames_seen() const { return frames_seen_; }

private:
    void emit(std::size_t first, const spectro::FrameWindow& placement, const spectro::MelMatrix& mel, double voiced);
    void emit_from_ring(std::size_t first);

    Classifier& classifier_;
    const ModelBundle& bundle_;
    VoiceActivity vad_;
    SegmentSink sink_;
    std::size_t window_, hop_;
    std::deque<std::vector<float>> ring_;  // the last window_ + hop_ frames
    std::deque<char> ring_voiced_;
    std::size_t ring_first_ = 0;   // absolute index of ring_.front()
    std::size_t frames_seen_ = 0;
    std::size_t next_start_ = 0;
    bool emitted_ = false;
    std::size_t last_end_ = 0;
    spectro::MelMatrix scratch_;
};

}  // namespace classify
