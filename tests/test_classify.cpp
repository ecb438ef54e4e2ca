// classify library: bundle validation, OpenCV output against PyTorch's, windows and voice
// activity, aggregation, metrics, and the one result formatter.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"
#include "classify/classifier.hpp"
#include "classify/metrics.hpp"
#include "classify/result_format.hpp"
#include "classify/silu_fusion.hpp"
#include "classify/windows.hpp"
#include "spectro/error.hpp"
#include "spectro/png_io.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kTiny = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";

// A copy of the tiny bundle whose model.json is edited by `edit`.
std::string bundle_with(const TempDir& tmp, const std::function<void(json&)>& edit) {
    const std::string dir = tmp / "bundle";
    fs::create_directories(dir);
    fs::copy_file(kTiny + "/model.onnx", dir + "/model.onnx", fs::copy_options::overwrite_existing);
    json j = json::parse(read_bytes(kTiny + "/model.json"));
    edit(j);
    write_bytes(dir + "/model.json", j.dump(2));
    return dir;
}

std::string load_error(const std::string& dir) {
    try {
        classify::Classifier c(classify::load_bundle(dir));
    } catch (const emoclass::Error& e) {
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
        return e.what();
    }
    return "";
}
}  // namespace

TEST(Bundle, TinyFixtureLoads) {
    auto b = classify::load_bundle(kTiny);
    EXPECT_EQ(b.labels.size(), 6u);
    EXPECT_EQ(b.input.channels, 1);
    EXPECT_EQ(b.spectro.image.frames, 128);
    classify::Classifier c(b);
}

TEST(Bundle, EveryBrokenManifestGivesOneClearError) {
    struct Case {
        const char* expect;
        std::function<void(json&)> edit;
    } cases[] = {
        {"unknown format_version 7", [](json& j) { j["format_version"] = 7; }},
        {"missing key 'labels'", [](json& j) { j.erase("labels"); }},
        {"key 'labels' must be", [](json& j) { j["labels"] = "angry"; }},
        {"duplicate label 'sad'", [](json& j) { j["labels"][0] = "sad"; }},
        {"outputs 6 values but model.json has 5 labels", [](json& j) { j["labels"].erase(5); }},
        {"output must be", [](json& j) { j["output"] = "scores"; }},
        {"input.channels must be 1 or 3", [](json& j) { j["input"]["channels"] = 2; }},
        {"key 'height' must be an integer", [](json& j) { j["input"]["height"] = "128"; }},
        {"unknown key 'hop_lenght'", [](json& j) { j["spectro"]["hop_lenght"] = 320; }},
        {"power must be 1 or 2", [](json& j) { j["spectro"]["power"] = 3; }},
        {"not an emoclass model manifest", [](json& j) { j["format"] = "other"; }},
        {"int8_model must be a file name inside the bundle", [](json& j) { j["int8_model"] = "../model.onnx"; }},
        {"int8_model must be a file name inside the bundle", [](json& j) { j["int8_model"] = "/etc/passwd"; }},
        {"int8_model must be a file name inside the bundle", [](json& j) { j["int8_model"] = 8; }},
        {"model_int8.onnx: missing (model.json's int8_model names it)", [](json& j) { j["int8_model"] = "model_int8.onnx"; }},
        {"rejects a 1x3x128x128 input", [](json& j) {
             j["input"]["channels"] = 3;  // the network's first convolution takes 1 channel
             j["input"]["color"] = "viridis";
             j["input"]["mean"] = {0, 0, 0};
             j["input"]["std"] = {1, 1, 1};
             j["spectro"]["image"]["colormap"] = "viridis";
         }},
    };
    for (const auto& c : cases) {
        TempDir tmp;
        auto err = load_error(bundle_with(tmp, c.edit));
        EXPECT_NE(err.find(c.expect), std::string::npos) << "want '" << c.expect << "', got '" << err << "'";
    }
    TempDir tmp;
    EXPECT_NE(load_error(tmp / "none").find("not found"), std::string::npos);
    auto dir = bundle_with(tmp, [](json&) {});
    write_bytes(dir + "/model.onnx", "not an onnx model");
    EXPECT_NE(load_error(dir).find("model.onnx: refused before loading (malformed protobuf"), std::string::npos);
    fs::remove(dir + "/model.onnx");
    EXPECT_NE(load_error(dir).find("model.onnx: missing"), std::string::npos);
    write_bytes(dir + "/model.json", "{ nope");
    EXPECT_NE(load_error(dir).find("not valid JSON"), std::string::npos);
}

// The classifier hands OpenCV the SiLU-fused graph; MatchesPyTorchOnTheReferenceImages below
// therefore checks the fused network against PyTorch.
// bundle_json is the one model.json writer: it gives back what parse_bundle_json read, and the
// shipped model.json (written by scripts/emoclass_train/formats.py) byte for byte.
TEST(Bundle, Int8NetworkIsChosenOnlyWhenTheBundleHasOne) {
    const auto tiny = classify::load_bundle(kTiny);
    EXPECT_EQ(tiny.onnx_path(), std::string(kTiny) + "/model.onnx");
    try {
        classify::use_int8(tiny);
        ADD_FAILURE() << "use_int8 accepted a bundle without int8_model";
    } catch (const emoclass::Error& e) {
        EXPECT_NE(std::string(e.what()).find("model.json: this model has no int8 network"), std::string::npos) << e.what();
    }
    // The tool says the same in one line, exit 1 as for any unusable model, before reading any input.
    auto r = run(EMOCLASS_BIN " --int8 -m " + std::string(kTiny) + " -q " EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/speech_16k.wav");
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("this model has no int8 network"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(Bundle, JsonWriterRoundTripsThroughTheReader) {
    const std::string shipped = EMOCLASS_SOURCE_DIR "/models/default";
    const std::string text = read_bytes(shipped + "/model.json");
    auto b = classify::parse_bundle_json(text, shipped);
    ASSERT_FALSE(b.training_data.empty());
    ASSERT_FALSE(b.int8_file.empty());  // written by scripts/quantize_bundle.py through formats.py
    EXPECT_EQ(classify::bundle_json(b).dump(2) + "\n", text);

    b.name = "changed";
    b.labels = {"calm", "tense", "sad"};
    b.outputs_probabilities = false;
    b.input.channels = 3;
    b.input.bgr = true;
    b.input.color = spectro::Colormap::Viridis;
    b.input.mean = {0.1, 0.2, 0.3};
    b.input.std = {1.5, 2.5, 3.5};
    b.spectro.image.colormap = spectro::Colormap::Viridis;
    b.spectro.n_mels = 64;
    b.window = {0.5, 0.25};
    b.training_data.splits = {{"train", {{"mine", {"s1", "s2"}}}}, {"test", {{"mine", {"s3"}}}}};
    const std::string written = classify::bundle_json(b).dump(2);
    auto back = classify::parse_bundle_json(written, "dir");
    EXPECT_EQ(classify::bundle_json(back).dump(2), written);
    EXPECT_EQ(back.labels, b.labels);
    EXPECT_FALSE(back.outputs_probabilities);
    EXPECT_TRUE(back.input.bgr);
    EXPECT_EQ(back.input.std, b.input.std);
    EXPECT_EQ(back.spectro.to_json(), b.spectro.to_json());
    EXPECT_EQ(back.window.hop_s, 0.5);
    EXPECT_EQ(back.window.min_voiced_fraction, 0.25);
    EXPECT_EQ(back.training_data.split_of("mine", "s3"), "test");
    EXPECT_EQ(written.find("\"test\""), written.rfind("\"test\""));  // one test split, written after train
    EXPECT_LT(written.find("\"train\""), written.find("\"test\""));
}

TEST(SiluFusion, EverySigmoidMulPairOfTheYoloGraphsIsFusedOnce) {
    for (const std::string& onnx_path : {kTiny + "/model.onnx", std::string(EMOCLASS_SOURCE_DIR "/models/default/model.onnx")}) {
        const std::string model = read_bytes(onnx_path);
        const classify::SiluFusion once = classify::fuse_silu(model);
        EXPECT_GT(once.fused, 0) << onnx_path;
        EXPECT_LT(once.model.size(), model.size()) << onnx_path;
        // Nothing is left to fuse, and a second pass changes nothing.
        const classify::SiluFusion twice = classify::fuse_silu(once.model);
        EXPECT_EQ(twice.fused, 0) << onnx_path;
        EXPECT_EQ(twice.model, once.model) << onnx_path;
    }
    // The shipped yolov8n-cls: one SiLU after each of its 26 convolutions.
    EXPECT_EQ(classify::fuse_silu(read_bytes(EMOCLASS_SOURCE_DIR "/models/default/model.onnx")).fused, 26);
}

TEST(SiluFusion, AnythingElseIsLeftAsItIs) {
    for (const std::string& bytes : {std::string(), std::string("not a protobuf \xff\xff\xff"),
                                     std::string("\x3a\x05" "abc"),  // graph field shorter than it says
                                     read_bytes(kTiny + "/model.json")}) {
        const classify::SiluFusion r = classify::fuse_silu(bytes);
        EXPECT_EQ(r.fused, 0);
        EXPECT_EQ(r.model, bytes);
    }
}

TEST(Classifier, MatchesPyTorchOnTheReferenceImages) {
    auto ref = json::parse(read_bytes(kTiny + "/reference.json"));
    classify::Classifier c(classify::load_bundle(kTiny));
    const double tol = ref["tolerance"];
    for (const auto& item : ref["images"]) {
        auto img = spectro::read_png(kTiny + "/" + item["image"].get<std::string>());
        auto p = c.classify(img);
        ASSERT_EQ(p.size(), 6u);
        for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(p[i], item["probabilities"][i].get<double>(), tol) << item["image"];
    }
}

TEST(Classifier, UltralyticsShapedModelThroughTheManifestScript) {
    const std::string src = EMOCLASS_SOURCE_DIR "/tests/fixtures/ultralytics_like";
    TempDir tmp;
    auto r = run(std::string(PYTHON3_BIN) + " " EMOCLASS_SOURCE_DIR "/scripts/make_manifest.py " + src +
                 "/model.onnx --spectro " + src + "/spectro.json --out " + (tmp / "bundle"));
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto b = classify::load_bundle(tmp / "bundle");
    EXPECT_EQ(b.input.channels, 3);
    EXPECT_EQ(b.input.height, 64);
    EXPECT_EQ(b.spectro.image.colormap, spectro::Colormap::Viridis);
    classify::Classifier c(b);
    auto ref = json::parse(read_bytes(src + "/reference.json"));
    auto p = c.classify(spectro::read_png(src + "/ref_0.png"));
    for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(p[i], ref["images"][0]["probabilities"][i].get<double>(), 1e-5);
    // And a real clip end to end: the 128x128 viridis spectrogram resized to the model's 64x64.
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.0, 16000));
    classify::Analyzer a(b);
    auto res = a.analyze_file(tmp / "a.wav");
    EXPECT_FALSE(res.emotion.empty());
    float sum = 0;
    for (float x : res.probabilities) sum += x;
    EXPECT_NEAR(sum, 1.0f, 1e-5f);
}

TEST(Windows, ShortClipIsOneWindowAndLongAudioIsCoveredToTheEnd) {
    auto b = classify::load_bundle(kTiny);
    classify::Analyzer a(b);
    TempDir tmp;
    write_audio(tmp / "short.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.5, 16000));
    auto r = a.analyze_file(tmp / "short.wav");
    ASSERT_EQ(r.segments.size(), 1u);
    EXPECT_NEAR(r.segments[0].end_s, 1.5, 1e-9);
    // 10.3 s: windows of 2.56 s every 1 s -> starts 0..7, then one aligned to the end.
    write_audio(tmp / "long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(10.3, 16000));
    r = a.analyze_file(tmp / "long.wav");
    ASSERT_EQ(r.segments.size(), 9u);
    EXPECT_DOUBLE_EQ(r.segments[1].start_s, 1.0);
    EXPECT_NEAR(r.segments.back().end_s, 10.3, 1e-9);
    EXPECT_EQ(r.voiced_windows(), 9);
}

TEST(Windows, SilenceIsSkippedNotGuessed) {
    auto b = classify::load_bundle(kTiny);
    classify::Analyzer a(b);
    TempDir tmp;
    // 4 s speech-like, 6 s near silence (-70 dBFS noise), 4 s speech-like.
    auto y = voice_like(4.0, 16000, 3);
    std::vector<float> quiet(16000 * 6);
    std::mt19937 rng(1);
    std::normal_distribution<float> n(0, 0.0003f);
    for (float& q : quiet) q = n(rng);
    y.insert(y.end(), quiet.begin(), quiet.end());
    auto tail = voice_like(4.0, 16000, 4);
    y.insert(y.end(), tail.begin(), tail.end());
    write_audio(tmp / "gap.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, y);
    auto r = a.analyze_file(tmp / "gap.wav");
    int silent = 0;
    for (const auto& s : r.segments) {
        if (!s.voiced) {
            ++silent;
            EXPECT_GT(s.start_s, 3.0);
            EXPECT_LT(s.end_s, 11.0);
            EXPECT_TRUE(s.probabilities.empty());
        }
    }
    EXPECT_GE(silent, 2);
    EXPECT_FALSE(r.emotion.empty());
    // All silence: a defined result with no emotion.
    write_audio(tmp / "zero.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<float>(48000, 0.0f));
    r = a.analyze_file(tmp / "zero.wav");
    EXPECT_TRUE(r.emotion.empty());
    EXPECT_EQ(r.voiced_windows(), 0);
    EXPECT_TRUE(r.probabilities.empty());
}

TEST(Aggregate, MeanOfVoicedWindows) {
    classify::Result r;
    r.labels = {"a", "b"};
    r.segments = {{0, 1, true, {0.9f, 0.1f}}, {1, 2, false, {}}, {2, 3, true, {0.3f, 0.7f}}};
    classify::aggregate(r);
    EXPECT_EQ(r.emotion, "a");
    EXPECT_NEAR(r.confidence, 0.6f, 1e-6);
    EXPECT_NEAR(r.probabilities[1], 0.4f, 1e-6);
}

TEST(Metrics, AccuracyMacroF1AndConfusion) {
    // truth:  a a a b b c ; predicted: a a b b (none) a
    auto rep = classify::evaluate({"a", "b", "c"}, {0, 0, 0, 1, 1, 2}, {0, 0, 1, 1, -1, 0});
    EXPECT_EQ(rep.total, 6);
    EXPECT_EQ(rep.correct, 3);
    EXPECT_EQ(rep.no_speech, 1);
    EXPECT_DOUBLE_EQ(rep.accuracy, 0.5);
    // a: P 2/3 R 2/3 F1 2/3; b: P 1/2 R 1/2 F1 1/2; c: 0 -> macro 7/18
    EXPECT_NEAR(rep.per_class[0].f1, 2.0 / 3, 1e-12);
    EXPECT_NEAR(rep.per_class[1].f1, 0.5, 1e-12);
    EXPECT_NEAR(rep.macro_f1, 7.0 / 18, 1e-12);
    EXPECT_EQ(rep.confusion[1][3], 1);  // the no-speech column
    auto j = json::parse(classify::report_json(rep));
    EXPECT_DOUBLE_EQ(j["accuracy"].get<double>(), 0.5);
    EXPECT_EQ(j["confusion"][0], json({2, 1, 0}));
    EXPECT_NE(classify::report_text(rep).find("accuracy 50.00%"), std::string::npos);
}

// The confusion figure says what it was computed on: the data by name, the split, the count.
TEST(Metrics, ConfusionTitleNamesTheDataAndSplit) {
    auto rep = classify::evaluate({"a", "b"}, {0, 0, 1, 1}, {0, 1, 1, 1});
    EXPECT_EQ(classify::confusion_title("emo6", {"../shared/data/ravdess/", "/x/dataset/manifest.csv"}, "test", rep),
              "ravdess, dataset/manifest.csv, split test: 4 files; emo6: accuracy 75.0%, macro-F1 73.3%");
    EXPECT_EQ(classify::confusion_title("emo6", {"emodb"}, "", rep),
              "emodb: 4 files; emo6: accuracy 75.0%, macro-F1 73.3%");
    EXPECT_EQ(classify::confusion_title("m", {"a", "b", "c", "d", "e"}, "", rep).rfind("a, b, c and 2 more: 4 files", 0),
              0u);
}

TEST(ResultFormat, JsonCsvAndTableCarryTheSameNumbers) {
    classify::Result r;
    r.file = "dir/a,b.wav";
    r.labels = {"angry", "sad"};
    r.duration_s = 3.25;
    r.segments = {{0, 2.56, true, {0.25f, 0.75f}}, {1, 3.25, false, {}}};
    classify::aggregate(r);
    auto j = json::parse(classify::to_json(r, true));
    EXPECT_EQ(j["file"], "dir/a,b.wav");
    EXPECT_EQ(j["emotion"], "sad");
    EXPECT_DOUBLE_EQ(j["probabilities"]["angry"].get<double>(), 0.25);
    EXPECT_EQ(j["segments"].size(), 2u);
    EXPECT_TRUE(j["segments"][1]["emotion"].is_null());
    EXPECT_FALSE(json::parse(classify::to_json(r, false)).contains("segments"));
    EXPECT_EQ(classify::csv_header(r.labels), "file,emotion,confidence,duration_s,voiced_windows,angry,sad,speech");
    EXPECT_EQ(classify::to_csv_row(r), "\"dir/a,b.wav\",sad,0.750000,3.250,1,0.250000,0.750000,true");
    EXPECT_EQ(classify::csv_header(r.labels, true),
              "file,emotion,confidence,duration_s,voiced_windows,angry,sad,speech,row,start_s,end_s");
    EXPECT_EQ(classify::to_csv_rows(r, true),
              "\"dir/a,b.wav\",sad,0.750000,3.250,1,0.250000,0.750000,true,file,0.000,3.250\n"
              "\"dir/a,b.wav\",sad,0.750000,2.560,1,0.250000,0.750000,true,segment,0.000,2.560\n"
              "\"dir/a,b.wav\",,0.000000,2.250,0,,,false,segment,1.000,3.250\n");
    EXPECT_EQ(classify::to_csv_rows(r, false), classify::to_csv_row(r) + "\n");
    EXPECT_NE(classify::to_table_row(r, 20).find("75.0%"), std::string::npos);
}
