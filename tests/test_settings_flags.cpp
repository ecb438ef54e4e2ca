// The spectrogram flags as spectro-dump registers them from spectro::setting_fields(): every
// setting has its flag, and a flag given wins over a --settings file, which wins over the defaults.
#include <gtest/gtest.h>

#include "spectro/error.hpp"
#include "spectro/settings.hpp"
#include "spectro/tools/settings_flags.hpp"

namespace {

using spectro::SpectroSettings;

// Parses `args` as spectro-dump's settings flags and resolves them over `file`.
SpectroSettings parse(std::vector<std::string> args, const SpectroSettings* file = nullptr) {
    CLI::App app;
    tools::SettingsFlags flags(*app.add_option_group("Spectrogram"), *app.add_option_group("Image"));
    args.insert(args.begin(), "spectro-dump");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(int(argv.size()), argv.data());
    return flags.resolve(file);
}

TEST(SettingsFlags, EverySettingHasItsFlagWithTheTablesHelp) {
    CLI::App app;
    auto* spectrogram = app.add_option_group("Spectrogram");
    auto* image = app.add_option_group("Image");
    tools::SettingsFlags flags(*spectrogram, *image);
    for (const auto& f : spectro::setting_fields()) {
        std::string name = f.key;
        for (char& c : name)
            if (c == '_') c = '-';
        const CLI::Option* opt = (f.image ? image : spectrogram)->get_option_no_throw("--" + name);
        ASSERT_NE(opt, nullptr) << f.path();
        EXPECT_EQ(opt->get_description().rfind(f.help, 0), 0u) << f.path();
    }
}

TEST(SettingsFlags, NoFlagsGiveTheDefaults) {
    SpectroSettings defaults;
    EXPECT_EQ(parse({}).to_json(), defaults.to_json());
}

TEST(SettingsFlags, DerivedDefaultsFollowTheirSetting) {
    auto s = parse({"--n-fft", "2048", "--sample-rate", "22050"});
    EXPECT_EQ(s.win_length, 2048);
    EXPECT_DOUBLE_EQ(s.fmax, 11025.0);
    EXPECT_EQ(parse({"--n-fft", "2048", "--win-length", "0"}).win_length, 2048);
}

TEST(SettingsFlags, FlagsGivenWinOverTheFileAndTheFileOverTheDefaults) {
    SpectroSettings file;
    file.n_fft = 1000;
    file.win_length = 800;
    file.n_mels = 64;
    file.fmax = 7000;
    file.center = false;
    file.mel_scale = spectro::MelScale::Htk;
    file.image.colormap = spectro::Colormap::Viridis;
    file.image.frames = 0;
    auto s = parse({"--n-mels", "40", "--center", "--frames", "100"}, &file);
    EXPECT_EQ(s.n_mels, 40);
    EXPECT_TRUE(s.center);
    EXPECT_EQ(s.image.frames, 100);
    EXPECT_EQ(s.n_fft, 1000);
    EXPECT_EQ(s.win_length, 800);  // the file's, not n_fft
    EXPECT_DOUBLE_EQ(s.fmax, 7000.0);
    EXPECT_EQ(s.mel_scale, spectro::MelScale::Htk);
    EXPECT_EQ(s.image.colormap, spectro::Colormap::Viridis);
    EXPECT_DOUBLE_EQ(parse({"--fmax", "0"}, &file).fmax, 8000.0);  // given 0: sample_rate / 2
    EXPECT_FALSE(parse({"--no-center"}).center);
}

TEST(SettingsFlags, BadNamesAndInconsistentValuesAreSettingsErrors) {
    for (std::vector<std::string> args : {std::vector<std::string>{"--mel-scale", "bark"},
                                          {"--colormap", "pink"},
                                          {"--win-length", "4096"},
                                          {"--power", "3"}}) {
        try {
            parse(args);
            ADD_FAILURE() << "accepted " << args[0] << " " << args[1];
        } catch (const emoclass::Error& e) {
            EXPECT_EQ(e.subject(), "settings") << args[0];
        }
    }
}

}  // namespace
