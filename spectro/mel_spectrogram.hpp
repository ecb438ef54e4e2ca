#pragma once
// The spectrogram path before dB: audio -> mono -> resample -> STFT -> mel, streaming.
// MelStream takes PCM pushed in blocks (files, HTTP bodies, live streams all use it) and emits
// one mel frame at a time; MelMatrix collects frames for clips that fit in memory.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "spectro/mel_filterbank.hpp"
#include "spectro/resampler.hpp"
#include "spectro/settings.hpp"
#include "spectro/stft.hpp"

namespace spectro {

class AudioReader;

// Mel values (power or magnitude, per settings.power), frame-major: frame f is
// values[f * n_mels .. (f + 1) * n_mels). Mel band 0 is the lowest frequency.
struct MelMatrix {
    int n_mels = 0;
    std::vector<float> values;
    std::size_t frames() const { return n_mels > 0 ? values.size() / size_t(n_mels) : 0; }
    const float* frame(std::size_t f) const { return values.data() + f * size_t(n_mels); }
};

struct AudioInfo {
    std::string format;
    int source_rate = 0;
    int channels = 0;
    std::int64_t source_frames = 0;
    std::size_t samples = 0;  // after resampling to settings.sample_rate
    double duration_s = 0;    // source_frames / source_rate
};

class MelStream {
public:
    using FrameSink = std::function<void(const float* mel)>;  // n_mels values

    MelStream(const SpectroSettings& settings, int input_rate);
    void push(const float* mono, std::size_t n, const FrameSink& sink);
    void finish(const FrameSink& sink);
    std::size_t samples_out() const { return samples_out_; }
    const SpectroSettings& settings() const { return settings_; }

private:
    void analyse(const float* samples, std::size_t n, const FrameSink& sink);
    Stft::SpectrumSink to_mel(const FrameSink& sink);
    SpectroSettings settings_;
    Resampler resampler_;
    Stft stft_;
    MelFilterbank filterbank_;
    std::vector<float> resampled_;
    std::vector<float> mel_;
    std::size_t samples_out_ = 0;
};

// Decodes all of `reader` through a MelStream. Throws emoclass::Error naming the reader's file.
AudioInfo stream_audio(AudioReader& reader, const SpectroSettings& settings, const MelStream::FrameSink& sink);

// Whole clip into memory (mel frames only; the audio itself is streamed).
MelMatrix mel_from_reader(AudioReader& reader, const SpectroSettings& settings, AudioInfo* info = nullptr);
MelMatrix mel_from_file(const std::string& path, const SpectroSettings& settings, AudioInfo* info = nullptr);
MelMatrix mel_from_samples(const float* mono, std::size_t n, int rate, const SpectroSettings& settings);

// librosa's layout: [n_mels][frames] dB (ref = max over the whole matrix, top_db clipped).
std::vector<float> db_matrix_mel_major(const MelMatrix& mel, const SpectroSettings& settings);

}  // namespace spectro
