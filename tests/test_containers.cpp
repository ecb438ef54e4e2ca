// Containers libsndfile cannot read, decoded through FFmpeg's libraries behind AudioReader:
// m4a/AAC, mp4 and mov audio tracks, webm Opus, AMR-NB, WMA. The fixtures are 2 s of real speech
// (RAVDESS) encoded by scripts/make_container_fixtures.sh; each must give the source's duration
// and loudness, be told apart by its bytes (not its name), stream from memory as from a file,
// and fail with one clear line when it holds no audio or is cut short.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "spectro/audio_folder.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/ffmpeg_decoder.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "test_support.hpp"

namespace {
using namespace test_support;

const std::string kDir = EMOCLASS_SOURCE_DIR "/tests/fixtures/containers/";

struct Container {
    std::string file;
    int rate;
    int channels;
    std::string demuxer;  // part of format_name()
};
void PrintTo(const Container& c, std::ostream* os) { *os << c.file; }

const Container kContainers[] = {
    {"clip.m4a", 44100, 1, "mov"},      {"clip.mp4", 48000, 2, "mov"}, {"clip.mov", 16000, 1, "mov"},
    {"clip.webm", 48000, 1, "matroska"}, {"clip.amr", 8000, 1, "amr"}, {"clip.wma", 22050, 1, "asf"},
};

std::vector<float> decode_all(spectro::AudioReader& r) {
    std::vector<float> y, block(1000);
    while (std::size_t n = r.read_mono(block.data(), block.size())) y.insert(y.end(), block.begin(), block.begin() + long(n));
    return y;
}

double rms_db(const std::vector<float>& y) {
    double sum = 0;
    for (float v : y) sum += double(v) * v;
    return 10 * std::log10(sum / double(std::max<std::size_t>(y.size(), 1)) + 1e-20);
}

// Loudness per 20 ms, to compare the speech envelope across rates and codecs.
std::vector<double> envelope(const std::vector<float>& y, int rate) {
    const std::size_t hop = std::size_t(rate / 50);
    std::vector<double> e;
    for (std::size_t i = 0; i + hop <= y.size(); i += hop) {
        double s = 0;
        for (std::size_t k = i; k < i + hop; ++k) s += double(y[k]) * y[k];
        e.push_back(10 * std::log10(s / double(hop) + 1e-10));
    }
    return e;
}

double correlation_at(const std::vector<double>& a, const std::vector<double>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    const double ma = std::accumulate(a.begin(), a.begin() + long(n), 0.0) / double(n);
    const double mb = std::accumulate(b.begin(), b.begin() + long(n), 0.0) / double(n);
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / std::sqrt(saa * sbb);
}

// The best correlation over shifts of up to 200 ms either way (codecs delay the signal).
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
    double best = -1;
    for (std::size_t lag = 0; lag <= 10; ++lag) {
        best = std::max(best, correlation_at(std::vector<double>(a.begin() + long(lag), a.end()), b));
        best = std::max(best, correlation_at(a, std::vector<double>(b.begin() + long(lag), b.end())));
    }
    return best;
}

class Containers : public ::testing::TestWithParam<Container> {};

TEST_P(Containers, DecodesToTheSourceDurationAndLoudness) {
    const Container& c = GetParam();
    auto source = spectro::AudioReader::open_file(kDir + "source.flac");
    const auto reference = decode_all(source);  // 2.000 s at 16 kHz
    auto reader = spectro::AudioReader::open_file(kDir + c.file);
    EXPECT_NE(reader.format_name().find("FFmpeg"), std::string::npos) << reader.format_name();
    EXPECT_NE(reader.format_name().find(c.demuxer), std::string::npos) << reader.format_name();
    EXPECT_EQ(reader.sample_rate(), c.rate);
    EXPECT_EQ(reader.channels(), c.channels);
    const auto y = decode_all(reader);
    const double seconds = double(y.size()) / c.rate;
    // Codecs round up to whole frames (AAC 1024 samples, ffmpeg pads the last), so a little more.
    EXPECT_NEAR(seconds, 2.0, 0.06) << c.file << ": " << y.size() << " samples";
    EXPECT_EQ(reader.frames(), std::int64_t(y.size())) << "exact count once the end is reached";
    EXPECT_NEAR(rms_db(y), rms_db(reference), 2.0) << c.file;
    // The same speech: its 20 ms loudness envelope follows the source's (codec delay aside).
    const double r = correlation(envelope(y, c.rate), envelope(reference, 16000));
    EXPECT_GT(r, 0.9) << c.file;
    RecordProperty("envelope_correlation", std::to_string(r));
}

TEST_P(Containers, MemoryGivesTheSameSamplesAsTheFile) {
    const Container& c = GetParam();
    const std::string bytes = read_bytes(kDir + c.file);
    auto from_memory = spectro::AudioReader::open_memory(bytes.data(), bytes.size(), "<body>");
    auto from_file = spectro::AudioReader::open_file(kDir + c.file);
    EXPECT_EQ(decode_all(from_memory), decode_all(from_file));
}

TEST_P(Containers, SpectrogramStreamsThroughTheResampler) {
    const Container& c = GetParam();
    spectro::SpectroSettings s;
    spectro::AudioInfo info;
    auto mel = spectro::mel_from_file(kDir + c.file, s, &info);
    EXPECT_EQ(info.source_rate, c.rate);
    EXPECT_NEAR(info.duration_s, 2.0, 0.06);
    EXPECT_EQ(mel.frames(), 1 + info.samples / std::size_t(s.hop_length));
}

INSTANTIATE_TEST_SUITE_P(FFmpeg, Containers, ::testing::ValuesIn(kContainers),
                         [](const auto& info) { return info.param.file.substr(5); });

TEST(FfmpegDecoder, FormatIsToldByContentNotName) {
    TempDir tmp;
    write_bytes(tmp / "actually_m4a.wav", read_bytes(kDir + "clip.m4a"));
    write_bytes(tmp / "no_extension", read_bytes(kDir + "clip.webm"));
    auto a = spectro::AudioReader::open_file(tmp / "actually_m4a.wav");
    EXPECT_EQ(a.sample_rate(), 44100);
    auto b = spectro::AudioReader::open_file(tmp / "no_extension");
    EXPECT_EQ(b.sample_rate(), 48000);
    EXPECT_GT(decode_all(b).size(), 90000u);
}

std::string error_of(const std::string& path) {
    try {
        auto r = spectro::AudioReader::open_file(path);
        decode_all(r);
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), path);
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line";
        return e.reason();
    }
    return "";
}

TEST(FfmpegDecoder, VideoWithoutAudioIsRefused) {
    EXPECT_NE(error_of(kDir + "video_only.mp4").find("no audio stream"), std::string::npos);
}

TEST(FfmpegDecoder, CutShortMp4IsAnError) {
    TempDir tmp;
    write_bytes(tmp / "cut.m4a", read_bytes(kDir + "clip.m4a").substr(0, 5000));  // the index is at the end
    EXPECT_NE(error_of(tmp / "cut.m4a").find("truncated or corrupt"), std::string::npos);
}

TEST(FfmpegDecoder, NonAudioIsStillNotRecognised) {
    TempDir tmp;
    write_bytes(tmp / "notes.txt", "not audio at all\n");
    EXPECT_NE(error_of(tmp / "notes.txt").find("not a recognised audio format"), std::string::npos);
    const std::string png = EMOCLASS_SOURCE_DIR "/docs/img/confusion_test.png";
    EXPECT_NE(error_of(png).find("not a recognised audio format"), std::string::npos);
}

// Cut and bit-flipped copies of every container (fixed seed): each either decodes to finite
// samples or fails with one emoclass::Error line; none crashes or hangs.
TEST(FfmpegDecoder, DamagedFilesGiveAnErrorOrAudio) {
    std::mt19937 rng(15);
    int errors = 0, decoded = 0;
    for (const auto& c : kContainers) {
        const std::string bytes = read_bytes(kDir + c.file);
        for (int k = 0; k < 20; ++k) {
            std::string damaged = bytes;
            if (k % 2 == 0) {
                damaged.resize(1 + rng() % (bytes.size() - 1));
            } else {
                for (int flips = 1 + int(rng() % 20); flips > 0; --flips) damaged[rng() % damaged.size()] = char(rng());
            }
            try {
                auto r = spectro::AudioReader::open_memory(damaged.data(), damaged.size(), "<damaged>");
                for (float v : decode_all(r)) ASSERT_TRUE(std::isfinite(v));
                ++decoded;
            } catch (const emoclass::Error& e) {
                EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
                ++errors;
            }
        }
    }
    EXPECT_GT(errors, 0);
    EXPECT_GT(decoded, 0);
    RecordProperty("errors", errors);
    RecordProperty("decoded", decoded);
}

TEST(FfmpegDecoder, ReportsItsVersion) {
    EXPECT_NE(spectro::ffmpeg_version().find("libavformat"), std::string::npos) << spectro::ffmpeg_version();
}

TEST(FolderScan, TakesEveryDecodableFileAndNamesTheRest) {
    TempDir tmp;
    for (const auto& c : kContainers) write_bytes(tmp / c.file, read_bytes(kDir + c.file));
    write_bytes(tmp / "voice_memo", read_bytes(kDir + "clip.m4a"));
    write_bytes(tmp / "notes.txt", "not audio\n");
    write_bytes(tmp / "video_only.mp4", read_bytes(kDir + "video_only.mp4"));
    write_bytes(tmp / ".hidden.m4a", read_bytes(kDir + "clip.m4a"));
    write_bytes(tmp / "broken.wav", "RIFF");  // a libsndfile extension: taken, reported when analysed
    const auto scan = spectro::scan_audio_folder(tmp.path());
    EXPECT_EQ(scan.files.size(), std::size(kContainers) + 2);
    ASSERT_EQ(scan.skipped.size(), 2u);
    EXPECT_EQ(scan.skipped[0].first, tmp / "notes.txt");
    EXPECT_NE(scan.skipped[0].second.find("not a recognised audio format"), std::string::npos);
    EXPECT_EQ(scan.skipped[1].first, tmp / "video_only.mp4");
    EXPECT_NE(scan.skipped[1].second.find("no audio stream"), std::string::npos);
}

TEST(FolderScan, SpectroDumpOnAFolderSaysWhatItSkipped) {
    TempDir tmp;
    const std::string in = tmp / "in";
    std::filesystem::create_directory(in);
    write_bytes(in + "/browser.webm", read_bytes(kDir + "clip.webm"));
    write_bytes(in + "/windows.wma", read_bytes(kDir + "clip.wma"));
    write_bytes(in + "/readme.txt", "not audio\n");
    auto r = run(std::string(SPECTRO_DUMP_BIN) + " -q -o " + (tmp / "out") + " " + in);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(std::filesystem::exists(tmp / "out/browser.png"));
    EXPECT_TRUE(std::filesystem::exists(tmp / "out/windows.png"));
    EXPECT_EQ(r.err.find("skipped"), r.err.rfind("skipped")) << "one line for the one skipped file: " << r.err;
    EXPECT_NE(r.err.find("skipped " + in + "/readme.txt: not a recognised audio format"), std::string::npos) << r.err;
}

}  // namespace
