// model.json text -> the bundle manifest parser (types, nesting, sizes, ranges).
#include <cstddef>
#include <cstdint>
#include <string>

#include "classify/bundle.hpp"
#include "spectro/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        (void)classify::parse_bundle_json(std::string(reinterpret_cast<const char*>(data), size), "/fuzz");
    } catch (const emoclass::Error&) {
    }
    return 0;
}
