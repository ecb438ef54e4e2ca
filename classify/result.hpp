#pragma once
// Result: what emoclass says about one input. Every output (table, jsonl, csv, HTTP JSON) is
// formatted from this one struct by result_format.
#include <string>
#include <vector>

namespace classify {

struct Segment {
    double start_s = 0, end_s = 0;
    bool voiced = false;               // unvoiced windows are skipped, not guessed
    std::vector<float> probabilities;  // empty when unvoiced
};

struct Result {
    std::string file;
    double duration_s = 0;
    std::vector<std::string> labels;   // the model's labels, output order
    std::string emotion;               // "" when no window held speech
    float confidence = 0;
    std::vector<float> probabilities;  // mean over voiced windows; empty when none
    std::vector<Segment> segments;
    int voiced_windows() const {
        int n = 0;
        for (const auto& s : segments) n += s.voiced ? 1 : 0;
        return n;
    }
};

}  // namespace classify
