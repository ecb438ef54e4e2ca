#include "spectro/audio_folder.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"

namespace spectro {
namespace fs = std::filesystem;

namespace {

// What a non-regular, non-folder entry is, for its error line.
std::string kind_of(fs::file_type t) {
    switch (t) {
        case fs::file_type::fifo: return "a FIFO (named pipe)";
        case fs::file_type::socket: return "a socket";
        case fs::file_type::block: return "a block device";
        case fs::file_type::character: return "a character device";
        default: return "not a file or folder";
    }
}

}  // namespace

FolderWalk walk_folder(const std::string& root, bool skip_hidden) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw emoclass::Error(root, "not a directory");
    FolderWalk walk;
    // Folder by folder rather than recursive_directory_iterator: it either skips a folder it
    // cannot open without a word (skip_permission_denied) or stops the whole walk there.
    std::vector<fs::path> pending{fs::path(root)};
    bool at_root = true;
    while (!pending.empty()) {
        const fs::path dir = pending.back();
        pending.pop_back();
        fs::directory_iterator it(dir, ec), end;
        if (ec) {
            if (at_root) throw emoclass::Error(root, ec.message());
            walk.errors.emplace_back(dir.string(), "cannot read folder: " + ec.message());
            ec.clear();
            continue;
        }
        at_root = false;
        for (; it != end; it.increment(ec)) {
            if (ec) {
                walk.errors.emplace_back(dir.string(), "cannot read folder: " + ec.message());
                ec.clear();
                break;
            }
            const fs::path& path = it->path();
            const std::string name = path.filename().string();
            if (skip_hidden && !name.empty() && name[0] == '.') continue;
            const fs::file_status own = it->symlink_status(ec);
            const fs::file_status target = ec ? fs::file_status() : it->status(ec);
            if (ec || !fs::exists(target)) {
                walk.errors.emplace_back(path.string(), fs::is_symlink(own) ? "broken symbolic link" : ec.message());
                ec.clear();
                continue;
            }
            if (fs::is_directory(target)) {
                if (!fs::is_symlink(own)) pending.push_back(path);
            } else if (fs::is_regular_file(target)) {
                walk.files.push_back(path.string());
            } else {
                walk.errors.emplace_back(path.string(), kind_of(target.type()) + ", not a regular file");
            }
        }
    }
    std::sort(walk.files.begin(), walk.files.end());
    std::sort(walk.errors.begin(), walk.errors.end());
    return walk;
}

bool has_audio_extension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    static const std::set<std::string> exts = {".wav", ".flac", ".ogg", ".opus", ".mp3", ".aif", ".aiff", ".au"};
    return exts.count(ext) > 0;
}

std::vector<std::string> list_audio_files(const std::string& root,
                                          std::vector<std::pair<std::string, std::string>>* errors) {
    FolderWalk walk = walk_folder(root, false);
    std::vector<std::string> out;
    for (auto& path : walk.files)
        if (has_audio_extension(path)) out.push_back(std::move(path));
    if (errors) errors->insert(errors->end(), walk.errors.begin(), walk.errors.end());
    return out;
}

FolderScan scan_audio_folder(const std::string& root) {
    FolderWalk walk = walk_folder(root, true);
    FolderScan scan;
    scan.errors = std::move(walk.errors);
    for (const auto& path : walk.files) {
        if (has_audio_extension(path)) {
            scan.files.push_back(path);
            continue;
        }
        try {
            AudioReader::open_file(path);
            scan.files.push_back(path);
        } catch (const emoclass::Error& e) {
            scan.skipped.emplace_back(path, e.reason());
        }
    }
    return scan;  // walk.files is sorted, so both lists are
}

}  // namespace spectro
