#include "classify/tools/server/server.hpp"

#include <httplib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "classify/analyzer.hpp"
#include "classify/explain.hpp"
#include "classify/tools/server/http_listener.hpp"
#include "classify/result_format.hpp"
#include "classify/tools/server/web_assets.hpp"
#include "spectro/error.hpp"

namespace classify {
namespace {

using json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

// Error messages can carry a client's file name, which need not be UTF-8.
std::string error_body(const std::string& message) {
    return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

void send_json(httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, error_body(message));
}

// What POST /v1/classify (the JSON result) and POST /v1/explain (the inspection figure) answer.
enum class Answer { Json, Figure };

// The page's other files (scripts, style sheets), as GET /static/NAME.
constexpr const char* kStaticPattern = "/static/([A-Za-z0-9._-]+)";

bool send_asset(httplib::Response& res, const std::string& name) {
    const web::Asset* asset = web::find_asset(name);
    if (!asset) return false;
    res.status = 200;
    res.set_content(reinterpret_cast<const char*>(asset->data), asset->size, asset->content_type);
    // Pages and scripts change with the binary; let browsers check back each time.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Content-Type-Options", "nosniff");
    return true;
}

// The embedded OpenAPI description, with this model's labels as the Label enum and its name in
// the title, so the description tells exactly what this server answers.
std::string openapi_description(const ModelBundle& b) {
    const web::Asset* asset = web::find_asset("openapi.json");
    if (!asset) throw emoclass::Error("openapi.json", "not embedded in this build");
    json j = json::parse(std::string(reinterpret_cast<const char*>(asset->data), asset->size));
    j["components"]["schemas"]["Label"]["enum"] = b.labels;
    j["info"]["x-model"] = b.name;
    return j.dump();
}

bool flag_param(const httplib::Request& req, const char* name) {
    if (!req.has_param(name)) return false;
    std::string v = req.get_param_value(name);
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return v == "1" || v == "true" || v == "yes" || v == "on";
}

// top_k=K: list only the K most probable labels (0 or absent: all). -1 when malformed.
int top_k_param(const httplib::Request& req) {
    if (!req.has_param("top_k")) return 0;
    const std::string v = req.get_param_value("top_k");
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoi(v);
}

// A counting gate around the analyzers: each analyzer serves one request at a time; at most
// `max_queue` requests wait for one; anyone beyond that is refused at once (no unbounded queue).
class AnalyzerGate {
public:
    AnalyzerGate(std::vector<std::unique_ptr<Analyzer>> pool, int max_queue)
        : pool_(std::move(pool)), max_queue_(max_queue) {
        for (auto& a : pool_) free_.push_back(a.get());
    }

    // nullptr: every analyzer is busy and the queue is full.
    Analyzer* acquire() {
        std::unique_lock<std::mutex> lock(mutex_);
        if (free_.empty()) {
            if (waiting_ >= max_queue_) return nullptr;
            ++waiting_;
            available_.wait(lock, [&] { return !free_.empty(); });
            --waiting_;
        }
        Analyzer* a = free_.back();
        free_.pop_back();
        return a;
    }

    void release(Analyzer* a) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            free_.push_back(a);
        }
        available_.notify_one();
    }

private:
    std::vector<std::unique_ptr<Analyzer>> pool_;
    std::vector<Analyzer*> free_;
    int max_queue_;
    int waiting_ = 0;
    std::mutex mutex_;
    std::condition_variable available_;
};

class Lease {
public:
    explicit Lease(AnalyzerGate& gate) : gate_(gate), analyzer_(gate.acquire()) {}
    ~Lease() {
        if (analyzer_) gate_.release(analyzer_);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Analyzer* get() const { return analyzer_; }

private:
    AnalyzerGate& gate_;
    Analyzer* analyzer_;
};

std::string model_description(const ModelBundle& b, const ServerOptions& o) {
    // model.json as the bundle defines it (classify::bundle_json), less the file's own header and
    // the training speakers, plus the network file the workers run and the server's limits.
    json j = classify::bundle_json(b);
    j.erase("format");
    j.erase("format_version");
    j.erase("training_data");
    j["network"] = b.onnx_file;
    j["limits"] = {{"max_body_bytes", o.max_body_bytes},
                   {"workers", o.workers},
                   {"max_queue", o.max_queue},
                   {"request_timeout_s", o.request_timeout_s},
                   {"max_request_line_bytes", o.max_request_line_bytes},
                   {"max_header_bytes", o.max_header_bytes},
                   {"max_header_count", o.max_header_count},
                   {"max_inflight_body_bytes", o.max_inflight_body_bytes},
                   {"max_connections", o.max_connections},
                   {"max_connections_per_ip", o.max_connections_per_ip}};
    return j.dump();
}

}  // namespace

struct Server::Impl {
    ModelBundle bundle;
    ServerOptions options;
    std::unique_ptr<AnalyzerGate> gate;
    std::string model_json;
    std::string openapi_json;
    HttpRoutes http;
    std::unique_ptr<HttpListener> listener;
    int bound_port = -1;
    std::atomic<bool> stop_requested{false};

    Impl(const ModelBundle& b, ServerOptions o) : bundle(b), options(std::move(o)) {
        if (options.workers <= 0) options.workers = std::max(1, int(std::thread::hardware_concurrency()));
        if (options.max_queue < 0) options.max_queue = options.workers;
        if (!(options.request_timeout_s > 0)) options.request_timeout_s = 30;
        if (options.max_body_bytes == 0) options.max_body_bytes = ServerOptions{}.max_body_bytes;
        // Parallel requests instead of parallel layers: one OpenCV thread per analysis.
        if (options.workers > 1) set_inference_threads(1);
        std::vector<std::unique_ptr<Analyzer>> pool;
        for (int i = 0; i < options.workers; ++i) pool.push_back(std::make_unique<Analyzer>(bundle));
        gate = std::make_unique<AnalyzerGate>(std::move(pool), options.max_queue);
        model_json = model_description(bundle, options);
        openapi_json = openapi_description(bundle);
        configure();
        // Connections, header limits, deadlines and the body budget are the listener's
        // (classify/tools/server/http_listener.hpp); httplib routes the requests it hands over.
        HttpLimits limits;
        limits.request_timeout_s = options.request_timeout_s;
        limits.max_request_line_bytes = options.max_request_line_bytes;
        limits.max_header_bytes = options.max_header_bytes;
        limits.max_header_count = options.max_header_count;
        limits.max_body_bytes = options.max_body_bytes;
        limits.max_inflight_body_bytes = options.max_inflight_body_bytes;
        limits.max_connections = options.max_connections;
        limits.max_connections_per_ip = options.max_connections_per_ip;
        listener = std::make_unique<HttpListener>(http, limits);
    }

    void configure() {
        http.set_payload_max_length(options.max_body_bytes);

        // A request with neither Content-Length nor chunked Transfer-Encoding has no body
        // (RFC 9112, 6.3); httplib 0.11 would instead read until the client closes, so the
        // request would hang until the read timeout. Say so explicitly. (The Request object is
        // httplib's own non-const local; handlers only get a const view of it.)
        http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
            const bool may_have_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH" ||
                                       req.method == "DELETE";
            if (may_have_body && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding"))
                const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
            return httplib::Server::HandlerResponse::Unhandled;
        });

        http.Post("/v1/classify", [this](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) { classify(req, res, reader); });
        http.Post("/v1/explain", [this](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
            classify(req, res, reader, Answer::Figure);
        });
        http.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
            send_json(res, 200, model_json);
        });
        http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
            send_json(res, 200, json{{"status", "ok"}}.dump());
        });
        // The web page, its files and the API description, all embedded at build time
        // (classify/tools/web): nothing is fetched from elsewhere.
        http.Get("/", [](const httplib::Request&, httplib::Response& res) { send_asset(res, "index.html"); });
        http.Get("/docs", [](const httplib::Request&, httplib::Response& res) { send_asset(res, "docs.html"); });
        http.Get(kStaticPattern, [](const httplib::Request& req, httplib::Response& res) {
            const std::string file = req.matches[1];
            if (file == "index.html" || file == "docs.html" || !send_asset(res, file))
                send_error(res, 404, "not found: " + req.method + " " + req.path);
        });
        http.Get("/openapi.json", [this](const httplib::Request&, httplib::Response& res) {
            send_json(res, 200, openapi_json);
        });

        auto not_allowed = [](const char* allow) {
            return [allow](const httplib::Request& req, httplib::Response& res) {
                res.set_header("Allow", allow);
                send_error(res, 405, "method " + req.method + " not allowed on " + req.path + " (use " + allow + ")");
            };
        };
        for (const char* path : {"/v1/classify", "/v1/explain"}) {
            http.Get(path, not_allowed("POST"));
            http.Put(path, not_allowed("POST"));
            http.Patch(path, not_allowed("POST"));
            http.Delete(path, not_allowed("POST"));
        }
        for (const auto& [path, allow] : {std::pair<const char*, const char*>{"/v1/classify", "POST"},
                                          {"/v1/explain", "POST"},
                                          {"/v1/model", "GET, HEAD"},
                                          {"/healthz", "GET, HEAD"},
                                          {"/", "GET, HEAD"},
                                          {"/docs", "GET, HEAD"},
                                          {"/openapi.json", "GET, HEAD"},
                                          {kStaticPattern, "GET, HEAD"}}) {
            http.Options(path, [allow = allow](const httplib::Request&, httplib::Response& res) {
                res.set_header("Allow", std::string(allow) + ", OPTIONS");
                res.status = 204;
            });
        }
        for (const char* path : {"/v1/model", "/healthz", "/", "/docs", "/openapi.json", kStaticPattern}) {
            http.Post(path, not_allowed("GET"));
            http.Put(path, not_allowed("GET"));
            http.Patch(path, not_allowed("GET"));
            http.Delete(path, not_allowed("GET"));
        }

        // Every error answer is JSON, including the ones httplib produces itself (404, 400 for a
        // malformed request, 413 from the payload limit, 414).
        http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                          httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message;
            switch (res.status) {
            case 404: message = "not found: " + req.method + " " + req.path; break;
            case 413: message = too_large_message(); break;
            case 414: message = "request URI too long"; break;
            case 400: message = "malformed request"; break;
            case 408: message = "request timeout"; break;
            case 415: message = "unsupported media type"; break;
            default: message = "HTTP status " + std::to_string(res.status); break;
            }
            send_error(res, res.status, message);
            return httplib::Server::HandlerResponse::Handled;
        }));
        http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            std::string what = "unknown exception";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            send_error(res, 500, "internal error: " + what);
        });
    }

    std::string too_large_message() const {
        return "request body larger than " + std::to_string(options.max_body_bytes) + " bytes";
    }

    void classify(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                  Answer answer = Answer::Json) {
        try {
            classify_or_throw(req, res, reader, answer);
        } catch (const std::bad_alloc&) {
            send_error(res, 500, "internal error: out of memory");
        } catch (const std::exception& e) {
            send_error(res, 500, std::string("internal error: ") + e.what());
        } catch (...) {
            send_error(res, 500, "internal error");
        }
    }

    void classify_or_throw(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                           Answer answer) {
        if (req.has_param("segments") && !flag_param(req, "segments")) {
            std::string v = req.get_param_value("segments");
            std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
            if (v != "0" && v != "false" && v != "no" && v != "off") {
                res.set_header("Connection", "close");  // the body is not read
                send_error(res, 400, "segments must be 1/true/yes/on or 0/false/no/off, not '" + v + "'");
                return;
            }
        }
        const bool segments = flag_param(req, "segments");
        const int top_k = top_k_param(req);
        if (top_k < 0) {
            res.set_header("Connection", "close");  // the body is left unread
            send_error(res, 400, "top_k must be a whole number (0 = every label)");
            return;
        }
        const auto started = Clock::now();
        // A body without Content-Length (chunked) is only known to be too large while it is read.
        // Past the limit it is read on and discarded, so that the 413 reaches a client that is
        // still sending; past twice the limit (+1 MiB) the connection is given up.
        std::size_t total = 0;
        bool too_large = false;
        const std::size_t give_up = options.max_body_bytes * 2 + (1u << 20);
        auto keep = [&](std::size_t n) {
            total += n;
            if (total > options.max_body_bytes) too_large = true;
            return !too_large;
        };

        // The body: raw, or the first file field of a multipart form (the first part when none
        // carries a filename).
        std::string audio;
        std::string name = "<body>";
        bool ok = false;
        bool from_form_field = false;  // a multipart form without a file part
        if (req.is_multipart_form_data()) {
            std::string any_content, any_name;
            bool have_file = false, have_any = false;
            enum class Into { Nothing, File, Any } into = Into::Nothing;
            ok = reader(
                [&](const httplib::MultipartFormData& part) {
                    if (!have_file && !part.filename.empty()) {
                        have_file = true;
                        name = part.filename;
                        into = Into::File;
                    } else if (!have_any) {
                        into = Into::Any;
                        any_name = part.name;
                    } else {
                        into = Into::Nothing;
                    }
                    have_any = true;
                    return true;
                },
                [&](const char* data, std::size_t n) {
                    if (!keep(n)) return total <= give_up;
                    if (into == Into::File) audio.append(data, n);
                    else if (into == Into::Any) any_content.append(data, n);
                    return true;
                });
            if (ok && !have_any) {
                send_error(res, 400, "multipart body without any part: send the audio as a file field, e.g. -F audio=@clip.wav");
                return;
            }
            if (ok && !have_file) {
                from_form_field = true;
                audio.swap(any_content);
                name = any_name.empty() ? std::string("<form field>") : any_name;
            }
        } else {
            ok = reader([&](const char* data, std::size_t n) {
                if (!keep(n)) return total <= give_up;
                audio.append(data, n);
                return true;
            });
        }
        if (too_large) {
            if (!ok) res.set_header("Connection", "close");
            send_error(res, 413, too_large_message());
            return;
        }
        if (!ok) {
            // What is left of the body is not read: the connection cannot be reused.
            res.set_header("Connection", "close");
            const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
            if (res.status == 413) send_error(res, 413, too_large_message());
            else if (res.status == 415) send_error(res, 415, "unsupported Content-Encoding");
            else if (request_deadline_expired() || elapsed >= 0.9 * options.request_timeout_s)
                send_error(res, 408, "timed out reading the request body");
            else send_error(res, 400, "could not read the request body (malformed or interrupted)");
            return;
        }
        if (audio.empty()) {
            send_error(res, 400, "empty audio: send the audio file as the request body or as a multipart file field");
            return;
        }

        Lease lease(*gate);
        if (!lease.get()) {
            res.set_header("Retry-After", "1");
            send_error(res, 503, "busy");
            return;
        }
        Result result;
        std::vector<unsigned char> figure;
        try {
            // The figure's spectrogram is the one the analysis computed: the body is decoded once.
            spectro::MelMatrix mel;
            result = lease.get()->analyze_bytes(audio.data(), audio.size(), name,
                                                answer == Answer::Figure ? &mel : nullptr);
            if (answer == Answer::Figure) figure = explain_png(bundle, result, mel, result.duration_s, name);
        } catch (const emoclass::Error& e) {
            if (from_form_field)
                send_error(res, 400, "the form has no file part, and its field '" + name + "' is not audio (" + e.reason() +
                                         "): send the audio as a file field, e.g. -F audio=@clip.wav");
            else send_error(res, 400, e.reason());
            return;
        }
        if (answer == Answer::Figure) {
            res.status = 200;
            res.set_content(reinterpret_cast<const char*>(figure.data()), figure.size(), "image/png");
            return;
        }
        send_json(res, 200, to_json(result, segments, -1, top_k));
    }
};

Server::Server(const ModelBundle& bundle, ServerOptions options)
    : impl_(std::make_unique<Impl>(bundle, std::move(options))) {}

Server::~Server() { stop(); }

void Server::bind() {
    if (impl_->bound_port > 0) return;
    const auto& o = impl_->options;
    const std::string where = o.host + ":" + std::to_string(o.port);
    if (o.port < 0 || o.port > 65535) throw emoclass::Error(where, "port must be 0..65535");
    impl_->bound_port = impl_->listener->bind(o.host, o.port);
}

void Server::serve() {
    bind();
    // A stop() that came before serve() ends the listener's loop before its first wait.
    impl_->listener->run();
}

void Server::stop() {
    // Only an atomic store and a write to the listener's wake-up pipe, so that a signal handler
    // may call it.
    impl_->stop_requested.store(true);
    impl_->listener->stop();
}

int Server::port() const { return impl_->bound_port; }

}  // namespace classify
