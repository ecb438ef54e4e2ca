// emoclass end to end: the real binary, every output format parsed back, train/serve parity
// with spectro-dump's PNG, eval against an independent count, bad input and bad bundles.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "spectro/corpora/csv.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {
const std::string kBin = EMOCLASS_BIN;
const std::string kDump = SPECTRO_DUMP_BIN;
const std::string kTiny = EMOCLASS_SOURCE_DIR "/tests/fixtures/tiny_bundle";
const std::string kModel = " --model " + kTiny + " ";

std::vector<json> jsonl(const std::string& out) {
    std::vector<json> v;
    std::stringstream ss(out);
    for (std::string line; std::getline(ss, line);) v.push_back(json::parse(line));
    return v;
}
}  // namespace

TEST(EmoclassCli, HelpVersionAndUsageErrors) {
    auto h = run(kBin + " --help");
    EXPECT_EQ(h.exit_code, 0);
    for (const char* s : {"--model", "--format", "--segments", "--explain", "eval", "serve", "listen", "Examples"})
        EXPECT_NE(h.out.find(s), std::string::npos) << s;
    auto v = run(kBin + " --version");
    EXPECT_EQ(v.exit_code, 0);
    EXPECT_NE(v.out.find("OpenCV 4."), std::string::npos);
    EXPECT_EQ(run(kBin + kModel).exit_code, 2);
    EXPECT_EQ(run(kBin + kModel + "--format xml x.wav").exit_code, 2);
    EXPECT_EQ(run(kBin + " eval --help").exit_code, 0);
    // --hop 0 / -1 / x: a short line that says what is wanted (it printed DBL_MAX in 309 digits).
    for (const char* sub : {"", "eval ", "listen "})
        for (const char* hop : {"0", "-1", "x"}) {
            auto r = run(kBin + kModel + sub + "--hop " + hop + " x.wav");
            EXPECT_EQ(r.exit_code, 2) << sub << hop;
            EXPECT_NE(r.err.find("--hop: "), std::string::npos) << r.err;
            EXPECT_TRUE(r.err.find("more than 0 seconds") != std::string::npos ||
                        r.err.find("not a number of seconds") != std::string::npos) << r.err;
            EXPECT_LT(r.err.size(), 200u) << r.err;
        }
}

TEST(EmoclassCli, EveryFormatParsesBackAndAgrees) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.0, 16000, 1));
    write_audio(tmp / "b.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 48000, 2, voice_like(7.0, 48000, 2, 220));
    const std::string files = (tmp / "a.wav") + " " + (tmp / "b.flac");
    auto j = run(kBin + kModel + "--format jsonl " + files);
    ASSERT_EQ(j.exit_code, 0) << j.err;
    auto objs = jsonl(j.out);
    ASSERT_EQ(objs.size(), 2u);
    for (const auto& o : objs) {
        double sum = 0;
        for (auto& [k, p] : o["probabilities"].items()) sum += p.get<double>();
        EXPECT_NEAR(sum, 1.0, 1e-4);
        EXPECT_EQ(o["confidence"], o["probabilities"][o["emotion"].get<std::string>()]);
        EXPECT_TRUE(o.contains("segments"));
        EXPECT_TRUE(o.contains("duration_s"));
    }
    EXPECT_NEAR(objs[1]["duration_s"].get<double>(), 7.0, 1e-3);
    EXPECT_GT(objs[1]["segments"].size(), 3u);

    auto c = run(kBin + kModel + "--format csv " + files);
    ASSERT_EQ(c.exit_code, 0);
    std::stringstream ss(c.out);
    std::string header, row;
    std::getline(ss, header);
    EXPECT_EQ(header, "file,emotion,confidence,duration_s,voiced_windows,angry,disgust,fear,happy,neutral,sad,speech");
    for (const auto& o : objs) {
        std::getline(ss, row);
        EXPECT_EQ(row.rfind(o["file"].get<std::string>() + "," + o["emotion"].get<std::string>() + ",", 0), 0u) << row;
    }
    auto t = run(kBin + kModel + "--segments " + files);
    ASSERT_EQ(t.exit_code, 0);
    EXPECT_NE(t.out.find("emotion"), std::string::npos);
    EXPECT_NE(t.out.find(objs[0]["emotion"].get<std::string>()), std::string::npos);
    // Results go to stdout only; the same with --jobs 1 and 2.
    EXPECT_EQ(run(kBin + kModel + "-j 1 --format jsonl " + files).out, j.out);
}

// `--format csv --segments`: the file's row, then one row per window, each telling which it is,
// with the same windows and emotions as the jsonl segments.
TEST(EmoclassCli, CsvWithSegmentsListsEveryWindow) {
    TempDir tmp;
    write_audio(tmp / "long.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(6.0, 16000, 3));
    write_audio(tmp / "short.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.0, 16000, 4));
    const std::string files = (tmp / "long.wav") + " " + (tmp / "short.wav");
    auto objs = jsonl(run(kBin + kModel + "-q --format jsonl " + files).out);
    ASSERT_EQ(objs.size(), 2u);
    auto c = run(kBin + kModel + "-q --format csv --segments " + files);
    ASSERT_EQ(c.exit_code, 0) << c.err;
    auto table = corpora::parse_csv(c.out, "stdout");
    ASSERT_EQ(table.header.back(), "end_s");
    const std::size_t row_col = *table.column("row"), start_col = *table.column("start_s"),
                      end_col = *table.column("end_s"), emotion_col = *table.column("emotion");
    EXPECT_EQ(*table.column("speech"), row_col - 1);  // the plain csv's columns keep their places
    std::size_t at = 0;
    for (const auto& o : objs) {
        ASSERT_LT(at, table.rows.size());
        const auto& file_row = table.rows[at++].fields;
        EXPECT_EQ(file_row[0], o["file"]);
        EXPECT_EQ(file_row[row_col], "file");
        EXPECT_EQ(file_row[emotion_col], o["emotion"]);
        EXPECT_EQ(file_row[start_col], "0.000");
        for (const auto& seg : o["segments"]) {
            ASSERT_LT(at, table.rows.size());
            const auto& f = table.rows[at++].fields;
            EXPECT_EQ(f[0], o["file"]);
            EXPECT_EQ(f[row_col], "segment");
            EXPECT_NEAR(std::stod(f[start_col]), seg["start_s"].get<double>(), 1e-3);
            EXPECT_NEAR(std::stod(f[end_col]), seg["end_s"].get<double>(), 1e-3);
            EXPECT_EQ(f[emotion_col], seg["emotion"].is_null() ? "" : seg["emotion"].get<std::string>());
        }
    }
    EXPECT_EQ(at, table.rows.size());
    EXPECT_GT(objs[0]["segments"].size(), 3u);
    // Without --segments the csv is unchanged: one row per file.
    EXPECT_EQ(corpora::parse_csv(run(kBin + kModel + "-q --format csv " + files).out, "stdout").rows.size(), 2u);
}

TEST(EmoclassCli, TrainServeParityWithSpectroDumpsPng) {
    TempDir tmp;
    write_audio(tmp / "clip.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 44100, 1, voice_like(2.2, 44100, 9));
    // spectro-dump with the bundle's own settings (extracted from model.json).
    auto bundle = json::parse(read_bytes(kTiny + "/model.json"));
    write_bytes(tmp / "spectro.json", bundle["spectro"].dump());
    auto d = run(kDump + " -q --settings " + (tmp / "spectro.json") + " " + (tmp / "clip.wav") + " -o " + (tmp / "png"));
    ASSERT_EQ(d.exit_code, 0) << d.err;
    auto from_audio = jsonl(run(kBin + kModel + "--format jsonl " + (tmp / "clip.wav")).out);
    auto from_png = jsonl(run(kBin + kModel + "--format jsonl " + (tmp / "png/clip.png")).out);
    ASSERT_EQ(from_audio.size(), 1u);
    ASSERT_EQ(from_png.size(), 1u);
    EXPECT_EQ(from_audio[0]["probabilities"], from_png[0]["probabilities"]);
}

// `spectro-dump` and `spectro-dump --inspect` into one folder give two files (the figure used to
// take the model input's name, so the second run skipped it), and emoclass refuses a PNG that is
// not a model input for its bundle, with one line naming the file, and classifies the rest.
TEST(EmoclassCli, InspectionFiguresHaveTheirOwnNameAndAreNotModelInput) {
    TempDir tmp;
    write_audio(tmp / "clip.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.2, 16000, 9));
    auto bundle = json::parse(read_bytes(kTiny + "/model.json"));
    write_bytes(tmp / "spectro.json", bundle["spectro"].dump());
    const std::string settings = " -q --settings " + (tmp / "spectro.json") + " " + (tmp / "clip.wav") + " -o " + (tmp / "png");
    ASSERT_EQ(run(kDump + settings).exit_code, 0);
    auto fig = run(kDump + " --inspect" + settings);
    ASSERT_EQ(fig.exit_code, 0) << fig.err;
    ASSERT_TRUE(fs::exists(tmp / "png/clip.png"));
    ASSERT_TRUE(fs::exists(tmp / "png/clip.inspect.png"));
    auto other = bundle["spectro"];
    other["image"]["frames"] = other["image"]["frames"].get<int>() / 2;  // right height, wrong width
    write_bytes(tmp / "half.json", other.dump());
    ASSERT_EQ(run(kDump + " -q --settings " + (tmp / "half.json") + " " + (tmp / "clip.wav") + " -o " + (tmp / "half")).exit_code, 0);

    auto r = run(kBin + kModel + "--format jsonl " + (tmp / "png/clip.inspect.png") + " " + (tmp / "png/clip.png") + " " +
                 (tmp / "half/clip.png"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.out), 1u) << r.out;  // the model input is classified
    EXPECT_NE(r.out.find("png/clip.png"), std::string::npos) << r.out;
    for (const std::string file : {"png/clip.inspect.png", "half/clip.png"})
        EXPECT_NE(r.err.find(tmp / file + ": not a model-input spectrogram for this model: "), std::string::npos)
            << file << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 3u) << r.err;  // two errors and the summary
}

TEST(EmoclassCli, BadInputsAreReportedAndTheRestIsClassified) {
    TempDir tmp;
    write_audio(tmp / "good.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_bytes(tmp / "empty.wav", "");
    write_bytes(tmp / "text.wav", "hello");
    write_audio(tmp / "full.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_bytes(tmp / "trunc.wav", read_bytes(tmp / "full.wav").substr(0, 5000));
    write_audio(tmp / "silence.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<float>(32000, 0.0f));
    auto r = run(kBin + kModel + "--format jsonl " + (tmp / "empty.wav") + " " + (tmp / "good.wav") + " " +
                 (tmp / "text.wav") + " " + (tmp / "trunc.wav") + " " + (tmp / "missing.wav") + " " + (tmp / "silence.wav"));
    EXPECT_EQ(r.exit_code, 1);
    auto objs = jsonl(r.out);
    ASSERT_EQ(objs.size(), 2u);  // good and silence
    EXPECT_TRUE(objs[1]["emotion"].is_null());
    std::size_t error_lines = 0;
    for (std::size_t p = r.err.find("error: "); p != std::string::npos; p = r.err.find("error: ", p + 1)) ++error_lines;
    EXPECT_EQ(error_lines, 4u) << r.err;
    for (const char* f : {"empty.wav: ", "text.wav: ", "trunc.wav: truncated", "missing.wav: "})
        EXPECT_NE(r.err.find(f), std::string::npos) << f << "\n" << r.err;
    auto bad_model = run(kBin + " --model " + (tmp / "nowhere") + " " + (tmp / "good.wav"));
    EXPECT_EQ(bad_model.exit_code, 1);
    EXPECT_EQ(count_lines(bad_model.err), 1u);
}

// A FIFO or broken link inside an input folder is named in one error line and fails the run;
// the rest is classified (it used to be passed over without a word, exit 0).
TEST(EmoclassCli, FifoAndBrokenLinkInsideAFolderAreNamed) {
    TempDir tmp;
    fs::create_directories(tmp / "in");
    write_audio(tmp / "in/a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(2.0, 16000));
    ASSERT_EQ(mkfifo((tmp / "in/pipe.wav").c_str(), 0644), 0);
    fs::create_symlink("nowhere.flac", tmp / "in/dangling.flac");
    auto r = run(kBin + kModel + "--format jsonl " + (tmp / "in"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_EQ(jsonl(r.out).size(), 1u);
    EXPECT_NE(r.err.find("error: " + (tmp / "in/pipe.wav") + ": a FIFO (named pipe), not a regular file\n"),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("error: " + (tmp / "in/dangling.flac") + ": broken symbolic link\n"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("emoclass: 3 files, 2 failed"), std::string::npos) << r.err;
}

TEST(EmoclassCli, ExplainFigure) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(6.0, 16000));
    auto r = run(kBin + kModel + "--explain " + (tmp / "a.png") + " " + (tmp / "a.wav"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_bytes(tmp / "a.png").substr(1, 3), "PNG");
    EXPECT_EQ(run(kBin + kModel + "--explain x.png a.wav b.wav").exit_code, 2);
    // The extension picks the format; one that names none is a one-line usage error, before any work.
    ASSERT_EQ(run(kBin + kModel + "-q --explain " + (tmp / "a.svg") + " " + (tmp / "a.wav")).exit_code, 0);
    EXPECT_EQ(read_bytes(tmp / "a.svg").rfind("<?xml", 0), 0u);
    EXPECT_NE(read_bytes(tmp / "a.svg").find("<svg"), std::string::npos);
    ASSERT_EQ(run(kBin + kModel + "-q --explain " + (tmp / "a.pdf") + " " + (tmp / "a.wav")).exit_code, 0);
    EXPECT_EQ(read_bytes(tmp / "a.pdf").rfind("%PDF-", 0), 0u);
    auto jpg = run(kBin + kModel + "-q --explain " + (tmp / "a.jpg") + " " + (tmp / "a.wav"));
    EXPECT_EQ(jpg.exit_code, 2);
    EXPECT_EQ(count_lines(jpg.err), 1u) << jpg.err;
    EXPECT_NE(jpg.err.find("a.jpg: "), std::string::npos) << jpg.err;
    EXPECT_FALSE(fs::exists(tmp / "a.jpg"));
}

TEST(EmoclassCli, EvalAgreesWithAnIndependentCountOfJsonl) {
    TempDir tmp;
    const char* codes[] = {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"};
    const char* labels[] = {"angry", "disgust", "fear", "happy", "neutral", "sad"};
    fs::create_directories(tmp / "c");
    for (int s = 0; s < 3; ++s)
        for (int e = 0; e < 6; ++e)
            write_audio(tmp / ("c/" + std::to_string(1001 + s) + "_IEO_" + codes[e] + "_XX.wav"),
                        SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0 + 0.3 * e, 16000, unsigned(s * 6 + e), 100 + 30 * e));
    write_audio(tmp / "c/03-01-02-01-01-01-01.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto e = run(kBin + kModel + "eval --json -q " + (tmp / "c") + " --confusion-png " + (tmp / "cm.png"));
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto rep = json::parse(e.out);
    EXPECT_EQ(rep["files"], 18);
    EXPECT_EQ(rep["skipped_outside_labels"], 1);  // RAVDESS calm
    auto j = jsonl(run(kBin + kModel + "--format jsonl -q " + (tmp / "c")).out);
    int correct = 0, total = 0;
    std::map<std::string, std::map<std::string, int>> confusion;
    for (const auto& o : j) {
        std::string name = fs::path(o["file"].get<std::string>()).filename().string();
        if (name.rfind("03-", 0) == 0) continue;
        std::string truth;
        for (int k = 0; k < 6; ++k)
            if (name.find(std::string("_") + codes[k] + "_") != std::string::npos) truth = labels[k];
        ++total;
        correct += o["emotion"] == truth;
        confusion[truth][o["emotion"]]++;
    }
    EXPECT_EQ(total, 18);
    EXPECT_EQ(rep["correct"], correct);
    EXPECT_DOUBLE_EQ(rep["accuracy"].get<double>(), double(correct) / total);
    for (int t = 0; t < 6; ++t)
        for (int p = 0; p < 6; ++p) EXPECT_EQ(rep["confusion"][t][p], confusion[labels[t]][labels[p]]);
    EXPECT_EQ(read_bytes(tmp / "cm.png").substr(1, 3), "PNG");
    auto text = run(kBin + kModel + "eval -q " + (tmp / "c"));
    EXPECT_NE(text.out.find("macro-F1"), std::string::npos);
    EXPECT_NE(text.out.find("confusion"), std::string::npos);
}
