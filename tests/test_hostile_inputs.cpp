// Hostile inputs found by probing the tools: each case once crashed, hung, aborted or answered
// wrongly. Every one must now give a one-line "FILE: reason" (or a clean result) and the rest of a
// batch must still be done.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "classify/bundle.hpp"
#include "classify/onnx_check.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/png_io.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kBin = EMOCLASS_BIN;
const std::string kDump = SPECTRO_DUMP_BIN;
const std::string kTiny = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";
const std::string kModel = " --model " + kTiny + " ";

std::vector<float> scaled(std::vector<float> y, float by) {
    for (float& v : y) v *= by;
    return y;
}

bool signalled(int exit_code) { return exit_code >= 128; }

// Under AddressSanitizer resident memory is mostly shadow memory and quarantine, and `ulimit -v`
// cannot be used: memory bounds are checked in the ordinary build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif
}  // namespace

// A float WAV scaled by 1e30 overflowed the power spectrum: --raw wrote all-NaN with exit 0,
// emoclass named a confident emotion, --inspect and --explain crashed on NaN casts.
TEST(HostileInputs, HugeFloatSamplesAreRefusedNotTurnedIntoNaN) {
    TempDir tmp;
    const auto voice = voice_like(3.0, 16000);
    write_audio(tmp / "huge.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, scaled(voice, 1e30f));
    write_audio(tmp / "good.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, voice);
    const std::string both = " " + (tmp / "huge.wav") + " " + (tmp / "good.wav");

    auto raw = run(kDump + " --raw " + (tmp / "huge.npy") + " " + (tmp / "huge.wav"));
    EXPECT_EQ(raw.exit_code, 1) << raw.err;
    EXPECT_NE(raw.err.find("huge.wav: samples too large"), std::string::npos) << raw.err;
    EXPECT_FALSE(fs::exists(tmp / "huge.npy"));

    auto png = run(kDump + both + " -o " + (tmp / "png"));
    EXPECT_EQ(png.exit_code, 1) << png.err;
    EXPECT_TRUE(fs::exists(tmp / "png/good.png"));
    EXPECT_FALSE(fs::exists(tmp / "png/huge.png"));

    auto inspect = run(kDump + " --inspect" + both + " -o " + (tmp / "fig"));
    EXPECT_FALSE(signalled(inspect.exit_code)) << inspect.err;
    EXPECT_EQ(inspect.exit_code, 1) << inspect.err;
    EXPECT_TRUE(fs::exists(tmp / "fig/good.inspect.png"));

    auto classify = run(kBin + kModel + "--format jsonl" + both);
    EXPECT_EQ(classify.exit_code, 1) << classify.err;
    EXPECT_NE(classify.err.find("huge.wav: samples too large"), std::string::npos) << classify.err;
    EXPECT_EQ(count_lines(classify.out), 1u) << classify.out;  // good.wav still classified

    auto explain = run(kBin + kModel + "--explain " + (tmp / "x.png") + " " + (tmp / "huge.wav"));
    EXPECT_FALSE(signalled(explain.exit_code)) << explain.err;
    EXPECT_EQ(explain.exit_code, 1) << explain.err;

    // The library names the reason at the source for samples in memory too, NaN included.
    auto nan = voice;
    nan[1000] = std::nanf("");
    const spectro::SpectroSettings settings;
    EXPECT_THROW(spectro::mel_from_samples(nan.data(), nan.size(), 16000, settings), emoclass::Error);
    EXPECT_NO_THROW(spectro::mel_from_samples(voice.data(), voice.size(), 16000, settings));
}

// nlohmann::json refuses to dump invalid UTF-8 (type_error 316): one such file name aborted the
// whole --format jsonl batch. Invalid bytes are now written as U+FFFD.
TEST(HostileInputs, FileNameThatIsNotUtf8StillGivesJson) {
    TempDir tmp;
    const std::string bad = tmp / "x\xe9.wav";
    write_audio(bad, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_audio(tmp / "ok.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto r = run(kBin + kModel + "--format jsonl '" + bad + "' " + (tmp / "ok.wav"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::stringstream lines(r.out);
    std::vector<json> objs;
    for (std::string line; std::getline(lines, line);) objs.push_back(json::parse(line));
    ASSERT_EQ(objs.size(), 2u);
    EXPECT_NE(objs[0]["file"].get<std::string>().find("x\xef\xbf\xbd.wav"), std::string::npos);
    EXPECT_NE(objs[1]["file"].get<std::string>().find("ok.wav"), std::string::npos);
}

// Wrong types, deep nesting, a huge manifest and a format_version that wraps to 1 in an int.
TEST(HostileInputs, BadModelJsonGivesOneLineErrors) {
    const json good = json::parse(read_bytes(kTiny + "/model.json"));
    auto error_of = [](const std::string& text) -> std::string {
        try {
            classify::parse_bundle_json(text, "/m");
        } catch (const emoclass::Error& e) {
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
            return e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not a emoclass::Error: " << e.what();
            return "";
        }
        return "";
    };
    ASSERT_EQ(error_of(good.dump()), "");
    struct Case {
        const char* expect;
        std::function<void(json&)> edit;
    } cases[] = {
        {"/m/model.json: ", [](json& j) { j["format"] = 1; }},
        {"/m/model.json: ", [](json& j) { j["name"] = 5; }},
        {"/m/model.json: ", [](json& j) { j["input"]["channel_order"] = 0; }},
        {"/m/model.json: ", [](json& j) { j["window"]["hop_s"] = json::array({1}); }},
        {"unknown format_version 4294967297", [](json& j) { j["format_version"] = 4294967297ULL; }},
        {"has the wrong type", [](json& j) { j["spectro"]["n_fft"] = 4294967808ULL; }},
        {"has the wrong type", [](json& j) { j["spectro"]["format_version"] = 4294967297LL; }},
    };
    for (const auto& c : cases) {
        json j = good;
        c.edit(j);
        auto err = error_of(j.dump());
        EXPECT_NE(err.find(c.expect), std::string::npos) << "want '" << c.expect << "', got '" << err << "'";
    }
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_NE(error_of(deep).find("nested deeper than"), std::string::npos);
    json big = good;
    big["padding"] = std::string(2 << 20, 'x');
    EXPECT_NE(error_of(big.dump()).find("larger than"), std::string::npos);

    // Through the tool: one line on stderr, exit 1, no abort.
    TempDir tmp;
    fs::create_directories(tmp / "b");
    fs::copy_file(kTiny + "/model.onnx", tmp / "b/model.onnx");
    json typed = good;
    typed["format"] = 1;
    write_bytes(tmp / "b/model.json", typed.dump());
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto r = run(kBin + " --model " + (tmp / "b") + " " + (tmp / "a.wav"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
}

// A FIFO named x.png was opened for reading and waited for a writer forever.
TEST(HostileInputs, FifoNamedPngIsRefusedAtOnce) {
    TempDir tmp;
    ASSERT_EQ(mkfifo((tmp / "x.png").c_str(), 0600), 0);
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto r = run("timeout 20 " + kBin + kModel + "--format jsonl " + (tmp / "x.png") + " " + (tmp / "a.wav"));
    EXPECT_EQ(r.exit_code, 1) << r.err;  // 124 would be the timeout
    EXPECT_NE(r.err.find("x.png: not a regular file"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.out), 1u);
    EXPECT_THROW(spectro::read_png(tmp / "x.png"), emoclass::Error);
}

// libsndfile keeps a failed open's reason in one process-wide slot: under concurrency a reader
// reported another open's reason (or "No Error."). Each input must keep its own reason.
TEST(HostileInputs, ConcurrentOpenErrorsKeepTheirOwnReason) {
    std::vector<std::string> inputs;
    std::mt19937 rng(7);
    for (int i = 0; i < 6; ++i) {
        std::string bytes(300 + 97 * i, '\0');
        for (char& c : bytes) c = char(rng());
        inputs.push_back(bytes);
    }
    inputs.push_back("RIFF\x10\x00\x00\x00WAVEfmt ");  // a truncated header
    inputs.push_back(std::string("fLaC") + std::string(40, '\x01'));
    auto reason_of = [](const std::string& bytes) -> std::string {
        try {
            spectro::AudioReader::open_memory(bytes.data(), bytes.size(), "<b>");
        } catch (const emoclass::Error& e) {
            return e.reason();
        }
        return "(opened)";
    };
    std::vector<std::string> expected;
    for (const auto& in : inputs) expected.push_back(reason_of(in));
    // Random bytes got libsndfile's "File does not exist or is not a regular file (possibly a
    // pipe?)" from its MPEG probe: the reason must say what is wrong with the data.
    for (std::size_t i = 0; i < 6; ++i)
        EXPECT_EQ(expected[i].find("does not exist"), std::string::npos) << expected[i];
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int k = 0; k < 300; ++k) {
                const std::size_t i = std::size_t(t + k) % inputs.size();
                if (reason_of(inputs[i]) != expected[i]) ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(wrong.load(), 0);
}

namespace {
// Peak resident memory (MB) of a command run in a child process, and its exit code.
std::pair<double, int> peak_rss_mb(const std::string& command) {
    const pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", (command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    return {double(usage.ru_maxrss) / 1024.0, WIFEXITED(status) ? WEXITSTATUS(status) : 128};
}

// A long 16 kHz recording, written in 10 s pieces (the test never holds it whole).
void write_long_wav(const std::string& path, int minutes) {
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr);
    for (int piece = 0; piece < minutes * 6; ++piece) {
        const auto y = voice_like(10.0, 16000, unsigned(piece + 1), 110.0 + piece % 7 * 10);
        sf_writef_float(f, y.data(), sf_count_t(y.size()));
    }
    sf_close(f);
}
}  // namespace

// The PNG of a file kept its whole mel matrix (a 5 h file peaked at 535 MB); now only the frames
// the clip policy can pick are held, and the image is the same.
TEST(HostileInputs, ImageOfAFileKeepsOnlyTheFramesItShows) {
    TempDir tmp;
    write_audio(tmp / "short.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_audio(tmp / "mid.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, voice_like(9.3, 44100, 3));
    write_audio(tmp / "long.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, voice_like(47.0, 22050, 5));
    for (const char* name : {"short.wav", "mid.wav", "long.flac"})
        for (auto policy : {spectro::ClipPolicy::Center, spectro::ClipPolicy::Start, spectro::ClipPolicy::Loudest})
            for (bool center : {true, false}) {
                spectro::SpectroSettings s;
                s.image.clip_policy = policy;
                s.center = center;
                const auto whole = spectro::render_image(spectro::mel_from_file(tmp / name, s), s);
                const auto kept = spectro::image_from_file(tmp / name, s);
                EXPECT_EQ(kept.pixels, whole.pixels) << name << " policy " << int(policy) << " center " << center;
            }
}

TEST(HostileInputs, SpectroDumpMemoryDoesNotGrowWithTheRecording) {
    TempDir tmp;
    write_long_wav(tmp / "long.wav", 30);  // 30 min: 90,000 frames, a 46 MB mel matrix
    auto [png_mb, png_rc] = peak_rss_mb(kDump + " " + (tmp / "long.wav") + " -o " + (tmp / "png"));
    ASSERT_EQ(png_rc, 0);
    auto [raw_mb, raw_rc] = peak_rss_mb(kDump + " --raw " + (tmp / "long.npy") + " " + (tmp / "long.wav"));
    ASSERT_EQ(raw_rc, 0);
    std::printf("spectro-dump of 30 min: PNG peak %.1f MB, --raw peak %.1f MB\n", png_mb, raw_mb);
    const auto npy = spectro::read_npy(tmp / "long.npy");
    EXPECT_EQ(npy.rows, 128u);
    EXPECT_EQ(npy.cols, 1u + 30u * 60u * 16000u / 320u);
    if (kAddressSanitizer) return;  // see kAddressSanitizer
    EXPECT_LT(png_mb, 40.0);          // was ~46 MB of mel values on top of the program
    EXPECT_LT(raw_mb, 46.0 + 40.0);   // one copy of the mel matrix (was four)

    // A matrix that cannot fit names the file instead of a bare "std::bad_alloc".
    auto r = run("ulimit -v 300000; " + kDump + " --hop-length 1 --raw " + (tmp / "x.npy") + " " + (tmp / "long.wav"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("long.wav: out of memory"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(tmp / "x.npy"));
}

// OpenCV 4.6's ONNX importer trusts sizes written in the file (a crafted model made it read past
// its buffer). Each crafted model.onnx below must be refused, naming the reason, before OpenCV
// sees it; the real tiny model still loads.
TEST(HostileInputs, CraftedOnnxIsRefusedBeforeOpenCV) {
    TempDir tmp;
    const std::string script = tmp / "craft.py";
    write_bytes(script, R"PY(
import sys, onnx
from onnx import helper
src, out = sys.argv[1], sys.argv[2]
def save(m, name): onnx.save(m, out + "/" + name)
m = onnx.load(src)
init = next(t for t in m.graph.initializer if t.raw_data)
init.dims[0] = init.dims[0] * 4 + 1          # dims say more than raw_data holds
save(m, "short_raw.onnx")
m = onnx.load(src)
m.graph.node[0].op_type = "Loop"            # an operator outside the list
save(m, "loop.onnx")
m = onnx.load(src)
t = next(t for t in m.graph.initializer if t.raw_data)
t.data_location = onnx.TensorProto.EXTERNAL  # data from another file
t.ClearField("raw_data")
e = t.external_data.add(); e.key = "location"; e.value = "/etc/passwd"
save(m, "external.onnx")
m = onnx.load(src)
t = next(t for t in m.graph.initializer if t.raw_data)
import numpy as np
n = int(np.prod(t.dims))
t.ClearField("raw_data"); t.float_data.extend([0.5] * (n - 3))  # 3 values short
save(m, "short_floats.onnx")
data = open(src, "rb").read()
open(out + "/truncated.onnx", "wb").write(data[: len(data) // 2])
# The int8 network's SwishInt8 tables: OpenCV indexes them with every int8 value.
q = sys.argv[3]
def swish_table(m):
    node = next(n for n in m.graph.node if n.op_type == "SwishInt8")
    return node, next(t for t in m.graph.initializer if t.name == node.input[1])
m = onnx.load(q); node, t = swish_table(m)
t.dims[:] = [1, 1]; t.raw_data = t.raw_data[:1]                # 1 value instead of 256
save(m, "short_table.onnx")
m = onnx.load(q); node, t = swish_table(m)
t.data_type = onnx.TensorProto.UINT8                           # not int8
save(m, "uint8_table.onnx")
m = onnx.load(q); node, t = swish_table(m)
del node.input[1:]                                             # no table at all
save(m, "no_table.onnx")
)PY");
    const std::string int8 = EMOCLASS_SOURCE_DIR "/models/default/model_int8.onnx";
    auto made = run(std::string(PYTHON3_BIN) + " " + script + " " + kTiny + "/model.onnx " + tmp.path() + " " + int8);
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const std::string good = read_bytes(kTiny + "/model.onnx");
    EXPECT_NO_THROW(classify::check_onnx_model(good, "model.onnx"));
    EXPECT_NO_THROW(classify::check_onnx_model(read_bytes(int8), "model_int8.onnx"));
    const std::pair<const char*, const char*> cases[] = {
        {"short_raw.onnx", "bytes but its type and dims need"},
        {"loop.onnx", "operator 'Loop'"},
        {"external.onnx", "external file"},
        {"short_floats.onnx", "values but its dims need"},
        {"truncated.onnx", "malformed protobuf"},
        {"short_table.onnx", "is not an initializer of 256 int8 values"},
        {"uint8_table.onnx", "is not an initializer of 256 int8 values"},
        {"no_table.onnx", "SwishInt8 needs its input and its table"},
    };
    for (const auto& [file, expect] : cases) {
        try {
            classify::check_onnx_model(read_bytes(tmp / file), file);
            ADD_FAILURE() << file << " was not refused";
        } catch (const emoclass::Error& e) {
            EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << file << ": " << e.what();
        }
    }
    // Through the tool: a bundle with the crafted model is one line, exit 1.
    fs::create_directories(tmp / "b");
    fs::copy_file(tmp / "short_raw.onnx", tmp / "b/model.onnx");
    fs::copy_file(kTiny + "/model.json", tmp / "b/model.json");
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto r = run(kBin + " --model " + (tmp / "b") + " " + (tmp / "a.wav"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("model.onnx: refused before loading"), std::string::npos) << r.err;
}

// --hop 0 and --hop -1 were accepted; a single failing input printed no closing summary.
TEST(HostileInputs, FirstHourUsageErrors) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    for (const char* hop : {"0", "-1"}) {
        EXPECT_EQ(run(kBin + kModel + "--hop " + hop + " " + (tmp / "a.wav")).exit_code, 2) << hop;
        EXPECT_EQ(run(kBin + kModel + "eval --hop " + hop + " " + tmp.path()).exit_code, 2) << hop;
    }
    EXPECT_EQ(run(kBin + kModel + "--hop 0.5 " + (tmp / "a.wav")).exit_code, 0);
    // "-" is standard input for emoclass and standard output for spectro-dump --raw.
    auto piped = run("cat " + (tmp / "a.wav") + " | " + kBin + kModel + "--format jsonl -");
    ASSERT_EQ(piped.exit_code, 0) << piped.err;
    EXPECT_EQ(json::parse(piped.out)["file"], "-");
    auto from_file = run(kBin + kModel + "--format jsonl " + (tmp / "a.wav"));
    auto a = json::parse(from_file.out), b = json::parse(piped.out);
    a.erase("file");
    b.erase("file");
    EXPECT_EQ(a, b);
    ASSERT_EQ(run(kDump + " --raw " + (tmp / "a.npy") + " " + (tmp / "a.wav")).exit_code, 0);
    auto to_stdout = run(kDump + " --raw - " + (tmp / "a.wav"));
    ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
    EXPECT_TRUE(to_stdout.out == read_bytes(tmp / "a.npy")) << to_stdout.out.size() << " bytes on stdout";
    auto lone = run(kBin + kModel + (tmp / "missing.wav"));
    EXPECT_EQ(lone.exit_code, 1);
    EXPECT_NE(lone.err.find("1 failed"), std::string::npos) << lone.err;
}

// Found by fuzz_png: image data that ends early made libpng longjmp past the row-pointer vector,
// leaking it on every such file (seen by LeakSanitizer in scripts/sanitize.sh).
TEST(HostileInputs, PngWithCorruptImageDataIsAnErrorWithoutLeaks) {
    const std::string png = read_bytes(kTiny + "/ref_1.png");
    for (std::size_t keep : {png.size() * 6 / 10, png.size() - 20}) {
        const std::string cut = png.substr(0, keep);
        try {
            spectro::decode_png(cut.data(), cut.size(), "cut.png");
            ADD_FAILURE() << "a PNG cut to " << keep << " bytes decoded";
        } catch (const emoclass::Error& e) {
            EXPECT_NE(std::string(e.what()).find("cut.png: corrupt PNG"), std::string::npos) << e.what();
        }
    }
}
