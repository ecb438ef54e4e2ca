#pragma once
// Progress for long batch runs on stderr: counts, rate and ETA, redrawn in place on a terminal,
// one line every few seconds otherwise (logs stay readable). Thread-safe. Shared by the tools.
// It never shares a line with results: on a terminal, print_above() erases the line while
// results are written (stdout is often that same terminal) and draws it again below them; when
// stderr is not a terminal but the same file or pipe as stdout (`> log 2>&1`), it stays silent.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace tools {

class Progress {
public:
    Progress(std::size_t total, std::string what, bool enabled = true)
        : total_(total), what_(std::move(what)), tty_(isatty(STDERR_FILENO)),
          enabled_(enabled && total > 1 && (tty_ || !stderr_is_stdout())), start_(Clock::now()), last_(start_) {}

    // Runs `write_results` (which prints to stdout or stderr) with the in-place line erased, then
    // draws the line again below what it wrote.
    template <class F> void print_above(F&& write_results) {
        std::lock_guard<std::mutex> lock(mutex_);
        const bool shown = visible_;
        if (shown) {
            std::fputs("\r\x1b[K", stderr);
            std::fflush(stderr);
            visible_ = false;
        }
        write_results();
        std::fflush(stdout);
        if (shown) draw(Clock::now());
    }

    void tick(bool failed = false) {
        std::lock_guard<std::mutex> lock(mutex_);
        ++done_;
        if (failed) ++failed_;
        auto now = Clock::now();
        double since = std::chrono::duration<double>(now - last_).count();
        if (!enabled_ || (done_ < total_ && since < (tty_ ? 0.2 : 5.0))) return;
        last_ = now;
        draw(now);
    }

    // Ends the in-place line; the caller prints its own summary.
    void finish() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (visible_) std::fputc('\n', stderr);
        visible_ = false;
    }

    double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    std::size_t failed() const { return failed_; }

    static std::string format_duration(double s) {
        char buf[32];
        if (s < 60) std::snprintf(buf, sizeof buf, "%.0fs", s);
        else if (s < 3600) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
        else std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
        return buf;
    }

private:
    using Clock = std::chrono::steady_clock;
    static bool stderr_is_stdout() {
        struct stat out {}, err {};
        return fstat(STDOUT_FILENO, &out) == 0 && fstat(STDERR_FILENO, &err) == 0 && out.st_dev == err.st_dev &&
               out.st_ino == err.st_ino;
    }
    void draw(Clock::time_point now) {
        double elapsed = std::chrono::duration<double>(now - start_).count();
        double rate = elapsed > 0 ? done_ / elapsed : 0;
        double eta = rate > 0 ? (total_ - done_) / rate : 0;
        std::fprintf(stderr, "%s%s %zu/%zu (%.0f%%) %.1f/s, %zu failed, ETA %s%s", tty_ ? "\r" : "", what_.c_str(),
                     done_, total_, 100.0 * done_ / total_, rate, failed_, format_duration(eta).c_str(),
                     tty_ ? "\x1b[K" : "\n");
        std::fflush(stderr);
        visible_ = tty_;
    }
    std::size_t total_, done_ = 0, failed_ = 0;
    std::string what_;
    bool tty_, enabled_;
    bool visible_ = false;  // the in-place line is on the terminal now
    Clock::time_point start_, last_;
    std::mutex mutex_;
};

}  // namespace tools
