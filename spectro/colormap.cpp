// Gray levels to colours, apart from the rest of image.cpp so that a user of the colours alone
// (the figures module) links the tables without the decoding chain behind image_from_file.
#include <algorithm>

#include "spectro/image.hpp"

namespace spectro {
namespace {
#include "spectro/colormap_tables.inc"
}  // namespace

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
