#pragma once
// Analyzer: one input -> one Result, the whole path (decode, resample, mel, windows, model,
// aggregate). One per worker: it owns its Classifier. Inputs may be audio files, audio bytes
// (HTTP bodies) or spectrogram PNGs (spectro-dump's output; classified as one window).
#include <string>

#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "spectro/image.hpp"
#include "spectro/settings.hpp"

namespace classify {

struct AnalyzeOptions {
    double hop_s = 0;  // <= 0: the bundle's window.hop_s
};

class Analyzer {
public:
    Analyzer(const ModelBundle& bundle, AnalyzeOptions options = {});
    // Throws emoclass::Error(name, reason) for undecodable input.
    Result analyze_file(const std::string& path);
    Result analyze_bytes(const void* data, std::size_t size, const std::string& name);
    Result analyze_png(const std::string& path);
    Classifier& classifier() { return classifier_; }

private:
    Result run(class spectro::AudioReader& reader);
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
