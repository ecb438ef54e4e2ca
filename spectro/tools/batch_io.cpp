#include "spectro/tools/batch_io.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "spectro/error.hpp"

namespace tools {
namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

void write_all(int fd, const std::string& path, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw emoclass::Error(path, errno_text("cannot write"));
        data += n;
        size -= std::size_t(n);
    }
}

bool parse_count(const std::string& text, std::uint64_t& out) {
    if (text.empty() || text.size() > 9) return false;
    out = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + std::uint64_t(c - '0');
    }
    return true;
}

// A recorded line: its input path and stamp, or nothing when the line is not one of ours.
struct Recorded {
    std::string file;
    FileStamp stamp;
};
std::optional<Recorded> parse_recorded(const std::string& line, nlohmann::json& j) {
    j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    auto f = j.find("file"), s = j.find("file_size"), m = j.find("file_mtime_ns");
    if (f == j.end() || !f->is_string() || s == j.end() || !s->is_number_integer() || m == j.end() ||
        !m->is_number_integer())
        return std::nullopt;
    return Recorded{f->get<std::string>(), FileStamp{s->get<std::int64_t>(), m->get<std::int64_t>()}};
}

// Replaces PATH by CONTENT so that a crash leaves either the old or the new file, durably.
void replace_file_durably(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".resume-tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw emoclass::Error(tmp, errno_text("cannot write"));
    try {
        write_all(fd, tmp, content.data(), content.size());
        if (::fsync(fd) != 0) throw emoclass::Error(tmp, errno_text("cannot sync"));
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw emoclass::Error(path, std::string("cannot replace: ") + std::strerror(err));
    }
}

}  // namespace

std::vector<std::string> read_file_list(const std::string& list_path, bool nul_separated) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (list_path != "-") {
        struct stat st {};
        if (::stat(list_path.c_str(), &st) != 0) throw emoclass::Error(list_path, errno_text("cannot open file list"));
        if (S_ISDIR(st.st_mode)) throw emoclass::Error(list_path, "is a directory, not a file list");
        file.open(list_path, std::ios::binary);
        if (!file) throw emoclass::Error(list_path, errno_text("cannot open file list"));
        in = &file;
    }
    std::vector<std::string> paths;
    std::string entry;
    const char separator = nul_separated ? '\0' : '\n';
    while (std::getline(*in, entry, separator)) {
        if (!nul_separated && !entry.empty() && entry.back() == '\r') entry.pop_back();
        if (!entry.empty()) paths.push_back(entry);
    }
    if (in->bad()) throw emoclass::Error(list_path == "-" ? "standard input" : list_path, "read error in file list");
    return paths;
}

Shard parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    Shard s;
    if (slash == std::string::npos || !parse_count(text.substr(0, slash), s.index) ||
        !parse_count(text.substr(slash + 1), s.count) || s.count < 1 || s.index < 1 || s.index > s.count)
        throw emoclass::Error("--shard", "expected K/N with 1 <= K <= N (e.g. 2/8), got '" + text + "'");
    return s;
}

std::uint64_t stable_path_hash(const std::string& path) {
    std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
    for (unsigned char c : path) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;  // splitmix64 finaliser
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

bool in_shard(const std::string& path, const Shard& shard) {
    return stable_path_hash(path) % shard.count == shard.index - 1;
}

std::vector<std::string> select_shard(const std::vector<std::string>& paths, const Shard& shard) {
    std::vector<std::string> out;
    for (const auto& p : paths)
        if (in_shard(p, shard)) out.push_back(p);
    return out;
}

std::vector<std::string> without_duplicates(const std::vector<std::string>& paths) {
    std::unordered_set<std::string> seen;
    std::vector<std::string> out;
    for (const auto& p : paths)
        if (seen.insert(p).second) out.push_back(p);
    return out;
}

std::optional<FileStamp> stamp_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    return FileStamp{std::int64_t(st.st_size), std::int64_t(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

std::string with_stamp(const std::string& json_object, const FileStamp& stamp) {
    if (json_object.size() < 2 || json_object.front() != '{' || json_object.back() != '}')
        throw emoclass::Error("output line", "not a one-line JSON object");
    std::string line = json_object.substr(0, json_object.size() - 1);
    if (line.size() > 1) line += ',';
    line += "\"file_size\":" + std::to_string(stamp.size) + ",\"file_mtime_ns\":" + std::to_string(stamp.mtime_ns) + "}";
    return line;
}

ResumableJsonl::ResumableJsonl(const std::string& path, const std::vector<std::string>& inputs, const Options& options)
    : path_(path), options_(options), done_(inputs.size(), 0), last_sync_(std::chrono::steady_clock::now()) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw emoclass::Error(path, errno_text("cannot open output"));
    // The lock lives as long as the descriptor; another process on the same file waits for nothing.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw emoclass::Error(path, err == EWOULDBLOCK ? "in use by another running process (same output twice?)"
                                                      : std::string("cannot lock: ") + std::strerror(err));
    }
    try {
        struct stat st {};
        if (::fstat(fd_, &st) != 0) throw emoclass::Error(path, errno_text("cannot stat"));
        if (st.st_size == 0) return;
        if (!options.resume)
            throw emoclass::Error(path, "already exists (add --resume to continue it, or remove it to start again)");

        std::ifstream in(path, std::ios::binary);
        if (!in) throw emoclass::Error(path, errno_text("cannot read"));
        std::unordered_map<std::string, std::size_t> index_of;
        for (std::size_t i = 0; i < inputs.size(); ++i) index_of.emplace(inputs[i], i);

        // Pass 1: which lines are whole, readable records. Unreadable lines may only form the
        // tail (what a crash leaves); one in the middle means the file is not ours to edit.
        struct Line {
            std::string text;
            std::optional<Recorded> record;
            bool valid = false;
        };
        std::vector<Line> lines;
        std::string text;
        std::size_t first_bad = std::string::npos, good_bytes = 0, line_no = 0;
        while (std::getline(in, text)) {
            ++line_no;
            const bool terminated = !in.eof();
            nlohmann::json j;
            Line l;
            l.record = terminated ? parse_recorded(text, j) : std::nullopt;
            if (!l.record) {
                if (first_bad == std::string::npos) first_bad = line_no;
                continue;
            }
            if (first_bad != std::string::npos)
                throw emoclass::Error(path, "line " + std::to_string(first_bad) +
                                               " is not a result line but later lines are; not resuming over it");
            l.valid = !options.still_valid || options.still_valid(j);
            good_bytes += text.size() + 1;
            l.text = std::move(text);
            lines.push_back(std::move(l));
        }
        if (in.bad()) throw emoclass::Error(path, "read error");
        dropped_tail_bytes_ = std::size_t(st.st_size) - good_bytes;

        // Pass 2: an input is done when its line matches the file as it is now.
        std::string kept;
        for (auto& l : lines) {
            auto it = index_of.find(l.record->file);
            bool keep = true;
            if (it != index_of.end()) {
                auto now = stamp_of(l.record->file);
                if (l.valid && now && *now == l.record->stamp && !done_[it->second]) done_[it->second] = 1;
                else keep = false;  // changed, vanished, invalid or repeated: done again
            }
            if (keep) {
                kept += l.text;
                kept += '\n';
                ++kept_lines_;
            } else {
                ++dropped_changed_lines_;
            }
        }
        if (dropped_changed_lines_ > 0) {
            // Rewrite without the stale lines; the lock moves to the new file's descriptor.
            replace_file_durably(path, kept);
            int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
            if (fd < 0) throw emoclass::Error(path, errno_text("cannot reopen output"));
            if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
                ::close(fd);
                throw emoclass::Error(path, "in use by another running process (same output twice?)");
            }
            ::close(fd_);
            fd_ = fd;
        } else if (dropped_tail_bytes_ > 0) {
            if (::ftruncate(fd_, off_t(good_bytes)) != 0 || ::fsync(fd_) != 0)
                throw emoclass::Error(path, errno_text("cannot cut off the unfinished last line"));
        }
    } catch (...) {
        ::close(fd_);
        fd_ = -1;
        throw;
    }
}

ResumableJsonl::~ResumableJsonl() {
    if (fd_ >= 0) {
        ::fsync(fd_);
        ::close(fd_);
    }
}

std::size_t ResumableJsonl::done_count() const {
    std::size_t n = 0;
    for (char d : done_) n += d ? 1 : 0;
    return n;
}

void ResumableJsonl::append(const std::string& json_object, const FileStamp& stamp) {
    if (fd_ < 0) throw emoclass::Error(path_, "output already closed");
    const std::string line = with_stamp(json_object, stamp) + "\n";
    // One write(2) per line: a process killed at any moment leaves whole lines only.
    write_all(fd_, path_, line.data(), line.size());
    ++unsynced_lines_;
    auto now = std::chrono::steady_clock::now();
    if (unsynced_lines_ >= options_.sync_every_lines || now - last_sync_ >= options_.sync_every) sync();
}

void ResumableJsonl::sync() {
    if (::fsync(fd_) != 0) throw emoclass::Error(path_, errno_text("cannot sync"));
    unsynced_lines_ = 0;
    last_sync_ = std::chrono::steady_clock::now();
}

void ResumableJsonl::finish() {
    if (fd_ < 0) return;
    sync();
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw emoclass::Error(path_, errno_text("cannot close"));
}

bool output_in_place(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return false;
    if (!S_ISREG(st.st_mode)) throw emoclass::Error(path, "exists and is not a regular file");
    return true;
}

}  // namespace tools
