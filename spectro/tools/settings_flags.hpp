#pragma once
// The command-line flags of the spectrogram settings, one per spectro::setting_fields() row: the
// row gives the flag (--hop-length for hop_length), its help line and the default shown, so a
// setting is named, documented and defaulted once, in spectro/settings.cpp.
#include <CLI/CLI.hpp>
#include <deque>

#include "spectro/settings.hpp"

namespace tools {

class SettingsFlags {
public:
    // Adds the spectrogram settings to `spectrogram` and the image settings to `image` (option
    // groups or the app itself).
    SettingsFlags(CLI::App& spectrogram, CLI::App& image);
    SettingsFlags(const SettingsFlags&) = delete;
    SettingsFlags& operator=(const SettingsFlags&) = delete;

    // The settings after parsing: each flag given wins; otherwise `file`'s value (a --settings
    // spectro.json) when there is one, else the default (a derived default follows its setting:
    // win_length = n_fft, fmax = sample_rate / 2). Validated, fmax resolved. Throws
    // emoclass::Error("settings", reason) for an unknown name or an inconsistent value.
    spectro::SpectroSettings resolve(const spectro::SpectroSettings* file) const;

private:
    struct Flag {
        const spectro::SettingField* field;
        spectro::SettingValue value;  // what CLI11 parses into
        CLI::Option* option = nullptr;
    };
    std::deque<Flag> flags_;  // a deque: CLI11 keeps pointers into the values
};

}  // namespace tools
