#include "spectro/module_loader.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace spectro {

std::string load_module(const ModuleSearch& search, const std::function<bool(void* handle)>& accept,
                        std::string& why_not) {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv(search.env_var); env && *env) candidates.push_back(env);
    Dl_info self{};
    if (dladdr(search.anchor, &self) && self.dli_fname) {
        const std::string binary = self.dli_fname;
        const auto slash = binary.rfind('/');
        if (slash != std::string::npos) candidates.push_back(binary.substr(0, slash + 1) + search.file_name);
    }
    candidates.push_back(search.build_path);
    candidates.push_back(search.install_path);
    why_not.clear();
    for (const auto& path : candidates) {
        void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            if (why_not.empty()) why_not = dlerror();
            continue;
        }
        if (accept(handle)) {
            why_not.clear();
            return path;
        }
        why_not = path + " is not " + search.what;
    }
    return "";
}

}  // namespace spectro
