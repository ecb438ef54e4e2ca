#pragma once
// `emoclass eval`: accuracy, macro-F1, per-class figures and the confusion matrix on labelled
// recordings (labels from corpus file names or folder names, a corpus manifest CSV, or a
// spectro-dump manifest split), with new speakers and those the model heard reported apart.
#include <string>
#include <vector>

#include "classify/bundle.hpp"

namespace tools {

struct EvalOptions {
    std::vector<std::string> inputs;  // files, directories or *.csv corpus manifests
    std::string manifest;             // a corpus manifest, or spectro-dump's manifest.csv...
    std::string split;                // ...of which this split only (train | val | test)
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
