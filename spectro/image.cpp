#include "spectro/image.hpp"

#include <algorithm>
#include <cmath>

#include "spectro/db.hpp"
#include "spectro/error.hpp"

namespace spectro {
namespace {
#include "spectro/colormap_tables.inc"
}  // namespace

FrameWindow choose_window(const MelMatrix& mel, const ImageRecipe& recipe) {
    const std::size_t frames = mel.frames();
    FrameWindow w;
    w.width = recipe.frames > 0 ? std::size_t(recipe.frames) : frames;
    if (frames <= w.width) {
        w.count = frames;
        w.offset = recipe.clip_policy == ClipPolicy::Start ? 0 : (w.width - frames) / 2;
        return w;
    }
    w.count = w.width;
    switch (recipe.clip_policy) {
        case ClipPolicy::Start: w.first = 0; break;
        case ClipPolicy::Center: w.first = (frames - w.width) / 2; break;
        case ClipPolicy::Loudest: {
            // The window with the most total mel energy (sliding sum, first maximum wins).
            const std::size_t n = std::size_t(mel.n_mels);
            std::vector<double> energy(frames, 0.0);
            for (std::size_t f = 0; f < frames; ++f)
                for (std::size_t m = 0; m < n; ++m) energy[f] += mel.values[f * n + m];
            double sum = 0;
            for (std::size_t f = 0; f < w.width; ++f) sum += energy[f];
            double best = sum;
            for (std::size_t start = 1; start + w.width <= frames; ++start) {
                sum += energy[start + w.width - 1] - energy[start - 1];
                if (sum > best * (1 + 1e-12)) {
                    best = sum;
                    w.first = start;
                }
            }
            break;
        }
    }
    return w;
}

Image render_window(const MelMatrix& mel, const FrameWindow& window, const SpectroSettings& settings) {
    const std::size_t n_mels = std::size_t(mel.n_mels);
    if (window.first + window.count > mel.frames() || window.offset + window.count > window.width)
        throw Error("image", "frame window out of range");
    const int width = int(window.width), height = int(n_mels);
    std::vector<std::uint8_t> levels(std::size_t(width) * n_mels, 0);
    if (window.count > 0) {
        std::vector<float> db(mel.values.begin() + long(window.first * n_mels),
                              mel.values.begin() + long((window.first + window.count) * n_mels));
        const float ref_power = to_db_ref_max(db.data(), db.size(), settings.power, settings.top_db);
        if (ref_power > 0.0f) {
            // dB is <= 0 after ref = max; [-top_db, 0] -> [0, 255], rounded half up.
            const double scale = 255.0 / settings.top_db;
            for (std::size_t f = 0; f < window.count; ++f) {
                const std::size_t col = window.offset + f;
                for (std::size_t m = 0; m < n_mels; ++m) {
                    double v = std::floor((double(db[f * n_mels + m]) + settings.top_db) * scale + 0.5);
                    v = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 255.0);  // a NaN cast to a byte is undefined
                    const std::size_t row = n_mels - 1 - m;  // low frequencies at the bottom
                    levels[row * std::size_t(width) + col] = std::uint8_t(v);
                }
            }
        }
    }
    return apply_colormap(levels, width, height, settings.image.colormap);
}

Image render_image(const MelMatrix& mel, const SpectroSettings& settings) {
    return render_window(mel, choose_window(mel, settings.image), settings);
}

void colormap_rgb(Colormap colormap, std::uint8_t level, std::uint8_t rgb[3]) {
    switch (colormap) {
        case Colormap::Gray: rgb[0] = rgb[1] = rgb[2] = level; return;
        case Colormap::Viridis: std::copy(k_viridis[level], k_viridis[level] + 3, rgb); return;
        case Colormap::Magma: std::copy(k_magma[level], k_magma[level] + 3, rgb); return;
    }
}

Image apply_colormap(const std::vector<std::uint8_t>& levels, int width, int height, Colormap colormap) {
    Image img;
    img.width = width;
    img.height = height;
    if (colormap == Colormap::Gray) {
        img.channels = 1;
        img.pixels = levels;
        return img;
    }
    img.channels = 3;
    img.pixels.resize(levels.size() * 3);
    for (std::size_t i = 0; i < levels.size(); ++i) colormap_rgb(colormap, levels[i], &img.pixels[i * 3]);
    return img;
}

}  // namespace spectro
