#pragma once
// Result: what emoclass says about one input. Every output (table, jsonl, csv, HTTP JSON, listen)
// is formatted from this one struct by result_format.
//
// "No speech" is a result, not an error: when no window of the input holds speech (silence, noise,
// clicks, tones, music; see speech_detector.hpp), has_speech() is false, emotion is empty and
// probabilities is empty, and every format says "no speech" explicitly.
#include <algorithm>
#include <string>
#include <vector>

namespace classify {

// The one argmax: the index of the most probable label (the first of equal maxima); -1 when
// there are no probabilities. A result's emotion, each window's and the figure's timeline use it.
inline int most_probable(const std::vector<float>& probabilities) {
    if (probabilities.empty()) return -1;
    return int(std::max_element(probabilities.begin(), probabilities.end()) - probabilities.begin());
}

struct Segment {
    double start_s = 0, end_s = 0;
    bool voiced = false;               // holds speech; windows without speech are skipped, not guessed
    std::vector<float> probabilities;  // empty when the window holds no speech
    // Index of this window's emotion among the labels; -1 when it holds no speech.
    int emotion_index() const { return voiced ? most_probable(probabilities) : -1; }
};

struct Result {
    std::string file;
    double duration_s = 0;
    std::vector<std::string> labels;   // the model's labels, output order
    std::string emotion;               // "" when no window held speech (has_speech() false)
    float confidence = 0;
    std::vector<float> probabilities;  // mean over voiced windows; empty when none
    std::vector<Segment> segments;
    int voiced_windows() const {
        int n = 0;
        for (const auto& s : segments) n += s.voiced ? 1 : 0;
        return n;
    }
    bool has_speech() const { return voiced_windows() > 0; }
};

}  // namespace classify
