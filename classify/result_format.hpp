#pragma once
// The one place that formats results: the CLI (table, jsonl, csv) and the HTTP server call these,
// so they cannot disagree.
#include <string>
#include <vector>

#include "classify/result.hpp"

namespace classify {

// One JSON object: file, emotion (null when no speech), confidence, probabilities by label,
// duration_s, voiced_windows, and segments (start_s, end_s, emotion, confidence) when asked.
std::string to_json(const Result& r, bool with_segments, int indent = -1);

// One window as one JSON object (as in to_json's segments): start_s, end_s, emotion (null when
// unvoiced), confidence, and with_probabilities: probabilities by label ({} when unvoiced).
// `labels` are the model's labels in output order. Used by `emoclass listen --format jsonl`.
std::string segment_to_json(const std::vector<std::string>& labels, const Segment& s, bool with_probabilities = true);

std::string csv_header(const std::vector<std::string>& labels);
std::string to_csv_row(const Result& r);

// A readable table: file, emotion, confidence, then every label's probability in percent.
std::string table_header(const std::vector<std::string>& labels, std::size_t file_width);
std::string to_table_row(const Result& r, std::size_t file_width);
// The timeline of one result: start, end, emotion, confidence per window.
std::string segments_table(const Result& r);

// Shortest round-trip decimal for a probability (stable, locale-independent).
std::string format_number(double v, int decimals);

}  // namespace classify
