// Raw bytes as one HTTP request to a real `emoclass serve` (tiny test model, loopback, started
// once): the connection layer's header checks, cpp-httplib's parsing, multipart, the handlers.
// The client half-closes after sending, so an incomplete request ends at once, not at a timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <memory>
#include <thread>

#include "classify/bundle.hpp"
#include "classify/tools/server/server.hpp"

namespace {
classify::Server* start() {
    classify::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.workers = 1;
    o.request_timeout_s = 2;
    o.max_body_bytes = 1 << 20;
    // Never destroyed: libFuzzer ends the process with exit() while serve() still runs in its
    // thread, and a Server must outlive its serve() (a static one was freed under it).
    auto* server = new classify::Server(classify::load_bundle(EMOCLASS_TINY_BUNDLE), o);
    server->bind();
    std::thread([server] { server->serve(); }).detach();
    return server;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static classify::Server* server = start();
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(server->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) __builtin_trap();
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (std::size_t off = 0; off < size;) {
        const ssize_t n = ::send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;  // libFuzzer's SIGALRM (its -timeout check)
        if (n <= 0) break;
        off += std::size_t(n);
    }
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    ssize_t n;
    std::size_t got = 0;
    // libFuzzer's own SIGALRM (its -timeout check, every second) interrupts a blocking recv:
    // EINTR is not an answer, nor a silence; only the 10 s SO_RCVTIMEO is.
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) got += std::size_t(n);
    ::close(fd);
    // Whatever was sent, the server answers within its deadline or closes; it never goes
    // silent. (A reset is a close: the server may refuse before reading everything sent.)
    if (n < 0 && errno != ECONNRESET) {
        std::fprintf(stderr, "no answer and no close within 10 s: %s\n", std::strerror(errno));
        __builtin_trap();
    }
    (void)got;
    return 0;
}
