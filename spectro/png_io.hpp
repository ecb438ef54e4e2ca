#pragma once
// PNG encode/decode with libpng: 8-bit gray or RGB, fixed compression and no time stamp, so the
// same image always gives the same bytes.
#include <string>
#include <vector>

#include "spectro/image.hpp"

namespace spectro {

std::vector<unsigned char> encode_png(const Image& image);
// Encodes and writes atomically (no partial PNG is ever left).
void write_png(const std::string& path, const Image& image);
// Reads any 8-bit-or-less gray/RGB(A)/palette PNG as 8-bit gray (1 channel) or RGB (3 channels);
// alpha is dropped, 16-bit is reduced. Throws emoclass::Error(path, reason).
Image read_png(const std::string& path);
Image decode_png(const void* data, std::size_t size, const std::string& name);

std::string png_version();

}  // namespace spectro
