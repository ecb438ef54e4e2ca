// The shipped default model (models/default): it loads through the bundle checks, it is the
// six-emotion model its card describes, and emoclass, finding it by itself, classifies known
// recordings of held-out (test-split) speakers from ../shared/data as they were labelled.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/bundle.hpp"
#include "classify/analyzer.hpp"
#include "classify/classifier.hpp"
#include "classify/result.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kDefault = EMOCLASS_SOURCE_DIR "/models/default";

// One clip per emotion from speakers the model never trained on (test split of
// `spectro-dump --dataset ../shared/data`; see the model card), each classified correctly by
// the shipped model: tests/known_clips.txt, shared with the demo and the robustness check.
struct KnownClip {
    std::string path;  // relative to ../shared/data
    std::string emotion;
};
std::vector<KnownClip> known_clips() {
    std::ifstream in(EMOCLASS_SOURCE_DIR "/tests/known_clips.txt");
    std::vector<KnownClip> out;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream fields(line);
        KnownClip k;
        if (fields >> k.path >> k.emotion) out.push_back(k);
    }
    return out;
}
}  // namespace

TEST(ShippedModel, LoadsAsTheSixEmotionModelOfItsCard) {
    const classify::ModelBundle b = classify::load_bundle(kDefault);  // every bundle check runs
    EXPECT_EQ(b.labels, (std::vector<std::string>{"angry", "disgust", "fear", "happy", "neutral", "sad"}));
    EXPECT_TRUE(b.outputs_probabilities);
    EXPECT_EQ(b.input.channels, 1);
    EXPECT_EQ(b.input.height, 128);
    EXPECT_EQ(b.input.width, 128);
    EXPECT_EQ(b.spectro.sample_rate, 16000);
    EXPECT_EQ(b.spectro.n_mels, 128);
    EXPECT_EQ(b.spectro.image.frames, 128);
    classify::Classifier c(b);  // the warm-up pass checks the output size against the labels
}

namespace {
void classifies_known_held_out_clips(const std::string& flags) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the shipped model was not checked on real speech";
    const std::vector<KnownClip> known = known_clips();
    ASSERT_EQ(known.size(), 6u) << "tests/known_clips.txt: one clip per emotion";
    std::string files;
    for (const auto& k : known) files += " '" + data + "/" + k.path + "'";
    // No --model and no EMOCLASS_MODEL: the default lookup must find models/default.
    auto r = run("env -u EMOCLASS_MODEL " EMOCLASS_BIN " -q -j 1 --format jsonl" + flags + files);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::stringstream ss(r.out);
    std::size_t i = 0;
    for (std::string line; std::getline(ss, line); ++i) {
        ASSERT_LT(i, known.size());
        const json j = json::parse(line);
        EXPECT_EQ(j["file"].get<std::string>(), data + "/" + known[i].path);
        EXPECT_EQ(j["emotion"], known[i].emotion) << known[i].path << ": " << line;
        double sum = 0;
        for (const auto& [label, p] : j["probabilities"].items()) sum += p.get<double>();
        EXPECT_NEAR(sum, 1.0, 1e-4);
    }
    EXPECT_EQ(i, known.size());
}
}  // namespace

TEST(ShippedModel, EmoclassFindsItAndClassifiesKnownHeldOutClips) { classifies_known_held_out_clips(""); }

// The int8 network (model.json's int8_model, scripts/quantize_bundle.py) is the same model: the
// same answers on the known clips, and on the committed speech fixtures the same top class with
// probabilities within 0.15 of model.onnx's (quantisation moves them by up to 0.11 on the 1,514
// validation images, docs/benchmarks.md).
TEST(ShippedModel, Int8NetworkClassifiesKnownHeldOutClips) { classifies_known_held_out_clips(" --int8"); }

TEST(ShippedModel, Int8NetworkAgreesWithModelOnnxOnSpeech) {
    const classify::ModelBundle b = classify::load_bundle(kDefault);
    ASSERT_FALSE(b.int8_file.empty()) << "the shipped model.json names no int8_model";
    const classify::ModelBundle b8 = classify::use_int8(b);
    EXPECT_EQ(b8.onnx_path(), b.dir + "/" + b.int8_file);
    classify::Analyzer fp32(b), int8(b8);
    for (const char* name : {"speech_16k.wav", "speech_22050.wav", "speech_8k.wav"}) {
        const std::string path = EMOCLASS_SOURCE_DIR "/tests/fixtures/parity/" + std::string(name);
        const auto a = fp32.analyze_file(path), q = int8.analyze_file(path);
        ASSERT_EQ(a.probabilities.size(), q.probabilities.size());
        ASSERT_FALSE(a.probabilities.empty()) << name;
        EXPECT_EQ(classify::most_probable(a.probabilities), classify::most_probable(q.probabilities)) << name;
        for (std::size_t k = 0; k < a.probabilities.size(); ++k)
            EXPECT_NEAR(a.probabilities[k], q.probabilities[k], 0.15) << name << " label " << k;
    }
}
