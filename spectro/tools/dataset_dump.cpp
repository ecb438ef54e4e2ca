#include "dataset_dump.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "spectro/tools/batch_io.hpp"
#include "spectro/tools/progress.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/audio_folder.hpp"
#include "spectro/corpora/csv.hpp"
#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/parallel.hpp"
#include "spectro/png_io.hpp"

namespace tools {
namespace fs = std::filesystem;

namespace {

struct Item {
    corpora::LabeledFile file;
    std::string split;
    std::string image;  // relative to out_dir
    enum class State { Pending, Written, Existing, Failed } state = State::Pending;
    std::string error;
};

std::string manifest_row(const Item& it) { return corpora::dataset_manifest_row(it.file, it.split, it.image); }

// --list-split: the manifest the dump would write, on stdout, and speakers and files per split and
// corpus on stderr; no audio is read and nothing is written.
int list_split(const std::vector<Item>& items, std::size_t bad_rows) {
    std::string manifest = corpora::dataset_manifest_header();
    std::map<std::string, std::map<std::string, std::pair<std::set<std::string>, std::size_t>>> counts;
    for (const auto& it : items) {
        manifest += manifest_row(it);
        auto& c = counts[it.split][it.file.corpus];
        c.first.insert(it.file.speaker);
        ++c.second;
    }
    std::fwrite(manifest.data(), 1, manifest.size(), stdout);
    for (const char* split : {"train", "val", "test"}) {
        std::size_t files = 0;
        std::string detail;
        for (const auto& [corpus, c] : counts[split]) {
            files += c.second;
            detail += "  " + corpus + " " + std::to_string(c.first.size()) + " speakers " + std::to_string(c.second);
            if (std::string(split) != "train") {
                detail += " (";
                for (const auto& spk : c.first) detail += (detail.back() == '(' ? "" : " ") + spk;
                detail += ")";
            }
            detail += ";";
        }
        std::fprintf(stderr, "%-5s %zu files:%s\n", split, files, detail.c_str());
    }
    return bad_rows ? 1 : 0;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int run_dataset_dump(const DatasetOptions& o) {
    // 1. Find and label every file: by name under a folder, or as a manifest's rows say. Unlabelled
    // files and mapped-out emotions are counted, not failures; a bad manifest row is a failure.
    std::vector<Item> items;
    std::size_t unlabelled = 0, bad_rows = 0;
    std::map<std::string, std::size_t> mapped_out;
    auto add = [&](const corpora::LabeledFile& f) {
        if (f.original_label.empty()) ++unlabelled;
        else if (f.label.empty()) ++mapped_out[f.original_label];
        else items.push_back(Item{f, "", "", Item::State::Pending, ""});
    };
    for (const auto& root : o.roots) {
        if (corpora::is_manifest_path(root)) {
            auto manifest = corpora::read_manifest(root, o.mapping);
            for (const auto& e : manifest.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
            bad_rows += manifest.errors.size();
            for (const auto& e : manifest.entries) add(e.file);
            continue;
        }
        std::vector<std::pair<std::string, std::string>> unreadable;  // failures, like bad manifest rows
        const auto audio_files = spectro::list_audio_files(root, &unreadable);
        for (const auto& [path, reason] : unreadable) std::fprintf(stderr, "error: %s: %s\n", path.c_str(), reason.c_str());
        bad_rows += unreadable.size();
        for (const auto& path : audio_files) {
            auto parsed = corpora::parse_labeled_path(path, o.mapping);
            if (parsed) add(*parsed);
            else ++unlabelled;
        }
    }
    if (items.empty()) throw emoclass::Error(o.roots.front(), "no labelled audio files found");

    // 2. Speaker-independent split, then unique image names.
    std::vector<corpora::LabeledFile> files;
    for (const auto& it : items) files.push_back(it.file);
    auto split = corpora::split_speakers(files, o.fractions, o.seed);
    std::set<std::string> names;
    for (auto& it : items) {
        it.split = split.at({it.file.corpus, it.file.speaker});
        std::string base = it.file.corpus + "_" + (it.file.corpus == "folder" ? it.file.speaker + "_" : "") +
                           fs::path(it.file.path).stem().string();
        std::string name = base;
        for (int n = 2; names.count(it.split + "/" + it.file.label + "/" + name); ++n)
            name = base + "_" + std::to_string(n);
        names.insert(it.split + "/" + it.file.label + "/" + name);
        it.image = it.split + "/" + it.file.label + "/" + name + ".png";
    }
    // A corpus with fewer than 3 speakers keeps them all in train (split_speakers): nothing of it
    // is held out, which a reader of the summary would not guess. One line per such corpus.
    if (o.fractions.val > 0 || o.fractions.test > 0) {
        std::map<std::string, std::pair<std::set<std::string>, std::size_t>> train_only;  // speakers, files
        std::set<std::string> held_out;
        for (const auto& it : items) {
            if (it.split != "train") held_out.insert(it.file.corpus);
            auto& c = train_only[it.file.corpus];
            c.first.insert(it.file.speaker);
            ++c.second;
        }
        for (const auto& [corpus, c] : train_only)
            if (!held_out.count(corpus))
                std::fprintf(stderr,
                             "spectro-dump: warning: corpus %s has %zu speaker%s, so all its %zu files are in train "
                             "(val and test take whole speakers, from 3 on)\n",
                             corpus.c_str(), c.first.size(), c.first.size() == 1 ? "" : "s", c.second);
    }
    if (o.list_split) return list_split(items, bad_rows);

    // 3. Settings: a folder made with other settings is not silently mixed.
    const fs::path out(o.out_dir);
    const std::string settings_json = o.settings.to_json();
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw emoclass::Error(o.out_dir, "cannot create output directory: " + ec.message());
    const fs::path settings_path = out / "spectro.json";
    if (fs::exists(settings_path) && !o.overwrite && read_text(settings_path) != settings_json + "\n")
        throw emoclass::Error(settings_path.string(),
                             "was written with other settings; use --overwrite or another output directory");
    for (const char* s : {"train", "val", "test"})
        for (const auto& label : corpora::emotion_classes()) {
            fs::create_directories(out / s / label, ec);
            if (ec) throw emoclass::Error((out / s / label).string(), "cannot create directory: " + ec.message());
            spectro::remove_stale_temporaries((out / s / label).string());  // a killed run's debris
        }
    spectro::remove_stale_temporaries(out.string());  // manifest.csv, spectro.json

    // 4. Render, in parallel; each task owns its slot.
    Progress progress(items.size(), "spectro-dump", o.progress);
    spectro::parallel_for(items.size(), o.jobs, [&](std::size_t i) {
        Item& it = items[i];
        const fs::path target = out / it.image;
        try {
            if (!o.overwrite && output_in_place(target.string())) {
                it.state = Item::State::Existing;
            } else {
                spectro::write_png(target.string(), spectro::image_from_file(it.file.path, o.settings));
                it.state = Item::State::Written;
            }
        } catch (const std::exception& e) {
            it.state = Item::State::Failed;
            it.error = e.what();
        }
        progress.tick(it.state == Item::State::Failed);
    });
    progress.finish();

    // 5. Manifest of every image that exists, spectro.json, summary.
    std::string manifest = corpora::dataset_manifest_header();
    std::size_t written = 0, existing = 0, failed = 0;
    std::map<std::string, std::size_t> per_split;
    for (const auto& it : items) {
        if (it.state == Item::State::Failed) {
            std::fprintf(stderr, "error: %s\n", it.error.c_str());
            ++failed;
            continue;
        }
        (it.state == Item::State::Written ? written : existing)++;
        ++per_split[it.split];
        manifest += manifest_row(it);
    }
    failed += bad_rows;  // reported before rendering
    spectro::write_file_atomically((out / "manifest.csv").string(), manifest.data(), manifest.size());
    const std::string settings_text = settings_json + "\n";
    spectro::write_file_atomically(settings_path.string(), settings_text.data(), settings_text.size());

    const double secs = progress.elapsed_s();
    std::string skipped;
    for (const auto& [label, n] : mapped_out) skipped += " " + label + "=" + std::to_string(n);
    std::fprintf(stderr,
                 "spectro-dump: %zu images (%zu written, %zu already there), %zu failed; train %zu, val %zu, "
                 "test %zu; %zu unlabelled files and%s%s skipped; %.1fs, %.1f files/s\n",
                 written + existing, written, existing, failed, per_split["train"], per_split["val"],
                 per_split["test"], unlabelled, skipped.empty() ? " no" : "", skipped.c_str(), secs,
                 secs > 0 ? written / secs : 0.0);
    return failed ? 1 : 0;
}

}  // namespace tools
