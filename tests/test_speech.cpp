// Speech, not sound: files holding only tones, chords, noise, clicks, DC, square waves, hum, music
// or a single sample give an explicit "no speech" result (exit 0) in every output format and in
// `emoclass listen`; real speech still gives an emotion; top_k limits the listed probabilities
// everywhere. The real emoclass binary and the shipped model, on real files.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/result_format.hpp"
#include "nonspeech_signals.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kBin = EMOCLASS_BIN;

std::vector<json> jsonl(const std::string& out) {
    std::vector<json> v;
    std::stringstream ss(out);
    for (std::string line; std::getline(ss, line);) v.push_back(json::parse(line));
    return v;
}

// The sounds every detector setting must reject, written as real 16-bit WAV files.
const std::vector<std::string> kRejected = {"silence", "dc",          "tone",       "chord",  "square",
                                            "hum",     "white_noise", "pink_noise", "brown_noise",
                                            "clicks",  "buzz",        "melody",     "tone_in_noise"};

std::string write_fixtures(const TempDir& tmp) {
    std::string files;
    for (const auto& kind : kRejected) {
        write_audio(tmp / (kind + ".wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1,
                    nonspeech::make(kind, 4.0, 16000, 7));
        files += " " + (tmp / (kind + ".wav"));
    }
    write_audio(tmp / "one_sample.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, {0.5f});
    return files + " " + (tmp / "one_sample.wav");
}
}  // namespace

TEST(NoSpeech, GeneratedSoundsAreNoSpeechInEveryFormat) {
    TempDir tmp;
    const std::string files = write_fixtures(tmp);
    const std::size_t n = kRejected.size() + 1;

    auto j = run(kBin + " --format jsonl -q" + files);
    EXPECT_EQ(j.exit_code, 0) << "no speech is a result, not an error: " << j.err;
    auto objs = jsonl(j.out);
    ASSERT_EQ(objs.size(), n);
    for (const auto& o : objs) {
        EXPECT_EQ(o["speech"], false) << o.dump();
        EXPECT_TRUE(o["emotion"].is_null()) << o.dump();
        EXPECT_EQ(o["voiced_windows"], 0) << o.dump();
        EXPECT_TRUE(o["probabilities"].empty());
        for (const auto& s : o["segments"]) EXPECT_EQ(s["speech"], false) << o["file"];
    }

    auto c = run(kBin + " --format csv -q" + files);
    EXPECT_EQ(c.exit_code, 0);
    std::stringstream ss(c.out);
    std::string header, row;
    std::getline(ss, header);
    EXPECT_EQ(header.substr(header.rfind(',') + 1), "speech");
    std::size_t rows = 0;
    while (std::getline(ss, row)) {
        ++rows;
        EXPECT_EQ(row.substr(row.rfind(',') + 1), "false") << row;
    }
    EXPECT_EQ(rows, n);

    auto t = run(kBin + " -q" + files);
    EXPECT_EQ(t.exit_code, 0);
    std::size_t said = 0;
    for (std::size_t at = 0; (at = t.out.find(classify::kNoSpeechText, at)) != std::string::npos; ++at) ++said;
    EXPECT_EQ(said, n) << t.out;
}

TEST(NoSpeech, ListenSaysNoSpeechForAToneStream) {
    TempDir tmp;
    auto y = nonspeech::make("chord", 5.0, 16000, 3);
    std::string pcm(y.size() * 2, '\0');
    for (std::size_t i = 0; i < y.size(); ++i) {
        const auto v = std::int16_t(std::lround(std::clamp(y[i], -1.0f, 1.0f) * 32767));
        pcm[2 * i] = char(v & 0xff);
        pcm[2 * i + 1] = char((v >> 8) & 0xff);
    }
    write_bytes(tmp / "chord.raw", pcm);
    auto r = run(kBin + " listen --format jsonl - < " + (tmp / "chord.raw"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = jsonl(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out;
    EXPECT_EQ(lines[0]["speech"], false);
    EXPECT_NEAR(lines[0]["end_s"].get<double>(), 5.0, 1e-3);
    auto text = run(kBin + " listen - < " + (tmp / "chord.raw"));
    EXPECT_NE(text.out.find("(no speech)"), std::string::npos) << text.out;
}

TEST(NoSpeech, RealSpeechStillGetsAnEmotionWithSegmentProbabilitiesAndTopK) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: real speech was not checked";
    // Held-out clips of four corpora (test-split speakers where the corpus has them).
    const std::vector<std::string> clips = {
        "ravdess/Actor_13/03-01-05-01-01-02-13.flac", "crema-d/1013_IEO_SAD_HI.opus", "emodb/03a01Fa.flac",
        "tess/OAF_neutral/OAF_wife_neutral.flac"};
    std::string files;
    for (const auto& c : clips) files += " '" + data + "/" + c + "'";
    auto j = run(kBin + " --format jsonl -q" + files);
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto objs = jsonl(j.out);
    ASSERT_EQ(objs.size(), clips.size());
    for (const auto& o : objs) {
        EXPECT_EQ(o["speech"], true) << o["file"];
        ASSERT_TRUE(o["emotion"].is_string()) << o.dump();
        EXPECT_EQ(o["probabilities"].size(), 6u);
        for (const auto& s : o["segments"]) {
            if (!s["speech"].get<bool>()) continue;
            double sum = 0;
            for (auto& [label, p] : s["probabilities"].items()) sum += p.get<double>();
            EXPECT_NEAR(sum, 1.0, 1e-4) << s.dump();
            EXPECT_EQ(s["confidence"], s["probabilities"][s["emotion"].get<std::string>()]);
        }
    }
    // --top-k 2: the two most probable (the emotion among them), in the file and in every window.
    auto k = jsonl(run(kBin + " --format jsonl -q --top-k 2" + files).out);
    ASSERT_EQ(k.size(), clips.size());
    for (std::size_t i = 0; i < k.size(); ++i) {
        EXPECT_EQ(k[i]["emotion"], objs[i]["emotion"]);
        ASSERT_EQ(k[i]["probabilities"].size(), 2u);
        EXPECT_EQ(k[i]["probabilities"][k[i]["emotion"].get<std::string>()], k[i]["confidence"]);
        for (const auto& s : k[i]["segments"])
            if (s["speech"].get<bool>()) EXPECT_EQ(s["probabilities"].size(), 2u);
    }
    auto c = run(kBin + " --format csv -q --top-k 1" + files);
    std::stringstream ss(c.out);
    std::string line;
    std::getline(ss, line);
    while (std::getline(ss, line)) {
        std::size_t filled = 0;
        std::stringstream cells(line.substr(line.find(',')));
        std::vector<std::string> v;
        for (std::string cell; std::getline(cells, cell, ',');) v.push_back(cell);
        for (std::size_t i = 5; i + 1 < v.size(); ++i) filled += v[i].empty() ? 0 : 1;
        EXPECT_EQ(filled, 1u) << line;
        EXPECT_EQ(v.back(), "true");
    }
}

TEST(ResultFormat, TopKListsTheMostProbableFirst) {
    EXPECT_EQ(classify::listed_labels({0.1f, 0.6f, 0.3f}, 0), (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(classify::listed_labels({0.1f, 0.6f, 0.3f}, 2), (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(classify::listed_labels({0.1f, 0.6f, 0.3f}, 9), (std::vector<std::size_t>{1, 2, 0}));
    EXPECT_TRUE(classify::listed_labels({}, 3).empty());
    classify::Result r;
    r.labels = {"a", "b", "c"};
    r.segments = {{0, 1, true, {0.1f, 0.6f, 0.3f}}, {1, 2, false, {}}};
    auto j = json::parse(classify::to_json(r, true, -1, 1));
    EXPECT_EQ(j["speech"], true);
    EXPECT_EQ(j["segments"][0]["probabilities"], json({{"b", 0.6}}));
    EXPECT_EQ(j["segments"][1]["speech"], false);
    EXPECT_NE(classify::segments_table(r, 2).find("b 60.0%, c 30.0%"), std::string::npos);
    EXPECT_NE(classify::segments_table(r).find("(no speech)"), std::string::npos);
}
