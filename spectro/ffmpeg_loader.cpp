// Loads the FFmpeg decoder module (libspectro_ffmpeg.so) on first use; see ffmpeg_decoder.hpp.
// It is looked for as spectro/module_loader.hpp says, $EMOCLASS_FFMPEG_MODULE first.
#include <dlfcn.h>

#include <mutex>
#include <string>

#include "spectro/error.hpp"
#include "spectro/ffmpeg_decoder.hpp"
#include "spectro/module_loader.hpp"

namespace spectro {
namespace {

struct Module {
    FfmpegOpenFn open = nullptr;
    FfmpegVersionFn version = nullptr;
    std::string path;
    std::string why_not;  // when it could not be loaded
};

const Module& module() {
    static Module m;
    static std::once_flag once;
    std::call_once(once, [] {
        const ModuleSearch search{"EMOCLASS_FFMPEG_MODULE", "libspectro_ffmpeg.so",
                                  reinterpret_cast<const void*>(&ffmpeg_version), SPECTRO_FFMPEG_MODULE_BUILD_PATH,
                                  SPECTRO_FFMPEG_MODULE_INSTALL_PATH, "the FFmpeg decoder module"};
        m.path = load_module(search, [](void* handle) {
            m.open = reinterpret_cast<FfmpegOpenFn>(dlsym(handle, "spectro_ffmpeg_open"));
            m.version = reinterpret_cast<FfmpegVersionFn>(dlsym(handle, "spectro_ffmpeg_version"));
            if (m.open && m.version) return true;
            m.open = nullptr;
            return false;
        }, m.why_not);
    });
    return m;
}

std::unique_ptr<DecodedStream> open_with(const char* path, const void* data, std::size_t size,
                                         const std::string& name) {
    const Module& m = module();
    if (!m.open)
        throw emoclass::Error(name, "not a recognised audio format (libsndfile cannot read it and the FFmpeg decoder "
                          "module is not available: " + m.why_not + ")");
    return std::unique_ptr<DecodedStream>(m.open(path, data, size, name.c_str()));
}

}  // namespace

std::unique_ptr<DecodedStream> ffmpeg_open_file(const std::string& path) {
    return open_with(path.c_str(), nullptr, 0, path);
}

std::unique_ptr<DecodedStream> ffmpeg_open_memory(const void* data, std::size_t size, const std::string& name) {
    return open_with(nullptr, data, size, name);
}

std::string ffmpeg_version() {
    const Module& m = module();
    if (!m.open) return "FFmpeg decoder module not available (" + m.why_not + ")";
    return std::string(m.version()) + " (module " + m.path + ")";
}

}  // namespace spectro
