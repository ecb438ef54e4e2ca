#pragma once
// ModelBundle: a model folder = model.onnx + model.json (docs/formats.md). Loading validates
// everything the rest of the code relies on, so a bad bundle fails once, clearly, at start-up.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>
#include <vector>

#include "spectro/settings.hpp"

namespace classify {

struct InputRecipe {
    int channels = 1;
    int height = 128, width = 128;
    spectro::Colormap color = spectro::Colormap::Gray;
    bool bgr = false;  // channel order of a 3-channel input
    double scale = 1.0 / 255.0;
    std::vector<double> mean{0.0}, std{1.0};  // one per channel
};

// The long-audio defaults a model.json without `window` gets. scripts/emoclass_train/formats.py
// writes the same values (tests/test_formats_python.cpp holds the two to each other).
struct WindowPolicy {
    double hop_s = 1.0;                // hop between windows on long audio
    double min_voiced_fraction = 0.1;  // a window needs this share of voiced frames
};

// The speakers a model was trained, validated and tested on (model.json's optional
// `training_data`): split -> corpus -> speaker codes, as spectro-dump's manifest names them.
struct TrainingData {
    std::map<std::string, std::map<std::string, std::set<std::string>>> splits;
    bool empty() const { return splits.empty(); }
    // "train", "val" or "test" for a recorded speaker; "" for one the record does not hold.
    std::string split_of(const std::string& corpus, const std::string& speaker) const;
};

struct ModelBundle {
    std::string dir;
    std::string name;
    std::vector<std::string> labels;
    bool outputs_probabilities = true;  // false: logits, softmax applied by emoclass
    InputRecipe input;
    spectro::SpectroSettings spectro;
    WindowPolicy window;
    TrainingData training_data;  // empty when model.json has no record
    // model.json's optional `int8_model`: a file in the bundle holding the same network quantised
    // to int8 for OpenCV DNN (scripts/quantize_bundle.py); "" when the bundle has none.
    std::string int8_file;
    // The network file this bundle runs: model.onnx, or int8_file after use_int8().
    std::string onnx_file = "model.onnx";
    std::string onnx_path() const { return dir + "/" + onnx_file; }
    std::string json_path() const { return dir + "/model.json"; }
};

// Reads and validates DIR/model.json (format, version, keys and types, labels, recipe,
// spectrogram settings) and checks DIR/model.onnx exists. Throws emoclass::Error naming the file.
ModelBundle load_bundle(const std::string& dir);
ModelBundle parse_bundle_json(const std::string& text, const std::string& dir);
// model.json of `b`, keys in docs/formats.md's order (format, format_version, name, labels,
// output, input, spectro, window, then int8_model and training_data when present): the one writer, beside the
// one reader; parse_bundle_json(bundle_json(b).dump(2), b.dir) gives `b` back. The server's
// GET /v1/model describes the model with it.
nlohmann::ordered_json bundle_json(const ModelBundle& b);

// `b` running its int8 network (onnx_file = int8_file). Throws emoclass::Error naming model.json
// when the bundle has none.
ModelBundle use_int8(ModelBundle b);

// The shipped default: $EMOCLASS_MODEL, else models/default next to the build tree or the
// installed share/emoclass/models/default. `exe_path` is /proc/self/exe's target.
std::string find_default_bundle(const std::string& exe_path);

}  // namespace classify
