#pragma once
// Pieces shared by the emoclass subcommands: model lookup, input expansion, a pool of analyzers.
#include <memory>
#include <string>
#include <vector>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"

namespace tools {

// --model DIR, or the shipped default. Throws emoclass::Error.
classify::ModelBundle load_model(const std::string& model_dir, bool int8 = false);

// Files stay as given; directories expand to their audio files (sorted). Missing paths are kept
// so that the analysis reports them with a reason. What inside a folder cannot be looked at (an
// unreadable subfolder, a FIFO, a broken link) gets an "error: PATH: reason" line on stderr and
// is counted in *unreadable, which the caller adds to its failures.
std::vector<std::string> expand_inputs(const std::vector<std::string>& args, std::size_t* unreadable);

// One Analyzer per job; jobs > 1 runs OpenCV with one thread each (parallel over files instead).
std::vector<std::unique_ptr<classify::Analyzer>> make_analyzers(const classify::ModelBundle& bundle, int jobs,
                                                                classify::AnalyzeOptions options,
                                                                int inference_threads);

}  // namespace tools
