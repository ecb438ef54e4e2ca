#pragma once
// Modules loaded with dlopen on first use (the FFmpeg decoder, the cairo figures), so that their
// libraries cost nothing to a process that never needs them. One search for all of them; each
// loader looks up its own entry points. A module stays loaded for the process's life.
#include <functional>
#include <string>

namespace spectro {

// Where a module is looked for, in order: $env_var, beside the binary that holds `anchor` (an
// executable, or a Python extension that ships the module next to itself), the build tree that
// made the library, the install location (<libdir>/emoclass/).
struct ModuleSearch {
    const char* env_var;       // e.g. "EMOCLASS_FFMPEG_MODULE"
    const char* file_name;     // e.g. "libspectro_ffmpeg.so"
    const void* anchor;        // an address in the code that loads it (dladdr finds its file)
    const char* build_path;
    const char* install_path;
    const char* what;          // e.g. "the FFmpeg decoder module", for a file without the entry points
};

// Opens the candidates in order and returns the path of the first one `accept` takes (given the
// dlopen handle, it looks up the entry points and keeps them). "" when none did; `why_not` then
// says why (the first dlopen error, or which file was not the module).
std::string load_module(const ModuleSearch& search, const std::function<bool(void* handle)>& accept,
                        std::string& why_not);

}  // namespace spectro
