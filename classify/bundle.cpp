#include "classify/bundle.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "spectro/error.hpp"
#include "spectro/read_file.hpp"

#ifndef EMOCLASS_SOURCE_MODEL_DIR
#define EMOCLASS_SOURCE_MODEL_DIR ""
#endif
#ifndef EMOCLASS_MODEL_INSTALL_DIR
#define EMOCLASS_MODEL_INSTALL_DIR ""
#endif

namespace classify {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& reason) { throw emoclass::Error(file, reason); }

const json& need(const json& obj, const char* key, const std::string& file, json::value_t type, const char* type_name) {
    auto it = obj.find(key);
    if (it == obj.end()) fail(file, std::string("missing key '") + key + "'");
    bool ok = it->type() == type || (type == json::value_t::number_float && it->is_number()) ||
              (type == json::value_t::number_integer && it->is_number_integer());
    if (!ok) fail(file, std::string("key '") + key + "' must be " + type_name);
    return *it;
}

std::vector<double> read_numbers(const json& v, const char* key, std::size_t n, const std::string& file) {
    if (!v.is_array() || v.size() != n)
        fail(file, std::string("key 'input.") + key + "' must be a list of " + std::to_string(n) + " numbers");
    std::vector<double> out;
    for (const auto& x : v) {
        if (!x.is_number()) fail(file, std::string("key 'input.") + key + "' must hold numbers");
        out.push_back(x.get<double>());
    }
    return out;
}

TrainingData read_training_data(const json& td, const std::string& file) {
    if (!td.is_object()) fail(file, "key 'training_data' must be an object");
    TrainingData out;
    std::map<std::pair<std::string, std::string>, std::string> split_of_speaker;
    for (const auto& [split, corpora] : td.items()) {
        if (split != "train" && split != "val" && split != "test")
            fail(file, "training_data: unknown split '" + split + "' (train, val or test)");
        if (!corpora.is_object()) fail(file, "training_data." + split + " must map corpus names to speaker lists");
        for (const auto& [corpus, speakers] : corpora.items()) {
            if (!speakers.is_array()) fail(file, "training_data." + split + "." + corpus + " must be a list of speakers");
            for (const auto& spk : speakers) {
                if (!spk.is_string() || spk.get<std::string>().empty())
                    fail(file, "training_data." + split + "." + corpus + " must hold non-empty strings");
                auto [it, fresh] = split_of_speaker.emplace(std::make_pair(corpus, spk.get<std::string>()), split);
                if (!fresh && it->second != split)
                    fail(file, "training_data: speaker '" + spk.get<std::string>() + "' of " + corpus + " is in " +
                                   it->second + " and " + split);
                out.splits[split][corpus].insert(spk.get<std::string>());
            }
        }
    }
    return out;
}

// A manifest is a few KB; these bound what a hostile one can cost before it is refused.
constexpr std::size_t kMaxManifestBytes = 1 << 20;
constexpr int kMaxManifestDepth = 32;

// Deepest [ / { nesting outside strings: refused before parsing, as a deep document costs stack
// in the parser's callers (dump, copies) even where the parser itself does not recurse.
int nesting_depth(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

ModelBundle parse_checked(const std::string& text, const std::string& dir, const std::string& file);

}  // namespace

std::string TrainingData::split_of(const std::string& corpus, const std::string& speaker) const {
    for (const auto& [split, corpora] : splits) {
        auto c = corpora.find(corpus);
        if (c != corpora.end() && c->second.count(speaker)) return split;
    }
    return "";
}

ModelBundle parse_bundle_json(const std::string& text, const std::string& dir) {
    const std::string file = dir + "/model.json";
    if (text.size() > kMaxManifestBytes)
        fail(file, "larger than " + std::to_string(kMaxManifestBytes) + " bytes (a manifest is a few KB)");
    if (nesting_depth(text) > kMaxManifestDepth)
        fail(file, "nested deeper than " + std::to_string(kMaxManifestDepth) + " levels");
    try {
        return parse_checked(text, dir, file);
    } catch (const json::exception& e) {
        // A value of the wrong type anywhere (e.g. "format": 1): one line, never an abort.
        fail(file, std::string("unexpected value (") + e.what() + ")");
    }
}

namespace {

ModelBundle parse_checked(const std::string& text, const std::string& dir, const std::string& file) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        fail(file, std::string("not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) fail(file, "must be a JSON object");
    if (j.value("format", std::string()) != "emoclass-model") fail(file, "not an emoclass model manifest (format)");
    // 64-bit read: 4294967297 must not wrap to 1.
    const auto version = need(j, "format_version", file, json::value_t::number_integer, "an integer").get<std::int64_t>();
    if (version != 1) fail(file, "unknown format_version " + std::to_string(version) + " (this emoclass reads 1)");

    ModelBundle b;
    b.dir = dir;
    b.name = j.value("name", fs::path(dir).filename().string());
    const json& labels = need(j, "labels", file, json::value_t::array, "a list of strings");
    std::set<std::string> seen;
    for (const auto& l : labels) {
        if (!l.is_string() || l.get<std::string>().empty()) fail(file, "labels must be non-empty strings");
        if (!seen.insert(l.get<std::string>()).second) fail(file, "duplicate label '" + l.get<std::string>() + "'");
        b.labels.push_back(l.get<std::string>());
    }
    if (b.labels.size() < 2) fail(file, "a model needs at least 2 labels");
    const std::string output = need(j, "output", file, json::value_t::string, "a string").get<std::string>();
    if (output != "probabilities" && output != "logits") fail(file, "output must be 'probabilities' or 'logits'");
    b.outputs_probabilities = output == "probabilities";

    const json& in = need(j, "input", file, json::value_t::object, "an object");
    b.input.channels = need(in, "channels", file, json::value_t::number_integer, "an integer").get<int>();
    if (b.input.channels != 1 && b.input.channels != 3) fail(file, "input.channels must be 1 or 3");
    b.input.height = need(in, "height", file, json::value_t::number_integer, "an integer").get<int>();
    b.input.width = need(in, "width", file, json::value_t::number_integer, "an integer").get<int>();
    if (b.input.height < 8 || b.input.height > 4096 || b.input.width < 8 || b.input.width > 4096)
        fail(file, "input.height and input.width must be within 8..4096");
    try {
        b.input.color = spectro::parse_colormap(need(in, "color", file, json::value_t::string, "a string").get<std::string>());
    } catch (const emoclass::Error& e) {
        fail(file, "input.color: " + e.reason());
    }
    if (b.input.channels == 1 && b.input.color != spectro::Colormap::Gray)
        fail(file, "a 1-channel input must use color 'gray'");
    const std::string order = in.value("channel_order", std::string("RGB"));
    if (order != "RGB" && order != "BGR") fail(file, "input.channel_order must be 'RGB' or 'BGR'");
    b.input.bgr = order == "BGR";
    b.input.scale = need(in, "scale", file, json::value_t::number_float, "a number").get<double>();
    b.input.mean = read_numbers(need(in, "mean", file, json::value_t::array, "a list"), "mean", size_t(b.input.channels), file);
    b.input.std = read_numbers(need(in, "std", file, json::value_t::array, "a list"), "std", size_t(b.input.channels), file);
    for (double s : b.input.std)
        if (!(s > 0)) fail(file, "input.std values must be positive");

    const json& sp = need(j, "spectro", file, json::value_t::object, "an object");
    b.spectro = spectro::SpectroSettings::from_json(sp.dump(), file + " (spectro)");
    if (b.spectro.image.frames <= 0) fail(file, "spectro.image.frames must be positive for a model");
    // The bundle's colour and the spectrogram image's colour must agree.
    if (b.spectro.image.colormap != b.input.color) fail(file, "spectro.image.colormap differs from input.color");

    if (j.contains("window")) {
        const json& w = j["window"];
        if (!w.is_object()) fail(file, "key 'window' must be an object");
        if (w.contains("hop_s")) {
            if (!w["hop_s"].is_number() || !(w["hop_s"].get<double>() > 0)) fail(file, "window.hop_s must be a positive number");
            b.window.hop_s = w["hop_s"].get<double>();
        }
        if (w.contains("min_voiced_fraction")) {
            const auto& v = w["min_voiced_fraction"];
            if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1)
                fail(file, "window.min_voiced_fraction must be within 0..1");
            b.window.min_voiced_fraction = v.get<double>();
        }
    }
    if (j.contains("int8_model")) {
        const json& f = j["int8_model"];
        // A plain file name inside the bundle: model.json never points outside its folder.
        if (!f.is_string() || f.get<std::string>().empty() || f.get<std::string>().find('/') != std::string::npos ||
            f.get<std::string>()[0] == '.')
            fail(file, "int8_model must be a file name inside the bundle (e.g. model_int8.onnx)");
        b.int8_file = f.get<std::string>();
    }
    if (j.contains("training_data")) b.training_data = read_training_data(j["training_data"], file);
    return b;
}

}  // namespace

nlohmann::ordered_json bundle_json(const ModelBundle& b) {
    nlohmann::ordered_json j;
    j["format"] = "emoclass-model";
    j["format_version"] = 1;
    j["name"] = b.name;
    j["labels"] = b.labels;
    j["output"] = b.outputs_probabilities ? "probabilities" : "logits";
    j["input"] = {{"channels", b.input.channels},
                  {"height", b.input.height},
                  {"width", b.input.width},
                  {"color", spectro::to_string(b.input.color)},
                  {"channel_order", b.input.bgr ? "BGR" : "RGB"},
                  {"scale", b.input.scale},
                  {"mean", b.input.mean},
                  {"std", b.input.std}};
    j["spectro"] = nlohmann::ordered_json::parse(b.spectro.to_json());  // spectro.json's own (sorted) order
    j["window"] = {{"hop_s", b.window.hop_s}, {"min_voiced_fraction", b.window.min_voiced_fraction}};
    if (!b.int8_file.empty()) j["int8_model"] = b.int8_file;
    if (!b.training_data.empty()) {
        auto& td = j["training_data"];
        for (const char* split : {"train", "val", "test"}) {  // the order the splits are made in
            auto it = b.training_data.splits.find(split);
            if (it == b.training_data.splits.end()) continue;
            td[split] = nlohmann::ordered_json::object();
            for (const auto& [corpus, speakers] : it->second)
                td[split][corpus] = std::vector<std::string>(speakers.begin(), speakers.end());
        }
    }
    return j;
}

ModelBundle load_bundle(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) fail(dir, "model bundle directory not found");
    const std::string json_path = dir + "/model.json";
    if (!fs::is_regular_file(json_path, ec)) fail(json_path, "missing (a bundle is model.onnx + model.json)");
    if (fs::file_size(json_path, ec) > kMaxManifestBytes)
        fail(json_path, "larger than " + std::to_string(kMaxManifestBytes) + " bytes (a manifest is a few KB)");
    ModelBundle b = parse_bundle_json(spectro::read_file(json_path), dir);
    if (!fs::is_regular_file(b.onnx_path(), ec)) fail(b.onnx_path(), "missing");
    if (!b.int8_file.empty() && !fs::is_regular_file(dir + "/" + b.int8_file, ec))
        fail(dir + "/" + b.int8_file, "missing (model.json's int8_model names it)");
    return b;
}

ModelBundle use_int8(ModelBundle b) {
    if (b.int8_file.empty())
        fail(b.json_path(), "this model has no int8 network (no int8_model; scripts/quantize_bundle.py makes one)");
    b.onnx_file = b.int8_file;
    return b;
}

std::string find_default_bundle(const std::string& exe_path) {
    if (const char* env = std::getenv("EMOCLASS_MODEL"); env && *env) return env;
    std::vector<fs::path> candidates;
    const fs::path exe_dir = fs::path(exe_path).parent_path();
    candidates.push_back(exe_dir / "../share/emoclass/models/default");  // installed layout
    candidates.push_back(fs::path(EMOCLASS_MODEL_INSTALL_DIR) / "default");
    candidates.push_back(fs::path(EMOCLASS_SOURCE_MODEL_DIR) / "default");  // build tree
    for (const auto& c : candidates) {
        std::error_code ec;
        if (!c.empty() && fs::is_regular_file(c / "model.json", ec)) return fs::weakly_canonical(c, ec).string();
    }
    throw emoclass::Error("default model", "no model bundle found (looked in $EMOCLASS_MODEL, " +
                                        candidates[0].string() + ", " + candidates[1].string() + ", " +
                                        candidates[2].string() + ")");
}

}  // namespace classify
