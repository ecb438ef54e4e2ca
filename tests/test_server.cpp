// classify::Server over real loopback HTTP (httplib::Client and raw sockets): answers equal the
// Analyzer's, every bad input is a 400 JSON error, limits (413, 503, timeouts) hold, and one bad
// or slow request never affects another.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"
#include "classify/result.hpp"
#include "classify/result_format.hpp"
#include "classify/tools/server/server.hpp"
#include "nonspeech_signals.hpp"
#include "spectro/error.hpp"
#include "test_support.hpp"

namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace test_support;

const std::string kBundleDir = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";

const classify::ModelBundle& bundle() {
    static const classify::ModelBundle b = classify::load_bundle(kBundleDir);
    return b;
}

// A 16-bit PCM WAV of the speech-like test signal, as bytes.
std::string wav_bytes(double seconds, unsigned seed = 1, double f0 = 140.0) {
    TempDir tmp;
    write_audio(tmp / "clip.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(seconds, 16000, seed, f0));
    return read_bytes(tmp / "clip.wav");
}

// What `emoclass --format jsonl` (the Analyzer + the one formatter) says about the same bytes.
std::string reference_json(const std::string& bytes, const std::string& name, bool segments) {
    static std::mutex m;
    std::lock_guard<std::mutex> lock(m);
    static classify::Analyzer analyzer(bundle());
    return classify::to_json(analyzer.analyze_bytes(bytes.data(), bytes.size(), name), segments);
}

// Equal JSON, numbers within `tol` (they are rounded to 6 decimals by the formatter).
::testing::AssertionResult json_equal(const json& a, const json& b, const std::string& where = "$", double tol = 2e-6) {
    if (a.is_number() && b.is_number()) {
        if (std::abs(a.get<double>() - b.get<double>()) <= tol) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << where << ": " << a << " != " << b;
    }
    if (a.type() != b.type()) return ::testing::AssertionFailure() << where << ": " << a << " != " << b;
    if (a.is_object()) {
        if (a.size() != b.size()) return ::testing::AssertionFailure() << where << ": keys differ: " << a << " vs " << b;
        for (auto it = a.begin(); it != a.end(); ++it) {
            if (!b.contains(it.key())) return ::testing::AssertionFailure() << where << ": no key " << it.key();
            auto r = json_equal(it.value(), b.at(it.key()), where + "." + it.key(), tol);
            if (!r) return r;
        }
        return ::testing::AssertionSuccess();
    }
    if (a.is_array()) {
        if (a.size() != b.size()) return ::testing::AssertionFailure() << where << ": sizes differ";
        for (std::size_t i = 0; i < a.size(); ++i) {
            auto r = json_equal(a[i], b[i], where + "[" + std::to_string(i) + "]", tol);
            if (!r) return r;
        }
        return ::testing::AssertionSuccess();
    }
    if (a == b) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << where << ": " << a << " != " << b;
}

class RunningServer {
public:
    explicit RunningServer(classify::ServerOptions o = {}, const classify::ModelBundle& b = bundle())
        : server_(b, prepare(o)) {
        server_.bind();
        thread_ = std::thread([this] { server_.serve(); });
        // Ready when /healthz answers.
        for (int i = 0; i < 200; ++i) {
            auto c = client();
            if (auto r = c->Get("/healthz"); r && r->status == 200) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ADD_FAILURE() << "server did not come up";
    }
    ~RunningServer() {
        server_.stop();
        thread_.join();
    }
    int port() const { return server_.port(); }
    std::unique_ptr<httplib::Client> client(int read_timeout_s = 60) const {
        auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
        c->set_read_timeout(read_timeout_s, 0);
        c->set_write_timeout(30, 0);
        c->set_connection_timeout(5, 0);
        return c;
    }

private:
    static classify::ServerOptions prepare(classify::ServerOptions o) {
        o.host = "127.0.0.1";
        o.port = 0;
        if (o.workers <= 0) o.workers = 2;
        return o;
    }
    classify::Server server_;
    std::thread thread_;
};

void expect_json_error(const httplib::Result& r, int status, const std::string& what) {
    ASSERT_TRUE(r) << what << ": no response (" << httplib::to_string(r.error()) << ")";
    EXPECT_EQ(r->status, status) << what << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << what;
    json j;
    ASSERT_NO_THROW(j = json::parse(r->body)) << what << ": " << r->body;
    ASSERT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << what << ": " << r->body;
    EXPECT_FALSE(j["error"].get<std::string>().empty()) << what;
}

TEST(Server, RawBodyEqualsAnalyzer) {
    RunningServer s;
    auto c = s.client();
    const std::string clip = wav_bytes(3.0);
    auto r = c->Post("/v1/classify", clip, "audio/wav");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    const json got = json::parse(r->body);
    EXPECT_EQ(got["file"], "<body>");
    EXPECT_FALSE(got.contains("segments"));
    EXPECT_TRUE(json_equal(got, json::parse(reference_json(clip, "<body>", false))));

    // Any Content-Type is a raw body; ?segments=1 adds the timeline of a long clip.
    const std::string long_clip = wav_bytes(9.0, 2, 180.0);
    r = c->Post("/v1/classify?segments=1", long_clip, "application/octet-stream");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json with_segments = json::parse(r->body);
    ASSERT_TRUE(with_segments.contains("segments"));
    EXPECT_GT(with_segments["segments"].size(), 1u);
    EXPECT_TRUE(json_equal(with_segments, json::parse(reference_json(long_clip, "<body>", true))));
}

TEST(Server, MultipartUsesFirstFileField) {
    RunningServer s;
    auto c = s.client();
    const std::string clip = wav_bytes(2.5, 3);
    httplib::MultipartFormDataItems items = {
        {"note", "not audio", "", "text/plain"},
        {"audio", clip, "take 1.wav", "audio/wav"},
        {"other", "also not audio", "other.wav", "audio/wav"},
    };
    auto r = c->Post("/v1/classify", items);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json got = json::parse(r->body);
    EXPECT_EQ(got["file"], "take 1.wav");
    EXPECT_TRUE(json_equal(got, json::parse(reference_json(clip, "take 1.wav", false))));

    r = c->Post("/v1/classify?segments=true", httplib::MultipartFormDataItems{{"audio", clip, "x.wav", ""}});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_TRUE(json_equal(json::parse(r->body), json::parse(reference_json(clip, "x.wav", true))));
}

TEST(Server, BadAudioIs400WithReason) {
    RunningServer s;
    auto c = s.client();
    const std::string good = wav_bytes(2.0, 4);
    std::string random_bytes(50000, '\0');
    std::mt19937 rng(7);
    for (char& ch : random_bytes) ch = char(rng());

    expect_json_error(c->Post("/v1/classify", "", "audio/wav"), 400, "empty body");
    expect_json_error(c->Post("/v1/classify", "hello, this is text and not audio\n", "audio/wav"), 400, "text body");
    expect_json_error(c->Post("/v1/classify", httplib::MultipartFormDataItems{{"audio", "just some text", "notes.wav", "audio/wav"}}),
                      400, "text named .wav");
    expect_json_error(c->Post("/v1/classify", random_bytes, "audio/wav"), 400, "random bytes");
    expect_json_error(c->Post("/v1/classify", good.substr(0, 44), "audio/wav"), 400, "header-only WAV");
    expect_json_error(c->Post("/v1/classify", good.substr(0, good.size() / 2), "audio/wav"), 400, "truncated WAV");
    expect_json_error(c->Post("/v1/classify", httplib::MultipartFormDataItems{{"audio", "", "empty.wav", "audio/wav"}}),
                      400, "empty file field");

    // The server is unharmed.
    auto r = c->Post("/v1/classify", good, "audio/wav");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
}

TEST(Server, OversizeBodyIs413) {
    classify::ServerOptions o;
    o.max_body_bytes = 64 * 1024;
    RunningServer s(o);
    auto c = s.client();
    const std::string big(100 * 1024, 'x');
    expect_json_error(c->Post("/v1/classify", big, "audio/wav"), 413, "raw body");
    c = s.client();
    expect_json_error(c->Post("/v1/classify", httplib::MultipartFormDataItems{{"audio", big, "big.wav", "audio/wav"}}),
                      413, "multipart");
    // Chunked transfer: no Content-Length to refuse up front; counted while reading.
    c = s.client();
    expect_json_error(c->Post(
                          "/v1/classify",
                          [&](std::size_t offset, httplib::DataSink& sink) {
                              if (offset >= big.size()) {
                                  sink.done();
                                  return true;
                              }
                              const std::size_t n = std::min<std::size_t>(8192, big.size() - offset);
                              return sink.write(big.data() + offset, n);
                          },
                          "audio/wav"),
                      413, "chunked");
    // Within the limit still works.
    c = s.client();
    const std::string clip = wav_bytes(1.5, 5);
    ASSERT_LT(clip.size(), o.max_body_bytes);
    auto r = c->Post("/v1/classify", clip, "audio/wav");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
}

// `emoclass --int8 serve`: the workers run the bundle's int8 network and /v1/model says so.
TEST(Server, Int8NetworkServesAndSaysSo) {
    const classify::ModelBundle b = classify::load_bundle(EMOCLASS_SOURCE_DIR "/models/default");
    ASSERT_FALSE(b.int8_file.empty());
    RunningServer s({}, classify::use_int8(b));
    auto c = s.client();
    auto r = c->Get("/v1/model");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    const json m = json::parse(r->body);
    EXPECT_EQ(m["network"], b.int8_file);
    EXPECT_EQ(m["int8_model"], b.int8_file);
    r = c->Post("/v1/classify", read_bytes(EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_16k.wav"), "audio/wav");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json res = json::parse(r->body);
    ASSERT_TRUE(res["probabilities"].is_object()) << r->body;
    // The same answer as the int8 network gives in process.
    classify::Analyzer int8(classify::use_int8(b));
    const auto local = int8.analyze_file(EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_16k.wav");
    EXPECT_EQ(res["emotion"], b.labels[std::size_t(classify::most_probable(local.probabilities))]);
}

TEST(Server, ModelHealthAndJsonErrors) {
    RunningServer s;
    auto c = s.client();
    auto r = c->Get("/healthz");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(json::parse(r->body), json({{"status", "ok"}}));

    r = c->Get("/v1/model");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    const json m = json::parse(r->body);
    EXPECT_EQ(m["name"], bundle().name);
    EXPECT_EQ(m["labels"].get<std::vector<std::string>>(), bundle().labels);
    EXPECT_EQ(m["output"], bundle().outputs_probabilities ? "probabilities" : "logits");
    EXPECT_EQ(m["input"]["channels"], bundle().input.channels);
    EXPECT_EQ(m["input"]["height"], bundle().input.height);
    EXPECT_EQ(m["input"]["width"], bundle().input.width);
    EXPECT_EQ(m["spectro"], json::parse(bundle().spectro.to_json()));
    EXPECT_DOUBLE_EQ(m["window"]["hop_s"].get<double>(), bundle().window.hop_s);
    EXPECT_DOUBLE_EQ(m["window"]["min_voiced_fraction"].get<double>(), bundle().window.min_voiced_fraction);
    EXPECT_EQ(m["network"], "model.onnx");

    expect_json_error(c->Get("/nowhere"), 404, "unknown path");
    expect_json_error(c->Get("/v1/classify"), 405, "GET classify");
    expect_json_error(c->Post("/healthz", "x", "text/plain"), 405, "POST healthz");
    expect_json_error(c->Delete("/v1/model"), 405, "DELETE model");
    r = c->Get("/v1/classify");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->get_header_value("Allow"), "POST");
}

// A raw TCP connection to the server.
int connect_loopback(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(std::uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

TEST(Server, SlowClientIsCutOffAndBlocksNobody) {
    classify::ServerOptions o;
    o.workers = 1;
    o.max_queue = 0;
    o.request_timeout_s = 1.0;
    RunningServer s(o);

    // Headers announce 100000 bytes; 10 arrive; then nothing.
    const int fd = connect_loopback(s.port());
    ASSERT_GE(fd, 0);
    const std::string head =
        "POST /v1/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\nContent-Length: 100000\r\n\r\n"
        "RIFF....WA";
    ASSERT_EQ(::send(fd, head.data(), head.size(), 0), ssize_t(head.size()));
    const auto stalled_at = Clock::now();

    // The only worker is free: the stalled upload holds a connection, not an analyzer.
    auto c = s.client();
    const std::string clip = wav_bytes(2.0, 6);
    auto r = c->Post("/v1/classify", clip, "audio/wav");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - stalled_at).count(), 5.0);

    // The stalled connection is answered 408 and closed within the timeout (+ keep-alive).
    timeval tv{15, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string answer;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, std::size_t(n));
    const double closed_after = std::chrono::duration<double>(Clock::now() - stalled_at).count();
    ::close(fd);
    EXPECT_EQ(n, 0) << "connection not closed by the server";
    EXPECT_LT(closed_after, 8.0);
    EXPECT_EQ(answer.rfind("HTTP/1.1 408", 0), 0u) << answer;
    EXPECT_NE(answer.find("\"error\""), std::string::npos) << answer;
}

TEST(Server, ConcurrentRequestsAllEqualTheAnalyzer) {
    classify::ServerOptions o;
    o.workers = 2;
    o.max_queue = 32;
    RunningServer s(o);
    const std::string clip = wav_bytes(4.0, 8, 200.0);
    const json expected = json::parse(reference_json(clip, "<body>", true));

    constexpr int kThreads = 8, kEach = 4;
    std::atomic<int> ok{0};
    std::vector<std::string> failures(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto c = s.client();
            for (int i = 0; i < kEach; ++i) {
                auto r = c->Post("/v1/classify?segments=1", clip, "audio/wav");
                if (!r) {
                    failures[std::size_t(t)] += "no response; ";
                    continue;
                }
                if (r->status != 200) {
                    failures[std::size_t(t)] += std::to_string(r->status) + " " + r->body + "; ";
                    continue;
                }
                auto eq = json_equal(json::parse(r->body), expected);
                if (!eq) {
                    failures[std::size_t(t)] += std::string(eq.message()) + "; ";
                    continue;
                }
                ++ok;
            }
        });
    }
    for (auto& th : threads) th.join();
    for (int t = 0; t < kThreads; ++t) EXPECT_TRUE(failures[std::size_t(t)].empty()) << "thread " << t << ": " << failures[std::size_t(t)];
    EXPECT_EQ(ok.load(), kThreads * kEach);
}

TEST(Server, SaturationAnswers503Busy) {
    classify::ServerOptions o;
    o.workers = 1;
    o.max_queue = 0;
    RunningServer s(o);
    const std::string clip = wav_bytes(40.0, 9);

    int ok = 0, busy = 0, other = 0;
    std::string others;
    for (int round = 0; round < 4 && busy == 0; ++round) {
        constexpr int kParallel = 8;
        std::vector<std::unique_ptr<httplib::Client>> clients;
        for (int i = 0; i < kParallel; ++i) clients.push_back(s.client());
        struct Answer {
            bool received = false;
            int status = 0;
            std::string body, content_type;
        };
        std::vector<Answer> results(kParallel);
        std::mutex m;
        std::condition_variable cv;
        int ready = 0;
        std::vector<std::thread> threads;
        for (int i = 0; i < kParallel; ++i) {
            threads.emplace_back([&, i] {
                {
                    std::unique_lock<std::mutex> lock(m);
                    ++ready;
                    cv.notify_all();
                    cv.wait(lock, [&] { return ready == kParallel; });
                }
                auto r = clients[std::size_t(i)]->Post("/v1/classify", clip, "audio/wav");
                if (r) results[std::size_t(i)] = {true, r->status, r->body, r->get_header_value("Content-Type")};
            });
        }
        for (auto& th : threads) th.join();
        for (const auto& a : results) {
            if (a.received && a.status == 200) {
                ++ok;
            } else if (a.received && a.status == 503) {
                ++busy;
                EXPECT_EQ(a.content_type, "application/json");
                EXPECT_EQ(json::parse(a.body), json({{"error", "busy"}}));
            } else {
                ++other;
                others += a.received ? std::to_string(a.status) + " " + a.body + "; " : std::string("no response; ");
            }
        }
    }
    EXPECT_GT(ok, 0);
    EXPECT_GT(busy, 0) << "no request was refused with 1 worker, no queue and 8 at once";
    EXPECT_EQ(other, 0) << others;
    // Once the burst is over, the server answers normally.
    auto r = s.client()->Post("/v1/classify", clip, "audio/wav");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST(Server, QueuedRequestsWaitInsteadOf503) {
    classify::ServerOptions o;
    o.workers = 1;
    o.max_queue = 8;
    RunningServer s(o);
    const std::string clip = wav_bytes(20.0, 10);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            auto r = s.client()->Post("/v1/classify", clip, "audio/wav");
            if (r && r->status == 200) ++ok;
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok.load(), 4);
}

TEST(Server, TakenPortThrows) {
    RunningServer a;
    classify::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = a.port();
    o.workers = 1;
    classify::Server b(bundle(), o);
    try {
        b.bind();
        FAIL() << "bound a port that is taken";
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), "127.0.0.1:" + std::to_string(a.port()));
        EXPECT_FALSE(e.reason().empty());
    }
}

TEST(Server, StopBeforeServeReturns) {
    classify::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.workers = 1;
    classify::Server s(bundle(), o);
    s.bind();
    EXPECT_GT(s.port(), 0);
    s.stop();
    auto done = std::async(std::launch::async, [&] { s.serve(); });
    EXPECT_EQ(done.wait_for(std::chrono::seconds(5)), std::future_status::ready);
}

}  // namespace

TEST(Server, TopKAndNoSpeech) {
    RunningServer s;
    auto c = s.client();
    // top_k=2: the two most probable labels, in the file and in every window, as the formatter has it.
    const std::string long_clip = wav_bytes(6.0, 4, 160.0);
    auto r = c->Post("/v1/classify?segments=1&top_k=2", long_clip, "audio/wav");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json got = json::parse(r->body);
    EXPECT_EQ(got["probabilities"].size(), 2u);
    for (const auto& seg : got["segments"])
        if (seg["speech"].get<bool>()) EXPECT_EQ(seg["probabilities"].size(), 2u);
    static classify::Analyzer analyzer(bundle());
    const auto ref = analyzer.analyze_bytes(long_clip.data(), long_clip.size(), "<body>");
    EXPECT_TRUE(json_equal(got, json::parse(classify::to_json(ref, true, -1, 2))));
    expect_json_error(c->Post("/v1/classify?top_k=two", long_clip, "audio/wav"), 400, "top_k=two");
    expect_json_error(c->Post("/v1/classify?top_k=-1", long_clip, "audio/wav"), 400, "top_k=-1");

    // A chord is no speech: 200 with speech false, not an error.
    TempDir tmp;
    write_audio(tmp / "chord.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, nonspeech::make("chord", 3.0, 16000, 5));
    r = c->Post("/v1/classify", read_bytes(tmp / "chord.wav"), "audio/wav");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json none = json::parse(r->body);
    EXPECT_EQ(none["speech"], false);
    EXPECT_TRUE(none["emotion"].is_null());
}
