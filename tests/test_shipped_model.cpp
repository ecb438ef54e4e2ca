// The shipped default model (models/default): it loads through the bundle checks, it is the
// six-emotion model its card describes, and emoclass, finding it by itself, classifies known
// recordings of held-out (test-split) speakers from ../shared/data as they were labelled.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/bundle.hpp"
#include "classify/classifier.hpp"
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

TEST(ShippedModel, EmoclassFindsItAndClassifiesKnownHeldOutClips) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the shipped model was not checked on real speech";
    const std::vector<KnownClip> known = known_clips();
    ASSERT_EQ(known.size(), 6u) << "tests/known_clips.txt: one clip per emotion";
    std::string files;
    for (const auto& k : known) files += " '" + data + "/" + k.path + "'";
    // No --model and no EMOCLASS_MODEL: the default lookup must find models/default.
    auto r = run("env -u EMOCLASS_MODEL " EMOCLASS_BIN " -q -j 1 --format jsonl" + files);
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
