#pragma once
// The inspection figure of one analysed recording, for people: its whole spectrogram, the
// probabilities and, for more than one window, the timeline of windows. `emoclass --explain` and
// the server's POST /v1/explain draw it with this one function (spectro/figures/figure.cpp draws).
#include <string>
#include <vector>

#include "classify/bundle.hpp"
#include "classify/result.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace classify {

// `name` is the recording's name in the title; `mel` the whole clip under bundle.spectro.
// Throws emoclass::Error(name, reason).
std::vector<unsigned char> explain_figure(const ModelBundle& bundle, const Result& result, const spectro::MelMatrix& mel,
                                          double duration_s, const std::string& name, figures::FigureFormat format);
inline std::vector<unsigned char> explain_png(const ModelBundle& bundle, const Result& result,
                                              const spectro::MelMatrix& mel, double duration_s, const std::string& name) {
    return explain_figure(bundle, result, mel, duration_s, name, figures::FigureFormat::Png);
}

}  // namespace classify
