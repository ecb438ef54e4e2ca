#pragma once
// Labels and speakers from file names of the emotional-speech corpora (RAVDESS, CREMA-D, TESS,
// SAVEE, EMO-DB; codes in ../shared/data/README.md), or from the parent folder's name, and the
// speaker-independent train/val/test split.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spectro {

// The six classes, in the order every model of this project uses.
const std::vector<std::string>& emotion_classes();

// Original corpus emotions (normalised names: neutral, calm, happy, sad, angry, fear, disgust,
// surprised, pleasant_surprise, boredom) -> one of the six classes, or "" to skip.
class LabelMapping {
public:
    LabelMapping();  // default: the six map to themselves; calm, surprised, pleasant_surprise, boredom skipped
    // "calm=neutral,boredom=neutral,surprised=" (empty target = skip). Throws on unknown names.
    void apply_overrides(const std::string& spec);
    std::string map(const std::string& original) const;  // "" = skip

private:
    std::map<std::string, std::string> table_;
};

struct LabeledFile {
    std::string path;
    std::string corpus;          // ravdess | crema-d | tess | savee | emodb | folder
    std::string speaker;         // corpus's own speaker code
    std::string original_label;  // normalised original emotion
    std::string label;           // mapped class, "" when skipped
};

// Parses a path; nullopt when neither the name nor the parent folder tells an emotion.
std::optional<LabeledFile> parse_labeled_path(const std::string& path, const LabelMapping& mapping);

// Audio files under `root` (recursively, sorted), by extension: wav, flac, ogg, opus, mp3, aif(f), au.
std::vector<std::string> list_audio_files(const std::string& root);
bool has_audio_extension(const std::string& path);

struct SplitFractions {
    double val = 0.10;
    double test = 0.15;
};

// Assigns "train" / "val" / "test" per (corpus, speaker): within each corpus the speakers are
// shuffled with `seed` and the first round(test * n) go to test, the next round(val * n) to val.
// Corpora with fewer than 3 speakers stay whole in train. Deterministic on every platform.
std::map<std::pair<std::string, std::string>, std::string> split_speakers(const std::vector<LabeledFile>& files,
                                                                         const SplitFractions& fractions,
                                                                         std::uint64_t seed);

}  // namespace spectro
