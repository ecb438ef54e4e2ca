// Resampled input matches librosa 0.10's load(sr=16000): committed references made by the real
// librosa and soxr from PyPI (scripts/make_resample_fixtures.py) on real speech at 48 kHz and
// 44.1 kHz stereo, compared cell by cell with `spectro-dump --raw` and with the library.
// libsamplerate stays selectable for bundles that name it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "spectro/audio_reader.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/resampler.hpp"
#include "test_support.hpp"

namespace {
using namespace test_support;

const std::string kDir = EMOCLASS_SOURCE_DIR "/tests/fixtures/resample/";

struct Case {
    std::string name, audio, file;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> load_cases() {
    std::ifstream in(kDir + "cases.json");
    auto j = nlohmann::json::parse(in);
    std::vector<Case> cases;
    for (const auto& c : j["cases"]) cases.push_back({c["name"], c["audio"], c["file"]});
    return cases;
}

// Largest |difference| over the cells where the reference is above its max - 70 dB.
double worst_difference(const std::vector<float>& ours, const spectro::NpyMatrix& ref, std::size_t* compared) {
    float ref_max = -1e30f;
    for (float v : ref.values) ref_max = std::max(ref_max, v);
    double worst = 0;
    *compared = 0;
    for (std::size_t i = 0; i < ours.size(); ++i) {
        if (ref.values[i] <= ref_max - 70.0f) continue;
        worst = std::max(worst, std::fabs(double(ours[i]) - ref.values[i]));
        ++*compared;
    }
    return worst;
}

class LibrosaLoad : public ::testing::TestWithParam<Case> {};

TEST_P(LibrosaLoad, SpectroDumpRawMatches) {
    const Case& c = GetParam();
    TempDir tmp;
    auto r = run(std::string(SPECTRO_DUMP_BIN) + " --raw " + (tmp / "db.npy") + " " + kDir + c.audio);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto ours = spectro::read_npy(tmp / "db.npy");
    const auto ref = spectro::read_npy(kDir + c.file);
    ASSERT_EQ(ours.rows, ref.rows);
    ASSERT_EQ(ours.cols, ref.cols) << "frame count differs from librosa";
    std::size_t compared = 0;
    const double worst = worst_difference(ours.values, ref, &compared);
    EXPECT_GT(compared, ref.values.size() / 4);
    EXPECT_LT(worst, 0.01) << c.name << ": max |dB - librosa| over " << compared << " cells";
    RecordProperty("max_abs_db_diff", std::to_string(worst));
}

TEST_P(LibrosaLoad, LibraryDefaultMatches) {
    const Case& c = GetParam();
    spectro::SpectroSettings s;  // the defaults: soxr_hq
    ASSERT_EQ(s.resample_quality, spectro::ResampleQuality::SoxrHq);
    const auto db = spectro::db_matrix_mel_major(spectro::mel_from_file(kDir + c.audio, s), s);
    const auto ref = spectro::read_npy(kDir + c.file);
    ASSERT_EQ(db.size(), ref.values.size());
    std::size_t compared = 0;
    EXPECT_LT(worst_difference(db, ref, &compared), 0.01) << c.name;
}

// libsamplerate's sinc_medium, which older bundles name, is a different filter: on the same
// file it is far from librosa, which is why it stays only for bundles trained with it.
TEST_P(LibrosaLoad, SincMediumIsStillAvailableAndDiffers) {
    const Case& c = GetParam();
    spectro::SpectroSettings s;
    s.resample_quality = spectro::ResampleQuality::SincMedium;
    const auto db = spectro::db_matrix_mel_major(spectro::mel_from_file(kDir + c.audio, s), s);
    const auto ref = spectro::read_npy(kDir + c.file);
    ASSERT_EQ(db.size(), ref.values.size());
    std::size_t compared = 0;
    EXPECT_GT(worst_difference(db, ref, &compared), 0.01) << c.name;
}

INSTANTIATE_TEST_SUITE_P(Resampled, LibrosaLoad, ::testing::ValuesIn(load_cases()),
                         [](const auto& info) { return info.param.name; });

std::vector<float> resample_in_blocks(const std::vector<float>& y, int rate, spectro::ResampleQuality q,
                                      std::size_t first_block) {
    spectro::Resampler r(rate, 16000, q);
    std::vector<float> out;
    std::size_t pos = 0, step = first_block;
    while (pos < y.size()) {
        const std::size_t n = std::min(step, y.size() - pos);
        r.process(y.data() + pos, n, false, out);
        pos += n;
        step = step * 3 + 7;
    }
    r.process(nullptr, 0, true, out);
    return out;
}

// Streaming must not change a sample: libsoxr's output does not depend on the block sizes.
TEST(SoxrResampler, BlockSizesDoNotChangeSamples) {
    auto reader = spectro::AudioReader::open_file(kDir + "ravdess_48k.flac");
    std::vector<float> y(std::size_t(reader.frames()));
    ASSERT_EQ(reader.read_mono(y.data(), y.size()), y.size());
    const auto whole = resample_in_blocks(y, 48000, spectro::ResampleQuality::SoxrHq, y.size());
    EXPECT_EQ(whole, resample_in_blocks(y, 48000, spectro::ResampleQuality::SoxrHq, 1));
    EXPECT_EQ(whole, resample_in_blocks(y, 48000, spectro::ResampleQuality::SoxrHq, 1000));
}

// ceil(n * 16000 / rate) samples, librosa.resample's fix_length, for every common rate.
TEST(SoxrResampler, ExactLengthAtEveryRate) {
    for (int rate : {8000, 11025, 22050, 24414, 32000, 44100, 48000, 88200, 96000, 192000}) {
        for (std::size_t n : {std::size_t(1), std::size_t(977), std::size_t(rate / 2 + 13)}) {
            std::vector<float> y = voice_like(double(n) / rate + 1e-9, rate);
            y.resize(n, 0.0f);
            const auto out = resample_in_blocks(y, rate, spectro::ResampleQuality::SoxrHq, 4096);
            const std::size_t expected = std::size_t((n * 16000 + std::size_t(rate) - 1) / std::size_t(rate));
            EXPECT_EQ(out.size(), expected) << rate << " Hz, " << n << " samples";
        }
    }
}

TEST(SoxrResampler, SameRatePassesThrough) {
    spectro::Resampler r(16000, 16000, spectro::ResampleQuality::SoxrHq);
    EXPECT_TRUE(r.passthrough());
}

TEST(SoxrResampler, NamesParseBothWays) {
    EXPECT_EQ(spectro::parse_resample_quality("soxr_hq"), spectro::ResampleQuality::SoxrHq);
    EXPECT_EQ(spectro::to_string(spectro::ResampleQuality::SoxrHq), "soxr_hq");
    EXPECT_EQ(spectro::parse_resample_quality("sinc_medium"), spectro::ResampleQuality::SincMedium);
}

}  // namespace
