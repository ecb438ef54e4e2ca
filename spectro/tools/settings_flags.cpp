#include "spectro/tools/settings_flags.hpp"

#include <type_traits>

namespace tools {

SettingsFlags::SettingsFlags(CLI::App& spectrogram, CLI::App& image) {
    const spectro::SpectroSettings defaults;
    for (const auto& field : spectro::setting_fields()) {
        std::string name = field.key;
        for (char& c : name)
            if (c == '_') c = '-';
        Flag& flag = flags_.emplace_back(Flag{&field, field.get(defaults)});
        CLI::App& group = field.image ? image : spectrogram;
        std::string help = field.help;
        if (field.derived_default) {
            help += std::string(" [default: ") + field.derived_default + "]";
            // 0: not given, so the default follows its setting (SpectroSettings::resolve_derived_defaults).
            std::visit([](auto& v) { v = std::decay_t<decltype(v)>{}; }, flag.value);
        }
        std::visit(
            [&](auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, bool>) {
                    help += v ? " [default: on]" : " [default: off]";
                    flag.option = group.add_flag("--" + name + ",!--no-" + name, v, help);
                } else {
                    flag.option = group.add_option("--" + name, v, help);
                    if (!field.derived_default) flag.option->capture_default_str();
                }
            },
            flag.value);
    }
}

spectro::SpectroSettings SettingsFlags::resolve(const spectro::SpectroSettings* file) const {
    spectro::SpectroSettings s = file ? *file : spectro::SpectroSettings{};
    for (const auto& flag : flags_) {
        if (flag.option->count() > 0 || (!file && flag.field->derived_default)) flag.field->set(s, flag.value);
    }
    s.resolve_derived_defaults();
    s.validate("settings");
    return s;
}

}  // namespace tools
