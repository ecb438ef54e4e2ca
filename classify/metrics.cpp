#include "classify/metrics.hpp"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "spectro/error.hpp"

namespace classify {

EvalReport evaluate(const std::vector<std::string>& labels, const std::vector<int>& truth,
                    const std::vector<int>& predicted) {
    if (truth.size() != predicted.size()) throw emoclass::Error("eval", "truth and predictions differ in length");
    const std::size_t n = labels.size();
    EvalReport r;
    r.labels = labels;
    r.confusion.assign(n, std::vector<long>(n + 1, 0));
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const int t = truth[i], p = predicted[i];
        if (t < 0 || std::size_t(t) >= n || p < -1 || p >= int(n)) throw emoclass::Error("eval", "label index out of range");
        ++r.total;
        if (p < 0) {
            ++r.no_speech;
            ++r.confusion[std::size_t(t)][n];
            continue;
        }
        ++r.confusion[std::size_t(t)][std::size_t(p)];
        if (t == p) ++r.correct;
    }
    r.accuracy = r.total ? double(r.correct) / double(r.total) : 0.0;
    double f1_sum = 0;
    int f1_classes = 0;
    for (std::size_t c = 0; c < n; ++c) {
        ClassMetrics m;
        m.label = labels[c];
        for (std::size_t k = 0; k <= n; ++k) m.support += r.confusion[c][k];
        for (std::size_t t = 0; t < n; ++t) m.predicted += r.confusion[t][c];
        const long tp = r.confusion[c][c];
        m.precision = m.predicted ? double(tp) / double(m.predicted) : 0.0;
        m.recall = m.support ? double(tp) / double(m.support) : 0.0;
        m.f1 = (m.precision + m.recall) > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0.0;
        if (m.support > 0 || m.predicted > 0) {
            f1_sum += m.f1;
            ++f1_classes;
        }
        r.per_class.push_back(m);
    }
    r.macro_f1 = f1_classes ? f1_sum / f1_classes : 0.0;
    return r;
}

std::string report_text(const EvalReport& r) {
    std::string out;
    char buf[256];
    std::snprintf(buf, sizeof buf, "files %ld  accuracy %.2f%%  macro-F1 %.2f%%", r.total, 100 * r.accuracy,
                  100 * r.macro_f1);
    out += buf;
    if (r.no_speech) out += "  (" + std::to_string(r.no_speech) + " with no speech found, counted wrong)";
    out += "\n\n";
    std::snprintf(buf, sizeof buf, "%-10s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    out += buf;
    for (const auto& m : r.per_class) {
        std::snprintf(buf, sizeof buf, "%-10s %8.1f%% %8.1f%% %8.1f%% %8ld\n", m.label.c_str(), 100 * m.precision,
                      100 * m.recall, 100 * m.f1, m.support);
        out += buf;
    }
    out += "\nconfusion (rows: true, columns: predicted)\n";
    std::snprintf(buf, sizeof buf, "%-10s", "");
    out += buf;
    for (const auto& l : r.labels) {
        std::snprintf(buf, sizeof buf, " %8.8s", l.c_str());
        out += buf;
    }
    if (r.no_speech) out += "     none";
    out += "\n";
    for (std::size_t t = 0; t < r.labels.size(); ++t) {
        std::snprintf(buf, sizeof buf, "%-10.10s", r.labels[t].c_str());
        out += buf;
        for (std::size_t p = 0; p < r.labels.size() + (r.no_speech ? 1 : 0); ++p) {
            std::snprintf(buf, sizeof buf, " %8ld", r.confusion[t][p]);
            out += buf;
        }
        out += "\n";
    }
    return out;
}

std::string report_json(const EvalReport& r, int indent) {
    nlohmann::ordered_json j;
    j["files"] = r.total;
    j["correct"] = r.correct;
    j["no_speech"] = r.no_speech;
    j["accuracy"] = r.accuracy;
    j["macro_f1"] = r.macro_f1;
    j["labels"] = r.labels;
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (const auto& m : r.per_class)
        per[m.label] = {{"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support},
                        {"predicted", m.predicted}};
    j["per_class"] = per;
    nlohmann::ordered_json conf = nlohmann::ordered_json::array();
    for (const auto& row : r.confusion)
        conf.push_back(std::vector<long>(row.begin(), row.begin() + long(r.labels.size())));
    j["confusion"] = conf;
    j["confusion_no_speech"] = [&] {
        std::vector<long> col;
        for (const auto& row : r.confusion) col.push_back(row.back());
        return col;
    }();
    return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);  // names need not be UTF-8
}

std::string confusion_title(const std::string& model, const std::vector<std::string>& data_paths,
                            const std::string& split, const EvalReport& report) {
    std::string data;
    for (std::size_t i = 0; i < data_paths.size() && i < 3; ++i) {
        std::filesystem::path p(data_paths[i]);
        if (!p.has_filename()) p = p.parent_path();  // "ravdess/" names ravdess
        // A manifest's own name ("manifest.csv") says little; its folder says which dataset.
        std::string name = p.filename().string();
        if (p.extension() == ".csv" && p.has_parent_path() && p.parent_path().has_filename())
            name = p.parent_path().filename().string() + "/" + name;
        data += (i ? ", " : "") + name;
    }
    if (data_paths.size() > 3) data += " and " + std::to_string(data_paths.size() - 3) + " more";
    char scores[160];
    std::snprintf(scores, sizeof scores, "%ld files; %s: accuracy %.1f%%, macro-F1 %.1f%%", report.total,
                  model.c_str(), 100 * report.accuracy, 100 * report.macro_f1);
    return data + (split.empty() ? "" : ", split " + split) + ": " + scores;
}

}  // namespace classify
