// PNG bytes -> the decoder emoclass uses for spectrogram images given as input.
#include <cstddef>
#include <cstdint>

#include "spectro/error.hpp"
#include "spectro/png_io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        (void)spectro::decode_png(data, size, "<fuzz>");
    } catch (const emoclass::Error&) {
    }
    return 0;
}
