#pragma once
// The one place that formats results: the CLI (table, jsonl, csv), `emoclass listen` and the HTTP
// server call these, so they cannot disagree.
//
// top_k (every function that lists probabilities): 0 lists every label in the model's order;
// k > 0 lists only the k most probable, most probable first (in the fixed-column table and csv,
// the other labels' cells are left empty). The emotion and confidence never change with it.
#include <string>
#include <vector>

#include "classify/result.hpp"

namespace classify {

// What the table and csv print, and the text of listen, for an input without speech.
inline constexpr const char* kNoSpeechText = "no speech";

// One JSON object: file, speech (false: no window held speech), emotion (null without speech),
// confidence, probabilities by label ({} without speech), duration_s, voiced_windows, windows,
// and with_segments: segments, each as segment_to_json with probabilities.
std::string to_json(const Result& r, bool with_segments, int indent = -1, int top_k = 0);

// One window as one JSON object (as in to_json's segments): start_s, end_s, speech, emotion (null
// without speech), confidence, and with_probabilities: probabilities by label ({} without
// speech). `labels` are the model's labels in output order. Also `emoclass listen --format jsonl`.
std::string segment_to_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities = true,
                            int top_k = 0);

// Columns: file, emotion (empty without speech), confidence, duration_s, voiced_windows, one per
// label, speech (true/false; last, so that the earlier columns keep their places).
// with_segments (`--format csv --segments`) appends row ("file" or "segment"), start_s, end_s:
// a file's row (start 0, end its duration) is followed by one row per window, whose duration_s
// is the window's length and voiced_windows 1 or 0.
std::string csv_header(const std::vector<std::string>& labels, bool with_segments = false);
// The file's row alone, without the segment columns.
std::string to_csv_row(const Result& r, int top_k = 0);
// Every row of one result, each ending in a newline: the file's, then with_segments its windows'.
std::string to_csv_rows(const Result& r, bool with_segments, int top_k = 0);

// A readable table: file, emotion, confidence, then every label's probability in percent; an
// input without speech says "no speech".
std::string table_header(const std::vector<std::string>& labels, std::size_t file_width);
std::string to_table_row(const Result& r, std::size_t file_width, int top_k = 0);
// The timeline of one result: start, end, emotion, confidence, then the window's probabilities
// (most probable first, top_k of them) per window; "(no speech)" for windows without speech.
std::string segments_table(const Result& r, int top_k = 0);

// Indices of the labels to list for `probabilities` under top_k (see above).
std::vector<std::size_t> listed_labels(const std::vector<float>& probabilities, int top_k);

// Shortest round-trip decimal for a probability (stable, locale-independent).
std::string format_number(double v, int decimals);

}  // namespace classify
