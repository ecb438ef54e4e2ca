#pragma once
// `emoclass eval`: accuracy, macro-F1, per-class figures and the confusion matrix on labelled
// recordings (labels from corpus file names or folder names, or a spectro-dump manifest split).
#include <string>
#include <vector>

#include "classify/bundle.hpp"

namespace tools {

struct EvalOptions {
    std::vector<std::string> inputs;  // files or directories
    std::string manifest;             // spectro-dump manifest.csv: use its sources...
    std::string split;                // ...of this split only (train | val | test)
    bool json = false;
    std::string confusion_png;
    std::string predictions_jsonl;    // also write every file's result here
    int jobs = 1;
    int threads = 0;
    double hop_s = 0;
    bool progress = true;
};

int run_eval(const classify::ModelBundle& bundle, const EvalOptions& options);

}  // namespace tools
