// `emoclass eval` with CSV manifests and the model's training_data: labels, speakers and corpora
// from the CSV, bad rows reported by line, the seen-speaker warning, and new / val / train
// speakers reported apart (checked against an independent count of the predictions).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "classify/bundle.hpp"
#include "spectro/corpora/csv.hpp"
#include "spectro/error.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kBin = EMOCLASS_BIN;
const std::string kTiny = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";
const std::string kDefault = EMOCLASS_SOURCE_DIR "/models/default";

std::vector<json> read_jsonl(const std::string& path) {
    std::vector<json> v;
    std::stringstream ss(read_bytes(path));
    for (std::string line; std::getline(ss, line);) v.push_back(json::parse(line));
    return v;
}

// Accuracy per speaker group, counted from --predictions independently of eval's own sums.
std::map<std::string, std::pair<int, int>> correct_and_total_by_group(const std::vector<json>& predictions) {
    std::map<std::string, std::pair<int, int>> out;
    for (const auto& p : predictions) {
        auto& ct = out[p["speakers"].get<std::string>()];
        ct.first += p["emotion"] == p["label"];
        ++ct.second;
    }
    return out;
}

// A copy of the tiny test bundle that records `training_data`.
std::string bundle_with_record(const TempDir& tmp, const json& record) {
    const std::string dir = tmp / "bundle";
    fs::create_directories(dir);
    fs::copy_file(kTiny + "/model.onnx", dir + "/model.onnx");
    auto j = json::parse(read_bytes(kTiny + "/model.json"));
    j["training_data"] = record;
    write_bytes(dir + "/model.json", j.dump(2));
    return dir;
}
}  // namespace

TEST(Bundle, TrainingDataIsReadAndChecked) {
    auto base = json::parse(read_bytes(kTiny + "/model.json"));
    auto with = [&](const json& td) {
        auto j = base;
        j["training_data"] = td;
        return j.dump();
    };
    auto b = classify::parse_bundle_json(
        with({{"train", {{"ravdess", {"01", "02"}}}}, {"val", {{"ravdess", {"15"}}}}, {"test", {{"ravdess", {"05"}}}}}), "m");
    EXPECT_EQ(b.training_data.split_of("ravdess", "01"), "train");
    EXPECT_EQ(b.training_data.split_of("ravdess", "15"), "val");
    EXPECT_EQ(b.training_data.split_of("ravdess", "05"), "test");
    EXPECT_EQ(b.training_data.split_of("ravdess", "21"), "");
    EXPECT_EQ(b.training_data.split_of("crema-d", "01"), "");
    EXPECT_TRUE(classify::parse_bundle_json(base.dump(), "m").training_data.empty());
    auto error_of = [&](const json& td) {
        try {
            classify::parse_bundle_json(with(td), "m");
        } catch (const emoclass::Error& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_EQ(error_of({{"train", {{"ravdess", {"01"}}}}, {"val", {{"ravdess", {"01"}}}}}),
              "m/model.json: training_data: speaker '01' of ravdess is in train and val");
    EXPECT_EQ(error_of({{"training", {{"ravdess", {"01"}}}}}),
              "m/model.json: training_data: unknown split 'training' (train, val or test)");
    EXPECT_EQ(error_of({{"train", {{"ravdess", "01"}}}}), "m/model.json: training_data.train.ravdess must be a list of speakers");
    EXPECT_EQ(error_of({{"train", {{"ravdess", {""}}}}}), "m/model.json: training_data.train.ravdess must hold non-empty strings");
    EXPECT_EQ(error_of(json::array()), "m/model.json: key 'training_data' must be an object");
    // The shipped bundle carries its record: 81 training, 11 validation and 16 test speakers.
    auto shipped = classify::load_bundle(kDefault);
    std::map<std::string, std::size_t> speakers;
    for (const auto& [split, corpora] : shipped.training_data.splits)
        for (const auto& [corpus, s] : corpora) speakers[split] += s.size();
    EXPECT_EQ(speakers, (std::map<std::string, std::size_t>{{"test", 16}, {"train", 81}, {"val", 11}}));
}

TEST(EvalManifest, CsvGivesLabelsSpeakersAndCorporaAndSeenSpeakersAreReportedApart) {
    TempDir tmp;
    // Clips whose names say nothing, in folders with a comma and a space; the CSV says who and what.
    const char* labels[] = {"angry", "disgust", "fear", "happy", "neutral", "sad"};
    const char* speakers[] = {"alice", "bob", "carol"};  // trained on, validated on, new
    std::string csv = "speaker,path,label,corpus,comment\n";
    int n = 0;
    for (int s = 0; s < 3; ++s)
        for (int e = 0; e < 6; ++e) {
            const std::string rel = std::string("day ") + std::to_string(s) + ", room b/clip" + std::to_string(++n) + ".wav";
            fs::create_directories(fs::path(tmp / ("data/" + rel)).parent_path());
            write_audio(tmp / ("data/" + rel), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1,
                        voice_like(1.0 + 0.3 * e, 16000, unsigned(s * 6 + e), 100 + 30 * e));
            csv += std::string(speakers[s]) + "," + corpora::csv_field(rel) + "," + labels[e] + ",mine," +
                   (n == 2 ? "\"loud,\nthen \"\"quiet\"\"\"" : "") + "\n";
        }
    csv += "dave,\"day 0, room b/clip1.wav\",grumpy,mine,\n";  // line 21 (row 2 spans two lines): bad
    write_bytes(tmp / "data/list.csv", csv);
    const std::string bundle =
        bundle_with_record(tmp, {{"train", {{"mine", {"alice"}}}}, {"val", {{"mine", {"bob"}}}}, {"test", {{"mine", {"carol"}}}}});

    auto r = run(kBin + " --model " + bundle + " eval -q --json --manifest " + (tmp / "data/list.csv") +
                 " --predictions " + (tmp / "p.jsonl"));
    EXPECT_EQ(r.exit_code, 1) << r.err;  // the bad row; every other file is evaluated
    EXPECT_NE(r.err.find("error: " + (tmp / "data/list.csv") + ":21: unknown emotion 'grumpy'\n"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("warning: 12 of 18 files are from speakers tiny-test-bundle was trained on (6) or validated on (6)"),
              std::string::npos)
        << r.err;
    auto rep = json::parse(r.out);
    EXPECT_EQ(rep["files"], 18);
    EXPECT_EQ(rep["failed"], 1);
    ASSERT_TRUE(rep.contains("warning"));
    auto preds = read_jsonl(tmp / "p.jsonl");
    ASSERT_EQ(preds.size(), 18u);
    for (const auto& p : preds) {
        EXPECT_EQ(p["corpus"], "mine");
        const std::string want = p["speaker"] == "alice" ? "train" : p["speaker"] == "bob" ? "val" : "new";
        EXPECT_EQ(p["speakers"], want) << p.dump();
    }
    for (const auto& [group, ct] : correct_and_total_by_group(preds)) {
        EXPECT_EQ(rep["speakers"][group]["files"], ct.second) << group;
        EXPECT_DOUBLE_EQ(rep["speakers"][group]["accuracy"].get<double>(), double(ct.first) / ct.second) << group;
        EXPECT_TRUE(rep["speakers"][group].contains("macro_f1"));
    }
    // Labels come from the CSV: the per-class support is three clips each.
    for (const char* label : labels) EXPECT_EQ(rep["per_class"][label]["support"], 3) << label;

    // The text report gives each group's figures; a CSV given as an input works like --manifest.
    auto text = run(kBin + " --model " + bundle + " eval -q " + (tmp / "data/list.csv"));
    EXPECT_EQ(text.exit_code, 1);
    for (const char* line : {"new speakers (never trained on)  files     6", "validation speakers              files     6",
                             "training speakers                files     6"})
        EXPECT_NE(text.out.find(line), std::string::npos) << text.out;
    EXPECT_NE(text.err.find("warning: 12 of 18 files"), std::string::npos) << text.err;

    // Only new speakers: no warning. A bundle without a record: no groups, and it says so.
    std::string only_new = "path,label,speaker\n";
    for (int e = 0; e < 6; ++e) only_new += "\"day 2, room b/clip" + std::to_string(13 + e) + ".wav\"," + labels[e] + ",carol\n";
    write_bytes(tmp / "data/new.csv", only_new);
    auto fresh = run(kBin + " --model " + bundle + " eval -q --json " + (tmp / "data/new.csv"));
    EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_EQ(fresh.err.find("warning"), std::string::npos) << fresh.err;
    EXPECT_EQ(json::parse(fresh.out)["files"], 6);
    auto plain = run(kBin + " --model " + kTiny + " eval -q " + (tmp / "data/new.csv"));
    EXPECT_EQ(plain.exit_code, 0) << plain.err;
    EXPECT_NE(plain.out.find("records no training_data"), std::string::npos) << plain.out;
    // --split needs spectro-dump's manifest; a CSV of neither kind is refused whole.
    auto split = run(kBin + " --model " + kTiny + " eval -q --manifest " + (tmp / "data/new.csv") + " --split test");
    EXPECT_EQ(split.exit_code, 1);
    EXPECT_NE(split.err.find("--split needs spectro-dump's manifest.csv"), std::string::npos) << split.err;
    write_bytes(tmp / "data/odd.csv", "file,emotion\nx.wav,sad\n");
    auto odd = run(kBin + " --model " + kTiny + " eval -q " + (tmp / "data/odd.csv"));
    EXPECT_EQ(odd.exit_code, 1);
    EXPECT_NE(odd.err.find("odd.csv: needs the columns path,label,speaker"), std::string::npos) << odd.err;
}

TEST(EvalManifest, ShippedModelWarnsOnSeenRealSpeakersAndReportsTheNewApart) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the seen-speaker report was not checked on real speech";
    TempDir tmp;
    // Real clips: RAVDESS actor 01 and CREMA-D 1002 (training speakers of the shipped model),
    // actor 15 (validation), actor 05 and CREMA-D 1008 (test speakers: new to the model).
    const std::vector<std::string> clips = {
        "ravdess/Actor_01/03-01-05-02-01-01-01.flac", "ravdess/Actor_01/03-01-04-01-02-01-01.flac",
        "crema-d/1002_DFA_ANG_XX.opus",               "crema-d/1002_DFA_SAD_XX.opus",
        "ravdess/Actor_15/03-01-03-01-01-01-15.flac", "ravdess/Actor_05/03-01-05-02-01-01-05.flac",
        "ravdess/Actor_05/03-01-06-01-02-02-05.flac", "crema-d/1008_IEO_HAP_HI.opus",
        "crema-d/1008_TIE_NEU_XX.opus"};
    // As a corpus manifest: MANIFEST.csv's own rows for these clips, paths made absolute.
    auto table = corpora::read_csv(data + "/MANIFEST.csv");
    std::string csv;
    for (const auto& h : table.header) csv += (csv.empty() ? "" : ",") + h;
    csv += "\n";
    std::vector<std::string> files;
    for (const auto& row : table.rows)
        if (std::find(clips.begin(), clips.end(), row.fields[0]) != clips.end()) {
            std::string line = corpora::csv_field(data + "/" + row.fields[0]);
            for (std::size_t i = 1; i < row.fields.size(); ++i) line += "," + corpora::csv_field(row.fields[i]);
            csv += line + "\n";
            files.push_back(data + "/" + row.fields[0]);
        }
    ASSERT_EQ(files.size(), clips.size());
    write_bytes(tmp / "subset.csv", csv);

    auto by_csv = run(kBin + " eval -q --json " + (tmp / "subset.csv") + " --predictions " + (tmp / "p.jsonl"));
    ASSERT_EQ(by_csv.exit_code, 0) << by_csv.err;
    EXPECT_NE(by_csv.err.find("warning: 5 of 9 files are from speakers emo6-yolov8n-128 was trained on (4) or "
                              "validated on (1)"),
              std::string::npos)
        << by_csv.err;
    auto rep = json::parse(by_csv.out);
    EXPECT_EQ(rep["speakers"]["new"]["files"], 4);
    EXPECT_EQ(rep["speakers"]["val"]["files"], 1);
    EXPECT_EQ(rep["speakers"]["train"]["files"], 4);
    for (const auto& [group, ct] : correct_and_total_by_group(read_jsonl(tmp / "p.jsonl")))
        EXPECT_DOUBLE_EQ(rep["speakers"][group]["accuracy"].get<double>(), double(ct.first) / ct.second) << group;

    // The same files by name give the same report.
    std::string names;
    for (const auto& f : files) names += " " + f;
    auto by_name = run(kBin + " eval -q --json" + names);
    ASSERT_EQ(by_name.exit_code, 0) << by_name.err;
    EXPECT_EQ(json::parse(by_name.out)["speakers"], rep["speakers"]);
    auto text = run(kBin + " eval -q" + names);
    EXPECT_NE(text.out.find("new speakers (never trained on)  files     4"), std::string::npos) << text.out;
    EXPECT_NE(text.err.find("warning: 5 of 9 files"), std::string::npos) << text.err;
}
