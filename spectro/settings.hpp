#pragma once
// SpectroSettings + ImageRecipe: the single definition of the spectrogram and its image, shared
// by training (spectro-dump writes spectro.json) and inference (the model bundle carries it).
// The defaults below are the only defaults in the project.
#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace spectro {

enum class MelScale { Slaney, Htk };
enum class MelNorm { Slaney, None };
enum class PadMode { Constant, Reflect };
enum class ClipPolicy { Center, Start, Loudest };
enum class Colormap { Gray, Viridis, Magma };
// SoxrHq: libsoxr as librosa.load resamples (its default res_type 'soxr_hq'); the others are
// libsamplerate's converters, kept for bundles that name them.
enum class ResampleQuality { SincBest, SincMedium, SincFastest, Linear, SoxrHq };

struct ImageRecipe {
    int frames = 128;                      // image width in STFT frames; 0 = the whole clip
    ClipPolicy clip_policy = ClipPolicy::Center;
    Colormap colormap = Colormap::Gray;
};

struct SpectroSettings {
    int sample_rate = 16000;
    ResampleQuality resample_quality = ResampleQuality::SoxrHq;
    int n_fft = 1024;
    int hop_length = 320;
    int win_length = 1024;
    int n_mels = 128;
    double fmin = 0.0;
    double fmax = 0.0;                     // <= 0 means sample_rate / 2 (librosa's None)
    MelScale mel_scale = MelScale::Slaney;
    MelNorm mel_norm = MelNorm::Slaney;
    bool center = true;
    PadMode pad_mode = PadMode::Constant;  // librosa 0.10's default
    double power = 2.0;                    // 1 (magnitude) or 2 (power)
    double top_db = 80.0;
    ImageRecipe image;

    // fmax with librosa's None resolved.
    double resolved_fmax() const { return fmax > 0 ? fmax : sample_rate / 2.0; }
    // Throws emoclass::Error(subject, reason) on the first inconsistent value.
    void validate(const std::string& subject = "settings") const;
    // What a setting left to its derived default means: win_length <= 0 becomes n_fft, fmax <= 0
    // becomes sample_rate / 2 (written resolved, as spectro.json holds it).
    void resolve_derived_defaults();
    // JSON text as in docs/formats.md (fmax always resolved).
    std::string to_json(int indent = 2) const;
    // One line naming every setting and its value (fmax resolved), in setting_fields() order
    // ("sample_rate 16000, resample_quality soxr_hq, ..., image.colormap gray").
    std::string describe() const;
    // Parses and validates; every key is optional except that present keys must be well typed
    // and unknown keys are rejected (a typo must not silently fall back to a default).
    static SpectroSettings from_json(const std::string& text, const std::string& subject);
    static SpectroSettings from_file(const std::string& path);
    // Seconds of the timeline that `frames` consecutive frames stand for: frames * hop_length /
    // sample_rate. Frame f stands for [f, f + 1) hops (with center=true it is centred on f hops),
    // so windows of N frames every N frames tile the audio without gaps. The one definition of
    // a window's or segment's time span (windows.cpp, listen, PNG input, the Python package).
    double frames_seconds(std::size_t frames) const { return double(frames) * hop_length / sample_rate; }
    // The model window: image.frames frames, 2.56 s for 128 frames at hop 320 and 16 kHz (the
    // first and last frames' centres are 2.54 s apart). 0 when frames == 0 (the whole clip).
    double window_seconds() const { return image.frames > 0 ? frames_seconds(std::size_t(image.frames)) : 0.0; }
};

// One setting as spectro.json names it. This table drives to_json, from_json, describe() and
// the tools' command-line flags (spectro/tools/settings_flags.hpp), so a new setting is one row
// here plus its member above; the defaults are the member initialisers of SpectroSettings.
using SettingValue = std::variant<int, double, bool, std::string>;

struct SettingField {
    const char* key;                   // spectro.json key (inside "image" when `image`); flag --key-with-dashes
    bool image;                        // a member of ImageRecipe, written in the "image" object
    const char* help;                  // one line of --help
    const char* derived_default;       // when the default follows another setting ("n_fft"), else nullptr
    std::vector<std::string> choices;  // the names a text setting takes; empty for numbers and flags
    SettingValue (*get)(const SpectroSettings&);
    // Throws emoclass::Error("settings", ...) for a name outside `choices`.
    void (*set)(SpectroSettings&, const SettingValue&);
    // "image.frames" or "n_fft": the name in messages and describe().
    std::string path() const { return image ? std::string("image.") + key : std::string(key); }
};

// Every setting, in --help order (spectro.json's keys are written sorted).
const std::vector<SettingField>& setting_fields();

std::string to_string(MelScale);
std::string to_string(MelNorm);
std::string to_string(PadMode);
std::string to_string(ClipPolicy);
std::string to_string(Colormap);
std::string to_string(ResampleQuality);
// Parsers throw emoclass::Error("settings", ...) on unknown names.
MelScale parse_mel_scale(const std::string&);
MelNorm parse_mel_norm(const std::string&);
PadMode parse_pad_mode(const std::string&);
ClipPolicy parse_clip_policy(const std::string&);
Colormap parse_colormap(const std::string&);
ResampleQuality parse_resample_quality(const std::string&);

}  // namespace spectro
