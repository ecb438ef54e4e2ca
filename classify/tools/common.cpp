#include "common.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "classify/classifier.hpp"
#include "spectro/audio_folder.hpp"

namespace tools {
namespace fs = std::filesystem;

classify::ModelBundle load_model(const std::string& model_dir, bool int8) {
    std::string dir = model_dir;
    if (dir.empty()) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        dir = classify::find_default_bundle(n > 0 ? std::string(exe, size_t(n)) : std::string());
    }
    classify::ModelBundle bundle = classify::load_bundle(dir);
    return int8 ? classify::use_int8(std::move(bundle)) : bundle;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& args, std::size_t* unreadable) {
    std::vector<std::string> out;
    for (const auto& a : args) {
        std::error_code ec;
        if (fs::is_directory(a, ec)) {
            auto scan = spectro::scan_audio_folder(a);
            out.insert(out.end(), scan.files.begin(), scan.files.end());
            for (const auto& [file, reason] : scan.skipped)  // one line per file no decoder reads
                std::fprintf(stderr, "skipped %s: %s\n", file.c_str(), reason.c_str());
            for (const auto& [path, reason] : scan.errors)
                std::fprintf(stderr, "error: %s: %s\n", path.c_str(), reason.c_str());
            *unreadable += scan.errors.size();
        } else {
            out.push_back(a);
        }
    }
    return out;
}

std::vector<std::unique_ptr<classify::Analyzer>> make_analyzers(const classify::ModelBundle& bundle, int jobs,
                                                                classify::AnalyzeOptions options,
                                                                int inference_threads) {
    if (jobs < 1) jobs = 1;
    classify::set_inference_threads(inference_threads > 0 ? inference_threads : (jobs > 1 ? 1 : 0));
    std::vector<std::unique_ptr<classify::Analyzer>> pool;
    for (int i = 0; i < jobs; ++i) pool.push_back(std::make_unique<classify::Analyzer>(bundle, options));
    return pool;
}

}  // namespace tools
