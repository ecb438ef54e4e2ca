// Figures: they render, have sensible sizes, are byte-identical across runs, never leave partial
// files, and survive degenerate input (no frames, silence, an hour of frames, odd strings).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "spectro/error.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/png_io.hpp"

namespace {

// A fresh directory per test, removed with its files afterwards.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/test_figure.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
        path_ = buf.data();
    }
    ~TempDir() {
        for (const auto& name : entries()) ::unlink((path_ + "/" + name).c_str());
        ::rmdir(path_.c_str());
    }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        if (DIR* d = ::opendir(path_.c_str())) {
            while (dirent* e = ::readdir(d)) {
                const std::string n = e->d_name;
                if (n != "." && n != "..") names.push_back(n);
            }
            ::closedir(d);
        }
        return names;
    }

private:
    std::string path_;
};

std::vector<unsigned char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

bool has_png_signature(const std::vector<unsigned char>& b) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return b.size() > 8 && std::equal(sig, sig + 8, b.begin());
}

// Energy in a rising band (a chirp), on a quiet floor: structure the eye (and a test) can find.
spectro::MelMatrix chirp(std::size_t frames, int n_mels) {
    spectro::MelMatrix mel;
    mel.n_mels = n_mels;
    mel.values.assign(frames * std::size_t(n_mels), 1e-6f);
    for (std::size_t f = 0; f < frames; ++f) {
        const double centre = 5.0 + double(f) / double(frames) * (n_mels - 10);
        for (int m = 0; m < n_mels; ++m) {
            const double d = (m - centre) / 3.0;
            mel.values[f * std::size_t(n_mels) + std::size_t(m)] += float(std::exp(-d * d));
        }
    }
    return mel;
}

figures::InspectionFigure basic_figure(const spectro::MelMatrix& mel) {
    figures::InspectionFigure fig;
    fig.title = "chirp.wav";
    fig.subtitle = "synthetic chirp, 16000 Hz, hop 320";
    fig.mel = &mel;
    fig.settings = spectro::SpectroSettings{};
    return fig;
}

void add_results(figures::InspectionFigure& fig) {
    fig.labels = {"angry", "disgust", "fear", "happy", "neutral", "sad"};
    fig.probabilities = {0.05, 0.02, 0.11, 0.63, 0.15, 0.04};
    fig.timeline = {{0.0, 1.0, "", 0.0}, {1.0, 2.0, "happy", 0.81}, {2.0, 2.5, "neutral", 0.55}, {2.5, 4.0, "sad", 0.4}};
}

double luminance(const spectro::Image& img, int x, int y) {
    const std::size_t i = (std::size_t(y) * std::size_t(img.width) + std::size_t(x)) * std::size_t(img.channels);
    if (img.channels == 1) return img.pixels[i];
    return 0.2126 * img.pixels[i] + 0.7152 * img.pixels[i + 1] + 0.0722 * img.pixels[i + 2];
}

}  // namespace

TEST(InspectionFigure, RendersAReadablePng) {
    TempDir dir;
    const auto mel = chirp(200, 128);  // 4 s at the default hop
    const std::string path = dir.file("plain.png");
    figures::write_inspection_figure(path, basic_figure(mel));
    ASSERT_TRUE(has_png_signature(read_bytes(path)));
    const spectro::Image img = spectro::read_png(path);
    EXPECT_GE(img.width, 900);
    EXPECT_LE(img.width, 1300);
    EXPECT_GE(img.height, 400);
    EXPECT_LE(img.height, 800);
    EXPECT_EQ(img.channels, 3);
    // Only the finished file is left beside it (no temporary from the atomic write).
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"plain.png"});
}

TEST(InspectionFigure, LowFrequenciesAtTheBottom) {
    TempDir dir;
    // Energy only in the lowest bands: the bottom of the plot must be brighter than its top.
    spectro::MelMatrix mel;
    mel.n_mels = 128;
    mel.values.assign(100 * 128, 1e-8f);
    for (std::size_t f = 0; f < 100; ++f)
        for (std::size_t m = 0; m < 12; ++m) mel.values[f * 128 + m] = 1.0f;
    const std::string path = dir.file("low.png");
    figures::write_inspection_figure(path, basic_figure(mel));
    const spectro::Image img = spectro::read_png(path);
    // The plot occupies roughly x 84..980, y 78..458; sample well inside it.
    double top = 0, bottom = 0;
    for (int x = 200; x < 700; x += 50) {
        top += luminance(img, x, 120);
        bottom += luminance(img, x, 445);
    }
    EXPECT_GT(bottom, top + 10 * 100);
}

TEST(InspectionFigure, WithProbabilitiesAndTimelineIsWiderAndTaller) {
    TempDir dir;
    const auto mel = chirp(200, 128);
    auto fig = basic_figure(mel);
    figures::write_inspection_figure(dir.file("plain.png"), fig);
    add_results(fig);
    figures::write_inspection_figure(dir.file("full.png"), fig);
    const auto plain = spectro::read_png(dir.file("plain.png"));
    const auto full = spectro::read_png(dir.file("full.png"));
    EXPECT_GT(full.width, plain.width);   // the probability chart sits to the right
    EXPECT_GT(full.height, plain.height); // the timeline strip and legend sit underneath
    EXPECT_LE(full.width, 1300);
}

TEST(InspectionFigure, SameInputGivesSameBytes) {
    TempDir dir;
    const auto mel = chirp(300, 128);
    auto fig = basic_figure(mel);
    add_results(fig);
    figures::write_inspection_figure(dir.file("a.png"), fig);
    figures::write_inspection_figure(dir.file("b.png"), fig);
    const auto a = read_bytes(dir.file("a.png")), b = read_bytes(dir.file("b.png"));
    ASSERT_FALSE(a.empty());
    EXPECT_TRUE(a == b);
    // Overwriting an existing figure replaces it whole.
    figures::write_inspection_figure(dir.file("a.png"), basic_figure(mel));
    EXPECT_FALSE(read_bytes(dir.file("a.png")) == b);
}

TEST(InspectionFigure, UnwritablePathThrowsAndLeavesNothing) {
    TempDir dir;
    const auto mel = chirp(50, 128);
    const std::string missing = dir.file("missing/dir/figure.png");
    try {
        figures::write_inspection_figure(missing, basic_figure(mel));
        FAIL() << "expected emoclass::Error";
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), missing);
        EXPECT_FALSE(e.reason().empty());
    }
    EXPECT_FALSE(exists(missing));
    EXPECT_TRUE(dir.entries().empty());
    EXPECT_THROW(figures::write_inspection_figure("/proc/nonexistent/x.png", basic_figure(mel)), emoclass::Error);
    EXPECT_FALSE(exists("/proc/nonexistent/x.png"));
}

TEST(InspectionFigure, DegenerateInputsRender) {
    TempDir dir;
    spectro::MelMatrix empty;
    empty.n_mels = 128;
    auto fig = basic_figure(empty);
    add_results(fig);  // a timeline with no frames to align it to is left out, not an error
    EXPECT_NO_THROW(figures::write_inspection_figure(dir.file("empty.png"), fig));
    EXPECT_TRUE(has_png_signature(read_bytes(dir.file("empty.png"))));

    fig.mel = nullptr;
    EXPECT_NO_THROW(figures::write_inspection_figure(dir.file("null.png"), fig));

    spectro::MelMatrix silent;
    silent.n_mels = 128;
    silent.values.assign(40 * 128, 0.0f);
    auto quiet = basic_figure(silent);
    quiet.timeline = {{0.0, 0.8, "", 0.0}};
    EXPECT_NO_THROW(figures::write_inspection_figure(dir.file("silent.png"), quiet));

    // One frame, odd strings (invalid UTF-8, control characters, a very long title), and
    // timeline segments that are backwards, out of range or not numbers.
    const auto one = chirp(1, 128);
    auto odd = basic_figure(one);
    odd.title = std::string("bad\xff\xfe name\x01\t") + std::string(500, 'x');
    odd.subtitle = "\xc3";  // truncated UTF-8 sequence
    odd.labels = {"\xe2\x82", "ok"};
    odd.probabilities = {std::nan(""), 2.0};
    odd.timeline = {{1.0, 0.5, "ok", 0.5}, {-5, 100, "ok", 1.0}, {std::nan(""), 1, "", 0}};
    EXPECT_NO_THROW(figures::write_inspection_figure(dir.file("odd.png"), odd));
    EXPECT_TRUE(has_png_signature(read_bytes(dir.file("odd.png"))));
}

TEST(InspectionFigure, HourLongClipIsReducedPerPixelColumn) {
    TempDir dir;
    // 180000 frames = one hour at the default hop; few bands to keep the test light.
    spectro::SpectroSettings s;
    s.n_mels = 16;
    spectro::MelMatrix mel;
    mel.n_mels = 16;
    mel.values.assign(180000 * 16, 1e-6f);
    for (std::size_t f = 0; f < 180000; f += 9000) mel.values[f * 16 + 3] = 1.0f;  // short clicks
    figures::InspectionFigure fig;
    fig.title = "hour.wav";
    fig.mel = &mel;
    fig.settings = s;
    for (int t = 0; t < 3600; t += 60) fig.timeline.push_back({double(t), t + 60.0, t % 120 ? "sad" : "", 0.6});
    figures::write_inspection_figure(dir.file("hour.png"), fig);
    const auto img = spectro::read_png(dir.file("hour.png"));
    EXPECT_GE(img.width, 900);
    EXPECT_LE(img.width, 1300);
}

// Overlapping windows (2.56 s every second) each keep their whole span in the strip, so none
// hides the one before it (and its label): every window's colour is found all along its span.
TEST(InspectionFigure, OverlappingWindowsKeepTheirWholeSpan) {
    TempDir dir;
    const auto mel = chirp(200, 128);  // 4 s
    auto fig = basic_figure(mel);      // no probability chart: the plot is 900 px wide
    struct Window {
        double start, end;
        const char* label;
        int r, g, b;  // the class colour the figure uses for this label
    };
    const Window windows[] = {{0.0, 2.56, "angry", 0xd5, 0x5e, 0x00},
                              {1.0, 3.56, "happy", 0xe6, 0x9f, 0x00},
                              {1.44, 4.0, "sad", 0x00, 0x72, 0xb2}};
    for (const auto& w : windows) fig.timeline.push_back({w.start, w.end, w.label, 0.9});
    const std::string path = dir.file("windows.png");
    figures::write_inspection_figure(path, fig);
    const auto img = spectro::read_png(path);
    const spectro::SpectroSettings s;
    const double hop_s = double(s.hop_length) / s.sample_rate;
    const double t0 = -0.5 * hop_s, t1 = (200 - 0.5) * hop_s;
    auto has_colour_in_column = [&](int x, const Window& w) {
        for (int y = 458; y < img.height; ++y) {
            const std::size_t i = (std::size_t(y) * std::size_t(img.width) + std::size_t(x)) * 3;
            if (std::abs(img.pixels[i] - w.r) <= 3 && std::abs(img.pixels[i + 1] - w.g) <= 3 &&
                std::abs(img.pixels[i + 2] - w.b) <= 3)
                return true;
        }
        return false;
    };
    for (const auto& w : windows)
        for (double t = w.start + 0.1; t < w.end - 0.1; t += 0.1) {
            const int x = int(84 + (t - t0) / (t1 - t0) * 900);
            EXPECT_TRUE(has_colour_in_column(x, w)) << w.label << " hidden at " << t << " s";
        }
    // Three overlapping windows need three rows: the strip is taller than one row of them.
    auto one = basic_figure(mel);
    one.timeline = {{0.0, 2.0, "angry", 0.9}, {2.0, 4.0, "sad", 0.9}};
    figures::write_inspection_figure(dir.file("one.png"), one);
    EXPECT_GT(img.height, spectro::read_png(dir.file("one.png")).height);
}

// Class colours are keyed on the corpora's spelling of the emotions (spectro/corpora/emotions.hpp):
// a window labelled "surprised", as the corpora name it, gets the fixed yellow in the strip, not
// the palette's first colour.
TEST(InspectionFigure, SurprisedHasItsFixedColour) {
    TempDir dir;
    const auto mel = chirp(200, 128);  // 4 s
    auto fig = basic_figure(mel);
    fig.timeline = {{0.0, 4.0, "surprised", 0.9}};
    const std::string path = dir.file("surprised.png");
    figures::write_inspection_figure(path, fig);
    const auto img = spectro::read_png(path);
    ASSERT_EQ(img.channels, 3);
    long yellow = 0;
    for (int y = 458; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x) {
            const std::size_t i = (std::size_t(y) * std::size_t(img.width) + std::size_t(x)) * 3;
            if (std::abs(img.pixels[i] - 0xf0) <= 3 && std::abs(img.pixels[i + 1] - 0xe4) <= 3 &&
                std::abs(img.pixels[i + 2] - 0x42) <= 3)
                ++yellow;
        }
    EXPECT_GT(yellow, 1000) << "no window drawn in surprised's colour #f0e442";
}

// The name's extension picks the format: PNG, SVG or PDF; any other is refused.
TEST(InspectionFigure, SvgAndPdfFromTheName) {
    const auto mel = chirp(100, 128);
    auto fig = basic_figure(mel);
    add_results(fig);
    EXPECT_EQ(figures::figure_format_for("a/b.PNG"), figures::FigureFormat::Png);
    EXPECT_EQ(figures::figure_format_for("b.svg"), figures::FigureFormat::Svg);
    EXPECT_EQ(figures::figure_format_for("b.pdf"), figures::FigureFormat::Pdf);
    for (const char* bad : {"b.jpg", "b", "dir.svg/b", "b.png.tmp"})
        EXPECT_THROW(figures::figure_format_for(bad), emoclass::Error) << bad;
    const auto png = figures::render_inspection_figure(fig, "x.png");
    EXPECT_TRUE(has_png_signature(png));
    const auto svg = figures::render_inspection_figure(fig, "x.svg", figures::FigureFormat::Svg);
    const std::string svg_text(svg.begin(), svg.end());
    EXPECT_EQ(svg_text.rfind("<?xml", 0), 0u);
    EXPECT_NE(svg_text.find("<svg"), std::string::npos);
    EXPECT_NE(svg_text.find("</svg>"), std::string::npos);  // finished, not cut off
    const auto pdf = figures::render_inspection_figure(fig, "x.pdf", figures::FigureFormat::Pdf);
    const std::string pdf_text(pdf.begin(), pdf.end());
    EXPECT_EQ(pdf_text.rfind("%PDF-", 0), 0u);
    EXPECT_NE(pdf_text.find("%%EOF"), std::string::npos);
}

TEST(InspectionFigure, RejectsMismatchedLabelsAndBadSettings) {
    TempDir dir;
    const auto mel = chirp(20, 128);
    auto fig = basic_figure(mel);
    fig.labels = {"a", "b"};
    fig.probabilities = {1.0};
    EXPECT_THROW(figures::write_inspection_figure(dir.file("x.png"), fig), emoclass::Error);
    fig = basic_figure(mel);
    fig.settings.hop_length = 0;
    EXPECT_THROW(figures::write_inspection_figure(dir.file("y.png"), fig), emoclass::Error);
    EXPECT_TRUE(dir.entries().empty());
}

namespace {
const std::vector<std::string> kLabels = {"angry", "disgust", "fear", "happy", "neutral", "sad"};
const std::vector<std::vector<long>> kCounts = {{50, 2, 3, 1, 4, 0},  {3, 30, 5, 2, 6, 4},  {0, 0, 0, 0, 0, 0},
                                                {5, 1, 2, 61, 8, 3},  {1, 2, 3, 4, 88, 9},  {0, 3, 7, 1, 12, 47}};
}  // namespace

TEST(ConfusionFigure, RendersDeterministically) {
    TempDir dir;
    figures::write_confusion_figure(dir.file("a.png"), kLabels, kCounts, "test split");  // row 2 is empty
    figures::write_confusion_figure(dir.file("b.png"), kLabels, kCounts, "test split");
    const auto a = read_bytes(dir.file("a.png"));
    ASSERT_TRUE(has_png_signature(a));
    EXPECT_TRUE(a == read_bytes(dir.file("b.png")));
    const auto img = spectro::read_png(dir.file("a.png"));
    EXPECT_GE(img.width, 400);
    EXPECT_LE(img.width, 1200);
    EXPECT_GE(img.height, 400);
    EXPECT_LE(img.height, 1200);
    EXPECT_EQ(img.channels, 3);
}

TEST(ConfusionFigure, ManyClassesAndNoClasses) {
    TempDir dir;
    std::vector<std::string> labels;
    std::vector<std::vector<long>> counts;
    for (int i = 0; i < 20; ++i) {
        labels.push_back("a_rather_long_class_name_" + std::to_string(i));
        counts.emplace_back(20, 0);
        counts.back()[std::size_t(i)] = 1000 + i;
    }
    EXPECT_NO_THROW(figures::write_confusion_figure(dir.file("many.png"), labels, counts, "many"));
    EXPECT_NO_THROW(figures::write_confusion_figure(dir.file("none.png"), {}, {}, "none"));
    EXPECT_TRUE(has_png_signature(read_bytes(dir.file("none.png"))));
}

TEST(ConfusionFigure, RejectsBadShapesAndUnwritablePaths) {
    TempDir dir;
    auto ragged = kCounts;
    ragged[1].pop_back();
    EXPECT_THROW(figures::write_confusion_figure(dir.file("r.png"), kLabels, ragged, "t"), emoclass::Error);
    auto short_rows = kCounts;
    short_rows.pop_back();
    EXPECT_THROW(figures::write_confusion_figure(dir.file("s.png"), kLabels, short_rows, "t"), emoclass::Error);
    auto negative = kCounts;
    negative[0][0] = -1;
    EXPECT_THROW(figures::write_confusion_figure(dir.file("n.png"), kLabels, negative, "t"), emoclass::Error);
    const std::string missing = dir.file("missing/c.png");
    EXPECT_THROW(figures::write_confusion_figure(missing, kLabels, kCounts, "t"), emoclass::Error);
    EXPECT_TRUE(dir.entries().empty());
}

TEST(Figure, CairoVersion) {
    const std::string v = figures::cairo_version();
    ASSERT_FALSE(v.empty());
    EXPECT_TRUE(v[0] >= '0' && v[0] <= '9');
}
