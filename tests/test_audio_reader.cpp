// Decoding: every format and sample type libsndfile offers here, any rate and channel count, and
// the catalogue of bad inputs, each a one-line emoclass::Error naming the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/resampler.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {

std::vector<float> decode_all(const std::string& path, int* rate = nullptr) {
    auto r = spectro::AudioReader::open_file(path);
    if (rate) *rate = r.sample_rate();
    std::vector<float> out, block(777);
    for (std::size_t n; (n = r.read_mono(block.data(), block.size())) > 0;) out.insert(out.end(), block.begin(), block.begin() + long(n));
    return out;
}

std::string error_of(const std::string& path) {
    try {
        auto r = spectro::AudioReader::open_file(path);
        std::vector<float> block(4096);
        while (r.read_mono(block.data(), block.size()) > 0) {
        }
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(e.subject(), path);
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "multi-line error";
        return e.reason();
    }
    return "";
}

}  // namespace

struct FormatCase {
    const char* name;
    int format;
    double tolerance;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.name; }

class Formats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(Formats, DecodesCloseToTheSignal) {
    TempDir tmp;
    const auto y = voice_like(0.5, 16000);
    const std::string path = tmp / (std::string("x.") + GetParam().name);
    write_audio(path, GetParam().format, 16000, 1, y);
    auto back = decode_all(path);
    if (GetParam().tolerance > 0.05) {
        // Lossy codecs: duration and energy survive, samples do not.
        EXPECT_NEAR(double(back.size()), double(y.size()), 0.1 * y.size());
        return;
    }
    ASSERT_EQ(back.size(), y.size());
    double worst = 0;
    for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, double(std::fabs(back[i] - y[i])));
    EXPECT_LT(worst, GetParam().tolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Sndfile, Formats,
    ::testing::Values(FormatCase{"pcm_u8.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 1.0 / 64},
                      FormatCase{"pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1e-4},
                      FormatCase{"pcm24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 1e-6},
                      FormatCase{"pcm32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-7},
                      FormatCase{"float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1e-9},
                      FormatCase{"double.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, 1e-9},
                      FormatCase{"flac16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1e-4},
                      FormatCase{"flac24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 1e-6},
                      FormatCase{"aiff.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 1e-4},
                      FormatCase{"vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 1.0},
                      FormatCase{"opus.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 1.0}),
    [](const auto& info) {
        std::string n = info.param.name;
        for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        return n;
    });

TEST(AudioReader, Mp3WhereTheDebianBuildHasIt) {
    TempDir tmp;
    const std::string path = tmp / "x.mp3";
    SF_INFO info{};
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    if (!sf_format_check(&info)) GTEST_SKIP() << "this libsndfile has no MP3 encoder; MP3 decode is not testable here";
    write_audio(path, info.format, 16000, 1, voice_like(1.0, 16000));
    auto back = decode_all(path);
    EXPECT_NEAR(double(back.size()), 16000.0, 2000.0);
}

TEST(AudioReader, DownmixesByTheMeanOfChannels) {
    TempDir tmp;
    SF_INFO info{};
    info.samplerate = 8000;
    info.channels = 3;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    const std::string path = tmp / "3ch.wav";
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    float frames[] = {0.3f, -0.3f, 0.6f, 0.1f, 0.2f, 0.3f};
    sf_writef_float(f, frames, 2);
    sf_close(f);
    auto y = decode_all(path);
    ASSERT_EQ(y.size(), 2u);
    EXPECT_FLOAT_EQ(y[0], 0.2f);
    EXPECT_FLOAT_EQ(y[1], 0.2f);
}

TEST(AudioReader, ReadsFromMemoryLikeFromAFile) {
    TempDir tmp;
    const std::string path = tmp / "m.flac";
    write_audio(path, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 2, voice_like(0.3, 22050));
    const std::string bytes = read_bytes(path);
    auto r = spectro::AudioReader::open_memory(bytes.data(), bytes.size(), "<body>");
    std::vector<float> y(r.frames());
    ASSERT_EQ(r.read_mono(y.data(), y.size()), y.size());
    EXPECT_EQ(y, decode_all(path));
    EXPECT_EQ(r.sample_rate(), 22050);
}

TEST(AudioReader, Hi96kSixChannelsIsResampledTo16k) {
    TempDir tmp;
    const std::string path = tmp / "96k6ch.wav";
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_24, 96000, 6, voice_like(1.0, 96000));
    spectro::SpectroSettings s;
    spectro::AudioInfo info;
    auto mel = spectro::mel_from_file(path, s, &info);
    EXPECT_EQ(info.source_rate, 96000);
    EXPECT_EQ(info.channels, 6);
    EXPECT_NEAR(double(info.samples), 16000.0, 2.0);
    EXPECT_EQ(mel.frames(), 1 + info.samples / 320);
}

TEST(AudioReader, EveryRateFrom8kTo192kResamplesToTheTargetLength) {
    for (int rate : {8000, 11025, 22050, 24414, 44100, 48000, 88200, 192000}) {
        auto y = voice_like(0.5, rate);
        spectro::Resampler r(rate, 16000, spectro::ResampleQuality::SincMedium);
        std::vector<float> out;
        r.process(y.data(), y.size() / 2, false, out);
        r.process(y.data() + y.size() / 2, y.size() - y.size() / 2, true, out);
        EXPECT_NEAR(double(out.size()), 8000.0, 2.0) << rate;
    }
}

TEST(BadInput, EmptyFile) {
    TempDir tmp;
    write_bytes(tmp / "empty.wav", "");
    EXPECT_NE(error_of(tmp / "empty.wav").find("empty"), std::string::npos);
}

TEST(BadInput, HeaderOnly) {
    TempDir tmp;
    write_audio(tmp / "h.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, {});
    EXPECT_NE(error_of(tmp / "h.wav").find("no audio"), std::string::npos);
}

TEST(BadInput, TruncatedWavIsAnErrorNotAShortClip) {
    TempDir tmp;
    write_audio(tmp / "full.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_bytes(tmp / "t.wav", read_bytes(tmp / "full.wav").substr(0, 20000));
    EXPECT_NE(error_of(tmp / "t.wav").find("truncated"), std::string::npos);
}

TEST(BadInput, TruncatedFlac) {
    TempDir tmp;
    write_audio(tmp / "full.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.0, 16000));
    const std::string b = read_bytes(tmp / "full.flac");
    write_bytes(tmp / "t.flac", b.substr(0, b.size() / 2));
    EXPECT_NE(error_of(tmp / "t.flac").find("truncated"), std::string::npos);
}

TEST(BadInput, TextNamedWav) {
    TempDir tmp;
    write_bytes(tmp / "notes.wav", "this is not audio, just a text file\n");
    EXPECT_NE(error_of(tmp / "notes.wav").find("recognised"), std::string::npos);
}

TEST(BadInput, RandomBytes) {
    TempDir tmp;
    std::string junk(10000, '\0');
    std::mt19937 rng(7);
    for (char& c : junk) c = char(rng());
    write_bytes(tmp / "junk.flac", junk);
    EXPECT_FALSE(error_of(tmp / "junk.flac").empty());
}

TEST(BadInput, Directory) {
    TempDir tmp;
    EXPECT_NE(error_of(tmp.path()).find("directory"), std::string::npos);
}

TEST(BadInput, MissingAndUnreadable) {
    TempDir tmp;
    EXPECT_NE(error_of(tmp / "nope.wav").find("No such file"), std::string::npos);
    write_audio(tmp / "locked.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(0.2, 16000));
    chmod((tmp / "locked.wav").c_str(), 0);
    if (geteuid() != 0) {  // root reads through permissions; the FIFO below covers it there
        EXPECT_NE(error_of(tmp / "locked.wav").find("Permission denied"), std::string::npos);
    }
    // A FIFO would block a naive open() forever: it must be refused at once.
    ASSERT_EQ(mkfifo((tmp / "fifo.wav").c_str(), 0600), 0);
    EXPECT_NE(error_of(tmp / "fifo.wav").find("not a regular file"), std::string::npos);
}

TEST(BadInput, NanAndInfInFloatWav) {
    TempDir tmp;
    auto y = voice_like(0.2, 16000);
    y[1000] = std::nanf("");
    write_audio(tmp / "nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, y);
    EXPECT_NE(error_of(tmp / "nan.wav").find("NaN"), std::string::npos);
    y[1000] = INFINITY;
    write_audio(tmp / "inf.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, y);
    EXPECT_NE(error_of(tmp / "inf.wav").find("NaN or infinite"), std::string::npos);
}

TEST(BadInput, ShorterThanOneFrameStillGivesLibrosasFrames) {
    TempDir tmp;
    write_audio(tmp / "tiny.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(0.005, 16000));
    spectro::SpectroSettings s;
    EXPECT_EQ(spectro::mel_from_file(tmp / "tiny.wav", s).frames(), 1u);  // 80 samples, centred
    s.center = false;
    EXPECT_EQ(spectro::mel_from_file(tmp / "tiny.wav", s).frames(), 0u);  // the tools report this
}

TEST(LongAudio, AnHourStreamsWithBoundedBuffers) {
    // One hour at 16 kHz through the streaming path, counting frames without keeping them.
    TempDir tmp;
    const std::string path = tmp / "hour.flac";
    {
        SF_INFO info{};
        info.samplerate = 16000;
        info.channels = 1;
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
        SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
        auto minute = voice_like(60.0, 16000);
        for (int m = 0; m < 60; ++m) sf_writef_float(f, minute.data(), sf_count_t(minute.size()));
        sf_close(f);
    }
    auto reader = spectro::AudioReader::open_file(path);
    spectro::SpectroSettings s;
    std::size_t frames = 0;
    auto info = spectro::stream_audio(reader, s, [&](const float*) { ++frames; });
    EXPECT_EQ(info.samples, 3600u * 16000u);
    EXPECT_EQ(frames, 1 + info.samples / 320);
}

// A failed open must not close a descriptor twice: Debian 12's libsndfile closes the descriptor
// of a failed sf_open_fd itself (libsndfile issue #949), and a second close from us hit whatever
// file another thread had just opened under that number (seen as "Bad file descriptor" in the
// middle of a good FLAC under spectro-dump -j). One thread opens files that are no audio while
// another decodes a good file again and again; every decode must be whole.
TEST(AudioReader, FailedOpensNeverCloseAnotherThreadsFile) {
    TempDir tmp;
    const std::string good = tmp / "good.flac";
    write_audio(good, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    const std::string bad = tmp / "text.wav";
    write_bytes(bad, std::string(4096, 'x'));
    std::atomic<bool> stop{false};
    std::atomic<int> bad_opens{0};
    std::thread opener([&] {
        while (!stop) {
            EXPECT_NE(error_of(bad), "");
            ++bad_opens;
        }
    });
    int whole = 0, decodes = 0;
    std::string failure;
    // At least 400 decodes, and on until the other thread has failed 300 opens beside them.
    for (; (decodes < 400 || bad_opens < 300) && decodes < 100000 && failure.empty(); ++decodes) {
        try {
            if (decode_all(good).size() == 16000u) ++whole;
            else failure = "a decode came out short";
        } catch (const emoclass::Error& e) {
            failure = e.what();
        }
    }
    stop = true;
    opener.join();
    EXPECT_EQ(failure, "");
    EXPECT_EQ(whole, decodes);
    EXPECT_GE(bad_opens.load(), 300);
}
