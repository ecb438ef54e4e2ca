#pragma once
// The drawing behind figure.hpp lives in a module (libfigures_cairo.so, built from figure.cpp)
// that figures_loader.cpp loads with dlopen the first time a figure is drawn, as the FFmpeg
// decoder is loaded (spectro/ffmpeg_decoder.hpp): cairo and the ~17 libraries it pulls in
// (fontconfig, freetype, pixman, X11, ...) then cost start-up time only to the processes that draw.
#include <string>
#include <vector>

#include "spectro/figures/figure.hpp"

namespace figures {

// What the module draws; every function throws emoclass::Error(name, reason). The host writes
// the bytes (atomically) and checks nothing the module does not.
struct ModuleEntryPoints {
    std::vector<unsigned char> (*render_inspection)(const InspectionFigure& figure, const std::string& name,
                                                    FigureFormat format);
    // A PNG of counts[true][predicted] under `title`.
    std::vector<unsigned char> (*render_confusion)(const std::string& name, const std::vector<std::string>& labels,
                                                   const std::vector<std::vector<long>>& counts,
                                                   const std::string& title);
    const char* (*cairo_version)();
};

}  // namespace figures

// The module's one exported symbol (C linkage so that dlsym finds it by name).
extern "C" {
using FiguresModuleFn = const figures::ModuleEntryPoints* (*)();
}
