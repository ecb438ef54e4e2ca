#include "spectro/tools/tool_support.hpp"

#include "spectro/audio_reader.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/png_io.hpp"
#include "spectro/resampler.hpp"
#include "spectro/stft.hpp"

namespace tools {

std::string library_versions() {
    return "  " + spectro::sndfile_version() + " (reads: " + spectro::sndfile_formats() + ")\n  " +
           spectro::samplerate_version() + "\n  " + spectro::soxr_version() + "\n  " + spectro::fftw_version() +
           "\n  libpng " + spectro::png_version() + "\n  cairo " + figures::cairo_version() + "\n";
}

}  // namespace tools
