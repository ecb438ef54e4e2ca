#include "spectro/figures/figure.hpp"
#include "spectro/figures/figures_module.hpp"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "spectro/corpora/emotions.hpp"
#include "spectro/db.hpp"
#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_filterbank.hpp"

namespace figures {
// What the figures take from the feature library.
using spectro::Colormap;
using spectro::MelMatrix;
using spectro::MelScale;
using spectro::SpectroSettings;
using spectro::colormap_rgb;
using spectro::hz_to_mel;
using spectro::to_db_ref_max;
namespace emotion = corpora::emotion;

namespace {

// ---------------------------------------------------------------------------------------------
// Small drawing vocabulary

constexpr const char* kFontFamily = "sans-serif";

struct Rgb {
    double r = 0, g = 0, b = 0;
};

constexpr Rgb hex(std::uint32_t v) {
    return {double((v >> 16) & 0xff) / 255.0, double((v >> 8) & 0xff) / 255.0, double(v & 0xff) / 255.0};
}

const Rgb kInk = hex(0x222222);        // main text and axes
const Rgb kMuted = hex(0x5f6368);      // subtitles, tick labels
const Rgb kFrame = hex(0x444444);      // plot frames and tick marks
const Rgb kEmpty = hex(0xf1f1f1);      // plot area without data
const Rgb kSkipped = hex(0xe4e4e4);    // "no speech" timeline blocks
const Rgb kHatch = hex(0xb5b5b5);

struct Rect {
    double x = 0, y = 0, w = 0, h = 0;
    double right() const { return x + w; }
    double bottom() const { return y + h; }
};

void set_color(cairo_t* cr, const Rgb& c, double alpha = 1.0) {
    if (alpha >= 1.0)
        cairo_set_source_rgb(cr, c.r, c.g, c.b);
    else
        cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

void fill_rect(cairo_t* cr, const Rect& r, const Rgb& c, double alpha = 1.0) {
    set_color(cr, c, alpha);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
}

// A 1-px line frame: on half-pixel coordinates so it stays crisp instead of smearing over two
// pixel rows.
void frame_rect(cairo_t* cr, const Rect& r, const Rgb& c) {
    set_color(cr, c);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, std::floor(r.x) + 0.5, std::floor(r.y) + 0.5, std::round(r.w) - 1.0, std::round(r.h) - 1.0);
    cairo_stroke(cr);
}

void line(cairo_t* cr, double x0, double y0, double x1, double y1, const Rgb& c, double width = 1.0) {
    set_color(cr, c);
    cairo_set_line_width(cr, width);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
}

// Relative luminance, to pick black or white text on a coloured background.
double luminance(const Rgb& c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }
Rgb text_on(const Rgb& background) { return luminance(background) > 0.55 ? kInk : hex(0xffffff); }

// ---------------------------------------------------------------------------------------------
// Text. Cairo's toy API refuses a whole string (and poisons the context) on invalid UTF-8, and
// file names on Linux are arbitrary bytes, so every string is made valid first.

std::string valid_utf8(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        if (len == 1 && (c < 0x20 || c == 0x7f)) ok = false;  // control characters would draw as boxes
        for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok && len >= 2) {
            // Reject overlong forms and surrogates, which cairo also rejects.
            std::uint32_t cp = len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
            for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
            const std::uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
            ok = cp >= min_cp && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
        }
        if (ok) {
            out.append(s, i, len);
            i += len;
        } else {
            out += '?';
            ++i;
        }
    }
    return out;
}

enum class Align { Left, Center, Right };

void set_font(cairo_t* cr, double size, bool bold = false) {
    cairo_select_font_face(cr, kFontFamily, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    return e.x_advance;
}

// Draws `s` with its baseline at y; x is the left edge, centre or right edge per `align`.
void draw_text(cairo_t* cr, double x, double y, const std::string& s, Align align, const Rgb& c) {
    const double w = text_width(cr, s);
    const double left = align == Align::Left ? x : align == Align::Center ? x - w / 2 : x - w;
    set_color(cr, c);
    cairo_move_to(cr, left, y);
    cairo_show_text(cr, s.c_str());
}

// Baseline that centres the font's capitals/digits on `mid_y` (font metrics rather than the
// string's ink, so labels in one row share a baseline whatever their letters).
double baseline_for_middle(cairo_t* cr, double mid_y) {
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    return mid_y + (fe.ascent - fe.descent) / 2.0 * 0.9;
}

// Vertical text reading bottom to top, centred on (x, mid_y); x is the baseline.
void draw_text_up(cairo_t* cr, double x, double mid_y, const std::string& s, const Rgb& c) {
    cairo_save(cr);
    cairo_translate(cr, x, mid_y);
    cairo_rotate(cr, -M_PI / 2);
    draw_text(cr, 0, 0, s, Align::Center, c);
    cairo_restore(cr);
}

// Shortens `s` (at UTF-8 character boundaries) with a trailing ellipsis until it fits `max_w`.
std::string fit_text(cairo_t* cr, const std::string& s, double max_w) {
    if (text_width(cr, s) <= max_w) return s;
    const std::string ellipsis = "\xe2\x80\xa6";
    std::string t = s;
    while (!t.empty()) {
        do t.pop_back();
        while (!t.empty() && (static_cast<unsigned char>(t.back()) & 0xc0) == 0x80);
        if (!t.empty()) t.pop_back();  // drop the lead byte (or the ASCII character) too
        if (text_width(cr, t + ellipsis) <= max_w) return t + ellipsis;
    }
    return text_width(cr, ellipsis) <= max_w ? ellipsis : std::string();
}

// "−20" with a real minus sign, which reads better than a hyphen in axis labels.
std::string signed_label(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v));
    const bool negative = v < 0 && std::strtod(buf, nullptr) != 0.0;
    return negative ? std::string("\xe2\x88\x92") + buf : std::string(buf);
}

// ---------------------------------------------------------------------------------------------
// Surfaces and PNG output

struct CairoDeleter {
    void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
    void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
using SurfacePtr = std::unique_ptr<cairo_surface_t, CairoDeleter>;
using ContextPtr = std::unique_ptr<cairo_t, CairoDeleter>;

struct Canvas {
    FigureFormat format = FigureFormat::Png;
    // The vector surfaces write as they draw, into this (heap-held: the surface keeps its address).
    std::unique_ptr<std::vector<unsigned char>> vector_bytes;
    SurfacePtr surface;
    ContextPtr cr;
};

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
    auto* out = static_cast<std::vector<unsigned char>*>(closure);
    out->insert(out->end(), data, data + length);
    return CAIRO_STATUS_SUCCESS;
}

Canvas make_canvas(const std::string& path, int width, int height, FigureFormat format = FigureFormat::Png) {
    Canvas c;
    c.format = format;
    if (format == FigureFormat::Png) {
        // RGB24: figures are opaque, and the PNG comes out as plain RGB.
        c.surface.reset(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
    } else {
        c.vector_bytes = std::make_unique<std::vector<unsigned char>>();
        c.surface.reset(format == FigureFormat::Svg
                            ? cairo_svg_surface_create_for_stream(append_bytes, c.vector_bytes.get(), width, height)
                            : cairo_pdf_surface_create_for_stream(append_bytes, c.vector_bytes.get(), width, height));
    }
    if (cairo_surface_status(c.surface.get()) != CAIRO_STATUS_SUCCESS)
        throw emoclass::Error(path, std::string("cannot create figure: ") + cairo_status_to_string(cairo_surface_status(c.surface.get())));
    c.cr.reset(cairo_create(c.surface.get()));
    cairo_t* cr = c.cr.get();
    // Fixed font options rather than the desktop's fontconfig preferences, so that the same
    // figure renders the same everywhere this library runs.
    cairo_font_options_t* opts = cairo_font_options_create();
    cairo_font_options_set_antialias(opts, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(opts, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_hint_metrics(opts, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(cr, opts);
    cairo_font_options_destroy(opts);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    return c;
}

std::vector<unsigned char> encode_canvas(const std::string& path, Canvas& canvas) {
    if (cairo_status(canvas.cr.get()) != CAIRO_STATUS_SUCCESS)
        throw emoclass::Error(path, std::string("cannot draw figure: ") + cairo_status_to_string(cairo_status(canvas.cr.get())));
    if (canvas.format != FigureFormat::Png) {
        // Finishing a vector surface writes its last bytes (the PDF's trailer, the SVG's close).
        cairo_surface_finish(canvas.surface.get());
        const cairo_status_t st = cairo_surface_status(canvas.surface.get());
        if (st != CAIRO_STATUS_SUCCESS) throw emoclass::Error(path, std::string("cannot encode figure: ") + cairo_status_to_string(st));
        return std::move(*canvas.vector_bytes);
    }
    cairo_surface_flush(canvas.surface.get());
    std::vector<unsigned char> png;
    const cairo_status_t st = cairo_surface_write_to_png_stream(canvas.surface.get(), append_bytes, &png);
    if (st != CAIRO_STATUS_SUCCESS) throw emoclass::Error(path, std::string("cannot encode PNG: ") + cairo_status_to_string(st));
    return png;
}

// ---------------------------------------------------------------------------------------------
// Axes

struct Tick {
    double pos = 0;  // pixel coordinate along the axis
    std::string label;
};

// Time in seconds <-> x pixel. With center=true frame f is centred at f * hop / sr, and each
// frame is drawn as a cell one hop wide around its centre (as librosa's specshow does), so the
// axis runs from -hop/2 to (frames - 1/2) * hop.
struct TimeAxis {
    double t0 = 0, t1 = 1;
    Rect plot;
    double x(double t) const { return plot.x + (t - t0) / (t1 - t0) * plot.w; }
};

TimeAxis make_time_axis(const Rect& plot, std::size_t frames, const SpectroSettings& s) {
    TimeAxis a;
    a.plot = plot;
    const double hop_s = double(s.hop_length) / s.sample_rate;
    // Without centring, frame f covers [f * hop, f * hop + n_fft); its centre is half a window later.
    const double offset = s.center ? 0.0 : 0.5 * double(s.n_fft) / s.sample_rate;
    a.t0 = offset - 0.5 * hop_s;
    a.t1 = offset + (double(frames) - 0.5) * hop_s;
    if (frames == 0) a.t1 = a.t0 + 1.0;
    return a;
}

// Smallest "nice" step whose ticks are at least `min_px` apart.
double nice_time_step(double px_per_s, double min_px) {
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30,
                                   60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400};
    for (double s : steps)
        if (s * px_per_s >= min_px) return s;
    return steps[sizeof steps / sizeof steps[0] - 1];
}

bool minutes_format(double step) { return step >= 60; }

std::string format_time(double t, double step) {
    char buf[64];
    if (minutes_format(step)) {
        const long total = std::lround(t);
        if (total >= 3600)
            std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", total / 3600, (total / 60) % 60, total % 60);
        else
            std::snprintf(buf, sizeof buf, "%ld:%02ld", total / 60, total % 60);
        return buf;
    }
    int decimals = 0;
    for (double s = step; s < 0.999 && decimals < 3; s *= 10) ++decimals;
    std::snprintf(buf, sizeof buf, "%.*f", decimals, t);
    return buf;
}

std::vector<Tick> time_ticks(const TimeAxis& a, double* step_out) {
    const double px_per_s = a.plot.w / (a.t1 - a.t0);
    // Wide enough for labels like "12:30" or "0.25" plus a gap.
    const double step = nice_time_step(px_per_s, 70.0);
    *step_out = step;
    std::vector<Tick> ticks;
    const double first = std::ceil(std::max(0.0, a.t0) / step - 1e-9);
    for (double k = first;; k += 1.0) {
        const double t = std::max(0.0, k * step);  // max turns ceil's -0 into 0 ("0.0", not "-0.0")
        if (t > a.t1 + 1e-9 * step) break;
        if (t < a.t0) continue;
        ticks.push_back({a.x(t), format_time(t, step)});
    }
    return ticks;
}

// Frequency <-> y pixel. The plot spans mel(fmin) .. mel(fmax) linearly in mel, so that band m
// (centred at mel_lo + (m + 1) * delta, as in the filterbank) sits at its true frequency and
// Hz ticks land where that frequency is drawn.
struct FreqAxis {
    MelScale scale = MelScale::Slaney;
    double fmin = 0, fmax = 0, mel_lo = 0, mel_hi = 1;
    Rect plot;
    double y_of_mel(double mel) const { return plot.bottom() - (mel - mel_lo) / (mel_hi - mel_lo) * plot.h; }
    double y(double hz) const { return y_of_mel(hz_to_mel(hz, scale)); }
};

FreqAxis make_freq_axis(const Rect& plot, const SpectroSettings& s) {
    FreqAxis a;
    a.plot = plot;
    a.scale = s.mel_scale;
    a.fmin = s.fmin;
    a.fmax = s.resolved_fmax();
    a.mel_lo = hz_to_mel(a.fmin, a.scale);
    a.mel_hi = hz_to_mel(a.fmax, a.scale);
    return a;
}

// Ticks at round Hz values. The mel axis is roughly linear below 1 kHz and logarithmic above, so
// no single step suits it: candidates are taken in order of roundness (0 and 1/2/5 x 10^k, then
// 3/4/6/8 x 10^k) and kept only where they leave room for their label.
std::vector<Tick> frequency_ticks(const FreqAxis& a, double min_px) {
    std::vector<double> candidates;
    candidates.push_back(0.0);
    for (const double mult : {1.0, 2.0, 5.0, 3.0, 4.0, 6.0, 8.0})
        for (double decade = 10.0; decade <= 1e6; decade *= 10.0) candidates.push_back(mult * decade);
    std::vector<double> kept;  // y positions
    std::vector<Tick> ticks;
    for (double hz : candidates) {
        if (hz < a.fmin - 1e-6 || hz > a.fmax + 1e-6) continue;
        const double y = a.y(hz);
        bool room = true;
        for (double k : kept) room = room && std::fabs(k - y) >= min_px;
        if (!room) continue;
        kept.push_back(y);
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", hz);
        ticks.push_back({y, buf});
    }
    std::sort(ticks.begin(), ticks.end(), [](const Tick& p, const Tick& q) { return p.pos > q.pos; });
    return ticks;
}

// ---------------------------------------------------------------------------------------------
// Spectrogram raster

// The figure is for people, so gray (the model's input colour) is drawn as magma instead.
Colormap figure_colormap(Colormap c) { return c == Colormap::Gray ? Colormap::Magma : c; }

Rgb colormap_color(Colormap cmap, double fraction) {
    const double v = std::isnan(fraction) ? 0.0 : std::clamp(std::floor(fraction * 255.0 + 0.5), 0.0, 255.0);
    std::uint8_t rgb[3];
    colormap_rgb(cmap, std::uint8_t(v), rgb);
    return {rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0};
}

// Reduces the clip to at most `max_cols` columns, keeping for each column the per-band maximum
// of the frames it covers (so short events survive in an hour-long clip), then converts to dB.
// Taking the maximum before dB is exact: dB and the top_db clip are both monotonic, and the
// global maximum (the dB reference) survives the reduction. Memory stays cols x n_mels.
// Returns false when the clip has no energy at all.
bool reduced_db(const MelMatrix& mel, const SpectroSettings& s, std::size_t max_cols, std::vector<float>& db,
                std::size_t& cols) {
    const std::size_t frames = mel.frames(), n = std::size_t(mel.n_mels);
    if (frames <= max_cols) {
        cols = frames;
        db.assign(mel.values.begin(), mel.values.begin() + long(frames * n));
    } else {
        cols = max_cols;
        db.assign(cols * n, 0.0f);
        for (std::size_t c = 0; c < cols; ++c) {
            // Frames whose cells overlap pixel column c.
            const std::size_t f0 = c * frames / cols;
            const std::size_t f1 = std::min(frames, ((c + 1) * frames + cols - 1) / cols);
            float* out = &db[c * n];
            std::copy(mel.frame(f0), mel.frame(f0) + n, out);
            for (std::size_t f = f0 + 1; f < f1; ++f) {
                const float* in = mel.frame(f);
                for (std::size_t m = 0; m < n; ++m) out[m] = std::max(out[m], in[m]);
            }
        }
    }
    return to_db_ref_max(db.data(), db.size(), s.power, s.top_db) > 0.0f;
}

// Draws the clip into `plot`: columns nearest-neighbour (or max-reduced), mel bands linearly
// interpolated in dB between band centres. Returns false for an all-silent clip (drawn at the
// floor colour, as the model-input image does).
bool draw_spectrogram(cairo_t* cr, const std::string& path, const Rect& plot, const FreqAxis& fa,
                      const MelMatrix& mel, const SpectroSettings& s, Colormap cmap) {
    const int w = int(plot.w), h = int(plot.h);
    const std::size_t n = std::size_t(mel.n_mels), frames = mel.frames();
    std::vector<float> db;
    std::size_t cols = 0;
    const bool has_energy = reduced_db(mel, s, std::size_t(w), db, cols);

    // Per output row: the two bands to blend and the weight of the upper one.
    std::vector<std::size_t> band0(std::size_t(h), 0), band1(std::size_t(h), 0);
    std::vector<float> weight(std::size_t(h), 0.0f);
    const double delta = (fa.mel_hi - fa.mel_lo) / double(n + 1);
    for (int y = 0; y < h; ++y) {
        const double mel_y = fa.mel_hi - (y + 0.5) / h * (fa.mel_hi - fa.mel_lo);
        const double b = std::clamp((mel_y - fa.mel_lo) / delta - 1.0, 0.0, double(n - 1));
        band0[std::size_t(y)] = std::size_t(std::floor(b));
        band1[std::size_t(y)] = std::min(n - 1, band0[std::size_t(y)] + 1);
        weight[std::size_t(y)] = float(b - std::floor(b));
    }

    // The colormap as packed RGB24 pixels, indexed by level.
    std::uint32_t lut[256];
    for (int i = 0; i < 256; ++i) {
        std::uint8_t rgb[3];
        colormap_rgb(cmap, std::uint8_t(i), rgb);
        lut[i] = (std::uint32_t(rgb[0]) << 16) | (std::uint32_t(rgb[1]) << 8) | rgb[2];
    }

    SurfacePtr raster(cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h));
    if (cairo_surface_status(raster.get()) != CAIRO_STATUS_SUCCESS)
        throw emoclass::Error(path, std::string("cannot create figure: ") + cairo_status_to_string(cairo_surface_status(raster.get())));
    cairo_surface_flush(raster.get());
    unsigned char* data = cairo_image_surface_get_data(raster.get());
    const int stride = cairo_image_surface_get_stride(raster.get());
    const double scale = 255.0 / s.top_db;
    for (int x = 0; x < w; ++x) {
        // Nearest column when the clip is narrower than the plot; the reduced column otherwise.
        const std::size_t c = frames > std::size_t(w)
                                  ? std::size_t(x)
                                  : std::min(cols - 1, std::size_t((2 * std::uint64_t(x) + 1) * cols / (2 * std::uint64_t(w))));
        const float* col = &db[c * n];
        for (int y = 0; y < h; ++y) {
            std::uint32_t px = lut[0];
            if (has_energy) {
                const float wgt = weight[std::size_t(y)];
                const double v = double(col[band0[std::size_t(y)]]) * (1.0 - wgt) + double(col[band1[std::size_t(y)]]) * wgt;
                px = std::isnan(v) ? lut[0] : lut[int(std::clamp(std::floor((v + s.top_db) * scale + 0.5), 0.0, 255.0))];
            }
            std::memcpy(data + std::size_t(y) * std::size_t(stride) + std::size_t(x) * 4, &px, 4);
        }
    }
    cairo_surface_mark_dirty(raster.get());
    cairo_set_source_surface(cr, raster.get(), plot.x, plot.y);
    cairo_paint(cr);
    return has_energy;
}

// ---------------------------------------------------------------------------------------------
// Figure parts

constexpr double kTickLen = 5;
constexpr double kTickFont = 12;
constexpr double kLabelFont = 13;

void draw_time_axis(cairo_t* cr, const TimeAxis& a, double axis_y, bool has_frames) {
    set_font(cr, kTickFont);
    double step = 1;
    if (has_frames) {
        for (const Tick& t : time_ticks(a, &step)) {
            const double x = std::floor(t.pos) + 0.5;
            line(cr, x, axis_y, x, axis_y + kTickLen, kFrame);
            draw_text(cr, t.pos, axis_y + kTickLen + 14, t.label, Align::Center, kMuted);
        }
    }
    set_font(cr, kLabelFont);
    draw_text(cr, a.plot.x + a.plot.w / 2, axis_y + kTickLen + 35, minutes_format(step) ? "time (m:ss)" : "time (s)",
              Align::Center, kInk);
}

void draw_frequency_axis(cairo_t* cr, const FreqAxis& a) {
    set_font(cr, kTickFont);
    double widest = 0;
    for (const Tick& t : frequency_ticks(a, 24.0)) {
        const double y = std::floor(t.pos) + 0.5;
        line(cr, a.plot.x - kTickLen, y, a.plot.x, y, kFrame);
        draw_text(cr, a.plot.x - kTickLen - 4, baseline_for_middle(cr, t.pos), t.label, Align::Right, kMuted);
        widest = std::max(widest, text_width(cr, t.label));
    }
    set_font(cr, kLabelFont);
    draw_text_up(cr, a.plot.x - kTickLen - 4 - widest - 10, a.plot.y + a.plot.h / 2, "frequency (Hz, mel scale)", kInk);
}

void draw_colorbar(cairo_t* cr, const Rect& bar, Colormap cmap, double top_db) {
    // One row per pixel, top = 0 dB.
    const int h = int(bar.h);
    for (int y = 0; y < h; ++y)
        fill_rect(cr, {bar.x, bar.y + y, bar.w, 1}, colormap_color(cmap, 1.0 - (y + 0.5) / h));
    frame_rect(cr, bar, kFrame);
    set_font(cr, kTickFont);
    static const double steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500};
    double step = steps[8];
    for (double s : steps)
        if (s * bar.h / top_db >= 28) {
            step = s;
            break;
        }
    for (double db = 0; db <= top_db + 1e-9; db += step) {
        const double y = bar.y + db / top_db * bar.h;
        const double yl = std::min(std::floor(y) + 0.5, bar.bottom() - 0.5);
        line(cr, bar.right(), yl, bar.right() + kTickLen, yl, kFrame);
        draw_text(cr, bar.right() + kTickLen + 3, baseline_for_middle(cr, y), signed_label(-db, 0), Align::Left, kMuted);
    }
    set_font(cr, kLabelFont, true);
    draw_text(cr, bar.x + bar.w / 2, bar.y - 9, "dB", Align::Center, kInk);
}

// Colours for classes: fixed ones for the usual emotion names, spelt as the corpora spell them
// (so "angry" is red in every figure), and a colour-blind-safe palette (Okabe-Ito) for anything else.
Rgb class_color(const std::string& label, std::size_t index) {
    static const struct {
        const char* name;
        std::uint32_t rgb;
    } known[] = {{emotion::angry, 0xd55e00},   {emotion::disgust, 0x009e73},   {emotion::fear, 0xcc79a7},
                 {emotion::happy, 0xe69f00},   {emotion::neutral, 0x56b4e9},   {emotion::sad, 0x0072b2},
                 {emotion::surprised, 0xf0e442}, {emotion::calm, 0x8fb996}};
    for (const auto& k : known)
        if (label == k.name) return hex(k.rgb);
    static const std::uint32_t palette[] = {0x0072b2, 0xe69f00, 0x009e73, 0xcc79a7, 0x56b4e9, 0xd55e00, 0xf0e442, 0x7f7f7f};
    return hex(palette[index % (sizeof palette / sizeof palette[0])]);
}

// Class names in a stable order: the figure's label list first, then timeline labels in order of
// appearance.
std::vector<std::string> class_order(const InspectionFigure& f) {
    std::vector<std::string> order;
    auto add = [&](const std::string& s) {
        if (!s.empty() && std::find(order.begin(), order.end(), s) == order.end()) order.push_back(s);
    };
    for (const auto& l : f.labels) add(l);
    for (const auto& seg : f.timeline) add(seg.label);
    return order;
}

Rgb color_of(const std::vector<std::string>& order, const std::string& label) {
    const auto it = std::find(order.begin(), order.end(), label);
    return class_color(label, std::size_t(it - order.begin()));
}

void hatch(cairo_t* cr, const Rect& r) {
    fill_rect(cr, r, kSkipped);
    cairo_save(cr);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_clip(cr);
    set_color(cr, kHatch);
    cairo_set_line_width(cr, 1.0);
    // Diagonals on a fixed grid (anchored at x = 0) so neighbouring blocks' hatching lines up.
    const double spacing = 6;
    for (double x = std::floor((r.x - r.h) / spacing) * spacing; x < r.right(); x += spacing) {
        cairo_move_to(cr, x, r.bottom());
        cairo_line_to(cr, x + r.h, r.y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

bool drawable(const TimelineSegment& seg) {
    return std::isfinite(seg.start_s) && std::isfinite(seg.end_s) && seg.end_s > seg.start_s;
}

// Windows overlap (2.56 s every second by default), so drawn on one row each would hide most of
// the one before it and cut its label. Each window instead goes to the first row (lane) that is
// free at its start: it keeps its real span and its whole label, and the overlap itself shows.
// Rows rather than a per-second summary because every block is then one decision the model
// really made. Returns each segment's lane (-1: not drawable) and the number of lanes.
std::vector<int> timeline_lanes(const std::vector<TimelineSegment>& segments, int* lane_count) {
    std::vector<int> lanes(segments.size(), -1);
    std::vector<double> lane_end;  // where each lane's last window ends
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (!drawable(segments[i])) continue;
        std::size_t k = 0;
        while (k < lane_end.size() && lane_end[k] > segments[i].start_s + 1e-6) ++k;
        if (k == lane_end.size()) lane_end.push_back(segments[i].end_s);
        else lane_end[k] = segments[i].end_s;
        lanes[i] = int(k);
    }
    *lane_count = int(lane_end.size());
    return lanes;
}

void draw_timeline(cairo_t* cr, const Rect& strip, const TimeAxis& ta, const std::vector<TimelineSegment>& segments,
                   const std::vector<std::string>& order) {
    fill_rect(cr, strip, kEmpty);
    int lane_count = 0;
    const std::vector<int> lanes = timeline_lanes(segments, &lane_count);
    if (lane_count == 0) {
        frame_rect(cr, strip, kFrame);
        return;
    }
    const double lane_h = strip.h / lane_count;
    cairo_save(cr);
    cairo_rectangle(cr, strip.x, strip.y, strip.w, strip.h);
    cairo_clip(cr);
    set_font(cr, 11);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    const bool labels_fit_lane = fe.ascent + fe.descent <= lane_h;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        const TimelineSegment& seg = segments[i];
        if (lanes[i] < 0) continue;
        const double x0 = std::max(strip.x, ta.x(seg.start_s)), x1 = std::min(strip.right(), ta.x(seg.end_s));
        if (!(x1 > x0)) continue;
        const Rect block{x0, strip.y + lanes[i] * lane_h, x1 - x0, lane_h};
        if (seg.label.empty()) {
            hatch(cr, block);
        } else {
            const Rgb c = color_of(order, seg.label);
            fill_rect(cr, block, c);
            // Label with confidence where it fits, the bare label where only that fits, none
            // (never a cut one) where neither does.
            std::string text = valid_utf8(seg.label);
            if (seg.confidence > 0 && std::isfinite(seg.confidence)) {
                char pct[32];
                std::snprintf(pct, sizeof pct, " %.0f%%", 100.0 * std::clamp(seg.confidence, 0.0, 1.0));
                if (text_width(cr, text + pct) + 6 <= block.w) text += pct;
            }
            if (labels_fit_lane && text_width(cr, text) + 6 <= block.w)
                draw_text(cr, block.x + block.w / 2, baseline_for_middle(cr, block.y + block.h / 2), text, Align::Center,
                          text_on(c));
        }
        // A thin white edge separates neighbouring blocks (and lanes).
        if (block.w >= 3) line(cr, std::floor(x0) + 0.5, block.y, std::floor(x0) + 0.5, block.bottom(), hex(0xffffff));
        if (lanes[i] > 0) line(cr, x0, std::floor(block.y) + 0.5, x1, std::floor(block.y) + 0.5, hex(0xffffff));
    }
    cairo_restore(cr);
    frame_rect(cr, strip, kFrame);
}

// One row of swatches under the figure; wraps when it runs out of width.
void draw_legend(cairo_t* cr, double x, double y, double max_w, const std::vector<std::string>& order,
                 const std::vector<std::string>& present, bool skipped) {
    set_font(cr, kTickFont);
    double cx = x, cy = y;
    auto item = [&](const std::string& text, const Rgb* color) {
        const double w = 14 + 6 + text_width(cr, text) + 18;
        if (cx > x && cx + w > x + max_w) {
            cx = x;
            cy += 20;
        }
        const Rect sw{cx, cy - 11, 14, 14};
        if (color) fill_rect(cr, sw, *color); else hatch(cr, sw);
        frame_rect(cr, sw, hex(0x888888));
        draw_text(cr, cx + 20, cy, text, Align::Left, kInk);
        cx += w;
    };
    for (const auto& label : order)
        if (std::find(present.begin(), present.end(), label) != present.end()) {
            const Rgb c = color_of(order, label);
            item(valid_utf8(label), &c);
        }
    if (skipped) item("no speech", nullptr);
}

void draw_probabilities(cairo_t* cr, const Rect& panel, const InspectionFigure& f, const std::vector<std::string>& order) {
    const std::size_t n = f.probabilities.size();
    std::vector<double> p(n);
    for (std::size_t i = 0; i < n; ++i)
        p[i] = std::isfinite(f.probabilities[i]) ? std::clamp(f.probabilities[i], 0.0, 1.0) : 0.0;
    const std::size_t best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());

    set_font(cr, kLabelFont, true);
    draw_text(cr, panel.x, panel.y - 9, "class probabilities", Align::Left, kInk);

    set_font(cr, kLabelFont, true);  // widest label measured bold, as the winner is drawn bold
    double label_w = 0;
    for (const auto& l : f.labels) label_w = std::min(std::max(label_w, text_width(cr, valid_utf8(l))), 120.0);
    set_font(cr, kTickFont);
    const double pct_w = text_width(cr, "100.0%") + 6;
    const double bar_x = panel.x + label_w + 10;
    const double bar_max = std::max(20.0, panel.right() - pct_w - bar_x);
    const double row_h = std::min(34.0, panel.h / double(n));
    const double bar_h = std::max(4.0, std::round(row_h * 0.6));

    for (std::size_t i = 0; i < n; ++i) {
        const double mid = panel.y + (i + 0.5) * row_h;
        const bool top = i == best;
        const Rgb c = color_of(order, f.labels[i]);
        // Track, then the bar: the winner in full colour, the rest faded.
        fill_rect(cr, {bar_x, mid - bar_h / 2, bar_max, bar_h}, hex(0xf0f0f0));
        fill_rect(cr, {bar_x, mid - bar_h / 2, std::max(1.0, p[i] * bar_max), bar_h}, c, top ? 1.0 : 0.45);
        set_font(cr, kLabelFont, top);
        draw_text(cr, bar_x - 8, baseline_for_middle(cr, mid), fit_text(cr, valid_utf8(f.labels[i]), label_w),
                  Align::Right, top ? kInk : kMuted);
        char pct[32];
        std::snprintf(pct, sizeof pct, "%.1f%%", 100.0 * p[i]);
        set_font(cr, kTickFont, top);
        draw_text(cr, bar_x + p[i] * bar_max + 5, baseline_for_middle(cr, mid), pct, Align::Left, top ? kInk : kMuted);
    }
}

void draw_note(cairo_t* cr, const Rect& r, const std::string& text, const Rgb& c) {
    set_font(cr, 15);
    draw_text(cr, r.x + r.w / 2, baseline_for_middle(cr, r.y + r.h / 2), text, Align::Center, c);
}

// Geometry of the inspection figure, in pixels.
constexpr int kLeft = 84;          // frequency tick labels and axis label
constexpr int kTop = 78;           // title and subtitle
constexpr int kPlotH = 380;
constexpr int kPlotW = 900;        // spectrogram alone
constexpr int kPlotWithBars = 700; // spectrogram beside the probability chart
constexpr int kBarGap = 20, kBarW = 14, kBarLabels = 52;
constexpr int kPanelGap = 24, kPanelW = 290;
constexpr int kRight = 16;
constexpr int kStripGap = 6;
constexpr int kLaneH = 22;         // one timeline lane: room for an 11 px label
constexpr int kStripMaxH = 132;    // six lanes; with more, lanes get thinner (and unlabelled)
constexpr int kAxisH = 50;         // tick marks, tick labels, axis label
constexpr int kLegendRow = 20;
constexpr int kBottom = 14;

}  // namespace

// The module's entry points (figures_module.hpp); the host writes what they return, atomically,
// so a failure never leaves a partial file behind.
std::vector<unsigned char> render_inspection(const InspectionFigure& figure, const std::string& path,
                                             FigureFormat format) {
    const SpectroSettings& s = figure.settings;
    s.validate(path);
    if (!figure.probabilities.empty() && figure.labels.size() != figure.probabilities.size())
        throw emoclass::Error(path, std::to_string(figure.labels.size()) + " labels for " +
                              std::to_string(figure.probabilities.size()) + " probabilities");
    static const MelMatrix kNoFrames;
    const MelMatrix& mel = figure.mel ? *figure.mel : kNoFrames;
    const std::size_t frames = mel.frames();
    const Colormap cmap = figure_colormap(s.image.colormap);
    const bool bars = !figure.probabilities.empty();
    const bool strip = !figure.timeline.empty() && frames > 0;
    bool skipped = false;
    std::vector<std::string> present;
    for (const auto& seg : figure.timeline) {
        if (!drawable(seg)) continue;
        if (seg.label.empty()) skipped = true;
        else if (std::find(present.begin(), present.end(), seg.label) == present.end()) present.push_back(seg.label);
    }

    const int plot_w = bars ? kPlotWithBars : kPlotW;
    const Rect plot{kLeft, kTop, double(plot_w), kPlotH};
    const Rect colorbar{plot.right() + kBarGap, plot.y, kBarW, plot.h};
    const double right_edge = colorbar.right() + kBarLabels;
    const Rect panel{right_edge + kPanelGap, plot.y, kPanelW, plot.h};
    const int width = int((bars ? panel.right() : right_edge) + kRight);
    int lanes = 0;
    timeline_lanes(figure.timeline, &lanes);
    const double strip_h = std::min(double(kStripMaxH), double(std::max(1, lanes) * kLaneH));
    const Rect strip_rect{plot.x, plot.bottom() + kStripGap, plot.w, strip_h};
    const double axis_y = strip ? strip_rect.bottom() : plot.bottom();
    const int legend_rows = strip ? 1 : 0;
    const int height = int(axis_y + kAxisH + legend_rows * (kLegendRow + 6) + kBottom);

    Canvas canvas = make_canvas(path, width, height, format);
    cairo_t* cr = canvas.cr.get();

    // Title and subtitle, shortened rather than run off the edge.
    set_font(cr, 20, true);
    draw_text(cr, kLeft, 32, fit_text(cr, valid_utf8(figure.title), width - kLeft - kRight), Align::Left, kInk);
    set_font(cr, kLabelFont);
    draw_text(cr, kLeft, 54, fit_text(cr, valid_utf8(figure.subtitle), width - kLeft - kRight), Align::Left, kMuted);

    const FreqAxis fa = make_freq_axis(plot, s);
    const TimeAxis ta = make_time_axis(plot, frames, s);
    if (frames == 0) {
        fill_rect(cr, plot, kEmpty);
        draw_note(cr, plot, "no audio frames", kMuted);
    } else if (!draw_spectrogram(cr, path, plot, fa, mel, s, cmap)) {
        draw_note(cr, plot, "silent (no energy)", hex(0xdddddd));
    }
    frame_rect(cr, plot, kFrame);
    draw_frequency_axis(cr, fa);
    if (strip) {
        // Tick marks on the spectrogram's lower edge too, so the eye can follow a time from the
        // spectrogram down through the strip to its label.
        double step = 1;
        for (const Tick& t : time_ticks(ta, &step)) {
            const double x = std::floor(t.pos) + 0.5;
            line(cr, x, plot.bottom(), x, plot.bottom() + kStripGap, kFrame);
        }
        draw_timeline(cr, strip_rect, ta, figure.timeline, class_order(figure));
        set_font(cr, 11);
        draw_text(cr, plot.x - kTickLen - 4, baseline_for_middle(cr, strip_rect.y + strip_rect.h / 2), "windows",
                  Align::Right, kMuted);
    }
    draw_time_axis(cr, ta, axis_y, frames > 0);
    draw_colorbar(cr, colorbar, cmap, s.top_db);
    if (bars) draw_probabilities(cr, panel, figure, class_order(figure));
    if (strip) draw_legend(cr, plot.x, axis_y + kAxisH + 16, width - plot.x - kRight, class_order(figure), present, skipped);

    return encode_canvas(path, canvas);
}

std::vector<unsigned char> render_confusion(const std::string& path, const std::vector<std::string>& labels,
                                           const std::vector<std::vector<long>>& counts, const std::string& title) {
    const std::size_t n = labels.size();
    if (counts.size() != n) throw emoclass::Error(path, "confusion matrix has " + std::to_string(counts.size()) + " rows for " +
                                                  std::to_string(n) + " labels");
    for (const auto& row : counts) {
        if (row.size() != n) throw emoclass::Error(path, "confusion matrix row has " + std::to_string(row.size()) +
                                                   " columns for " + std::to_string(n) + " labels");
        for (long c : row)
            if (c < 0) throw emoclass::Error(path, "confusion matrix has a negative count");
    }

    // Measure labels on a scratch surface to size the margins.
    std::vector<std::string> names;
    for (const auto& l : labels) names.push_back(valid_utf8(l));
    double name_w = 0, title_w = 0;
    {
        Canvas scratch = make_canvas(path, 1, 1);
        set_font(scratch.cr.get(), kLabelFont);
        for (const auto& l : names) name_w = std::max(name_w, text_width(scratch.cr.get(), l));
        set_font(scratch.cr.get(), 20, true);
        title_w = text_width(scratch.cr.get(), valid_utf8(title));
    }
    name_w = std::min(name_w, 220.0);

    const double cell = n == 0 ? 0 : std::clamp(std::floor(560.0 / double(n)), 36.0, 96.0);
    const double grid = cell * double(n);
    // Column names are drawn at 45 degrees when they are wider than a cell.
    const bool slanted = name_w + 8 > cell;
    const double col_names_h = slanted ? name_w * 0.72 + 16 : 22;
    const Rect grid_rect{std::max(130.0, 30 + 10 + name_w + 12), 84, grid, grid};
    const double totals_w = 70;
    // Wide enough for the title (which names the data), up to a limit past which it is shortened.
    const int width = int(std::max({grid_rect.right() + totals_w + 20, 480.0, std::min(std::ceil(title_w) + 42, 1400.0)}));
    const int height = int(grid_rect.bottom() + 8 + col_names_h + 30 + 16 + (n == 0 ? 60 : 0));

    Canvas canvas = make_canvas(path, width, height);
    cairo_t* cr = canvas.cr.get();

    long total = 0, correct = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            total += counts[i][j];
            if (i == j) correct += counts[i][j];
        }

    set_font(cr, 20, true);
    draw_text(cr, 20, 32, fit_text(cr, valid_utf8(title), width - 40), Align::Left, kInk);
    set_font(cr, kLabelFont);
    char sub[128];
    if (total > 0)
        std::snprintf(sub, sizeof sub, "%ld samples, accuracy %.1f%%; shading and percentages per true-label row", total,
                      100.0 * double(correct) / double(total));
    else
        std::snprintf(sub, sizeof sub, "no samples");
    draw_text(cr, 20, 54, fit_text(cr, sub, width - 40), Align::Left, kMuted);

    if (n == 0) {
        draw_note(cr, {0, 70, double(width), 60}, "no classes", kMuted);
        return encode_canvas(path, canvas);
    }

    // Counts are never ellipsized (a truncated number is a wrong number): the count font shrinks
    // until the largest count fits a cell.
    long max_count = 0;
    for (const auto& row : counts)
        for (long c : row) max_count = std::max(max_count, c);
    double count_font = cell >= 60 ? 15 : 12;
    set_font(cr, count_font, true);
    while (count_font > 6 && text_width(cr, std::to_string(max_count)) > cell - 6) set_font(cr, --count_font, true);

    // Cells: white to dark blue by the row fraction; text flips to white on dark cells.
    const Rgb lo = hex(0xf7fbff), hi = hex(0x08306b);
    for (std::size_t i = 0; i < n; ++i) {
        long row_total = 0;
        for (long c : counts[i]) row_total += c;
        for (std::size_t j = 0; j < n; ++j) {
            const double frac = row_total > 0 ? double(counts[i][j]) / double(row_total) : 0.0;
            const double t = std::sqrt(frac);  // spreads the small fractions, where errors live
            const Rgb c{lo.r + (hi.r - lo.r) * t, lo.g + (hi.g - lo.g) * t, lo.b + (hi.b - lo.b) * t};
            const Rect r{grid_rect.x + double(j) * cell, grid_rect.y + double(i) * cell, cell, cell};
            fill_rect(cr, r, c);
            const Rgb ink = text_on(c);
            const bool two_lines = cell >= 48;
            set_font(cr, count_font, i == j);
            const double mid = r.y + r.h / 2;
            draw_text(cr, r.x + r.w / 2, baseline_for_middle(cr, two_lines ? mid - 8 : mid), std::to_string(counts[i][j]),
                      Align::Center, ink);
            if (two_lines) {
                char pct[32];
                if (row_total > 0)
                    std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * frac);
                else
                    std::snprintf(pct, sizeof pct, "\xe2\x80\x93");  // en dash: no samples in this row
                set_font(cr, 11);
                draw_text(cr, r.x + r.w / 2, baseline_for_middle(cr, mid + 10), pct, Align::Center, ink);
            }
        }
        // Row total at the right, so an empty or tiny row is obvious.
        set_font(cr, kTickFont);
        draw_text(cr, grid_rect.right() + 10, baseline_for_middle(cr, grid_rect.y + (double(i) + 0.5) * cell),
                  "n=" + std::to_string(row_total), Align::Left, kMuted);
    }
    // Grid lines between cells.
    cairo_set_line_width(cr, 1.0);
    set_color(cr, hex(0xffffff));
    for (std::size_t k = 1; k < n; ++k) {
        const double off = std::floor(double(k) * cell) + 0.5;
        cairo_move_to(cr, grid_rect.x + off, grid_rect.y);
        cairo_line_to(cr, grid_rect.x + off, grid_rect.bottom());
        cairo_move_to(cr, grid_rect.x, grid_rect.y + off);
        cairo_line_to(cr, grid_rect.right(), grid_rect.y + off);
    }
    cairo_stroke(cr);
    frame_rect(cr, grid_rect, kFrame);

    // Class names: rows on the left, columns underneath.
    set_font(cr, kLabelFont);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string name = fit_text(cr, names[i], name_w);
        draw_text(cr, grid_rect.x - 8, baseline_for_middle(cr, grid_rect.y + (double(i) + 0.5) * cell), name,
                  Align::Right, kInk);
        const double cx = grid_rect.x + (double(i) + 0.5) * cell;
        if (slanted) {
            cairo_save(cr);
            cairo_translate(cr, cx + 4, grid_rect.bottom() + 10);
            cairo_rotate(cr, -M_PI / 4);
            draw_text(cr, 0, 0, name, Align::Right, kInk);
            cairo_restore(cr);
        } else {
            draw_text(cr, cx, grid_rect.bottom() + 18, name, Align::Center, kInk);
        }
    }
    set_font(cr, kLabelFont, true);
    draw_text(cr, grid_rect.x + grid / 2, grid_rect.bottom() + 8 + col_names_h + 16, "predicted", Align::Center, kInk);
    draw_text_up(cr, grid_rect.x - 8 - name_w - 14, grid_rect.y + grid / 2, "true", kInk);

    return encode_canvas(path, canvas);
}

}  // namespace figures

extern "C" __attribute__((visibility("default"))) const figures::ModuleEntryPoints* emoclass_figures_module() {
    static const figures::ModuleEntryPoints entry_points{figures::render_inspection, figures::render_confusion,
                                                         cairo_version_string};
    return &entry_points;
}
