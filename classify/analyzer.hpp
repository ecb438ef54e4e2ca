#pragma once
// Analyzer: one input -> one Result, the whole path (decode, resample, mel, windows, model,
// aggregate). One per worker: it owns its Classifier. Inputs may be audio files, audio bytes
// (HTTP bodies), samples in memory (the Python package's arrays) or spectrogram PNGs
// (spectro-dump's output; classified as one window). Audio of every kind goes through one
// AnalysisStream.
#include <functional>
#include <string>

#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/settings.hpp"

namespace classify {

struct AnalyzeOptions {
    double hop_s = 0;  // <= 0: the bundle's window.hop_s
};

class Analyzer {
public:
    Analyzer(const ModelBundle& bundle, AnalyzeOptions options = {});
    // Throws emoclass::Error(name, reason) for undecodable input. `mel`, when given, receives the
    // whole recording's mel frames as the analysis computed them (for the inspection figure:
    // nothing decodes the audio twice); a PNG input leaves it empty.
    Result analyze_file(const std::string& path, spectro::MelMatrix* mel = nullptr);
    Result analyze_bytes(const void* data, std::size_t size, const std::string& name,
                         spectro::MelMatrix* mel = nullptr);
    // `frames` samples of each of `channels` channels, one channel after the other (numpy's
    // C-order (channels, n)), at `rate` Hz: fed to the stream as they are, downmixed as the
    // decoders downmix, so an array gives what the same samples in a file give.
    Result analyze_samples(const float* channel_major, std::size_t channels, std::size_t frames, int rate,
                           const std::string& name, spectro::MelMatrix* mel = nullptr);
    Result analyze_png(const std::string& path);
    Classifier& classifier() { return classifier_; }

private:
    Result run(const std::string& name, int rate, const std::function<void(class AnalysisStream&)>& feed,
               spectro::MelMatrix* mel);
    Result run(class spectro::AudioReader& reader, spectro::MelMatrix* mel);
    Classifier classifier_;
    AnalyzeOptions options_;
};

// Fills emotion, confidence and probabilities from the voiced segments (mean of probabilities).
void aggregate(Result& result);

bool is_png_path(const std::string& path);

// Throws emoclass::Error(name, reason) unless `image` has the geometry spectro-dump gives a
// model-input PNG with the settings `s` (height n_mels, width image.frames, gray or RGB by the
// colormap): an inspection figure or any other picture is refused, not resized into the model.
void check_model_input_png(const spectro::Image& image, const spectro::SpectroSettings& s, const std::string& name);

}  // namespace classify
