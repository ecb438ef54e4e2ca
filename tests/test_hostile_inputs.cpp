// Hostile inputs found by probing the tools: each case once crashed, hung, aborted or answered
// wrongly. Every one must now give a one-line "FILE: reason" (or a clean result) and the rest of a
// batch must still be done.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "classify/bundle.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/mel_spectrogram.hpp"
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
    EXPECT_TRUE(fs::exists(tmp / "fig/good.png"));

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
    EXPECT_THROW(spectro::mel_from_samples(nan.data(), nan.size(), 16000, settings), spectro::Error);
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
        } catch (const spectro::Error& e) {
            EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
            return e.what();
        } catch (const std::exception& e) {
            ADD_FAILURE() << "not a spectro::Error: " << e.what();
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
    EXPECT_THROW(spectro::read_png(tmp / "x.png"), spectro::Error);
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
        } catch (const spectro::Error& e) {
            return e.reason();
        }
        return "(opened)";
    };
    std::vector<std::string> expected;
    for (const auto& in : inputs) expected.push_back(reason_of(in));
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
