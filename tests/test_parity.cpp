// Numerical parity with librosa 0.10: committed reference matrices (scripts/make_parity_fixtures.py,
// a numpy re-derivation of librosa's melspectrogram/power_to_db/amplitude_to_db) for every class
// of option: scales, norms, centre/padding, powers, odd and non-power-of-two n_fft, win < n_fft.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "spectro/audio_reader.hpp"
#include "spectro/mel_filterbank.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/stft.hpp"

namespace {

const std::string kDir = EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/";

struct Case {
    std::string name, audio, kind, file;
    spectro::SpectroSettings settings;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::vector<Case> load_cases() {
    std::ifstream in(kDir + "cases.json");
    auto j = nlohmann::json::parse(in);
    std::vector<Case> cases;
    for (const auto& c : j) {
        Case k;
        k.name = c["name"];
        k.audio = c["audio"];
        k.kind = c["kind"];
        k.file = c["file"];
        // The rest of the case is spectrogram settings, read as any spectro.json is.
        nlohmann::json settings = c;
        for (const char* key : {"name", "audio", "kind", "file"}) settings.erase(key);
        k.settings = spectro::SpectroSettings::from_json(settings.dump(), kDir + "cases.json (" + k.name + ")");
        cases.push_back(k);
    }
    return cases;
}

std::vector<float> read_mono(const std::string& path) {
    auto reader = spectro::AudioReader::open_file(path);
    std::vector<float> y(std::size_t(reader.frames()));
    EXPECT_EQ(reader.read_mono(y.data(), y.size()), y.size());
    return y;
}

class Parity : public ::testing::TestWithParam<Case> {};

TEST_P(Parity, MatchesLibrosa) {
    const Case& c = GetParam();
    const auto ref = spectro::read_npy(kDir + c.file);
    const auto y = read_mono(kDir + c.audio);
    if (c.kind == "db") {
        auto mel = spectro::mel_from_samples(y.data(), y.size(), c.settings.sample_rate, c.settings);
        ASSERT_EQ(std::size_t(mel.n_mels), ref.rows);
        ASSERT_EQ(mel.frames(), ref.cols) << "frame count differs from librosa";
        auto db = spectro::db_matrix_mel_major(mel, c.settings);
        float ref_max = -1e30f;
        for (float v : ref.values) ref_max = std::max(ref_max, v);
        double worst = 0;
        std::size_t compared = 0;
        for (std::size_t i = 0; i < db.size(); ++i) {
            if (ref.values[i] <= ref_max - 70.0f) continue;  // the target: every cell above -70 dB
            worst = std::max(worst, std::fabs(double(db[i]) - ref.values[i]));
            ++compared;
        }
        EXPECT_GT(compared, db.size() / 4);
        EXPECT_LT(worst, 0.01) << c.name << ": max |dB - librosa| over " << compared << " cells";
        RecordProperty("max_abs_db_diff", std::to_string(worst));
    } else if (c.kind == "melfb") {
        spectro::MelFilterbank fb(c.settings);
        auto dense = fb.dense();
        ASSERT_EQ(dense.size(), ref.values.size());
        float peak = 0;
        for (float v : ref.values) peak = std::max(peak, std::fabs(v));
        for (std::size_t i = 0; i < dense.size(); ++i)
            ASSERT_NEAR(dense[i], ref.values[i], 1e-6 * peak) << c.name << " weight " << i;
    } else if (c.kind == "stft") {
        spectro::Stft stft(c.settings);
        std::vector<float> out;
        auto sink = [&](const float* s) { out.insert(out.end(), s, s + stft.n_bins()); };
        stft.push(y.data(), y.size(), sink);
        stft.finish(sink);
        // Reference is [bins][frames]; ours is frame-major.
        const std::size_t bins = std::size_t(stft.n_bins()), frames = out.size() / bins;
        ASSERT_EQ(ref.rows, bins);
        ASSERT_EQ(ref.cols, frames);
        float peak = 0;
        for (float v : ref.values) peak = std::max(peak, v);
        for (std::size_t f = 0; f < frames; ++f)
            for (std::size_t k = 0; k < bins; ++k)
                ASSERT_NEAR(out[f * bins + k], ref.values[k * frames + f], 1e-5 * peak) << "frame " << f << " bin " << k;
    } else {
        FAIL() << "unknown fixture kind " << c.kind;
    }
}

INSTANTIATE_TEST_SUITE_P(Librosa, Parity, ::testing::ValuesIn(load_cases()),
                         [](const auto& info) { return info.param.name; });

// Streaming must not change a single value: feeding odd-sized blocks equals one big push.
TEST(Streaming, BlockSizeDoesNotChangeFrames) {
    const auto y = read_mono(kDir + "speech_16k.wav");
    for (bool reflect : {false, true}) {
        spectro::SpectroSettings s;
        s.pad_mode = reflect ? spectro::PadMode::Reflect : spectro::PadMode::Constant;
        auto whole = spectro::mel_from_samples(y.data(), y.size(), 16000, s);
        spectro::MelMatrix pieces;
        pieces.n_mels = s.n_mels;
        spectro::MelStream stream(s, 16000);
        auto sink = [&](const float* m) { pieces.values.insert(pieces.values.end(), m, m + s.n_mels); };
        std::size_t pos = 0, step = 1;
        while (pos < y.size()) {
            std::size_t n = std::min(step, y.size() - pos);
            stream.push(y.data() + pos, n, sink);
            pos += n;
            step = step * 3 + 7;
        }
        stream.finish(sink);
        ASSERT_EQ(whole.values, pieces.values);
    }
}

// Clips shorter than the centre padding: librosa pads (numpy reflect repeats), still 1 + n/hop frames.
TEST(Streaming, ShortClipsFollowLibrosaFrameCount) {
    spectro::SpectroSettings s;
    for (std::size_t n : {1u, 10u, 511u, 512u, 513u, 2000u}) {
        std::vector<float> y(n, 0.25f);
        for (auto mode : {spectro::PadMode::Constant, spectro::PadMode::Reflect}) {
            s.pad_mode = mode;
            auto mel = spectro::mel_from_samples(y.data(), y.size(), 16000, s);
            EXPECT_EQ(mel.frames(), 1 + n / std::size_t(s.hop_length)) << n;
        }
    }
    s.center = false;
    std::vector<float> y(1000, 0.1f);
    EXPECT_EQ(spectro::mel_from_samples(y.data(), y.size(), 16000, s).frames(), 0u);
}

}  // namespace
