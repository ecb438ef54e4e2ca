#include "spectro/settings.hpp"

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

void reject_unknown(const json& obj, std::initializer_list<const char*> known, const std::string& subject,
                    const std::string& where) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
        bool ok = false;
        for (const char* k : known) ok = ok || it.key() == k;
        if (!ok) throw emoclass::Error(subject, "unknown key '" + where + it.key() + "'");
    }
}

}  // namespace

std::string to_string(MelScale v) { return enum_name(v, kMelScales); }
std::string to_string(MelNorm v) { return enum_name(v, kMelNorms); }
std::string to_string(PadMode v) { return enum_name(v, kPadModes); }
std::string to_string(ClipPolicy v) { return enum_name(v, kClipPolicies); }
std::string to_string(Colormap v) { return enum_name(v, kColormaps); }
std::string to_string(ResampleQuality v) { return enum_name(v, kQualities); }
MelScale parse_mel_scale(const std::string& s) { return parse_enum(s, kMelScales, "mel scale"); }
MelNorm parse_mel_norm(const std::string& s) { return parse_enum(s, kMelNorms, "mel norm"); }
PadMode parse_pad_mode(const std::string& s) { return parse_enum(s, kPadModes, "pad mode"); }
ClipPolicy parse_clip_policy(const std::string& s) { return parse_enum(s, kClipPolicies, "clip policy"); }
Colormap parse_colormap(const std::string& s) { return parse_enum(s, kColormaps, "colormap"); }
ResampleQuality parse_resample_quality(const std::string& s) {
    return parse_enum(s, kQualities, "resample quality");
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

std::string SpectroSettings::to_json(int indent) const {
    json j;
    j["format_version"] = 1;
    j["sample_rate"] = sample_rate;
    j["resample_quality"] = to_string(resample_quality);
    j["n_fft"] = n_fft;
    j["hop_length"] = hop_length;
    j["win_length"] = win_length;
    j["n_mels"] = n_mels;
    j["fmin"] = fmin;
    j["fmax"] = resolved_fmax();
    j["mel_scale"] = to_string(mel_scale);
    j["mel_norm"] = to_string(mel_norm);
    j["center"] = center;
    j["pad_mode"] = to_string(pad_mode);
    j["power"] = power;
    j["top_db"] = top_db;
    j["image"] = {{"frames", image.frames},
                  {"clip_policy", to_string(image.clip_policy)},
                  {"colormap", to_string(image.colormap)}};
    return j.dump(indent);
}

SpectroSettings SpectroSettings::from_json(const std::string& text, const std::string& subject) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw emoclass::Error(subject, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) throw emoclass::Error(subject, "spectrogram settings must be a JSON object");
    reject_unknown(j,
                   {"format_version", "sample_rate", "resample_quality", "n_fft", "hop_length", "win_length",
                    "n_mels", "fmin", "fmax", "mel_scale", "mel_norm", "center", "pad_mode", "power", "top_db",
                    "image"},
                   subject, "");
    int version = 1;
    read_key(j, "format_version", version, subject);
    if (version != 1) throw emoclass::Error(subject, "unsupported spectro settings format_version " + std::to_string(version));
    SpectroSettings s;
    std::string text_value;
    read_key(j, "sample_rate", s.sample_rate, subject);
    read_key(j, "n_fft", s.n_fft, subject);
    read_key(j, "hop_length", s.hop_length, subject);
    s.win_length = s.n_fft;  // librosa: win_length defaults to n_fft
    read_key(j, "win_length", s.win_length, subject);
    read_key(j, "n_mels", s.n_mels, subject);
    read_key(j, "fmin", s.fmin, subject);
    if (j.contains("fmax") && j["fmax"].is_null()) {
        s.fmax = 0;
    } else {
        read_key(j, "fmax", s.fmax, subject);
    }
    read_key(j, "center", s.center, subject);
    read_key(j, "power", s.power, subject);
    read_key(j, "top_db", s.top_db, subject);
    auto read_enum = [&](const char* key, auto parse, auto& out) {
        if (!j.contains(key)) return;
        std::string v;
        read_key(j, key, v, subject);
        try {
            out = parse(v);
        } catch (const emoclass::Error& e) {
            throw emoclass::Error(subject, e.reason());
        }
    };
    read_enum("resample_quality", parse_resample_quality, s.resample_quality);
    read_enum("mel_scale", parse_mel_scale, s.mel_scale);
    read_enum("mel_norm", parse_mel_norm, s.mel_norm);
    read_enum("pad_mode", parse_pad_mode, s.pad_mode);
    if (j.contains("image")) {
        const json& im = j["image"];
        if (!im.is_object()) throw emoclass::Error(subject, "key 'image' must be an object");
        reject_unknown(im, {"frames", "clip_policy", "colormap"}, subject, "image.");
        read_key(im, "frames", s.image.frames, subject);
        auto read_image_enum = [&](const char* key, auto parse, auto& out) {
            if (!im.contains(key)) return;
            std::string v;
            read_key(im, key, v, subject);
            try {
                out = parse(v);
            } catch (const emoclass::Error& e) {
                throw emoclass::Error(subject, e.reason());
            }
        };
        read_image_enum("clip_policy", parse_clip_policy, s.image.clip_policy);
        read_image_enum("colormap", parse_colormap, s.image.colormap);
    }
    s.validate(subject);
    return s;
}

SpectroSettings SpectroSettings::from_file(const std::string& path) {
    return from_json(read_file(path), path);
}

}  // namespace spectro
