#include "spectro/audio_folder.hpp"

#include <algorithm>
#include <filesystem>

#include "spectro/audio_reader.hpp"
#include "spectro/corpus.hpp"
#include "spectro/error.hpp"

namespace spectro {
namespace fs = std::filesystem;

FolderScan scan_audio_folder(const std::string& root) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw Error(root, "not a directory");
    FolderScan scan;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) throw Error(root, ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw Error(root, ec.message());
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') {
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec)) continue;
        const std::string path = it->path().string();
        if (has_audio_extension(path)) {
            scan.files.push_back(path);
            continue;
        }
        try {
            AudioReader::open_file(path);
            scan.files.push_back(path);
        } catch (const Error& e) {
            scan.skipped.emplace_back(path, e.reason());
        }
    }
    std::sort(scan.files.begin(), scan.files.end());
    std::sort(scan.skipped.begin(), scan.skipped.end());
    return scan;
}

}  // namespace spectro
