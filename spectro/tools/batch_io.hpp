#pragma once
// Big batch jobs, shared by emoclass and spectro-dump: input lists (--files-from), a
// deterministic share of them (--shard K/N), and a JSON-lines output that survives crashes and
// can be resumed (--output/--log with --resume). Errors throw emoclass::Error; nothing prints.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace tools {

// Paths from LIST_PATH ("-" = standard input): one per line (a trailing '\r' is dropped), or
// NUL-separated when nul_separated. Empty entries are skipped; paths are kept exactly otherwise.
std::vector<std::string> read_file_list(const std::string& list_path, bool nul_separated);

// --shard K/N: worker K (1-based) of N.
struct Shard {
    std::uint64_t index = 1, count = 1;
};
// Throws emoclass::Error("--shard", ...) unless TEXT is K/N with 1 <= K <= N.
Shard parse_shard(const std::string& text);
// A 64-bit hash of the path's bytes, the same on every machine and run (FNV-1a, then the
// splitmix64 finaliser so that every bit of it mixes into the remainder).
std::uint64_t stable_path_hash(const std::string& path);
// The path belongs to shard K/N when hash % N == K - 1: independent of the list's order and of
// which other paths it holds, so N workers given the same list split it with no coordination.
bool in_shard(const std::string& path, const Shard& shard);
std::vector<std::string> select_shard(const std::vector<std::string>& paths, const Shard& shard);

// Drops repeated paths (the first stays): an output holds one line per input path.
std::vector<std::string> without_duplicates(const std::vector<std::string>& paths);

// What identifies one version of an input file.
struct FileStamp {
    std::int64_t size = -1;
    std::int64_t mtime_ns = -1;
    bool operator==(const FileStamp& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
};
// The stamp of PATH now; nullopt when it cannot be stat'ed (the analysis will say why).
std::optional<FileStamp> stamp_of(const std::string& path);

// A JSON-lines output, one complete line per input, that a crash cannot corrupt and a re-run
// can continue:
// - every line goes out in one write(2) on an O_APPEND descriptor, so a killed process leaves
//   whole lines only; fsync runs every `sync_every_lines` lines or `sync_every` (whichever comes
//   first) and on finish(), bounding what a power loss can take back;
// - each line is the caller's JSON object with "file_size" and "file_mtime_ns" added, which is
//   how --resume recognises an input that is already done (same path, same size and mtime);
// - with resume, an unfinished tail (an unterminated or unreadable last line or lines, as a
//   crash or power loss can leave) is cut off, and lines for inputs that changed since are
//   dropped (the file is rewritten atomically), so those inputs are simply done again;
// - an exclusive lock (flock) stops two processes writing one output.
class ResumableJsonl {
public:
    struct Options {
        bool resume = false;
        std::size_t sync_every_lines = 64;
        std::chrono::milliseconds sync_every{5000};
        // Optional extra check of a recorded line (e.g. spectro-dump: its image still exists);
        // a line that fails it counts as not done and is dropped.
        std::function<bool(const nlohmann::json& line)> still_valid;
    };
    // Without resume, PATH must be missing or empty (a finished run is never overwritten).
    // With resume, a missing PATH starts fresh, so one command serves the first run and re-runs.
    ResumableJsonl(const std::string& path, const std::vector<std::string>& inputs, const Options& options);
    ~ResumableJsonl();
    ResumableJsonl(const ResumableJsonl&) = delete;
    ResumableJsonl& operator=(const ResumableJsonl&) = delete;

    // Per input (same order as given): already in the output with its current size and mtime.
    const std::vector<char>& done() const { return done_; }
    std::size_t done_count() const;
    // What opening with resume found and repaired.
    std::size_t kept_lines() const { return kept_lines_; }
    std::size_t dropped_tail_bytes() const { return dropped_tail_bytes_; }
    std::size_t dropped_changed_lines() const { return dropped_changed_lines_; }

    // Appends JSON_OBJECT (one line, no newline) with the stamp added. Throws on a failed write.
    void append(const std::string& json_object, const FileStamp& stamp);
    // fsync and close; also done by the destructor (which cannot report failure).
    void finish();
    const std::string& path() const { return path_; }

private:
    void sync();
    std::string path_;
    Options options_;
    int fd_ = -1;
    std::vector<char> done_;
    std::size_t kept_lines_ = 0, dropped_tail_bytes_ = 0, dropped_changed_lines_ = 0;
    std::size_t unsynced_lines_ = 0;
    std::chrono::steady_clock::time_point last_sync_;
};

// Hands finished tasks on in index order: done(i) from any thread; emit(j) runs (under one
// lock) for every j whose predecessors are all done. Outputs then follow the input order for any
// number of threads, which is what lets a resumed run append exactly what an unbroken run writes.
class InOrder {
public:
    InOrder(std::size_t count, std::function<void(std::size_t)> emit)
        : ready_(count, 0), emit_(std::move(emit)) {}
    void done(std::size_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_[i] = 1;
        while (next_ < ready_.size() && ready_[next_]) emit_(next_++);
    }

private:
    std::vector<char> ready_;
    std::size_t next_ = 0;
    std::function<void(std::size_t)> emit_;
    std::mutex mutex_;
};

// JSON_OBJECT ("{...}") with "file_size" and "file_mtime_ns" added as its last fields.
std::string with_stamp(const std::string& json_object, const FileStamp& stamp);

// Whether an output is already there for a re-run to skip: a regular file at PATH. Anything
// else there (a folder, a FIFO) throws emoclass::Error(path, "exists and is not a regular file"):
// neither skipped as done nor replaced.
bool output_in_place(const std::string& path);

}  // namespace tools
