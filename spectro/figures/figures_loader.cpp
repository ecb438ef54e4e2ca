// The figures' API (figure.hpp) over the drawing module (figures_module.hpp), loaded on first use.
// It is looked for as spectro/module_loader.hpp says, $EMOCLASS_FIGURES_MODULE first.
#include <dlfcn.h>

#include <cctype>
#include <mutex>
#include <string>
#include <vector>

#include "spectro/atomic_file.hpp"
#include "spectro/error.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/figures/figures_module.hpp"
#include "spectro/module_loader.hpp"

namespace figures {
namespace {

struct Module {
    const ModuleEntryPoints* entry = nullptr;
    std::string why_not;  // when it could not be loaded
};

const Module& module() {
    static Module m;
    static std::once_flag once;
    std::call_once(once, [] {
        const spectro::ModuleSearch search{"EMOCLASS_FIGURES_MODULE", "libfigures_cairo.so",
                                           reinterpret_cast<const void*>(&figure_format_for),
                                           FIGURES_MODULE_BUILD_PATH, FIGURES_MODULE_INSTALL_PATH,
                                           "the figures module"};
        spectro::load_module(search, [](void* handle) {
            const auto entry = reinterpret_cast<FiguresModuleFn>(dlsym(handle, "emoclass_figures_module"));
            return entry && (m.entry = entry());
        }, m.why_not);
    });
    return m;
}

const ModuleEntryPoints& drawing(const std::string& name) {
    const Module& m = module();
    if (!m.entry) throw emoclass::Error(name, "cannot draw figures: the figures module is not available (" + m.why_not + ")");
    return *m.entry;
}

}  // namespace

FigureFormat figure_format_for(const std::string& path) {
    const auto dot = path.find_last_of("./");
    std::string ext = dot != std::string::npos && path[dot] == '.' ? path.substr(dot + 1) : "";
    for (char& ch : ext) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    if (ext == "png") return FigureFormat::Png;
    if (ext == "svg") return FigureFormat::Svg;
    if (ext == "pdf") return FigureFormat::Pdf;
    throw emoclass::Error(path, "a figure is written as .png, .svg or .pdf; the name says " +
                          (ext.empty() ? std::string("none of them") : "." + ext));
}

std::vector<unsigned char> render_inspection_figure(const InspectionFigure& figure, const std::string& name,
                                                    FigureFormat format) {
    return drawing(name).render_inspection(figure, name, format);
}

// Encoded in memory first, so a failure can never leave a partial file behind, then written
// atomically.
void write_inspection_figure(const std::string& path, const InspectionFigure& figure) {
    spectro::write_file_atomically(path, render_inspection_figure(figure, path));
}

void write_confusion_figure(const std::string& path, const std::vector<std::string>& labels,
                            const std::vector<std::vector<long>>& counts, const std::string& title) {
    spectro::write_file_atomically(path, drawing(path).render_confusion(path, labels, counts, title));
}

std::string cairo_version() {
    const Module& m = module();
    return m.entry ? m.entry->cairo_version() : "figures module not available (" + m.why_not + ")";
}

}  // namespace figures
