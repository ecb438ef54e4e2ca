#include "spectro/settings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <nlohmann/json.hpp>

#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

namespace spectro {
namespace {

using json = nlohmann::json;

template <typename Enum, size_t N>
Enum parse_enum(const std::string& name, const std::pair<Enum, const char*> (&table)[N],
                const char* what) {
    std::string choices;
    for (const auto& [value, text] : table) {
        if (name == text) return value;
        choices += choices.empty() ? text : std::string(", ") + text;
    }
    throw emoclass::Error("settings", "unknown " + std::string(what) + " '" + name + "' (choose " + choices + ")");
}

template <typename Enum, size_t N>
std::string enum_name(Enum value, const std::pair<Enum, const char*> (&table)[N]) {
    for (const auto& [v, text] : table)
        if (v == value) return text;
    return "?";
}

const std::pair<MelScale, const char*> kMelScales[] = {{MelScale::Slaney, "slaney"}, {MelScale::Htk, "htk"}};
const std::pair<MelNorm, const char*> kMelNorms[] = {{MelNorm::Slaney, "slaney"}, {MelNorm::None, "none"}};
const std::pair<PadMode, const char*> kPadModes[] = {{PadMode::Constant, "constant"}, {PadMode::Reflect, "reflect"}};
const std::pair<ClipPolicy, const char*> kClipPolicies[] = {
    {ClipPolicy::Center, "center"}, {ClipPolicy::Start, "start"}, {ClipPolicy::Loudest, "loudest"}};
const std::pair<Colormap, const char*> kColormaps[] = {
    {Colormap::Gray, "gray"}, {Colormap::Viridis, "viridis"}, {Colormap::Magma, "magma"}};
const std::pair<ResampleQuality, const char*> kQualities[] = {{ResampleQuality::SoxrHq, "soxr_hq"},
                                                              {ResampleQuality::SincBest, "sinc_best"},
                                                              {ResampleQuality::SincMedium, "sinc_medium"},
                                                              {ResampleQuality::SincFastest, "sinc_fastest"},
                                                              {ResampleQuality::Linear, "linear"}};

// Reads key `key` of `obj` into `out` if present; wrong types are errors naming the key.
template <typename T>
void read_key(const json& obj, const char* key, T& out, const std::string& subject) {
    auto it = obj.find(key);
    if (it == obj.end()) return;
    try {
        if constexpr (std::is_same_v<T, bool>) {
            if (!it->is_boolean()) throw json::type_error::create(302, "expected a boolean", nullptr);
        } else if constexpr (std::is_integral_v<T>) {
            if (!it->is_number_integer()) throw json::type_error::create(302, "expected an integer", nullptr);
            // get<int> would wrap 4294967297 to 1: refuse what does not fit instead.
            const std::int64_t v = it->is_number_unsigned() ? 0 : it->get<std::int64_t>();
            const bool fits =
                it->is_number_unsigned() ? it->get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<T>::max())
                : v < 0                  ? std::is_signed_v<T> && v >= std::int64_t(std::numeric_limits<T>::min())
                                         : std::uint64_t(v) <= std::uint64_t(std::numeric_limits<T>::max());
            if (!fits) throw json::type_error::create(302, "integer out of range", nullptr);
        } else if constexpr (std::is_floating_point_v<T>) {
            if (!it->is_number()) throw json::type_error::create(302, "expected a number", nullptr);
        } else {
            if (!it->is_string()) throw json::type_error::create(302, "expected a string", nullptr);
        }
        out = it->get<T>();
    } catch (const json::exception&) {
        throw emoclass::Error(subject, std::string("key '") + key + "' has the wrong type");
    }
}

void reject_unknown(const json& obj, const std::vector<std::string>& known, const std::string& subject,
                    const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        if (std::find(known.begin(), known.end(), it.key()) == known.end())
            throw emoclass::Error(subject, "unknown key '" + where + it.key() + "'");
}

// The member a field names, in SpectroSettings or in its ImageRecipe.
template <typename Class, typename T>
T& member(SpectroSettings& s, T Class::*m) {
    if constexpr (std::is_same_v<Class, ImageRecipe>) return s.image.*m;
    else return s.*m;
}
template <typename Class, typename T>
const T& member(const SpectroSettings& s, T Class::*m) {
    if constexpr (std::is_same_v<Class, ImageRecipe>) return s.image.*m;
    else return s.*m;
}

// Accessors of a number or flag member.
template <auto Member>
SettingValue get_value(const SpectroSettings& s) { return member(s, Member); }
template <auto Member>
void set_value(SpectroSettings& s, const SettingValue& v) {
    auto& m = member(s, Member);
    m = std::get<std::decay_t<decltype(m)>>(v);
}

// Accessors of an enum member, by its name in `Table`.
template <auto Member, auto& Table>
SettingValue get_name(const SpectroSettings& s) { return enum_name(member(s, Member), Table); }
template <auto Member, auto& Table, const char* What>
void set_name(SpectroSettings& s, const SettingValue& v) {
    member(s, Member) = parse_enum(std::get<std::string>(v), Table, What);
}

template <typename Enum, size_t N>
std::vector<std::string> names(const std::pair<Enum, const char*> (&table)[N]) {
    std::vector<std::string> out;
    for (const auto& entry : table) out.push_back(entry.second);
    return out;
}

// What each enum is called in an error message.
constexpr char kResampleQuality[] = "resample quality", kMelScale[] = "mel scale", kMelNorm[] = "mel norm",
               kPadMode[] = "pad mode", kClipPolicy[] = "clip policy", kColormap[] = "colormap";

// Reads the field's key of `obj` (typed as its value) into `s`; names are parsed, and a name
// outside the choices is an error of `subject`.
void read_field(const json& obj, const SettingField& f, SpectroSettings& s, const std::string& subject) {
    if (!obj.contains(f.key)) return;
    SettingValue v = f.get(s);
    std::visit([&](auto& typed) { read_key(obj, f.key, typed, subject); }, v);
    try {
        f.set(s, v);
    } catch (const emoclass::Error& e) {
        throw emoclass::Error(subject, e.reason());
    }
}

}  // namespace

std::string to_string(MelScale v) { return enum_name(v, kMelScales); }
std::string to_string(MelNorm v) { return enum_name(v, kMelNorms); }
std::string to_string(PadMode v) { return enum_name(v, kPadModes); }
std::string to_string(ClipPolicy v) { return enum_name(v, kClipPolicies); }
std::string to_string(Colormap v) { return enum_name(v, kColormaps); }
std::string to_string(ResampleQuality v) { return enum_name(v, kQualities); }
MelScale parse_mel_scale(const std::string& s) { return parse_enum(s, kMelScales, kMelScale); }
MelNorm parse_mel_norm(const std::string& s) { return parse_enum(s, kMelNorms, kMelNorm); }
PadMode parse_pad_mode(const std::string& s) { return parse_enum(s, kPadModes, kPadMode); }
ClipPolicy parse_clip_policy(const std::string& s) { return parse_enum(s, kClipPolicies, kClipPolicy); }
Colormap parse_colormap(const std::string& s) { return parse_enum(s, kColormaps, kColormap); }
ResampleQuality parse_resample_quality(const std::string& s) {
    return parse_enum(s, kQualities, kResampleQuality);
}

const std::vector<SettingField>& setting_fields() {
    using S = SpectroSettings;
    using I = ImageRecipe;
    static const std::vector<SettingField> fields = {
        {"sample_rate", false, "target rate, Hz", nullptr, {}, get_value<&S::sample_rate>, set_value<&S::sample_rate>},
        {"resample_quality", false,
         "soxr_hq (librosa.load's) | sinc_best|sinc_medium|sinc_fastest|linear (libsamplerate)", nullptr,
         names(kQualities), get_name<&S::resample_quality, kQualities>,
         set_name<&S::resample_quality, kQualities, kResampleQuality>},
        {"n_fft", false, "FFT size (any length)", nullptr, {}, get_value<&S::n_fft>, set_value<&S::n_fft>},
        {"hop_length", false, "hop, samples", nullptr, {}, get_value<&S::hop_length>, set_value<&S::hop_length>},
        {"win_length", false, "window length <= n_fft", "n_fft", {}, get_value<&S::win_length>,
         set_value<&S::win_length>},
        {"n_mels", false, "mel bands", nullptr, {}, get_value<&S::n_mels>, set_value<&S::n_mels>},
        {"fmin", false, "lowest mel edge, Hz", nullptr, {}, get_value<&S::fmin>, set_value<&S::fmin>},
        {"fmax", false, "highest mel edge, Hz", "sample_rate / 2", {}, get_value<&S::fmax>, set_value<&S::fmax>},
        {"mel_scale", false, "slaney|htk", nullptr, names(kMelScales), get_name<&S::mel_scale, kMelScales>,
         set_name<&S::mel_scale, kMelScales, kMelScale>},
        {"mel_norm", false, "slaney|none", nullptr, names(kMelNorms), get_name<&S::mel_norm, kMelNorms>,
         set_name<&S::mel_norm, kMelNorms, kMelNorm>},
        {"center", false, "pad n_fft/2 at both ends", nullptr, {}, get_value<&S::center>, set_value<&S::center>},
        {"pad_mode", false, "constant|reflect", nullptr, names(kPadModes), get_name<&S::pad_mode, kPadModes>,
         set_name<&S::pad_mode, kPadModes, kPadMode>},
        {"power", false, "1 magnitude (amplitude_to_db) or 2 power (power_to_db)", nullptr, {}, get_value<&S::power>,
         set_value<&S::power>},
        {"top_db", false, "dynamic range kept below the max, dB", nullptr, {}, get_value<&S::top_db>,
         set_value<&S::top_db>},
        {"frames", true, "image width in frames; 0 = whole clip", nullptr, {}, get_value<&I::frames>,
         set_value<&I::frames>},
        {"clip_policy", true, "center|start|loudest: fitting a clip to --frames", nullptr, names(kClipPolicies),
         get_name<&I::clip_policy, kClipPolicies>, set_name<&I::clip_policy, kClipPolicies, kClipPolicy>},
        {"colormap", true, "gray (1 channel) | viridis | magma (RGB)", nullptr, names(kColormaps),
         get_name<&I::colormap, kColormaps>, set_name<&I::colormap, kColormaps, kColormap>},
    };
    return fields;
}

void SpectroSettings::validate(const std::string& subject) const {
    auto fail = [&](const std::string& reason) { throw emoclass::Error(subject, reason); };
    if (sample_rate < 1000 || sample_rate > 384000) fail("sample_rate must be within 1000..384000");
    if (n_fft < 16 || n_fft > 65536) fail("n_fft must be within 16..65536");
    if (win_length < 1 || win_length > n_fft) fail("win_length must be within 1..n_fft");
    if (hop_length < 1) fail("hop_length must be positive");
    if (n_mels < 1 || n_mels > 1024) fail("n_mels must be within 1..1024");
    if (!(fmin >= 0)) fail("fmin must be >= 0");
    if (!(resolved_fmax() > fmin)) fail("fmax must be greater than fmin");
    if (resolved_fmax() > sample_rate / 2.0 + 1e-9) fail("fmax must not exceed sample_rate / 2");
    if (power != 1.0 && power != 2.0) fail("power must be 1 or 2");
    if (!(top_db > 0) || !std::isfinite(top_db)) fail("top_db must be a positive number");
    if (image.frames < 0 || image.frames > 100000) fail("image frames must be within 0..100000");
}

void SpectroSettings::resolve_derived_defaults() {
    if (win_length <= 0) win_length = n_fft;
    fmax = resolved_fmax();
}

std::string SpectroSettings::to_json(int indent) const {
    SpectroSettings resolved = *this;
    resolved.fmax = resolved_fmax();
    json j;
    j["format_version"] = 1;
    j["image"] = json::object();
    for (const auto& f : setting_fields())
        std::visit([&](const auto& v) { (f.image ? j["image"] : j)[f.key] = v; }, f.get(resolved));
    return j.dump(indent);
}

std::string SpectroSettings::describe() const {
    SpectroSettings resolved = *this;
    resolved.fmax = resolved_fmax();
    std::string out;
    for (const auto& f : setting_fields()) {
        std::string value = std::visit(
            [](const auto& v) -> std::string {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) return v;
                else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
                else return json(v).dump();
            },
            f.get(resolved));
        out += (out.empty() ? "" : ", ") + f.path() + " " + value;
    }
    return out;
}

SpectroSettings SpectroSettings::from_json(const std::string& text, const std::string& subject) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw emoclass::Error(subject, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) throw emoclass::Error(subject, "spectrogram settings must be a JSON object");
    std::vector<std::string> top_keys{"format_version", "image"}, image_keys;
    for (const auto& f : setting_fields()) (f.image ? image_keys : top_keys).push_back(f.key);
    reject_unknown(j, top_keys, subject, "");
    int version = 1;
    read_key(j, "format_version", version, subject);
    if (version != 1) throw emoclass::Error(subject, "unsupported spectro settings format_version " + std::to_string(version));
    const json* image = nullptr;
    if (j.contains("image")) {
        image = &j["image"];
        if (!image->is_object()) throw emoclass::Error(subject, "key 'image' must be an object");
        reject_unknown(*image, image_keys, subject, "image.");
    }
    SpectroSettings s;
    for (const auto& f : setting_fields()) {
        if (f.image) {
            if (image) read_field(*image, f, s, subject);
        } else if (std::string(f.key) == "fmax" && j.contains("fmax") && j["fmax"].is_null()) {
            s.fmax = 0;  // librosa's None
        } else {
            read_field(j, f, s, subject);
        }
    }
    if (!j.contains("win_length")) s.win_length = s.n_fft;  // librosa: win_length defaults to n_fft
    s.validate(subject);
    return s;
}

SpectroSettings SpectroSettings::from_file(const std::string& path) {
    return from_json(read_file(path), path);
}

}  // namespace spectro
