#include "eval_command.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "classify/metrics.hpp"
#include "classify/result_format.hpp"
#include "common.hpp"
#include "spectro/tools/progress.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/corpora/corpus.hpp"
#include "spectro/error.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/parallel.hpp"

namespace tools {
namespace {

// Which of the model's recorded speaker groups a file's speaker is in: "train", "val", or "new"
// (a test speaker, or one the record does not hold).
std::string speaker_group(const classify::TrainingData& td, const std::string& corpus, const std::string& speaker) {
    const std::string split = td.split_of(corpus, speaker);
    return split == "train" || split == "val" ? split : "new";
}

}  // namespace

int run_eval(const classify::ModelBundle& bundle, const EvalOptions& o) {
    // Inputs: audio files and folders (labels from names), *.csv manifests given as inputs or with
    // --manifest (labels, speakers and corpora from their columns).
    std::vector<std::string> names, manifests;
    for (const auto& in : o.inputs) (corpora::is_manifest_path(in) ? manifests : names).push_back(in);
    if (!o.manifest.empty()) manifests.push_back(o.manifest);
    const corpora::LabelMapping mapping;
    std::vector<corpora::LabeledFile> files;
    std::size_t unlabelled = 0, outside = 0, bad_rows = 0;
    for (const auto& f : expand_inputs(names, &bad_rows)) {  // what cannot be looked at counts as failed
        auto parsed = corpora::parse_labeled_path(f, mapping);
        if (parsed) files.push_back(*parsed);
        else ++unlabelled;
    }
    for (const auto& path : manifests) {
        auto manifest = corpora::read_manifest(path, mapping);
        if (!o.split.empty() && !manifest.is_dataset)
            throw emoclass::Error(path, "--split needs spectro-dump's manifest.csv (this one has no split column)");
        for (const auto& e : manifest.errors) std::fprintf(stderr, "error: %s\n", e.c_str());
        bad_rows += manifest.errors.size();
        for (const auto& e : manifest.entries) {
            if (!o.split.empty() && e.split != o.split) continue;
            if (e.file.original_label.empty()) ++unlabelled;
            else files.push_back(e.file);
        }
    }

    // Files whose label the model lacks are counted and skipped.
    struct Item {
        corpora::LabeledFile file;
        std::string group;  // speaker_group()
        int truth = -1;
        int predicted = -1;
        std::string error;
        classify::Result result;
    };
    std::vector<Item> items;
    for (const auto& f : files) {
        const std::string& label = f.label.empty() ? f.original_label : f.label;
        auto it = std::find(bundle.labels.begin(), bundle.labels.end(), label);
        if (it == bundle.labels.end()) {
            ++outside;
            continue;
        }
        items.push_back(Item{f, speaker_group(bundle.training_data, f.corpus, f.speaker),
                             int(it - bundle.labels.begin()), -1, "", {}});
    }
    if (items.empty()) {
        std::fprintf(stderr, "emoclass eval: no labelled files with the model's labels (%zu unlabelled, %zu outside)\n",
                     unlabelled, outside);
        return 1;
    }

    classify::AnalyzeOptions ao;
    ao.hop_s = o.hop_s;
    auto pool = make_analyzers(bundle, std::min<int>(std::max(1, o.jobs), int(items.size())), ao, o.threads);
    Progress progress(items.size(), "eval", o.progress);
    spectro::parallel_for_workers(items.size(), int(pool.size()), [&](std::size_t i, int worker) {
        Item& it = items[i];
        try {
            it.result = pool[std::size_t(worker)]->analyze_file(it.file.path);
            auto pos = std::find(bundle.labels.begin(), bundle.labels.end(), it.result.emotion);
            it.predicted = pos == bundle.labels.end() ? -1 : int(pos - bundle.labels.begin());
        } catch (const std::exception& e) {
            it.error = e.what();
        }
        progress.tick(!it.error.empty());
    });
    progress.finish();

    using Pairs = std::pair<std::vector<int>, std::vector<int>>;  // truth, predicted
    std::vector<int> truth, predicted;
    std::map<std::string, Pairs> by_corpus, by_group;
    std::string predictions;
    std::size_t failed = bad_rows;
    for (const auto& it : items) {
        if (!it.error.empty()) {
            std::fprintf(stderr, "error: %s\n", it.error.c_str());
            ++failed;
            continue;
        }
        truth.push_back(it.truth);
        predicted.push_back(it.predicted);
        for (auto* pairs : {&by_corpus[it.file.corpus], &by_group[it.group]}) {
            pairs->first.push_back(it.truth);
            pairs->second.push_back(it.predicted);
        }
        if (!o.predictions_jsonl.empty()) {
            auto line = nlohmann::ordered_json::parse(classify::to_json(it.result, false));
            line["label"] = bundle.labels[std::size_t(it.truth)];
            line["corpus"] = it.file.corpus;
            line["speaker"] = it.file.speaker;
            line["speakers"] = it.group;
            predictions += line.dump() + "\n";
        }
    }
    if (truth.empty()) return 1;
    auto report = classify::evaluate(bundle.labels, truth, predicted);

    // Speakers the model heard in training (or validation) score higher than new voices will:
    // say so, and give the new speakers' figure apart.
    const bool record = !bundle.training_data.empty();
    const std::size_t n_train = by_group["train"].first.size(), n_val = by_group["val"].first.size();
    const std::size_t n_new = by_group["new"].first.size();
    std::string warning;
    if (record && n_train + n_val > 0) {
        char buf[400];
        std::snprintf(buf, sizeof buf,
                      "%zu of %zu files are from speakers %s was trained on (%zu) or validated on (%zu): their "
                      "figures overstate what new voices get; new speakers (%zu files) are reported apart",
                      n_train + n_val, truth.size(), bundle.name.c_str(), n_train, n_val, n_new);
        warning = buf;
        std::fprintf(stderr, "emoclass eval: warning: %s\n", warning.c_str());
    }
    for (auto g = by_group.begin(); g != by_group.end();)  // only groups with files are reported
        g = g->second.first.empty() ? by_group.erase(g) : std::next(g);

    if (o.json) {
        auto j = nlohmann::ordered_json::parse(classify::report_json(report));
        j["model"] = bundle.name;
        j["skipped_unlabelled"] = unlabelled;
        j["skipped_outside_labels"] = outside;
        j["failed"] = failed;
        if (by_corpus.size() > 1) {
            nlohmann::ordered_json corpora = nlohmann::ordered_json::object();
            for (const auto& [name, tp] : by_corpus) {
                auto r = classify::evaluate(bundle.labels, tp.first, tp.second);
                corpora[name] = {{"files", r.total}, {"accuracy", r.accuracy}, {"macro_f1", r.macro_f1}};
            }
            j["corpora"] = corpora;
        }
        if (record) {
            nlohmann::ordered_json groups = nlohmann::ordered_json::object();
            for (const char* g : {"new", "val", "train"}) {
                if (!by_group.count(g)) continue;
                auto r = classify::evaluate(bundle.labels, by_group[g].first, by_group[g].second);
                groups[g] = {{"files", r.total}, {"accuracy", r.accuracy}, {"macro_f1", r.macro_f1}};
            }
            j["speakers"] = groups;
        } else {
            j["speakers"] = nullptr;  // the bundle records no training_data
        }
        if (!warning.empty()) j["warning"] = warning;
        std::printf("%s\n", j.dump(2).c_str());
    } else {
        std::printf("model %s\n%s", bundle.name.c_str(), classify::report_text(report).c_str());
        if (by_corpus.size() > 1) {
            std::printf("\nper corpus\n");
            for (const auto& [name, tp] : by_corpus) {
                auto r = classify::evaluate(bundle.labels, tp.first, tp.second);
                std::printf("%-10s files %5ld  accuracy %6.2f%%  macro-F1 %6.2f%%\n", name.c_str(), r.total,
                            100 * r.accuracy, 100 * r.macro_f1);
            }
        }
        if (record) {
            std::printf("\nper speaker group (the model's training_data)\n");
            const std::map<std::string, const char*> what = {
                {"new", "new speakers (never trained on)"}, {"val", "validation speakers"}, {"train", "training speakers"}};
            for (const char* g : {"new", "val", "train"}) {
                if (!by_group.count(g)) continue;
                auto r = classify::evaluate(bundle.labels, by_group[g].first, by_group[g].second);
                std::printf("%-32s files %5ld  accuracy %6.2f%%  macro-F1 %6.2f%%\n", what.at(g), r.total,
                            100 * r.accuracy, 100 * r.macro_f1);
            }
        } else {
            std::printf("\nspeakers: %s records no training_data, so new and seen speakers are not told apart\n",
                        bundle.name.c_str());
        }
        std::printf("\nskipped: %zu unlabelled, %zu with labels outside the model's; %zu failed\n", unlabelled,
                    outside, failed);
    }
    if (!o.predictions_jsonl.empty())
        spectro::write_file_atomically(o.predictions_jsonl, predictions.data(), predictions.size());
    if (!o.confusion_png.empty()) {
        std::vector<std::vector<long>> counts;
        for (const auto& row : report.confusion) counts.emplace_back(row.begin(), row.begin() + long(bundle.labels.size()));
        std::vector<std::string> data = o.inputs;
        if (!o.manifest.empty()) data.push_back(o.manifest);
        figures::write_confusion_figure(o.confusion_png, bundle.labels, counts,
                                        classify::confusion_title(bundle.name, data, o.split, report));
    }
    return failed ? 1 : 0;
}

}  // namespace tools
