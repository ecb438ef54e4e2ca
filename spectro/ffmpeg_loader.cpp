// Loads the FFmpeg decoder module (libspectro_ffmpeg.so) on first use; see ffmpeg_decoder.hpp.
// Where it is looked for, in order: $EMOCLASS_FFMPEG_MODULE, beside the binary that holds this
// code (an executable, or a Python extension that ships the module next to itself), the build
// tree that made this library, the install location (<libdir>/emoclass/). It stays loaded for
// the process's life.
#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "spectro/error.hpp"
#include "spectro/ffmpeg_decoder.hpp"

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
        std::vector<std::string> candidates;
        if (const char* env = std::getenv("EMOCLASS_FFMPEG_MODULE"); env && *env) candidates.push_back(env);
        Dl_info self{};
        if (dladdr(reinterpret_cast<void*>(&ffmpeg_version), &self) && self.dli_fname) {
            const std::string binary = self.dli_fname;
            const auto slash = binary.rfind('/');
            if (slash != std::string::npos) candidates.push_back(binary.substr(0, slash + 1) + "libspectro_ffmpeg.so");
        }
        candidates.push_back(SPECTRO_FFMPEG_MODULE_BUILD_PATH);
        candidates.push_back(SPECTRO_FFMPEG_MODULE_INSTALL_PATH);
        for (const auto& path : candidates) {
            void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                if (m.why_not.empty()) m.why_not = dlerror();
                continue;
            }
            m.open = reinterpret_cast<FfmpegOpenFn>(dlsym(handle, "spectro_ffmpeg_open"));
            m.version = reinterpret_cast<FfmpegVersionFn>(dlsym(handle, "spectro_ffmpeg_version"));
            if (m.open && m.version) {
                m.path = path;
                m.why_not.clear();
                return;
            }
            m.open = nullptr;
            m.why_not = path + " is not the FFmpeg decoder module";
        }
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
