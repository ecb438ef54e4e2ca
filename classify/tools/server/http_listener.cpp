#include "classify/tools/server/http_listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "spectro/error.hpp"

namespace classify {
namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_deadline_expired = false;

// Milliseconds until `t` for poll(): 0 when past, at most `cap`.
int millis_until(Clock::time_point t, int cap = 1000) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
    return int(std::clamp<long long>(ms + 1, 0, cap));
}

const char* reason_phrase(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

// A complete answer for a request refused before routing (the message is plain ASCII).
std::string refusal(int status, const std::string& message, bool retry_later = false) {
    const std::string body = "{\"error\":\"" + message + "\"}";
    return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + (retry_later ? "Retry-After: 1\r\n" : "") + "\r\n" + body;
}

bool iequals(const std::string& a, const char* b) {
    const std::size_t n = std::strlen(b);
    if (a.size() != n) return false;
    for (std::size_t i = 0; i < n; ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string peer_ip(const sockaddr_storage& addr, int* port) {
    char text[INET6_ADDRSTRLEN] = "?";
    *port = 0;
    if (addr.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
        inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        *port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
        inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        *port = ntohs(a->sin6_port);
    }
    return text;
}

// Closes after telling the peer we are done and reading (and discarding) what it still sends,
// briefly: closing with unread bytes would reset the connection and could lose our answer.
void linger_close(int fd, Clock::time_point until) {
    ::shutdown(fd, SHUT_WR);
    char sink[16384];
    std::size_t drained = 0;
    while (drained < (4u << 20)) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, millis_until(until)) <= 0) break;
        const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
        if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;
        if (n > 0) drained += std::size_t(n);
    }
    ::close(fd);
}

// The stream httplib reads one request from and writes its answer to: first the bytes the event
// loop already read, then the socket, every read bounded by the request's one deadline.
class ConnectionStream : public httplib::Stream {
public:
    ConnectionStream(int fd, std::string already_read, Clock::time_point deadline, double write_timeout_s,
                     std::string ip, int port)
        : fd_(fd), buffer_(std::move(already_read)), deadline_(deadline), write_timeout_s_(write_timeout_s),
          ip_(std::move(ip)), port_(port) {}

    bool is_readable() const override { return pos_ < buffer_.size() || wait(POLLIN, deadline_); }
    // Writable is all that is asked: a client that half-closed after its request (nc -N) still
    // reads the answer.
    bool is_writable() const override { return wait(POLLOUT, write_deadline()); }

    ssize_t read(char* ptr, size_t size) override {
        if (pos_ >= buffer_.size()) {
            buffer_.resize(65536);
            pos_ = 0;
            for (;;) {
                const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
                if (n >= 0) {
                    buffer_.resize(std::size_t(n));
                    if (n == 0) return 0;
                    break;
                }
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    buffer_.clear();
                    return -1;
                }
                if (!wait(POLLIN, deadline_)) {
                    if (Clock::now() >= deadline_) t_deadline_expired = true;
                    buffer_.clear();
                    return -1;
                }
            }
        }
        const std::size_t n = std::min(size, buffer_.size() - pos_);
        std::memcpy(ptr, buffer_.data() + pos_, n);
        pos_ += n;
        return ssize_t(n);
    }

    ssize_t write(const char* ptr, size_t size) override {
        const auto until = write_deadline();
        for (;;) {
            const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
            if (n >= 0) return n;
            if (errno == EINTR) continue;
            if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLOUT, until)) return -1;
        }
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = ip_;
        port = port_;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage addr{};
        socklen_t len = sizeof addr;
        ip.clear();
        port = 0;
        if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip = peer_ip(addr, &port);
    }
    socket_t socket() const override { return fd_; }

private:
    Clock::time_point write_deadline() const {
        return Clock::now() + std::chrono::microseconds(std::int64_t(write_timeout_s_ * 1e6));
    }
    bool wait(short events, Clock::time_point until) const {
        for (;;) {
            pollfd p{fd_, events, 0};
            const int ms = millis_until(until, 60000);
            const int r = ::poll(&p, 1, ms);
            if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
            if (r < 0 && errno == EINTR) continue;
            if (r == 0 && Clock::now() < until) continue;  // a wait longer than one poll
            return false;
        }
    }

    int fd_;
    std::string buffer_;
    std::size_t pos_ = 0;
    Clock::time_point deadline_;
    double write_timeout_s_;
    std::string ip_;
    int port_;
};

// Threads for requests whose headers are complete, started as needed. Every connection is at
// most one job and connections are capped, so the pool is bounded by max_connections.
class HandlerPool {
public:
    explicit HandlerPool(std::size_t max_threads) : max_threads_(std::max<std::size_t>(1, max_threads)) {}
    ~HandlerPool() { shutdown(); }

    void submit(std::function<void()> job) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            jobs_.push_back(std::move(job));
            if (idle_ == 0 && threads_.size() < max_threads_) threads_.emplace_back([this] { loop(); });
        }
        ready_.notify_one();
    }

    // Runs the queued jobs, then joins.
    void shutdown() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

private:
    void loop() {
        for (;;) {
            std::function<void()> job;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                ++idle_;
                ready_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
                --idle_;
                if (jobs_.empty()) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();
        }
    }

    std::size_t max_threads_;
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

}  // namespace

bool HttpRoutes::serve_one(httplib::Stream& stream) {
    bool closed = true;
    return process_request(stream, true, closed, [](httplib::Request&) {});
}

bool request_deadline_expired() { return t_deadline_expired; }

struct HttpListener::Impl {
    HttpRoutes& routes;
    HttpLimits limits;
    int listen_fd = -1;
    int wake_read = -1, wake_write = -1;
    std::atomic<bool> stopping{false};

    // Open connections per client address and in-flight body bytes: the loop adds, handlers
    // release.
    std::mutex count_mutex;
    std::map<std::string, int> per_ip;
    int open = 0;
    std::size_t inflight_body = 0;

    // A connection the event loop owns: reading its header block, or writing a refusal and
    // draining before the close.
    struct Pending {
        int fd;
        std::string ip;
        int port;
        Clock::time_point deadline;
        std::string buffer;
        std::string answer;  // non-empty: refused; write this, then close
        std::size_t written = 0;
    };
    std::list<Pending> pending;

    Impl(HttpRoutes& r, HttpLimits l) : routes(r), limits(l) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw emoclass::Error("http", std::strerror(errno));
        wake_read = fds[0];
        wake_write = fds[1];
    }
    ~Impl() {
        if (listen_fd >= 0) ::close(listen_fd);
        for (auto& p : pending) ::close(p.fd);
        ::close(wake_read);
        ::close(wake_write);
    }

    Clock::time_point request_deadline() const {
        return Clock::now() + std::chrono::microseconds(std::int64_t(limits.request_timeout_s * 1e6));
    }

    void release(const std::string& ip, std::size_t body_bytes) {
        std::lock_guard<std::mutex> lock(count_mutex);
        if (--per_ip[ip] <= 0) per_ip.erase(ip);
        --open;
        inflight_body -= body_bytes;
    }

    void refuse(Pending& p, int status, const std::string& message, bool retry_later = false) {
        p.answer = refusal(status, message, retry_later);
        p.written = 0;
        p.deadline = Clock::now() + std::chrono::seconds(2);
    }

    // 0: accepted (and counted); otherwise the refusal.
    std::string admit(const std::string& ip) {
        std::lock_guard<std::mutex> lock(count_mutex);
        if (open >= limits.max_connections)
            return refusal(503, "too many connections (" + std::to_string(limits.max_connections) + ")", true);
        int& mine = per_ip[ip];
        if (mine >= limits.max_connections_per_ip) {
            if (mine == 0) per_ip.erase(ip);
            return refusal(503, "too many connections from " + ip + " (" +
                                    std::to_string(limits.max_connections_per_ip) + ")", true);
        }
        ++mine;
        ++open;
        return "";
    }

    void accept_all() {
        for (int i = 0; i < 64; ++i) {
            sockaddr_storage addr{};
            socklen_t len = sizeof addr;
            const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(10));
                return;
            }
            int yes = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
            int port = 0;
            const std::string ip = peer_ip(addr, &port);
            const std::string refused = admit(ip);
            if (!refused.empty()) {
                // Best effort, without waiting: the socket buffer takes a few hundred bytes.
                (void)::send(fd, refused.data(), refused.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                linger_close(fd, Clock::now());
                continue;
            }
            pending.push_back(Pending{fd, ip, port, request_deadline(), {}, {}, 0});
        }
    }

    // Reads what arrived; true when the connection left the loop (closed or handed off).
    bool on_readable(Pending& p) {
        char chunk[16384];
        for (;;) {
            const ssize_t n = ::recv(p.fd, chunk, sizeof chunk, 0);
            if (n > 0) {
                if (!p.answer.empty()) continue;  // draining after a refusal
                p.buffer.append(chunk, std::size_t(n));
                if (p.buffer.size() > limits.max_header_bytes + sizeof chunk) break;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            // End of stream (or an error). A client that half-closed after a complete request
            // (nc -N) still gets its answer; otherwise there is nothing more to do.
            if (n == 0 && p.answer.empty() && examine(p)) return true;
            if (!p.answer.empty() && p.written == 0) write_answer(p);  // a refusal, once, unwaited
            close_pending(p);
            return true;
        }
        if (!p.answer.empty()) return false;
        return examine(p);
    }

    void close_pending(Pending& p) {
        ::close(p.fd);
        release(p.ip, 0);
        p.fd = -1;
    }

    // Checks the header block read so far against the limits; hands the connection off once it
    // is complete. True when handed off.
    bool examine(Pending& p) {
        const std::string& b = p.buffer;
        const std::size_t line_end = b.find("\r\n");
        if ((line_end == std::string::npos ? b.size() : line_end) > limits.max_request_line_bytes) {
            refuse(p, 414, "request line longer than " + std::to_string(limits.max_request_line_bytes) + " bytes");
            return false;
        }
        const std::size_t end = b.find("\r\n\r\n");
        const std::size_t header_bytes = end == std::string::npos ? b.size() : end + 4;
        const std::size_t scan = end == std::string::npos ? b.size() : end;
        int lines = 0;
        for (std::size_t at = b.find("\r\n"); at != std::string::npos && at < scan; at = b.find("\r\n", at + 2)) ++lines;
        if (lines > limits.max_header_count) {  // the request line's CRLF counts for the line after it
            refuse(p, 431, "more than " + std::to_string(limits.max_header_count) + " header lines");
            return false;
        }
        if (header_bytes > limits.max_header_bytes || (end == std::string::npos && b.size() >= limits.max_header_bytes)) {
            refuse(p, 431, "request headers larger than " + std::to_string(limits.max_header_bytes) + " bytes");
            return false;
        }
        if (end == std::string::npos) return false;

        // The body's size: refused at once past the limit, reserved in the in-flight budget.
        bool have_length = false, chunked = false;
        unsigned long long length = 0;
        std::size_t at = line_end + 2;
        while (at < end) {
            const std::size_t next = b.find("\r\n", at);
            const std::string line = b.substr(at, next - at);
            at = next + 2;
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            const std::string name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
            if (iequals(name, "Content-Length")) {
                char* stop = nullptr;
                errno = 0;
                const unsigned long long v = std::strtoull(value.c_str(), &stop, 10);
                if (value.empty() || *stop || errno || value[0] == '-' || (have_length && v != length)) {
                    refuse(p, 400, "invalid Content-Length");
                    return false;
                }
                have_length = true;
                length = v;
            } else if (iequals(name, "Transfer-Encoding")) {
                chunked = true;
            }
        }
        if (have_length && chunked) {
            refuse(p, 400, "both Content-Length and Transfer-Encoding");
            return false;
        }
        if (have_length && length > limits.max_body_bytes) {
            refuse(p, 413, "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes");
            return false;
        }
        const std::size_t reserve = chunked ? limits.max_body_bytes : std::size_t(length);
        {
            std::lock_guard<std::mutex> lock(count_mutex);
            if (inflight_body + reserve > limits.max_inflight_body_bytes) {
                refuse(p, 503, "busy: too many request bodies in flight", true);
                return false;
            }
            inflight_body += reserve;
        }
        hand_off(p, reserve);
        return true;
    }

    void hand_off(Pending& p, std::size_t reserve) {
        auto job = std::make_shared<Pending>(std::move(p));
        p.fd = -1;
        pool->submit([this, job, reserve] {
            t_deadline_expired = false;
            {
                ConnectionStream stream(job->fd, std::move(job->buffer), job->deadline, limits.request_timeout_s,
                                        job->ip, job->port);
                try {
                    routes.serve_one(stream);
                } catch (...) {
                    // httplib answers handler exceptions itself; anything else ends the connection.
                }
            }
            t_deadline_expired = false;
            linger_close(job->fd, Clock::now() + std::chrono::seconds(1));
            release(job->ip, reserve);
            // A large body's buffers went back to malloc's per-thread arenas; hand them back to
            // the system so that a burst of uploads does not leave the server at its peak size.
            if (reserve >= (1u << 20)) ::malloc_trim(0);
        });
    }

    // Writes a refusal; true once all of it is out.
    bool write_answer(Pending& p) {
        while (p.written < p.answer.size()) {
            const ssize_t n = ::send(p.fd, p.answer.data() + p.written, p.answer.size() - p.written, MSG_NOSIGNAL);
            if (n > 0) {
                p.written += std::size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
            p.written = p.answer.size();  // the peer is gone: nothing more to say
            break;
        }
        ::shutdown(p.fd, SHUT_WR);
        return true;
    }

    std::unique_ptr<HandlerPool> pool;

    void run() {
        pool = std::make_unique<HandlerPool>(std::size_t(limits.max_connections));
        std::vector<pollfd> fds;
        std::vector<std::list<Pending>::iterator> owners;
        while (!stopping.load()) {
            fds.clear();
            owners.clear();
            fds.push_back({wake_read, POLLIN, 0});
            fds.push_back({listen_fd, POLLIN, 0});
            auto next = Clock::now() + std::chrono::seconds(1);
            for (auto it = pending.begin(); it != pending.end(); ++it) {
                const bool answering = !it->answer.empty() && it->written < it->answer.size();
                fds.push_back({it->fd, short(answering ? (POLLIN | POLLOUT) : POLLIN), 0});
                owners.push_back(it);
                next = std::min(next, it->deadline);
            }
            const int r = ::poll(fds.data(), fds.size(), millis_until(next));
            if (r < 0 && errno != EINTR) break;
            if (stopping.load()) break;
            if (fds[1].revents & POLLIN) accept_all();
            for (std::size_t i = 0; i < owners.size(); ++i) {
                Pending& p = *owners[i];
                const short ev = fds[i + 2].revents;
                bool gone = false;
                if (ev & POLLOUT) write_answer(p);
                if (ev & (POLLIN | POLLHUP | POLLERR)) gone = on_readable(p);
                if (!gone && p.fd >= 0 && !p.answer.empty() && p.written == 0) {
                    write_answer(p);  // a fresh refusal: try at once
                }
                if (p.fd >= 0 && Clock::now() >= p.deadline) {
                    if (p.answer.empty()) {
                        // Headers still incomplete when the whole request's time ran out.
                        refuse(p, 408, "request timeout: headers not complete within " +
                                            std::to_string(int(limits.request_timeout_s)) + " s");
                        write_answer(p);
                    } else {
                        close_pending(p);
                    }
                }
                if (p.fd < 0) pending.erase(owners[i]);
            }
        }
        for (auto& p : pending) close_pending(p);
        pending.clear();
        if (listen_fd >= 0) {
            ::close(listen_fd);
            listen_fd = -1;
        }
        pool->shutdown();
    }
};

HttpListener::HttpListener(HttpRoutes& routes, HttpLimits limits) : impl_(std::make_unique<Impl>(routes, limits)) {}
HttpListener::~HttpListener() = default;

const HttpLimits& HttpListener::limits() const { return impl_->limits; }

int HttpListener::bind(const std::string& host, int port) {
    const std::string where = host + ":" + std::to_string(port);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) throw emoclass::Error(where, std::string("cannot resolve the address: ") + gai_strerror(rc));
    std::string reason = "cannot bind";
    int fd = -1;
    for (addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
        fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            reason = std::string("cannot create a socket: ") + std::strerror(errno);
            continue;
        }
        // SO_REUSEADDR only: SO_REUSEPORT would let a second server bind a port already taken.
        int yes = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) reason = std::string("cannot bind: ") + std::strerror(errno);
        else if (::listen(fd, 511) != 0) reason = std::string("cannot listen: ") + std::strerror(errno);
        else break;
        ::close(fd);
        fd = -1;
    }
    ::freeaddrinfo(found);
    if (fd < 0) throw emoclass::Error(where, reason);
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int bound = 0;
    peer_ip(addr, &bound);
    impl_->listen_fd = fd;
    return bound;
}

void HttpListener::run() {
    if (impl_->listen_fd < 0) throw emoclass::Error("http", "run() before bind()");
    impl_->run();
}

void HttpListener::stop() {
    impl_->stopping.store(true);
    const char byte = 1;
    (void)!::write(impl_->wake_write, &byte, 1);
}

}  // namespace classify
