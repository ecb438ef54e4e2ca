#include "spectro/corpora/corpus.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <regex>

#include "spectro/corpora/csv.hpp"
#include "spectro/corpora/emotions.hpp"
#include "spectro/error.hpp"

namespace corpora {
namespace fs = std::filesystem;

const std::vector<std::string>& emotion_classes() {
    static const std::vector<std::string> classes = {emotion::angry, emotion::disgust, emotion::fear,
                                                     emotion::happy, emotion::neutral, emotion::sad};
    return classes;
}

namespace {

const std::vector<std::string>& original_emotions() {
    static const std::vector<std::string> all = {emotion::angry,   emotion::disgust, emotion::fear,
                                                 emotion::happy,   emotion::neutral, emotion::sad,
                                                 emotion::calm,    emotion::surprised,
                                                 emotion::pleasant_surprise, emotion::boredom};
    return all;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

// Folder names people use for emotions ("Angry", "fearful", "ps", "surprise"...).
std::string normalise_emotion_word(const std::string& word) {
    static const std::map<std::string, std::string> aliases = {
        {"angry", emotion::angry},         {"anger", emotion::angry},        {"ang", emotion::angry},
        {"disgust", emotion::disgust},     {"disgusted", emotion::disgust},  {"dis", emotion::disgust},
        {"fear", emotion::fear},           {"fearful", emotion::fear},       {"fea", emotion::fear},
        {"happy", emotion::happy},         {"happiness", emotion::happy},    {"hap", emotion::happy},
        {"neutral", emotion::neutral},     {"neu", emotion::neutral},        {"sad", emotion::sad},
        {"sadness", emotion::sad},         {"calm", emotion::calm},          {"surprised", emotion::surprised},
        {"surprise", emotion::surprised},  {"ps", emotion::pleasant_surprise}, {"pleasant_surprise", emotion::pleasant_surprise},
        {"pleasant_surprised", emotion::pleasant_surprise}, {"boredom", emotion::boredom}, {"bored", emotion::boredom}};
    auto it = aliases.find(lower(word));
    return it == aliases.end() ? "" : it->second;
}

// Korean sample: numbers 1-100 neutral, 101-200 happy, 201-300 angry, 301-400 sad; else nullptr.
const char* korean_emotion(int number) {
    static const char* by_hundred[] = {emotion::neutral, emotion::happy, emotion::angry, emotion::sad};
    return number >= 1 && number <= 400 ? by_hundred[(number - 1) / 100] : nullptr;
}

}  // namespace

LabelMapping::LabelMapping() {
    for (const auto& e : original_emotions()) table_[e] = "";
    for (const auto& c : emotion_classes()) table_[c] = c;
}

void LabelMapping::apply_overrides(const std::string& spec) {
    std::size_t start = 0;
    while (start <= spec.size()) {
        std::size_t end = spec.find(',', start);
        if (end == std::string::npos) end = spec.size();
        std::string item = spec.substr(start, end - start);
        start = end + 1;
        if (item.empty()) continue;
        auto eq = item.find('=');
        if (eq == std::string::npos) throw emoclass::Error("label mapping", "expected ORIGINAL=CLASS, got '" + item + "'");
        std::string from = normalise_emotion_word(item.substr(0, eq));
        std::string to = lower(item.substr(eq + 1));
        if (from.empty()) throw emoclass::Error("label mapping", "unknown emotion '" + item.substr(0, eq) + "'");
        const auto& cls = emotion_classes();
        if (!to.empty() && std::find(cls.begin(), cls.end(), to) == cls.end())
            throw emoclass::Error("label mapping", "'" + to + "' is not one of the six classes");
        table_[from] = to;
    }
}

std::string LabelMapping::map(const std::string& original) const {
    auto it = table_.find(original);
    return it == table_.end() ? "" : it->second;
}

std::optional<LabeledFile> parse_labeled_path(const std::string& path, const LabelMapping& mapping) {
    const fs::path p(path);
    const std::string stem = p.stem().string();
    const std::string parent = p.parent_path().filename().string();
    std::smatch m;
    LabeledFile f;
    f.path = path;

    static const std::regex ravdess(R"(^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$)");
    static const std::regex crema(R"(^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_([A-Z]{1,2})$)");
    static const std::regex tess(R"(^(OAF|YAF)_(.+)_([A-Za-z]+)$)", std::regex::icase);
    static const std::regex emodb(R"(^(\d\d)([ab]\d\d)([WLEAFTN])([a-z])$)");
    static const std::regex savee_flat(R"(^(DC|JE|JK|KL)_(a|d|f|h|n|sa|su)(\d\d)$)");
    static const std::regex savee_nested(R"(^(a|d|f|h|n|sa|su)(\d\d)$)");
    static const std::regex nemo(R"(^([A-Z]{2}\d)_([a-z]+)_(\d+)$)");
    static const std::regex korean(R"(^([a-z]{3})(\d{5})$)");
    static const std::regex turev(R"(^(\d+)_([a-z]{2})_([^_]+)$)");
    static const std::map<std::string, std::string> ravdess_codes = {
        {"01", emotion::neutral}, {"02", emotion::calm},  {"03", emotion::happy},   {"04", emotion::sad},
        {"05", emotion::angry},   {"06", emotion::fear},  {"07", emotion::disgust}, {"08", emotion::surprised}};
    static const std::map<std::string, std::string> crema_codes = {{"ANG", emotion::angry}, {"DIS", emotion::disgust},
                                                                    {"FEA", emotion::fear},  {"HAP", emotion::happy},
                                                                    {"NEU", emotion::neutral}, {"SAD", emotion::sad}};
    static const std::map<std::string, std::string> emodb_codes = {{"W", emotion::angry},   {"L", emotion::boredom},
                                                                    {"E", emotion::disgust}, {"A", emotion::fear},
                                                                    {"F", emotion::happy},   {"T", emotion::sad},
                                                                    {"N", emotion::neutral}};
    static const std::map<std::string, std::string> savee_codes = {{"a", emotion::angry}, {"d", emotion::disgust},
                                                                    {"f", emotion::fear},  {"h", emotion::happy},
                                                                    {"n", emotion::neutral}, {"sa", emotion::sad},
                                                                    {"su", emotion::surprised}};
    // TurEV-DB's codes are Turkish words: kizgin (angry), mutlu (happy), huzunlu (sad).
    static const std::map<std::string, std::string> turev_codes = {{"kz", emotion::angry}, {"mt", emotion::happy}, {"hl", emotion::sad}};

    if (std::regex_match(stem, m, ravdess) && ravdess_codes.count(m[3].str())) {
        f.corpus = "ravdess";
        f.speaker = m[7].str();
        f.original_label = ravdess_codes.at(m[3].str());
    } else if (std::regex_match(stem, m, crema)) {
        f.corpus = "crema-d";
        f.speaker = m[1].str();
        f.original_label = crema_codes.at(m[3].str());
    } else if (std::regex_match(stem, m, emodb) && emodb_codes.count(m[3].str())) {
        f.corpus = "emodb";
        f.speaker = m[1].str();
        f.original_label = emodb_codes.at(m[3].str());
    } else if (std::regex_match(stem, m, savee_flat)) {
        f.corpus = "savee";
        f.speaker = m[1].str();
        f.original_label = savee_codes.at(m[2].str());
    } else if ((parent == "DC" || parent == "JE" || parent == "JK" || parent == "KL") &&
               std::regex_match(stem, m, savee_nested)) {
        f.corpus = "savee";
        f.speaker = parent;
        f.original_label = savee_codes.at(m[1].str());
    } else if (std::regex_match(stem, m, nemo) && !normalise_emotion_word(m[2].str()).empty()) {
        f.corpus = "nemo";
        f.speaker = m[1].str();
        f.original_label = normalise_emotion_word(m[2].str());
    } else if (std::regex_match(stem, m, korean) && parent == m[1].str() && korean_emotion(std::stoi(m[2].str()))) {
        // SPK/SPKnnnnn: the number's hundred names the emotion.
        f.corpus = "korean";
        f.speaker = m[1].str();
        f.original_label = korean_emotion(std::stoi(m[2].str()));
    } else if (std::regex_match(stem, m, turev) && turev_codes.count(m[2].str())) {
        // Emotion/SPK_code_word: the code in the name decides, as for TESS.
        f.corpus = "turev";
        f.speaker = m[1].str();
        f.original_label = turev_codes.at(m[2].str());
    } else if (std::regex_match(stem, m, tess) && !normalise_emotion_word(m[3].str()).empty()) {
        f.corpus = "tess";
        f.speaker = lower(m[1].str()) == "oaf" ? "OAF" : "YAF";
        f.original_label = normalise_emotion_word(m[3].str());
    } else {
        // ROOT/[speaker/]emotion/file: the folder names the emotion; the folder above it, if
        // any, is taken as the speaker so the split can still keep speakers apart.
        std::string emotion = normalise_emotion_word(parent);
        if (emotion.empty()) return std::nullopt;
        f.corpus = "folder";
        const fs::path grand = p.parent_path().parent_path();
        f.speaker = grand.has_filename() ? grand.filename().string() : "unknown";
        f.original_label = emotion;
    }
    f.label = mapping.map(f.original_label);
    return f;
}

bool is_manifest_path(const std::string& path) {
    std::error_code ec;
    return lower(fs::path(path).extension().string()) == ".csv" && fs::is_regular_file(path, ec);
}

namespace {
// The dataset manifest's columns, in the order spectro-dump writes them.
const char* const kDatasetColumns[] = {"source", "corpus", "speaker", "label", "split", "image"};

std::string dataset_columns() {
    std::string line;
    for (const char* column : kDatasetColumns) line += (line.empty() ? "" : ",") + std::string(column);
    return line;
}
}  // namespace

std::string dataset_manifest_header() { return dataset_columns() + "\n"; }

std::string dataset_manifest_row(const LabeledFile& file, const std::string& split, const std::string& image) {
    // In kDatasetColumns' order.
    return csv_field(file.path) + "," + csv_field(file.corpus) + "," + csv_field(file.speaker) + "," +
           csv_field(file.label) + "," + csv_field(split) + "," + csv_field(image) + "\n";
}

Manifest read_manifest(const std::string& csv_path, const LabelMapping& mapping) {
    const CsvTable table = read_csv(csv_path);
    Manifest out;
    auto col = [&](const char* name) { return table.column(name); };
    const auto source = col("source"), split = col("split"), path = col("path");
    const auto label = col("label"), speaker = col("speaker"), corpus = col("corpus");
    out.is_dataset = source && split && !path;
    if (!out.is_dataset && !(path && label && speaker))
        throw emoclass::Error(csv_path, "needs the columns path,label,speaker[,corpus] (a corpus manifest) or " +
                                            dataset_columns() + " (spectro-dump's manifest.csv)");
    if (out.is_dataset && !(corpus && speaker && label))
        throw emoclass::Error(csv_path, "a dataset manifest needs the columns source,corpus,speaker,label,split");
    const fs::path base = fs::path(csv_path).parent_path();
    std::string default_corpus = fs::absolute(csv_path).parent_path().filename().string();
    if (default_corpus.empty()) default_corpus = "manifest";

    for (const auto& row : table.rows) {
        const std::string where = csv_path + ":" + std::to_string(row.line) + ": ";
        if (row.fields.size() != table.header.size()) {
            out.errors.push_back(where + std::to_string(row.fields.size()) + " fields, the header has " +
                                 std::to_string(table.header.size()));
            continue;
        }
        auto field = [&](const std::optional<std::size_t>& c) { return c ? row.fields[*c] : std::string(); };
        ManifestEntry e;
        e.line = row.line;
        e.file.speaker = field(speaker);
        e.file.corpus = field(corpus);
        const std::string word = field(label);
        if (out.is_dataset) {
            e.file.path = field(source);
            e.split = field(split);
        } else {
            const fs::path p = field(path);
            e.file.path = p.empty() || p.is_absolute() ? p.string() : (base / p).string();
            if (e.file.corpus.empty()) e.file.corpus = default_corpus;
        }
        if (field(out.is_dataset ? source : path).empty()) {
            out.errors.push_back(where + "no path");
            continue;
        }
        if (e.file.speaker.empty()) {
            out.errors.push_back(where + "no speaker (the split keeps speakers apart, so each row needs one)");
            continue;
        }
        if (!word.empty()) {
            e.file.original_label = normalise_emotion_word(word);
            if (e.file.original_label.empty()) {
                out.errors.push_back(where + "unknown emotion '" + word + "'");
                continue;
            }
            e.file.label = mapping.map(e.file.original_label);
        }
        out.entries.push_back(std::move(e));
    }
    return out;
}

std::map<std::pair<std::string, std::string>, std::string> split_speakers(const std::vector<LabeledFile>& files,
                                                                         const SplitFractions& fractions,
                                                                         std::uint64_t seed) {
    std::map<std::string, std::vector<std::string>> speakers_by_corpus;  // sorted, unique
    for (const auto& f : files) {
        auto& v = speakers_by_corpus[f.corpus];
        if (std::find(v.begin(), v.end(), f.speaker) == v.end()) v.push_back(f.speaker);
    }
    std::map<std::pair<std::string, std::string>, std::string> split;
    for (auto& [corpus, speakers] : speakers_by_corpus) {
        std::sort(speakers.begin(), speakers.end());
        // Fisher-Yates with mt19937_64 (its output is fixed by the standard; std::shuffle's use
        // of it is not), seeded per corpus so adding a corpus does not reshuffle the others.
        std::uint64_t corpus_seed = seed;
        for (char c : corpus) corpus_seed = corpus_seed * 1099511628211ull + std::uint8_t(c);
        std::mt19937_64 rng(corpus_seed);
        for (std::size_t i = speakers.size(); i > 1; --i) std::swap(speakers[i - 1], speakers[rng() % i]);
        const std::size_t n = speakers.size();
        std::size_t n_test = 0, n_val = 0;
        if (n >= 3) {
            n_test = std::size_t(std::lround(fractions.test * double(n)));
            n_val = std::size_t(std::lround(fractions.val * double(n)));
            if (fractions.test > 0 && n_test == 0) n_test = 1;
            if (fractions.val > 0 && n_val == 0) n_val = 1;
            while (n_test + n_val >= n) (n_val > 0 ? n_val : n_test)--;  // keep a speaker to train on
        }
        for (std::size_t i = 0; i < n; ++i)
            split[{corpus, speakers[i]}] = i < n_test ? "test" : i < n_test + n_val ? "val" : "train";
    }
    return split;
}

}  // namespace corpora
