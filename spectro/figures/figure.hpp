#pragma once
// Figures for people, drawn with cairo (text, axes, anti-aliasing): the inspection figure of a
// spectrogram (time axis in seconds, frequency axis in Hz, dB colorbar, title), optionally with a
// probability bar chart and a timeline of per-window results, and a confusion-matrix figure.
// The one place in the project that draws for people. The drawing is a module loaded on the first
// figure (figures_module.hpp), so a process that draws nothing never loads cairo.
#include <string>
#include <vector>

#include "spectro/mel_spectrogram.hpp"
#include "spectro/settings.hpp"

namespace figures {

struct TimelineSegment {
    double start_s = 0, end_s = 0;
    std::string label;        // "" = skipped (no speech)
    double confidence = 0;
};

struct InspectionFigure {
    std::string title;                     // usually the file name
    std::string subtitle;                  // duration and settings, one line
    const spectro::MelMatrix* mel = nullptr;        // the whole clip (frame-major mel values)
    spectro::SpectroSettings settings;              // how `mel` was computed
    // Optional: class probabilities drawn as a horizontal bar chart beside the spectrogram.
    std::vector<std::string> labels;
    std::vector<double> probabilities;
    // Optional: per-window results drawn as a strip under the spectrogram, aligned in time.
    std::vector<TimelineSegment> timeline;
};

// PNG for screens and the web; SVG and PDF (cairo's vector surfaces, the spectrogram embedded as
// an image) for papers and slides, where text and lines must stay sharp at any size.
enum class FigureFormat { Png, Svg, Pdf };
// The format a figure's file name asks for: .png, .svg or .pdf (any case). Anything else throws
// emoclass::Error(path, reason), so a figure is never written in a format its name does not say.
FigureFormat figure_format_for(const std::string& path);

// Renders to PNG at `path` (written atomically). Throws emoclass::Error(path, reason).
void write_inspection_figure(const std::string& path, const InspectionFigure& figure);
// The figure in memory (for the HTTP server and `emoclass --explain`); `name` is the subject of
// any emoclass::Error.
std::vector<unsigned char> render_inspection_figure(const InspectionFigure& figure, const std::string& name,
                                                    FigureFormat format = FigureFormat::Png);

// counts[true][predicted]; rows are true labels. Cells show counts and row-normalised shading.
void write_confusion_figure(const std::string& path, const std::vector<std::string>& labels,
                            const std::vector<std::vector<long>>& counts, const std::string& title);

std::string cairo_version();

}  // namespace figures
