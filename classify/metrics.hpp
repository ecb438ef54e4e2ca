#pragma once
// Classification metrics for `emoclass eval`: accuracy, per-class precision/recall/F1/support,
// macro-F1 (mean over the classes present in truth or predictions, as scikit-learn does) and
// the confusion matrix. Files where the model found no speech count as wrong ("none").
#include <string>
#include <vector>

namespace classify {

struct ClassMetrics {
    std::string label;
    double precision = 0, recall = 0, f1 = 0;
    long support = 0;     // files whose true label is this class
    long predicted = 0;   // files predicted as this class
};

struct EvalReport {
    std::vector<std::string> labels;
    std::vector<std::vector<long>> confusion;  // [true][predicted]; last column = no speech
    long total = 0, correct = 0, no_speech = 0;
    double accuracy = 0, macro_f1 = 0;
    std::vector<ClassMetrics> per_class;
};

// `truth` and `predicted` are label indices; predicted -1 means no speech found.
EvalReport evaluate(const std::vector<std::string>& labels, const std::vector<int>& truth,
                    const std::vector<int>& predicted);

std::string report_text(const EvalReport& report);
std::string report_json(const EvalReport& report, int indent = 2);

// The confusion figure's title, which says what the matrix was computed on: the data (each
// folder by its name, each manifest as FOLDER/FILE.csv, at most three then "and N more"), the
// split when one was chosen, the file count, then the model and its scores.
std::string confusion_title(const std::string& model, const std::vector<std::string>& data_paths,
                            const std::string& split, const EvalReport& report);

}  // namespace classify
