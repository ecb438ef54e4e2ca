// model.onnx bytes -> what emoclass does before OpenCV's importer sees them: the structural
// check, then the SiLU rewrite of what passed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "classify/onnx_check.hpp"
#include "classify/silu_fusion.hpp"
#include "spectro/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string model(reinterpret_cast<const char*>(data), size);
    try {
        classify::check_onnx_model(model, "<fuzz>");
    } catch (const emoclass::Error&) {
        return 0;
    }
    const auto fused = classify::fuse_silu(model);
    try {
        classify::check_onnx_model(fused.model, "<fuzz, fused>");  // the rewrite stays well formed
    } catch (const emoclass::Error& e) {
        if (fused.fused == 0) __builtin_trap();  // unchanged bytes cannot start failing
    }
    return 0;
}
