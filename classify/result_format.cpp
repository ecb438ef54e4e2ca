#include "classify/result_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace classify {
using json = nlohmann::ordered_json;

namespace {

std::string segment_emotion(const std::vector<std::string>& labels, const Segment& s, float* confidence) {
    if (!s.voiced || s.probabilities.empty()) {
        *confidence = 0;
        return "";
    }
    auto best = std::max_element(s.probabilities.begin(), s.probabilities.end());
    *confidence = *best;
    return labels[std::size_t(best - s.probabilities.begin())];
}

std::string segment_emotion(const Result& r, const Segment& s, float* confidence) {
    return segment_emotion(r.labels, s, confidence);
}

double round_to(double v, int decimals) {
    double scale = 1;
    for (int i = 0; i < decimals; ++i) scale *= 10;
    return std::round(v * scale) / scale;
}

json segment_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities) {
    float conf = 0;
    std::string e = segment_emotion(labels, s, &conf);
    json j = {{"start_s", round_to(s.start_s, 3)},
              {"end_s", round_to(s.end_s, 3)},
              {"emotion", e.empty() ? json(nullptr) : json(e)},
              {"confidence", round_to(conf, 6)}};
    if (with_probabilities) {
        json probs = json::object();
        for (std::size_t i = 0; i < labels.size() && i < s.probabilities.size(); ++i)
            probs[labels[i]] = round_to(s.probabilities[i], 6);
        j["probabilities"] = probs;
    }
    return j;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace

std::string format_number(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string to_json(const Result& r, bool with_segments, int indent) {
    json j;
    j["file"] = r.file;
    j["emotion"] = r.emotion.empty() ? json(nullptr) : json(r.emotion);
    j["confidence"] = round_to(r.confidence, 6);
    json probs = json::object();
    for (std::size_t i = 0; i < r.labels.size() && i < r.probabilities.size(); ++i)
        probs[r.labels[i]] = round_to(r.probabilities[i], 6);
    j["probabilities"] = probs;
    j["duration_s"] = round_to(r.duration_s, 3);
    j["voiced_windows"] = r.voiced_windows();
    j["windows"] = r.segments.size();
    if (with_segments) {
        json segs = json::array();
        for (const auto& s : r.segments) segs.push_back(segment_json(r.labels, s, false));
        j["segments"] = segs;
    }
    // A file name need not be UTF-8 (Linux names are bytes) but JSON text must be: invalid bytes
    // become U+FFFD instead of aborting the whole output (docs/formats.md).
    return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string segment_to_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities) {
    return segment_json(labels, s, with_probabilities).dump();
}

std::string csv_header(const std::vector<std::string>& labels) {
    std::string h = "file,emotion,confidence,duration_s,voiced_windows";
    for (const auto& l : labels) h += "," + csv_field(l);
    return h;
}

std::string to_csv_row(const Result& r) {
    std::string row = csv_field(r.file) + "," + r.emotion + "," + format_number(r.confidence, 6) + "," +
                      format_number(r.duration_s, 3) + "," + std::to_string(r.voiced_windows());
    for (std::size_t i = 0; i < r.labels.size(); ++i)
        row += "," + (i < r.probabilities.size() ? format_number(r.probabilities[i], 6) : std::string());
    return row;
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

std::string to_table_row(const Result& r, std::size_t file_width) {
    std::string file = r.file;
    if (file.size() > file_width) file = "..." + file.substr(file.size() - file_width + 3);
    char buf[256];
    if (r.emotion.empty()) {
        std::snprintf(buf, sizeof buf, "%-*s  %-8s %6s", int(file_width), file.c_str(), "-", "-");
        return std::string(buf) + "  (no speech found)";
    }
    std::snprintf(buf, sizeof buf, "%-*s  %-8s %5.1f%%", int(file_width), file.c_str(), r.emotion.c_str(),
                  100.0 * r.confidence);
    std::string row = buf;
    for (float p : r.probabilities) {
        std::snprintf(buf, sizeof buf, " %7.1f%%", 100.0 * p);
        row += buf;
    }
    return row;
}

std::string segments_table(const Result& r) {
    std::string out;
    char buf[160];
    for (const auto& s : r.segments) {
        float conf = 0;
        std::string e = segment_emotion(r, s, &conf);
        if (e.empty()) std::snprintf(buf, sizeof buf, "  %8.2f %8.2f  %-8s\n", s.start_s, s.end_s, "(silence)");
        else std::snprintf(buf, sizeof buf, "  %8.2f %8.2f  %-8s %5.1f%%\n", s.start_s, s.end_s, e.c_str(), 100.0 * conf);
        out += buf;
    }
    return out;
}

}  // namespace classify
