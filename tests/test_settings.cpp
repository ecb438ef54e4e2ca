#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "spectro/error.hpp"
#include "spectro/settings.hpp"

using spectro::SpectroSettings;

TEST(Settings, JsonRoundTripKeepsEveryField) {
    SpectroSettings s;
    s.sample_rate = 22050;
    s.n_fft = 2048;
    s.hop_length = 512;
    s.win_length = 1500;
    s.n_mels = 64;
    s.fmin = 30;
    s.fmax = 9000;
    s.mel_scale = spectro::MelScale::Htk;
    s.mel_norm = spectro::MelNorm::None;
    s.center = false;
    s.pad_mode = spectro::PadMode::Reflect;
    s.power = 1;
    s.top_db = 60;
    s.resample_quality = spectro::ResampleQuality::SincBest;
    s.image.frames = 200;
    s.image.clip_policy = spectro::ClipPolicy::Loudest;
    s.image.colormap = spectro::Colormap::Magma;
    auto back = SpectroSettings::from_json(s.to_json(), "x");
    EXPECT_EQ(back.to_json(), s.to_json());
    EXPECT_EQ(back.win_length, 1500);
    EXPECT_EQ(back.image.colormap, spectro::Colormap::Magma);
}

TEST(Settings, FmaxNoneResolvesToNyquistAndIsWrittenResolved) {
    SpectroSettings s;
    s.sample_rate = 22050;
    EXPECT_DOUBLE_EQ(s.resolved_fmax(), 11025.0);
    EXPECT_NE(s.to_json().find("\"fmax\": 11025.0"), std::string::npos);
    auto parsed = SpectroSettings::from_json(R"({"sample_rate": 8000, "fmax": null})", "x");
    EXPECT_DOUBLE_EQ(parsed.resolved_fmax(), 4000.0);
}

TEST(Settings, WinLengthDefaultsToNfftLikeLibrosa) {
    auto s = SpectroSettings::from_json(R"({"n_fft": 512})", "x");
    EXPECT_EQ(s.win_length, 512);
}

TEST(Settings, RejectsBadValuesWithTheSubjectNamed) {
    const char* bad[] = {
        R"({"n_fft": 1024, "win_length": 2048})", R"({"power": 3})",       R"({"fmax": 9000})",
        R"({"mel_scale": "bark"})",               R"({"hop_length": 0})",  R"({"n_fft": "1024"})",
        R"({"hop_lenght": 320})",                 R"({"format_version": 2})", R"([1, 2])",
        R"({"image": {"colormap": "jet"}})",      R"({"top_db": -5})",     "{not json",
    };
    for (const char* text : bad) {
        try {
            SpectroSettings::from_json(text, "spectro.json");
            ADD_FAILURE() << "accepted " << text;
        } catch (const emoclass::Error& e) {
            EXPECT_EQ(e.subject(), "spectro.json") << text;
            EXPECT_FALSE(e.reason().empty());
        }
    }
}

TEST(Settings, WindowSecondsFollowsFramesAndHop) {
    SpectroSettings s;  // 128 frames, hop 320 at 16 kHz, centred
    EXPECT_DOUBLE_EQ(s.window_seconds(), 2.56);  // 128 frames of 20 ms
    EXPECT_DOUBLE_EQ(s.frames_seconds(50), 1.0);
    s.image.frames = 0;  // the whole clip: no fixed window
    EXPECT_EQ(s.window_seconds(), 0.0);
}

// The field table is the one definition of the keys: spectro.json holds exactly its keys.
TEST(Settings, FieldTableNamesEveryJsonKeyOnce) {
    auto j = nlohmann::json::parse(SpectroSettings().to_json());
    std::set<std::string> written{"format_version"}, table{"format_version"};
    for (const auto& [key, value] : j.items()) {
        if (key == "image")
            for (const auto& [image_key, v] : value.items()) written.insert("image." + image_key);
        else
            written.insert(key);
    }
    for (const auto& f : spectro::setting_fields()) EXPECT_TRUE(table.insert(f.path()).second) << f.path();
    EXPECT_EQ(written, table);
}

TEST(Settings, FieldAccessorsRoundTripAndNamesAreChecked) {
    SpectroSettings changed;
    changed.mel_scale = spectro::MelScale::Htk;
    changed.image.colormap = spectro::Colormap::Magma;
    changed.n_mels = 40;
    SpectroSettings copy;
    for (const auto& f : spectro::setting_fields()) f.set(copy, f.get(changed));
    EXPECT_EQ(copy.to_json(), changed.to_json());
    for (const auto& f : spectro::setting_fields()) {
        if (f.choices.empty()) continue;
        EXPECT_EQ(std::count(f.choices.begin(), f.choices.end(), std::get<std::string>(f.get(changed))), 1) << f.path();
        EXPECT_THROW(f.set(copy, std::string("no-such-name")), emoclass::Error) << f.path();
    }
}

TEST(Settings, DescribeNamesEverySettingWithFmaxResolved) {
    SpectroSettings s;
    EXPECT_EQ(s.describe(),
              "sample_rate 16000, resample_quality soxr_hq, n_fft 1024, hop_length 320, win_length 1024, n_mels 128, "
              "fmin 0.0, fmax 8000.0, mel_scale slaney, mel_norm slaney, center true, pad_mode constant, power 2.0, "
              "top_db 80.0, image.frames 128, image.clip_policy center, image.colormap gray");
}
