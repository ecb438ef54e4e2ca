#include "spectro/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>

#include "spectro/error.hpp"

namespace spectro {

void write_file_atomically(const std::string& path, const void* data, std::size_t size) {
    static std::atomic<unsigned long> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(errno));
    const char* p = static_cast<const char*>(data);
    std::size_t left = size;
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(err));
        }
        p += n;
        left -= std::size_t(n);
    }
    if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(err));
    }
}

void write_file_atomically(const std::string& path, std::size_t size, const PositionalFill& fill) {
    static std::atomic<unsigned long> counter{0};
    const std::string tmp = path + ".tmp." + std::to_string(getpid()) + ".p" + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(errno));
    bool cleaned = false;
    auto fail = [&](int err) {
        cleaned = true;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(err));
    };
    if (::ftruncate(fd, off_t(size)) != 0) fail(errno);
    try {
        fill([&](std::size_t offset, const void* data, std::size_t n) {
            const char* p = static_cast<const char*>(data);
            while (n > 0) {
                const ssize_t w = ::pwrite(fd, p, n, off_t(offset));
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) fail(errno);
                p += w;
                offset += std::size_t(w);
                n -= std::size_t(w);
            }
        });
    } catch (...) {
        if (!cleaned) {
            ::close(fd);
            ::unlink(tmp.c_str());
        }
        throw;
    }
    if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw emoclass::Error(path, std::string("cannot write: ") + std::strerror(err));
    }
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir) {
    namespace fs = std::filesystem;
    // The names write_file_atomically gives: PATH + ".tmp." + pid + "." + [p]counter.
    static const std::regex temporary(R"(.+\.tmp\.([0-9]{1,10})\.p?[0-9]+)");
    std::vector<std::string> removed;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::smatch m;
        if (!std::regex_match(name, m, temporary) || !it->is_regular_file(ec)) continue;
        const long long pid = std::stoll(m[1].str());
        // kill(pid, 0) probes without signalling: 0 or EPERM means the process is there.
        if (pid > 0 && pid <= 0x7fffffff && (::kill(pid_t(pid), 0) == 0 || errno == EPERM)) continue;
        if (::unlink(it->path().c_str()) == 0) removed.push_back(it->path().string());
    }
    return removed;
}

}  // namespace spectro
