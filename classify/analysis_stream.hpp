#pragma once
// AnalysisStream: mono PCM at any sample rate in, classified windows out, each as soon as its last
// frame has arrived. The one chain behind every input: files and HTTP bodies (through Analyzer),
// live streams (`emoclass listen`) and the Python package all push their samples here.
//   PCM -> MelStream (resample, STFT, mel) -> WindowStream (windows, speech detector, model)
//   -> segment, its end clamped to the audio received so far (a window never ends after the
//      audio: the last one is aligned to the end of the stream)
#include <cstddef>
#include <string>
#include <vector>

#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "classify/windows.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace classify {

class AnalysisStream {
public:
    // `name` is the subject of every error (a file path, "standard input", "<request body>").
    // hop_s <= 0: the bundle's window.hop_s.
    AnalysisStream(Classifier& classifier, double hop_s, int input_rate, std::string name,
                   WindowStream::SegmentSink sink);
    AnalysisStream(const AnalysisStream&) = delete;  // its stages call back into it
    AnalysisStream& operator=(const AnalysisStream&) = delete;
    // Throws emoclass::Error(name, reason) for NaN or infinite samples (as the file decoders do)
    // and for samples whose power spectrum overflows.
    void push(const float* mono, std::size_t n);
    // `frames` frames of `channels` channels, downmixed by their mean as the decoders downmix
    // (spectro/downmix.hpp), then pushed: frame i's channel c is samples[i * frame_step +
    // c * channel_step] (interleaved PCM: channels, 1; an array channel by channel: 1, its length).
    void push_channels(const float* samples, std::size_t channels, std::size_t frames, std::size_t frame_step,
                       std::size_t channel_step);
    // Also appends every mel frame to *into as the stream computes it (the whole recording's
    // spectrogram, for the inspection figure), so that nothing decodes the audio a second time.
    // Call before the first push; *into must outlive the stream's pushes.
    void keep_mel(spectro::MelMatrix* into);
    // Flushes the resampler and the STFT and classifies the tail. False when the stream gave no
    // mel frame at all (empty, or shorter than one frame with center off): nothing was emitted.
    bool finish();
    std::size_t samples_in() const { return samples_in_; }
    double duration_s() const { return double(samples_in_) / input_rate_; }
    int input_rate() const { return input_rate_; }

private:
    template <class F> void naming_errors(F&& f);
    int input_rate_;
    std::string name_;
    WindowStream::SegmentSink sink_;
    WindowStream windows_;
    spectro::MelStream mel_;
    spectro::MelStream::FrameSink to_windows_;
    spectro::MelMatrix* kept_mel_ = nullptr;
    std::vector<float> mono_;  // push_channels' downmix
    std::size_t samples_in_ = 0;
};

}  // namespace classify
