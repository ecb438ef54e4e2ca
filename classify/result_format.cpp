#include "classify/result_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "spectro/corpora/csv.hpp"

namespace classify {
using json = nlohmann::ordered_json;

namespace {

std::string segment_emotion(const std::vector<std::string>& labels, const Segment& s, float* confidence) {
    const int best = s.emotion_index();
    if (best < 0) {
        *confidence = 0;
        return "";
    }
    *confidence = s.probabilities[std::size_t(best)];
    return labels[std::size_t(best)];
}

std::string segment_emotion(const Result& r, const Segment& s, float* confidence) {
    return segment_emotion(r.labels, s, confidence);
}

double round_to(double v, int decimals) {
    double scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    return std::round(v * scale) / scale;
}

json probabilities_json(const std::vector<std::string>& labels, const std::vector<float>& probabilities, int top_k) {
    json probs = json::object();
    for (std::size_t i : listed_labels(probabilities, top_k))
        if (i < labels.size()) probs[labels[i]] = round_to(probabilities[i], 6);
    return probs;
}

json segment_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities, int top_k) {
    float conf = 0;
    std::string e = segment_emotion(labels, s, &conf);
    json j = {{"start_s", round_to(s.start_s, 3)},
              {"end_s", round_to(s.end_s, 3)},
              {"speech", !e.empty()},
              {"emotion", e.empty() ? json(nullptr) : json(e)},
              {"confidence", round_to(conf, 6)}};
    if (with_probabilities) j["probabilities"] = probabilities_json(labels, s.probabilities, top_k);
    return j;
}

// "angry 57.8%, disgust 29.9%": the listed probabilities, most probable first.
std::string probabilities_text(const std::vector<std::string>& labels, const std::vector<float>& probabilities,
                               int top_k) {
    auto listed = listed_labels(probabilities, top_k);
    std::stable_sort(listed.begin(), listed.end(),
                     [&](std::size_t a, std::size_t b) { return probabilities[a] > probabilities[b]; });
    std::string out;
    for (std::size_t i : listed) {
        if (i >= labels.size()) continue;
        if (!out.empty()) out += ", ";
        out += labels[i] + " " + format_number(100.0 * probabilities[i], 1) + "%";
    }
    return out;
}

}  // namespace

std::vector<std::size_t> listed_labels(const std::vector<float>& probabilities, int top_k) {
    std::vector<std::size_t> order(probabilities.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (top_k <= 0) return order;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return probabilities[a] > probabilities[b]; });
    if (std::size_t(top_k) < order.size()) order.resize(std::size_t(top_k));
    return order;
}

std::string format_number(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string to_json(const Result& r, bool with_segments, int indent, int top_k) {
    json j;
    j["file"] = r.file;
    j["speech"] = r.has_speech();
    j["emotion"] = r.emotion.empty() ? json(nullptr) : json(r.emotion);
    j["confidence"] = round_to(r.confidence, 6);
    j["probabilities"] = probabilities_json(r.labels, r.probabilities, top_k);
    j["duration_s"] = round_to(r.duration_s, 3);
    j["voiced_windows"] = r.voiced_windows();
    j["windows"] = r.segments.size();
    if (with_segments) {
        json segs = json::array();
        for (const auto& s : r.segments) segs.push_back(segment_json(r.labels, s, true, top_k));
        j["segments"] = segs;
    }
    // A file name need not be UTF-8 (Linux names are bytes) but JSON text must be: invalid bytes
    // become U+FFFD instead of aborting the whole output (docs/formats.md).
    return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string segment_to_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities,
                            int top_k) {
    return segment_json(labels, s, with_probabilities, top_k).dump();
}

std::string csv_header(const std::vector<std::string>& labels, bool with_segments) {
    std::string h = "file,emotion,confidence,duration_s,voiced_windows";
    for (const auto& l : labels) h += "," + corpora::csv_field(l);
    return h + (with_segments ? ",speech,row,start_s,end_s" : ",speech");
}

namespace {

// The columns file .. speech of one row; the file's and each window's rows share them.
std::string csv_columns(const std::string& file, const std::string& emotion, float confidence, double duration_s,
                        int voiced_windows, std::size_t label_count, const std::vector<float>& probabilities,
                        bool speech, int top_k) {
    std::string row = corpora::csv_field(file) + "," + emotion + "," + format_number(confidence, 6) + "," +
                      format_number(duration_s, 3) + "," + std::to_string(voiced_windows);
    std::vector<char> listed(label_count, 0);
    for (std::size_t i : listed_labels(probabilities, top_k))
        if (i < listed.size()) listed[i] = 1;
    for (std::size_t i = 0; i < label_count; ++i)
        row += "," + (listed[i] && i < probabilities.size() ? format_number(probabilities[i], 6) : std::string());
    return row + (speech ? ",true" : ",false");
}

}  // namespace

std::string to_csv_row(const Result& r, int top_k) {
    return csv_columns(r.file, r.emotion, r.confidence, r.duration_s, r.voiced_windows(), r.labels.size(),
                       r.probabilities, r.has_speech(), top_k);
}

std::string to_csv_rows(const Result& r, bool with_segments, int top_k) {
    if (!with_segments) return to_csv_row(r, top_k) + "\n";
    std::string out = to_csv_row(r, top_k) + ",file,0.000," + format_number(r.duration_s, 3) + "\n";
    for (const auto& s : r.segments) {
        float conf = 0;
        const std::string e = segment_emotion(r, s, &conf);
        out += csv_columns(r.file, e, conf, s.end_s - s.start_s, e.empty() ? 0 : 1, r.labels.size(),
                           e.empty() ? std::vector<float>{} : s.probabilities, !e.empty(), top_k) +
               ",segment," + format_number(s.start_s, 3) + "," + format_number(s.end_s, 3) + "\n";
    }
    return out;
}

std::string table_header(const std::vector<std::string>& labels, std::size_t file_width) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-*s  %-8s %6s", int(file_width), "file", "emotion", "conf");
    std::string h = buf;
    for (const auto& l : labels) {
        std::snprintf(buf, sizeof buf, " %8.8s", l.c_str());
        h += buf;
    }
    return h;
}

std::string to_table_row(const Result& r, std::size_t file_width, int top_k) {
    std::string file = r.file;
    if (file.size() > file_width) file = "..." + file.substr(file.size() - file_width + 3);
    char buf[256];
    if (!r.has_speech() || r.emotion.empty()) {
        std::snprintf(buf, sizeof buf, "%-*s  %-8s %6s", int(file_width), file.c_str(), "-", "-");
        return std::string(buf) + "  " + kNoSpeechText + " (silence, noise, tones or music only)";
    }
    std::snprintf(buf, sizeof buf, "%-*s  %-8s %5.1f%%", int(file_width), file.c_str(), r.emotion.c_str(),
                  100.0 * r.confidence);
    std::string row = buf;
    std::vector<char> listed(r.probabilities.size(), 0);
    for (std::size_t i : listed_labels(r.probabilities, top_k)) listed[i] = 1;
    for (std::size_t i = 0; i < r.probabilities.size(); ++i) {
        if (listed[i]) std::snprintf(buf, sizeof buf, " %7.1f%%", 100.0 * r.probabilities[i]);
        else std::snprintf(buf, sizeof buf, " %8s", "");
        row += buf;
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    return row;
}

std::string segments_table(const Result& r, int top_k) {
    std::string out;
    char buf[160];
    for (const auto& s : r.segments) {
        float conf = 0;
        std::string e = segment_emotion(r, s, &conf);
        if (e.empty()) {
            std::snprintf(buf, sizeof buf, "  %8.2f %8.2f  (%s)\n", s.start_s, s.end_s, kNoSpeechText);
            out += buf;
            continue;
        }
        std::snprintf(buf, sizeof buf, "  %8.2f %8.2f  %-8s %5.1f%%   ", s.start_s, s.end_s, e.c_str(), 100.0 * conf);
        out += buf + probabilities_text(r.labels, s.probabilities, top_k) + "\n";
    }
    return out;
}

}  // namespace classify
