// One analysis stream behind every way audio comes in: the same samples as a file, as bytes in
// memory and as an array in memory (what the Python package passes) give identical windows, bit
// for bit; the spectrogram the analysis keeps is the one a second decode would compute, so the
// `emoclass --explain` figure drawn from it is unchanged. Real speech (the RAVDESS and espeak
// fixtures) and the shipped model.
#include <gtest/gtest.h>
#include <sndfile.h>

#include <filesystem>
#include <limits>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"
#include "classify/explain.hpp"
#include "spectro/error.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {
const std::string kBin = EMOCLASS_BIN;
const std::string kModelDir = EMOCLASS_SOURCE_DIR "/models/default";
const std::string kRavdess = EMOCLASS_SOURCE_DIR "/tests/fixtures/containers/source.flac";  // 16 kHz
const std::string kEspeak = EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_22050.wav";

const classify::ModelBundle& bundle() {
    static const classify::ModelBundle b = classify::load_bundle(kModelDir);
    return b;
}

struct Audio {
    int rate = 0;
    int channels = 0;
    std::vector<float> interleaved;
    std::size_t frames() const { return interleaved.size() / std::size_t(channels); }
};

Audio read_audio(const std::string& path) {
    SF_INFO info{};
    SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
    if (!f) throw std::runtime_error("cannot read " + path);
    Audio a;
    a.rate = info.samplerate;
    a.channels = info.channels;
    a.interleaved.resize(std::size_t(info.frames) * std::size_t(info.channels));
    sf_readf_float(f, a.interleaved.data(), info.frames);
    sf_close(f);
    return a;
}

// A 22,050 Hz stereo float WAV of real speech whose channels differ (so the downmix matters),
// with a silent stretch (skipped windows) between two takes: several windows and a tail.
std::string stereo_speech(const TempDir& tmp) {
    const Audio espeak = read_audio(kEspeak);
    std::vector<float> left = espeak.interleaved;
    left.resize(left.size() + 22050 * 3, 0.0f);
    left.insert(left.end(), espeak.interleaved.rbegin(), espeak.interleaved.rend());
    std::vector<float> stereo;
    for (std::size_t i = 0; i < left.size(); ++i) {
        stereo.push_back(left[i]);
        stereo.push_back(0.25f * left[(i + 700) % left.size()]);
    }
    const std::string path = tmp / "stereo.wav";
    SF_INFO info{};
    info.samplerate = 22050;
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error("cannot write " + path);
    sf_writef_float(f, stereo.data(), sf_count_t(left.size()));
    sf_close(f);
    return path;
}

// numpy's C-order (channels, n), as emoclass.Model passes an array.
std::vector<float> channel_major(const Audio& a) {
    std::vector<float> out(a.interleaved.size());
    for (std::size_t i = 0; i < a.frames(); ++i)
        for (int c = 0; c < a.channels; ++c)
            out[std::size_t(c) * a.frames() + i] = a.interleaved[i * std::size_t(a.channels) + std::size_t(c)];
    return out;
}

void expect_identical(const classify::Result& expected, const classify::Result& got, const std::string& what) {
    EXPECT_EQ(got.duration_s, expected.duration_s) << what;
    EXPECT_EQ(got.emotion, expected.emotion) << what;
    EXPECT_EQ(got.probabilities, expected.probabilities) << what;
    ASSERT_EQ(got.segments.size(), expected.segments.size()) << what;
    for (std::size_t i = 0; i < got.segments.size(); ++i) {
        const auto &e = expected.segments[i], &g = got.segments[i];
        EXPECT_EQ(g.start_s, e.start_s) << what << " window " << i;
        EXPECT_EQ(g.end_s, e.end_s) << what << " window " << i;
        EXPECT_EQ(g.voiced, e.voiced) << what << " window " << i;
        EXPECT_EQ(g.probabilities, e.probabilities) << what << " window " << i;  // exact floats
    }
}

}  // namespace

TEST(AnalysisPaths, FileBytesAndArrayGiveIdenticalWindows) {
    TempDir tmp;
    classify::Analyzer analyzer(bundle());
    for (const std::string& path : {kRavdess, kEspeak, stereo_speech(tmp)}) {
        const auto from_file = analyzer.analyze_file(path);
        const std::string bytes = read_bytes(path);
        const auto from_bytes = analyzer.analyze_bytes(bytes.data(), bytes.size(), "<bytes>");
        const Audio audio = read_audio(path);
        const auto planar = channel_major(audio);
        const auto from_array =
            analyzer.analyze_samples(planar.data(), std::size_t(audio.channels), audio.frames(), audio.rate, "<array>");
        ASSERT_TRUE(from_file.has_speech()) << path;
        expect_identical(from_file, from_bytes, path + " as bytes");
        expect_identical(from_file, from_array, path + " as an array");
        EXPECT_EQ(from_array.file, "<array>");
        if (audio.channels == 2) {
            EXPECT_GE(from_file.segments.size(), 6u);
            EXPECT_LT(from_file.voiced_windows(), int(from_file.segments.size())) << "the silence should be skipped";
        }
    }
}

TEST(AnalysisPaths, ArraysAreRefusedAsTheDecodersRefuseTheSameFile) {
    classify::Analyzer analyzer(bundle());
    auto error_of = [&](const std::vector<float>& samples, std::size_t channels, int rate) {
        try {
            analyzer.analyze_samples(samples.data(), channels, channels ? samples.size() / channels : samples.size(),
                                     rate, "<array>");
        } catch (const emoclass::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_EQ(error_of({}, 1, 16000), "<array>: contains no audio samples");
    EXPECT_EQ(error_of(std::vector<float>(16000), 0, 16000), "<array>: no audio channels");
    EXPECT_EQ(error_of(std::vector<float>(16000), 1, 0), "<array>: invalid sample rate 0");
    std::vector<float> stereo(2 * 40000, 0.1f);
    stereo[40000 + 20000] = std::numeric_limits<float>::infinity();  // channel 1, frame 20000
    EXPECT_EQ(error_of(stereo, 2, 16000), "<array>: holds NaN or infinite samples (frame 20000)");
}

TEST(AnalysisPaths, KeptMelIsWhatASecondDecodeComputes) {
    TempDir tmp;
    classify::Analyzer analyzer(bundle());
    for (const std::string& path : {kRavdess, kEspeak, stereo_speech(tmp)}) {
        spectro::MelMatrix kept;
        const auto result = analyzer.analyze_file(path, &kept);
        spectro::AudioInfo info;
        const auto decoded_again = spectro::mel_from_file(path, bundle().spectro, &info);
        EXPECT_EQ(kept.n_mels, decoded_again.n_mels) << path;
        EXPECT_GT(kept.frames(), 100u) << path;
        EXPECT_EQ(kept.values, decoded_again.values) << path;  // exact
        EXPECT_EQ(result.duration_s, info.duration_s) << path;
        // Without a matrix asked for, nothing is kept and the result is the same.
        expect_identical(result, analyzer.analyze_file(path), path + " without the mel");
    }
}

TEST(AnalysisPaths, ExplainFigureIsTheOneASecondDecodeWouldDraw) {
    // `emoclass --explain` now draws the spectrogram its analysis kept; the figure is byte for byte
    // the one drawn from a separate decode of the file, as it was before.
    TempDir tmp;
    classify::Analyzer analyzer(bundle());
    for (const std::string& path : {kRavdess, stereo_speech(tmp)}) {
        const std::string png = tmp / "figure.png";
        auto r = run(kBin + " --model " + kModelDir + " -q --explain " + png + " " + path);
        ASSERT_EQ(r.exit_code, 0) << r.err;
        spectro::AudioInfo info;
        const auto mel = spectro::mel_from_file(path, bundle().spectro, &info);
        const auto expected = classify::explain_png(bundle(), analyzer.analyze_file(path), mel, info.duration_s,
                                                    std::filesystem::path(path).filename().string());
        EXPECT_EQ(read_bytes(png), std::string(expected.begin(), expected.end())) << path;
    }
    // A spectrogram PNG has no recording to draw: refused before any work, in one line.
    write_bytes(tmp / "model_input.png", "not read");
    auto r = run(kBin + " --model " + kModelDir + " --explain " + (tmp / "out.png") + " " + (tmp / "model_input.png"));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("give the audio, not " + (tmp / "model_input.png")), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(tmp / "out.png"));
}
