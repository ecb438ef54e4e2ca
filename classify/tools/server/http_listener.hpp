#pragma once
// The HTTP service's own connection layer, in front of cpp-httplib's request handling.
//
// cpp-httplib 0.11 (Debian 12) gives every accepted connection a pool thread at once and then
// reads with a per-read timeout and no limit on header size: a dozen sockets that send a header
// line every few seconds hold every thread (slowloris), a body at 1 byte/s outlives the timeout,
// 100 MiB of headers are accepted, and parallel uploads are not bounded in memory. So the
// listening socket is ours: one event-loop thread accepts, applies the connection caps and reads
// each request's header block itself (no thread is spent on a slow client), answers limit
// violations at once (414, 431, 413, 408, 503), reserves the body's bytes in a total in-flight
// budget, and only then hands the connection to a thread, which runs httplib's routing over a
// stream that enforces the same whole-request deadline for the body. Limits follow nginx's
// (client_header_timeout/client_body_timeout as one deadline, large_client_header_buffers,
// client_max_body_size, limit_conn).
#include <httplib.h>

#include <cstddef>
#include <memory>
#include <string>

namespace classify {

struct HttpLimits {
    double request_timeout_s = 30;                 // whole request: headers and body, from accept
    std::size_t max_request_line_bytes = 8192;     // method, target and version
    std::size_t max_header_bytes = 32768;          // request line and every header line together
    int max_header_count = 100;                    // header lines
    std::size_t max_body_bytes = 64u << 20;        // one request's body
    std::size_t max_inflight_body_bytes = 256u << 20;  // bodies being received or handled, together
    int max_connections = 256;                     // open connections, all clients together
    int max_connections_per_ip = 32;               // open connections from one client address
    int handler_threads = 64;                      // requests handled at once (headers complete)
};

// httplib's server with its request processing opened up to run over our stream.
class HttpRoutes : public httplib::Server {
public:
    // Reads one request from `stream`, routes it and writes the answer ("Connection: close").
    bool serve_one(httplib::Stream& stream);
};

class HttpListener {
public:
    HttpListener(HttpRoutes& routes, HttpLimits limits);
    ~HttpListener();
    HttpListener(const HttpListener&) = delete;
    HttpListener& operator=(const HttpListener&) = delete;

    // Binds and listens; returns the port. Throws emoclass::Error("host:port", reason).
    int bind(const std::string& host, int port);
    // Serves until stop(); returns once handed-off requests are answered.
    void run();
    // Async-signal-safe: an atomic store and a write to a pipe.
    void stop();

    const HttpLimits& limits() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// True while a handler runs on a request whose whole-request deadline passed during reading
// (so that it can answer 408 rather than 400).
bool request_deadline_expired();

}  // namespace classify
