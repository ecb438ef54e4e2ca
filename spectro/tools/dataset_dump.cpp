#include "dataset_dump.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "progress.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/parallel.hpp"
#include "spectro/png_io.hpp"

namespace tools {
namespace fs = std::filesystem;

namespace {

struct Item {
    spectro::LabeledFile file;
    std::string split;
    std::string image;  // relative to out_dir
    enum class State { Pending, Written, Existing, Failed } state = State::Pending;
    std::string error;
};

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

int run_dataset_dump(const DatasetOptions& o) {
    // 1. Find and label every file. Unlabelled files and mapped-out emotions are counted, not failures.
    std::vector<Item> items;
    std::size_t unlabelled = 0;
    std::map<std::string, std::size_t> mapped_out;
    for (const auto& root : o.roots) {
        for (const auto& path : spectro::list_audio_files(root)) {
            auto parsed = spectro::parse_labeled_path(path, o.mapping);
            if (!parsed) {
                ++unlabelled;
                continue;
            }
            if (parsed->label.empty()) {
                ++mapped_out[parsed->original_label];
                continue;
            }
            items.push_back(Item{*parsed, "", "", Item::State::Pending, ""});
        }
    }
    if (items.empty()) throw spectro::Error(o.roots.front(), "no labelled audio files found");

    // 2. Speaker-independent split, then unique image names.
    std::vector<spectro::LabeledFile> files;
    for (const auto& it : items) files.push_back(it.file);
    auto split = spectro::split_speakers(files, o.fractions, o.seed);
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

    // 3. Settings: a folder made with other settings is not silently mixed.
    const fs::path out(o.out_dir);
    const std::string settings_json = o.settings.to_json();
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw spectro::Error(o.out_dir, "cannot create output directory: " + ec.message());
    const fs::path settings_path = out / "spectro.json";
    if (fs::exists(settings_path) && !o.overwrite && read_text(settings_path) != settings_json + "\n")
        throw spectro::Error(settings_path.string(),
                             "was written with other settings; use --overwrite or another output directory");
    for (const char* s : {"train", "val", "test"})
        for (const auto& label : spectro::emotion_classes()) {
            fs::create_directories(out / s / label, ec);
            if (ec) throw spectro::Error((out / s / label).string(), "cannot create directory: " + ec.message());
        }

    // 4. Render, in parallel; each task owns its slot.
    Progress progress(items.size(), "spectro-dump", o.progress);
    spectro::parallel_for(items.size(), o.jobs, [&](std::size_t i) {
        Item& it = items[i];
        const fs::path target = out / it.image;
        try {
            if (!o.overwrite && fs::exists(target)) {
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
    std::string manifest = "source,corpus,speaker,label,split,image\n";
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
        manifest += csv_field(it.file.path) + "," + it.file.corpus + "," + csv_field(it.file.speaker) + "," +
                    it.file.label + "," + it.split + "," + csv_field(it.image) + "\n";
    }
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
