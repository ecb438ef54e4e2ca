#pragma once
// HTTP service (cpp-httplib): POST /v1/classify (audio body, raw or multipart) -> the same JSON
// object as `emoclass --format jsonl`; POST /v1/explain -> the `emoclass --explain` figure (PNG);
// GET /v1/model; GET /healthz; the web page (GET /, /static/*), GET /docs and GET /openapi.json,
// embedded at build time (classify/tools/web). A bounded worker pool, each
// worker with its own Analyzer; 503 when saturated, 413 past max_body_bytes, 400 with a JSON
// error for undecodable audio.
#include <cstddef>
#include <memory>
#include <string>

#include "classify/bundle.hpp"

namespace classify {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;                                  // 0 = any free port (see Server::port())
    std::size_t max_body_bytes = 64u * 1024 * 1024;
    int workers = 0;                                  // analyses at once; <= 0: one per core
    int max_queue = -1;                               // waiting requests beyond workers; 0: none
                                                      // (busy -> 503 at once); < 0: = workers
    double request_timeout_s = 30;                    // whole request (headers and body), from
                                                      // the connection's accept; also per write
    // Limits like nginx's, enforced before a request reaches a handler (classify/tools/server/http_listener.hpp).
    std::size_t max_request_line_bytes = 8192;        // longer: 414
    std::size_t max_header_bytes = 32768;             // request line + headers; larger: 431
    int max_header_count = 100;                       // more header lines: 431
    std::size_t max_inflight_body_bytes = 256u << 20; // bodies being received or handled; past: 503
    int max_connections = 256;                        // open connections; past: 503
    int max_connections_per_ip = 32;                  // from one client address; past: 503
};

class Server {
public:
    Server(const ModelBundle& bundle, ServerOptions options);
    ~Server();
    // Binds (throws emoclass::Error("host:port", reason) when the address is taken or invalid).
    void bind();
    // Serves until stop(), binding first if bind() was not called. Returns once in-flight
    // requests are answered.
    void serve();
    // Thread-safe; async-signal-safe (an atomic store and a shutdown/close of the listening
    // socket). A stop() before serve() makes serve() return promptly.
    void stop();
    int port() const;  // the bound port

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace classify
