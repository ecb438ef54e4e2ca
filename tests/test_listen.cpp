// `emoclass listen`: raw PCM through the real binary gives the same windows as classifying the
// same samples as a file (`emoclass --format jsonl`), whatever the sample format, channel count
// or block boundaries; it prints while the stream is still open, and a signal ends it cleanly
// with the tail window. A WAV or FLAC (path or pipe) is decoded, not read as samples.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <nlohmann/json.hpp>
#include <cmath>
#include <sstream>

#include "test_support.hpp"

namespace {
using json = nlohmann::json;
using namespace test_support;

const std::string kBin = EMOCLASS_BIN;
const std::string kBundle = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";

std::string emoclass(const std::string& args) { return kBin + " --model " + kBundle + " " + args; }

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

// A 16-bit 16 kHz WAV with speech-like sound, a silent stretch (skipped windows) and more sound,
// plus its samples exactly as stored.
struct Clip {
    std::string wav;
    std::vector<short> samples;
};

Clip make_clip(const TempDir& tmp) {
    std::vector<float> y = voice_like(7.0, 16000, 21, 150.0);
    y.resize(y.size() + 16000 * 5, 0.0f);  // 5 s of silence
    auto more = voice_like(6.3, 16000, 22, 210.0);
    y.insert(y.end(), more.begin(), more.end());
    Clip c;
    c.wav = tmp / "clip.wav";
    write_audio(c.wav, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, y);
    SF_INFO info{};
    SNDFILE* f = sf_open(c.wav.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot read back " + c.wav);
    c.samples.resize(std::size_t(info.frames));
    sf_readf_short(f, c.samples.data(), info.frames);
    sf_close(f);
    return c;
}

void write_raw(const std::string& path, const void* data, std::size_t bytes) {
    write_bytes(path, std::string(static_cast<const char*>(data), bytes));
}

std::string s16le(const Clip& c) {
    std::string out;
    for (short v : c.samples) {
        out.push_back(char(std::uint16_t(v) & 0xff));
        out.push_back(char(std::uint16_t(v) >> 8));
    }
    return out;
}

// The segments `emoclass --format jsonl FILE` reports.
json file_segments(const std::string& wav) {
    auto r = run(emoclass("--format jsonl " + wav));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto lines = lines_of(r.out);
    EXPECT_EQ(lines.size(), 1u) << r.out;
    return lines.empty() ? json::array() : json::parse(lines[0])["segments"];
}

void expect_same_windows(const json& expected, const std::vector<std::string>& got_lines, const std::string& what) {
    ASSERT_EQ(got_lines.size(), expected.size()) << what;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const json got = json::parse(got_lines[i]);
        const json& e = expected[i];
        EXPECT_DOUBLE_EQ(got["start_s"].get<double>(), e["start_s"].get<double>()) << what << " window " << i;
        EXPECT_DOUBLE_EQ(got["end_s"].get<double>(), e["end_s"].get<double>()) << what << " window " << i;
        EXPECT_EQ(got["emotion"], e["emotion"]) << what << " window " << i;
        EXPECT_NEAR(got["confidence"].get<double>(), e["confidence"].get<double>(), 1e-5) << what << " window " << i;
        ASSERT_TRUE(got.contains("probabilities")) << what;
        if (e["emotion"].is_null()) EXPECT_TRUE(got["probabilities"].empty()) << what;
        else EXPECT_EQ(got["probabilities"].size(), 6u) << what;
    }
}

json voiced_only(const json& segments) {
    json out = json::array();
    for (const auto& s : segments)
        if (!s["emotion"].is_null()) out.push_back(s);
    return out;
}

class Listen : public ::testing::Test {
protected:
    void SetUp() override {
        clip_ = make_clip(tmp_);
        raw_ = tmp_ / "clip.s16";
        write_bytes(raw_, s16le(clip_));
        expected_ = file_segments(clip_.wav);
        ASSERT_GT(expected_.size(), 4u);
        ASSERT_GT(voiced_only(expected_).size(), 0u);
        ASSERT_LT(voiced_only(expected_).size(), expected_.size()) << "the test clip should have silent windows";
    }
    TempDir tmp_;
    Clip clip_;
    std::string raw_;
    json expected_;
};

TEST_F(Listen, StdinS16MatchesFileSegments) {
    auto r = run(emoclass("listen --format jsonl --show-silence - < " + raw_));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_windows(expected_, lines_of(r.out), "--show-silence");

    r = run("cat " + raw_ + " | " + emoclass("listen --format jsonl -"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_windows(voiced_only(expected_), lines_of(r.out), "voiced only");
}

TEST_F(Listen, TextLinesEqualTheSegmentsTable) {
    // `emoclass --segments FILE`: header, the file's row, then one line per window.
    auto table = run(emoclass("--segments " + clip_.wav));
    ASSERT_EQ(table.exit_code, 0) << table.err;
    auto table_lines = lines_of(table.out);
    ASSERT_GT(table_lines.size(), 2u);
    std::vector<std::string> window_lines(table_lines.begin() + 2, table_lines.end());

    auto r = run(emoclass("listen --show-silence " + raw_));  // a file path works as input too
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines_of(r.out), window_lines);
}

TEST_F(Listen, OtherSampleFormatsAndChannelsGiveTheSameWindows) {
    // Stereo float: both channels carry the same samples, so the downmix is exact.
    std::vector<float> f32;
    std::vector<std::int32_t> s32;
    std::string u8;
    for (short v : clip_.samples) {
        f32.push_back(float(v) / 32768.0f);
        f32.push_back(float(v) / 32768.0f);
        s32.push_back(std::int32_t(v) * 65536);
    }
    write_raw(tmp_ / "clip.f32", f32.data(), f32.size() * sizeof(float));
    write_raw(tmp_ / "clip.s32", s32.data(), s32.size() * sizeof(std::int32_t));

    auto r = run(emoclass("listen --format jsonl --show-silence --sample-format f32le --channels 2 - < " + (tmp_ / "clip.f32")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_windows(expected_, lines_of(r.out), "f32le stereo");

    r = run(emoclass("listen --format jsonl --show-silence --sample-format s32le - < " + (tmp_ / "clip.s32")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    expect_same_windows(expected_, lines_of(r.out), "s32le");

    // u8 loses precision: same timeline, emotions need not match.
    for (short v : clip_.samples) u8.push_back(char(std::uint8_t((v >> 8) + 128)));
    write_bytes(tmp_ / "clip.u8", u8);
    r = run(emoclass("listen --format jsonl --show-silence --sample-format u8 - < " + (tmp_ / "clip.u8")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = lines_of(r.out);
    ASSERT_EQ(lines.size(), expected_.size());
    for (std::size_t i = 0; i < lines.size(); ++i)
        EXPECT_DOUBLE_EQ(json::parse(lines[i])["start_s"].get<double>(), expected_[i]["start_s"].get<double>());
}

TEST_F(Listen, OtherRatesAreResampled) {
    // 8 kHz input: the same timeline in seconds (the bundle's 16 kHz after resampling).
    std::string raw8;
    for (std::size_t i = 0; i + 1 < clip_.samples.size(); i += 2) {
        const short v = short((int(clip_.samples[i]) + int(clip_.samples[i + 1])) / 2);
        raw8.push_back(char(std::uint16_t(v) & 0xff));
        raw8.push_back(char(std::uint16_t(v) >> 8));
    }
    write_bytes(tmp_ / "clip8k.s16", raw8);
    auto r = run(emoclass("listen --format jsonl --show-silence --rate 8000 - < " + (tmp_ / "clip8k.s16")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = lines_of(r.out);
    // The resampler may add or drop a frame at the very end, which can change the tail window.
    ASSERT_NEAR(double(lines.size()), double(expected_.size()), 1.0) << r.out;
    for (std::size_t i = 0; i + 1 < std::min(lines.size(), expected_.size()); ++i) {
        const json got = json::parse(lines[i]);
        EXPECT_DOUBLE_EQ(got["start_s"].get<double>(), expected_[i]["start_s"].get<double>());
        EXPECT_DOUBLE_EQ(got["end_s"].get<double>(), expected_[i]["end_s"].get<double>());
    }
}

TEST_F(Listen, PartialTrailingSampleIsIgnoredAndSaid) {
    write_bytes(tmp_ / "odd.s16", s16le(clip_) + "\x01");
    auto r = run(emoclass("listen --format jsonl --show-silence - < " + (tmp_ / "odd.s16")));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("ignored its last 1 byte"), std::string::npos) << r.err;
    expect_same_windows(expected_, lines_of(r.out), "odd byte count");
}

TEST_F(Listen, PrintsWhileStreamingAndEndsCleanlyOnSignal) {
    // The writer keeps the FIFO open after the samples: only a signal can end the stream. The
    // windows must appear before that (as each completes), and the tail window after it. The
    // signal is sent once every window but the tail is out and half a second has passed, so
    // that the last samples (less than one hop) have left the FIFO: a signal that arrives
    // earlier ends the stream earlier, as it should, and the tail would then differ.
    const std::string fifo = tmp_ / "pcm.fifo", out = tmp_ / "out.jsonl", err = tmp_ / "err.txt";
    const std::size_t before_tail = expected_.size() - 1;
    const std::string script =
        "mkfifo " + fifo + " && (" + emoclass("listen --format jsonl --show-silence - < " + fifo) + " > " + out +
        " 2> " + err + " & pid=$!; exec 3> " + fifo + "; cat " + raw_ +
        " >&3; i=0; while [ \"$(wc -l < " + out + ")\" -lt " + std::to_string(before_tail) +
        " ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; sleep 0.5; echo lines_before_signal=$(wc -l < " + out +
        "); kill -TERM $pid; wait $pid; echo exit=$?; exec 3>&-)";
    auto r = run(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto at = r.out.find("lines_before_signal=");
    ASSERT_NE(at, std::string::npos) << r.out << read_bytes(err);
    const std::size_t before_signal = std::stoul(r.out.substr(at + 20));
    EXPECT_GE(before_signal, before_tail) << "windows were not printed while the stream was open";
    EXPECT_LT(before_signal, expected_.size()) << "the last window can only come once the stream ends";
    EXPECT_NE(r.out.find("exit=0"), std::string::npos) << r.out << read_bytes(err);
    expect_same_windows(expected_, lines_of(read_bytes(out)), "ended by SIGTERM");
}

// Real recordings with the shipped model: headerless PCM, the same file given as a path, and the
// same file piped in give exactly the windows (times, probabilities) `emoclass FILE` gives. The
// long clip is made of the fixtures' real speech (RAVDESS, espeak) with silence between, so it
// has many windows, skipped ones and a tail.
class ListenRealSpeech : public ::testing::Test {
protected:
    static std::vector<short> samples_of(const std::string& path) {
        SF_INFO info{};
        SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
        if (!f) throw std::runtime_error("cannot read " + path);
        std::vector<short> out(std::size_t(info.frames) * std::size_t(info.channels));
        sf_readf_short(f, out.data(), info.frames);
        sf_close(f);
        return out;
    }
    static std::string as_s16le(const std::vector<short>& samples) {
        std::string out;
        for (short v : samples) {
            out.push_back(char(std::uint16_t(v) & 0xff));
            out.push_back(char(std::uint16_t(v) >> 8));
        }
        return out;
    }
    // The shipped model's windows for FILE, one compact JSON object each.
    static std::vector<std::string> file_windows(const std::string& file) {
        auto r = run(kBin + " --format jsonl " + file);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::vector<std::string> out;
        for (const auto& line : lines_of(r.out)) {
            const json result = json::parse(line);
            for (const auto& seg : result["segments"]) out.push_back(seg.dump());
        }
        return out;
    }
    static std::vector<std::string> listen_windows(const std::string& args) {
        auto r = run(kBin + " listen --format jsonl --show-silence " + args);
        EXPECT_EQ(r.exit_code, 0) << r.err;
        std::vector<std::string> out;
        for (const auto& line : lines_of(r.out)) out.push_back(json::parse(line).dump());
        return out;
    }
    TempDir tmp_;
    const std::string flac_ = EMOCLASS_SOURCE_DIR "/tests/fixtures/containers/source.flac";
    const std::string espeak_ = EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_16k.wav";
};

TEST_F(ListenRealSpeech, RawPcmFilePathAndPipedFileGiveTheFileWindows) {
    const auto ravdess = samples_of(flac_), espeak = samples_of(espeak_);
    std::vector<short> long_clip = ravdess;
    long_clip.resize(long_clip.size() + 16000 * 4, 0);  // 4 s of silence: skipped windows
    long_clip.insert(long_clip.end(), espeak.begin(), espeak.end());
    long_clip.insert(long_clip.end(), ravdess.begin(), ravdess.end());
    std::vector<float> as_float;
    for (short v : long_clip) as_float.push_back(float(v) / 32768.0f);
    write_audio(tmp_ / "long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, as_float);
    write_bytes(tmp_ / "long.s16", as_s16le(samples_of(tmp_ / "long.wav")));  // the samples as stored
    write_bytes(tmp_ / "ravdess.s16", as_s16le(ravdess));

    const auto expected = file_windows(tmp_ / "long.wav");
    ASSERT_GE(expected.size(), 10u);
    std::size_t skipped = 0;
    for (const auto& w : expected) skipped += json::parse(w)["speech"].get<bool>() ? 0 : 1;
    ASSERT_GT(skipped, 0u) << "the silence should give skipped windows";
    EXPECT_EQ(listen_windows("- < " + (tmp_ / "long.s16")), expected) << "raw PCM on stdin";
    EXPECT_EQ(listen_windows(tmp_ / "long.wav"), expected) << "WAV path";
    EXPECT_EQ(listen_windows("- < " + (tmp_ / "long.wav")), expected) << "WAV on stdin";

    // A real clip shorter than one window (one window, placed by the clip policy), as FLAC.
    const auto short_expected = file_windows(flac_);
    ASSERT_EQ(short_expected.size(), 1u);
    EXPECT_EQ(listen_windows("- < " + (tmp_ / "ravdess.s16")), short_expected) << "raw PCM";
    EXPECT_EQ(listen_windows(flac_), short_expected) << "FLAC path";
    EXPECT_EQ(listen_windows("- < " + flac_), short_expected) << "FLAC on stdin";
}

TEST_F(ListenRealSpeech, StereoRawPcmIsDownmixedAsTheStereoFileIs) {
    // Two different real recordings, one per channel (RAVDESS left, espeak right, 1 s apart):
    // interleaved s16le on stdin gives the windows of the same samples as a stereo WAV.
    const auto ravdess = samples_of(flac_), espeak = samples_of(espeak_);
    const std::size_t frames = std::max(ravdess.size(), espeak.size() + 16000) + 16000 * 2;
    std::vector<short> stereo(2 * frames, 0);
    for (std::size_t i = 0; i < ravdess.size(); ++i) stereo[2 * i] = ravdess[i];
    for (std::size_t i = 0; i < espeak.size(); ++i) stereo[2 * (i + 16000) + 1] = espeak[i];
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open((tmp_ / "stereo.wav").c_str(), SFM_WRITE, &info);
    ASSERT_NE(f, nullptr);
    sf_writef_short(f, stereo.data(), sf_count_t(frames));
    sf_close(f);
    write_bytes(tmp_ / "stereo.s16", as_s16le(stereo));
    const auto expected = file_windows(tmp_ / "stereo.wav");
    ASSERT_GE(expected.size(), 3u);
    EXPECT_EQ(listen_windows("--channels 2 - < " + (tmp_ / "stereo.s16")), expected);
}

TEST_F(ListenRealSpeech, LiveWavStreamIsDecodedAsItArrives) {
    // What `arecord -f S16_LE -r 16000 | emoclass listen -` sends: a WAV header that cannot know
    // the length (sizes 0x7fffffff), then samples, on a pipe that stays open. The windows come
    // while it is open, and Ctrl-C ends it cleanly with the tail.
    const auto espeak = samples_of(espeak_), ravdess = samples_of(flac_);
    std::vector<float> y;
    for (int i = 0; i < 2; ++i) {
        for (short v : espeak) y.push_back(float(v) / 32768.0f);
        for (short v : ravdess) y.push_back(float(v) / 32768.0f);
    }
    write_audio(tmp_ / "clip.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, y);
    const auto expected = file_windows(tmp_ / "clip.wav");
    ASSERT_GE(expected.size(), 6u);
    std::string wav = read_bytes(tmp_ / "clip.wav");
    const auto data = wav.find("data");
    ASSERT_NE(data, std::string::npos);
    for (std::size_t at : {std::size_t(4), data + 4}) wav.replace(at, 4, std::string("\xff\xff\xff\x7f", 4));
    write_bytes(tmp_ / "live.wav", wav);

    const std::string fifo = tmp_ / "pcm.fifo", out = tmp_ / "out.jsonl", err = tmp_ / "err.txt";
    const std::string script =
        "mkfifo " + fifo + " && (" + kBin + " listen --format jsonl --show-silence - < " + fifo + " > " + out +
        " 2> " + err + " & pid=$!; exec 3> " + fifo + "; cat " + (tmp_ / "live.wav") +
        " >&3; i=0; while [ \"$(wc -l < " + out + ")\" -lt " + std::to_string(expected.size() - 1) +
        " ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; sleep 0.5; echo lines_before_signal=$(wc -l < " + out +
        "); kill -INT $pid; wait $pid; echo exit=$?; exec 3>&-)";
    auto r = run(script);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("lines_before_signal=" + std::to_string(expected.size() - 1)), std::string::npos)
        << r.out << read_bytes(err);
    EXPECT_NE(r.out.find("exit=0"), std::string::npos) << r.out << read_bytes(err);
    std::vector<std::string> got;
    for (const auto& line : lines_of(read_bytes(out))) got.push_back(json::parse(line).dump());
    EXPECT_EQ(got, expected) << read_bytes(err);
}

TEST_F(ListenRealSpeech, ResampledInputGivesTheFileWindows) {
    // 22,050 Hz through the same resampler, pushed in other block sizes than the file path's.
    const std::string wav = EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_22050.wav";
    write_bytes(tmp_ / "speech.s16", as_s16le(samples_of(wav)));
    const auto expected = file_windows(wav);
    ASSERT_EQ(expected.size(), 2u);
    EXPECT_EQ(listen_windows("--rate 22050 - < " + (tmp_ / "speech.s16")), expected);
}

TEST_F(ListenRealSpeech, NonFiniteSamplesAreRefusedAsFilesRefuseThem) {
    // f32le with a NaN at 6 s: the windows before it, then one error line naming the frame, exit 1
    // (`emoclass FILE` refuses a float WAV holding NaN the same way).
    const auto espeak = samples_of(espeak_);
    std::vector<float> y;
    for (int i = 0; i < 3; ++i)
        for (short v : espeak) y.push_back(float(v) / 32768.0f);
    y[16000 * 6] = std::nanf("");
    write_bytes(tmp_ / "nan.f32", std::string(reinterpret_cast<const char*>(y.data()), y.size() * sizeof(float)));
    auto r = run(kBin + " listen --format jsonl --sample-format f32le - < " + (tmp_ / "nan.f32"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("standard input: holds NaN or infinite samples (frame 96000)"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), 2u) << r.err;  // the start line and the error
    EXPECT_GE(lines_of(r.out).size(), 3u) << "windows before the NaN are still given";

    write_audio(tmp_ / "nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, y);
    auto f = run(kBin + " --format jsonl " + (tmp_ / "nan.wav"));
    EXPECT_EQ(f.exit_code, 1);
    EXPECT_NE(f.err.find("nan.wav: holds NaN or infinite samples (frame 96000)"), std::string::npos) << f.err;
    auto l = run(kBin + " listen " + (tmp_ / "nan.wav"));
    EXPECT_EQ(l.exit_code, 1);
    EXPECT_NE(l.err.find("nan.wav: holds NaN or infinite samples (frame 96000)"), std::string::npos) << l.err;
}

TEST(ListenErrors, OneLineOnStderrAndExit1) {
    auto r = run(emoclass("listen /nonexistent/audio.raw"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/audio.raw"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());

    r = run(emoclass("listen --device emoclass_no_such_device"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;

    r = run(emoclass("listen --channels 0 - < /dev/null"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;

    // An empty stream is not an error.
    r = run(emoclass("listen - < /dev/null"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.out.empty());
}

}  // namespace
