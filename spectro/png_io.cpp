#include "spectro/png_io.hpp"

#include <png.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "spectro/atomic_file.hpp"
#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

namespace spectro {
namespace {

void on_png_error(png_structp png, png_const_charp message) {
    auto* reason = static_cast<std::string*>(png_get_error_ptr(png));
    *reason = message;
    png_longjmp(png, 1);
}
void on_png_warning(png_structp, png_const_charp) {}

struct ReadCursor {
    const unsigned char* data;
    std::size_t size;
    std::size_t pos;
};

}  // namespace

std::vector<unsigned char> encode_png(const Image& image) {
    if (image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3) ||
        image.pixels.size() != std::size_t(image.width) * image.height * image.channels)
        throw emoclass::Error("png", "invalid image geometry");
    std::string reason;
    std::vector<unsigned char> out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &reason, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        throw emoclass::Error("png", "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        throw emoclass::Error("png", "encoding failed: " + reason);
    }
    png_set_write_fn(
        png, &out,
        [](png_structp p, png_bytep data, png_size_t len) {
            auto* v = static_cast<std::vector<unsigned char>*>(png_get_io_ptr(p));
            v->insert(v->end(), data, data + len);
        },
        nullptr);
    png_set_IHDR(png, info, png_uint_32(image.width), png_uint_32(image.height), 8,
                 image.channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    const std::size_t stride = std::size_t(image.width) * image.channels;
    for (int y = 0; y < image.height; ++y)
        png_write_row(png, const_cast<png_bytep>(image.pixels.data() + std::size_t(y) * stride));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

void write_png(const std::string& path, const Image& image) { write_file_atomically(path, encode_png(image)); }

Image decode_png(const void* data, std::size_t size, const std::string& name) {
    if (size < 8 || png_sig_cmp(static_cast<png_const_bytep>(data), 0, 8) != 0)
        throw emoclass::Error(name, "not a PNG file");
    std::string reason;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reason, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw emoclass::Error(name, "out of memory");
    }
    Image img;
    ReadCursor cursor{static_cast<const unsigned char*>(data), size, 0};
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw emoclass::Error(name, "corrupt PNG: " + reason);
    }
    png_set_read_fn(png, &cursor, [](png_structp p, png_bytep out, png_size_t len) {
        auto* c = static_cast<ReadCursor*>(png_get_io_ptr(p));
        if (c->pos + len > c->size) png_error(p, "unexpected end of data");
        std::memcpy(out, c->data + c->pos, len);
        c->pos += len;
    });
    png_read_info(png, info);
    const png_byte color = png_get_color_type(png, info);
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (color & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    png_read_update_info(png, info);
    img.width = int(png_get_image_width(png, info));
    img.height = int(png_get_image_height(png, info));
    img.channels = int(png_get_channels(png, info));
    if (img.channels != 1 && img.channels != 3) png_error(png, "unsupported channel layout");
    if (std::size_t(img.width) * img.height > (1u << 26)) png_error(png, "image too large");
    // The buffers are made with no libpng call pending, then a fresh jump point guards the pixel
    // reads: a png_error() longjmp must neither skip a C++ object's destructor nor find one
    // changed since its setjmp (the rows vector leaked on every corrupt image data).
    img.pixels.resize(std::size_t(img.width) * img.height * img.channels);
    std::vector<png_bytep> rows(std::size_t(img.height));
    for (int y = 0; y < img.height; ++y)
        rows[std::size_t(y)] = img.pixels.data() + std::size_t(y) * img.width * img.channels;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        throw emoclass::Error(name, "corrupt PNG: " + reason);
    }
    png_read_image(png, rows.data());
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    return img;
}

Image read_png(const std::string& path) {
    // A FIFO (or device) named x.png would block the read forever.
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw emoclass::Error(path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw emoclass::Error(path, "is a directory, not a PNG file");
    if (!S_ISREG(st.st_mode)) throw emoclass::Error(path, "not a regular file");
    const std::string bytes = read_file(path);
    return decode_png(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), path);
}

std::string png_version() { return png_get_libpng_ver(nullptr); }

}  // namespace spectro
