#pragma once
// SpectrogramImage: the one code path from mel values to model-input pixels, used by
// spectro-dump for training images and by emoclass for inference.
//   window of frames -> dB with ref = the window's max -> [max - top_db, max] mapped to 0..255
//   -> row 0 = highest mel band (low frequencies at the bottom) -> gray or colormap.
// Frames a short clip lacks are silence (pixel 0). A window with no energy at all (digital
// silence) renders as all zeros rather than librosa's all-0-dB (which would be white).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "spectro/mel_spectrogram.hpp"
#include "spectro/settings.hpp"

namespace spectro {

struct Image {
    int width = 0, height = 0, channels = 0;  // channels 1 (gray) or 3 (RGB)
    std::vector<std::uint8_t> pixels;        // row-major, interleaved
};

// Which frames of a clip fill the image, and where they land in it.
struct FrameWindow {
    std::size_t first = 0;   // first frame of the clip used
    std::size_t count = 0;   // frames used
    std::size_t offset = 0;  // image column of the first frame used
    std::size_t width = 0;   // image width in frames
};

// Applies the recipe's clip policy to a clip of `frames` frames.
FrameWindow choose_window(const MelMatrix& mel, const ImageRecipe& recipe);

// Renders frames [window.first, window.first + window.count) into a window.width-wide image.
Image render_window(const MelMatrix& mel, const FrameWindow& window, const SpectroSettings& settings);

// choose_window + render_window.
Image render_image(const MelMatrix& mel, const SpectroSettings& settings);

// The image of an audio file, holding only the frames the clip policy can pick (memory does not
// grow with the recording); equal to render_image(mel_from_file(path)).
Image image_from_file(const std::string& path, const SpectroSettings& settings, AudioInfo* info = nullptr);

// Gray 8-bit levels (one per pixel, row-major) to the recipe's colormap (gray stays 1 channel).
Image apply_colormap(const std::vector<std::uint8_t>& levels, int width, int height, Colormap colormap);

// RGB of level 0..255 in a colormap (gray gives v,v,v).
void colormap_rgb(Colormap colormap, std::uint8_t level, std::uint8_t rgb[3]);

}  // namespace spectro
