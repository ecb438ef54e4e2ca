#pragma once
// What both command-line tools (spectro-dump, emoclass) print the same way. Tool code only: the
// libraries never print.
#include <string>

namespace tools {

// The audio and image libraries a tool was built with, one indented line each, as `--version`
// lists them after the tool's own line (libsndfile and the formats it reads, libsamplerate,
// libsoxr, FFTW, libpng, cairo).
std::string library_versions();

}  // namespace tools
