#pragma once
// Labels and speakers from file names of the emotional-speech corpora (RAVDESS, CREMA-D, TESS,
// SAVEE, EMO-DB, nEMO, the Korean sample, TurEV-DB; codes in ../shared/data/README.md), from the
// parent folder's name, or from a CSV manifest; and the speaker-independent train/val/test split.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace corpora {

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
    std::string corpus;          // ravdess | crema-d | tess | savee | emodb | nemo | korean | turev | folder,
                                 // or a manifest's corpus column
    std::string speaker;         // corpus's own speaker code
    std::string original_label;  // normalised original emotion
    std::string label;           // mapped class, "" when skipped
};

// Parses a path; nullopt when neither the name nor the parent folder tells an emotion.
std::optional<LabeledFile> parse_labeled_path(const std::string& path, const LabelMapping& mapping);

// A labelled-file list in CSV (spectro/corpora/csv.hpp), in one of two kinds told apart by the header:
//  - corpus manifest: columns path,label,speaker and optionally corpus; others are ignored (so
//    ../shared/data/MANIFEST.csv is one). `path` is relative to the CSV's folder (or absolute);
//    `label` is an emotion word mapped through the LabelMapping (empty: no label); `corpus`
//    defaults to the name of the CSV's folder.
//  - dataset manifest, as spectro-dump --dataset writes it: source,corpus,speaker,label,split,
//    image; `source` is kept as written (relative to where spectro-dump ran).
struct ManifestEntry {
    LabeledFile file;   // label "" when the row has none or the mapping skips it
    std::string split;  // dataset manifest only
    std::size_t line = 0;
};

struct Manifest {
    bool is_dataset = false;             // spectro-dump's manifest.csv
    std::vector<ManifestEntry> entries;  // rows read, in file order
    std::vector<std::string> errors;     // one "FILE:LINE: reason" per bad row (the rest is read)
};

// Throws emoclass::Error for an unreadable file, malformed CSV or a header of neither kind;
// a bad row is reported in `errors`, not thrown.
Manifest read_manifest(const std::string& csv_path, const LabelMapping& mapping);

// spectro-dump's dataset manifest.csv, as read_manifest reads it back: its header line
// (source,corpus,speaker,label,split,image) and one row (`image` relative to the dataset folder),
// each field quoted as RFC 4180 needs. scripts/emoclass_train/formats.py names the same columns.
std::string dataset_manifest_header();
std::string dataset_manifest_row(const LabeledFile& file, const std::string& split, const std::string& image);

// A regular file named *.csv: `--dataset` and `eval` read such an input as a manifest.
bool is_manifest_path(const std::string& path);

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

}  // namespace corpora
