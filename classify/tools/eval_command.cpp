#include "eval_command.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/metrics.hpp"
#include "classify/result_format.hpp"
#include "common.hpp"
#include "progress.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/corpus.hpp"
#include "spectro/error.hpp"
#include "spectro/figure.hpp"
#include "spectro/parallel.hpp"

namespace tools {
namespace {

// Minimal CSV reader for spectro-dump's manifest (quoted fields allowed).
std::vector<std::vector<std::string>> read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw spectro::Error(path, "cannot open manifest");
    std::vector<std::vector<std::string>> rows;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::vector<std::string> row;
        std::string field;
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i) {
            char c = line[i];
            if (quoted) {
                if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') field += '"', ++i;
                else if (c == '"') quoted = false;
                else field += c;
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.push_back(field);
                field.clear();
            } else {
                field += c;
            }
        }
        row.push_back(field);
        rows.push_back(row);
    }
    return rows;
}

std::vector<std::string> manifest_sources(const std::string& path, const std::string& split) {
    auto rows = read_csv(path);
    if (rows.empty()) throw spectro::Error(path, "empty manifest");
    auto col = [&](const char* name) {
        auto it = std::find(rows[0].begin(), rows[0].end(), name);
        if (it == rows[0].end()) throw spectro::Error(path, std::string("manifest lacks the '") + name + "' column");
        return std::size_t(it - rows[0].begin());
    };
    const std::size_t source = col("source"), split_col = col("split");
    std::vector<std::string> out;
    for (std::size_t i = 1; i < rows.size(); ++i)
        if (rows[i].size() > std::max(source, split_col) && (split.empty() || rows[i][split_col] == split))
            out.push_back(rows[i][source]);
    return out;
}

}  // namespace

int run_eval(const classify::ModelBundle& bundle, const EvalOptions& o) {
    std::vector<std::string> files = expand_inputs(o.inputs);
    if (!o.manifest.empty()) {
        auto more = manifest_sources(o.manifest, o.split);
        files.insert(files.end(), more.begin(), more.end());
    }
    // Labels from names; files whose label the model lacks are counted and skipped.
    const spectro::LabelMapping mapping;
    struct Item {
        std::string path, corpus;
        int truth = -1;
        int predicted = -1;
        std::string error;
        classify::Result result;
    };
    std::vector<Item> items;
    std::size_t unlabelled = 0, outside = 0;
    for (const auto& f : files) {
        auto parsed = spectro::parse_labeled_path(f, mapping);
        if (!parsed) {
            ++unlabelled;
            continue;
        }
        const std::string& label = parsed->label.empty() ? parsed->original_label : parsed->label;
        auto it = std::find(bundle.labels.begin(), bundle.labels.end(), label);
        if (it == bundle.labels.end()) {
            ++outside;
            continue;
        }
        items.push_back(Item{f, parsed->corpus, int(it - bundle.labels.begin()), -1, "", {}});
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
            it.result = pool[std::size_t(worker)]->analyze_file(it.path);
            auto pos = std::find(bundle.labels.begin(), bundle.labels.end(), it.result.emotion);
            it.predicted = pos == bundle.labels.end() ? -1 : int(pos - bundle.labels.begin());
        } catch (const std::exception& e) {
            it.error = e.what();
        }
        progress.tick(!it.error.empty());
    });
    progress.finish();

    std::vector<int> truth, predicted;
    std::map<std::string, std::pair<std::vector<int>, std::vector<int>>> by_corpus;
    std::string predictions;
    std::size_t failed = 0;
    for (const auto& it : items) {
        if (!it.error.empty()) {
            std::fprintf(stderr, "error: %s\n", it.error.c_str());
            ++failed;
            continue;
        }
        truth.push_back(it.truth);
        predicted.push_back(it.predicted);
        by_corpus[it.corpus].first.push_back(it.truth);
        by_corpus[it.corpus].second.push_back(it.predicted);
        if (!o.predictions_jsonl.empty()) predictions += classify::to_json(it.result, false) + "\n";
    }
    if (truth.empty()) return 1;
    auto report = classify::evaluate(bundle.labels, truth, predicted);
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
        std::printf("\nskipped: %zu unlabelled, %zu with labels outside the model's; %zu failed\n", unlabelled,
                    outside, failed);
    }
    if (!o.predictions_jsonl.empty())
        spectro::write_file_atomically(o.predictions_jsonl, predictions.data(), predictions.size());
    if (!o.confusion_png.empty()) {
        std::vector<std::vector<long>> counts;
        for (const auto& row : report.confusion) counts.emplace_back(row.begin(), row.begin() + long(bundle.labels.size()));
        char title[160];
        std::snprintf(title, sizeof title, "%s: accuracy %.1f%%, macro-F1 %.1f%% (%ld files)", bundle.name.c_str(),
                      100 * report.accuracy, 100 * report.macro_f1, report.total);
        spectro::write_confusion_figure(o.confusion_png, bundle.labels, counts, title);
    }
    return failed ? 1 : 0;
}

}  // namespace tools
