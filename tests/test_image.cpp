// SpectrogramImage: geometry policy, dB -> pixel mapping, orientation, colormaps, PNG bytes.
#include <gtest/gtest.h>

#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/png_io.hpp"
#include "test_support.hpp"

namespace {

spectro::MelMatrix ramp(std::size_t frames, int n_mels = 4) {
    spectro::MelMatrix m;
    m.n_mels = n_mels;
    for (std::size_t f = 0; f < frames; ++f)
        for (int b = 0; b < n_mels; ++b) m.values.push_back(float(1e-3 * (f + 1) * (b + 1)));
    return m;
}

spectro::SpectroSettings tiny(int frames, spectro::ClipPolicy policy) {
    spectro::SpectroSettings s;
    s.n_mels = 4;
    s.image.frames = frames;
    s.image.clip_policy = policy;
    return s;
}

}  // namespace

TEST(Image, MapsDbLinearlyFromMaxMinusTopDbTo255) {
    spectro::MelMatrix m;
    m.n_mels = 3;
    // Powers 1, 1e-4 (-40 dB), 1e-9 (-90 dB, clipped to -80): pixels 255, 127.5 -> 128, 0.
    m.values = {1e-9f, 1e-4f, 1.0f};
    auto s = tiny(1, spectro::ClipPolicy::Center);
    s.n_mels = 3;
    auto img = spectro::render_image(m, s);
    ASSERT_EQ(img.width, 1);
    ASSERT_EQ(img.height, 3);
    EXPECT_EQ(img.pixels[0], 255);  // top row = highest band
    EXPECT_EQ(img.pixels[1], 128);
    EXPECT_EQ(img.pixels[2], 0);
}

TEST(Image, ShortClipsArePaddedWithSilenceByPolicy) {
    auto m = ramp(4);
    auto centre = spectro::choose_window(m, tiny(10, spectro::ClipPolicy::Center).image);
    EXPECT_EQ(centre.offset, 3u);
    EXPECT_EQ(centre.count, 4u);
    auto start = spectro::choose_window(m, tiny(10, spectro::ClipPolicy::Start).image);
    EXPECT_EQ(start.offset, 0u);
    auto img = spectro::render_image(m, tiny(10, spectro::ClipPolicy::Center));
    for (int row = 0; row < 4; ++row) {
        EXPECT_EQ(img.pixels[std::size_t(row) * 10 + 0], 0);
        EXPECT_EQ(img.pixels[std::size_t(row) * 10 + 9], 0);
    }
    EXPECT_EQ(img.pixels[6], 255);  // the loudest cell: last frame, top band
}

TEST(Image, LongClipsAreCroppedByPolicy) {
    auto m = ramp(100);
    EXPECT_EQ(spectro::choose_window(m, tiny(10, spectro::ClipPolicy::Center).image).first, 45u);
    EXPECT_EQ(spectro::choose_window(m, tiny(10, spectro::ClipPolicy::Start).image).first, 0u);
    EXPECT_EQ(spectro::choose_window(m, tiny(10, spectro::ClipPolicy::Loudest).image).first, 90u);
    EXPECT_EQ(spectro::choose_window(m, tiny(0, spectro::ClipPolicy::Center).image).width, 100u);
}

TEST(Image, DigitalSilenceIsBlackNotWhite) {
    spectro::MelMatrix m;
    m.n_mels = 4;
    m.values.assign(40, 0.0f);
    auto img = spectro::render_image(m, tiny(10, spectro::ClipPolicy::Center));
    for (auto p : img.pixels) ASSERT_EQ(p, 0);
}

TEST(Image, ColormapsGiveRgbAndGrayStaysOneChannel) {
    auto m = ramp(8);
    auto s = tiny(8, spectro::ClipPolicy::Center);
    s.image.colormap = spectro::Colormap::Viridis;
    auto img = spectro::render_image(m, s);
    EXPECT_EQ(img.channels, 3);
    std::uint8_t lo[3], hi[3];
    spectro::colormap_rgb(spectro::Colormap::Viridis, 0, lo);
    spectro::colormap_rgb(spectro::Colormap::Viridis, 255, hi);
    EXPECT_EQ(lo[0], 68);  // viridis starts dark purple (68, 1, 84) ...
    EXPECT_EQ(hi[1], 231); // ... and ends yellow (253, 231, 37)
}

TEST(Png, RoundTripsAndIsByteIdenticalAcrossRuns) {
    test_support::TempDir tmp;
    auto m = ramp(50, 16);
    auto s = tiny(64, spectro::ClipPolicy::Center);
    s.n_mels = 16;
    for (auto cmap : {spectro::Colormap::Gray, spectro::Colormap::Magma}) {
        s.image.colormap = cmap;
        auto img = spectro::render_image(m, s);
        spectro::write_png(tmp / "a.png", img);
        spectro::write_png(tmp / "b.png", spectro::render_image(m, s));
        EXPECT_EQ(test_support::read_bytes(tmp / "a.png"), test_support::read_bytes(tmp / "b.png"));
        auto back = spectro::read_png(tmp / "a.png");
        EXPECT_EQ(back.pixels, img.pixels);
        EXPECT_EQ(back.channels, img.channels);
    }
}

TEST(Png, UnwritableTargetThrowsAndLeavesNothing) {
    test_support::TempDir tmp;
    auto img = spectro::render_image(ramp(4), tiny(4, spectro::ClipPolicy::Center));
    EXPECT_THROW(spectro::write_png(tmp / "missing-dir/x.png", img), emoclass::Error);
    EXPECT_FALSE(std::filesystem::exists(tmp / "missing-dir"));
    EXPECT_THROW(spectro::read_png(tmp / "nope.png"), emoclass::Error);
    test_support::write_bytes(tmp / "fake.png", "\x89PNG\r\n\x1a\n garbage");
    EXPECT_THROW(spectro::read_png(tmp / "fake.png"), emoclass::Error);
}

TEST(Npy, WritesNumpysFormat) {
    test_support::TempDir tmp;
    const float v[6] = {1, 2, 3, 4, 5, 6};
    spectro::write_npy(tmp / "m.npy", v, 2, 3);
    const std::string bytes = test_support::read_bytes(tmp / "m.npy");
    EXPECT_EQ(bytes.substr(1, 5), "NUMPY");
    EXPECT_EQ((bytes.size() - 6 * 4) % 64, 0u);  // header aligned to 64 bytes
    EXPECT_NE(bytes.find("'shape': (2, 3)"), std::string::npos);
    auto back = spectro::read_npy(tmp / "m.npy");
    EXPECT_EQ(back.rows, 2u);
    EXPECT_EQ(back.cols, 3u);
    EXPECT_EQ(back.values, std::vector<float>(v, v + 6));
}
