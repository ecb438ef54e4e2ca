// Corpus file-name parsers and the speaker-independent split.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "spectro/audio_folder.hpp"
#include "spectro/corpora/corpus.hpp"
#include "spectro/corpora/csv.hpp"
#include "spectro/error.hpp"
#include "test_support.hpp"

using corpora::parse_labeled_path;
namespace fs = std::filesystem;

namespace {
corpora::LabeledFile parse(const std::string& path) {
    auto f = parse_labeled_path(path, corpora::LabelMapping());
    EXPECT_TRUE(f.has_value()) << path;
    return f.value_or(corpora::LabeledFile{});
}
}  // namespace

TEST(Corpus, ParsesEveryCorpusNamingScheme) {
    struct Want {
        const char* path;
        const char* corpus;
        const char* speaker;
        const char* original;
        const char* label;
    } cases[] = {
        {"ravdess/Actor_12/03-01-06-01-02-01-12.flac", "ravdess", "12", "fear", "fear"},
        {"x/03-01-02-02-01-01-07.wav", "ravdess", "07", "calm", ""},
        {"x/03-01-08-02-01-01-07.wav", "ravdess", "07", "surprised", ""},
        {"crema-d/1002_DFA_ANG_XX.opus", "crema-d", "1002", "angry", "angry"},
        {"crema-d/1091_IEO_SAD_HI.wav", "crema-d", "1091", "sad", "sad"},
        {"tess/OAF_Fear/OAF_back_fear.flac", "tess", "OAF", "fear", "fear"},
        {"tess/YAF_pleasant_surprised/YAF_bath_ps.wav", "tess", "YAF", "pleasant_surprise", ""},
        {"tess/YAF_angry/YAF_germ_angry.wav", "tess", "YAF", "angry", "angry"},
        {"emodb/03a01Wa.flac", "emodb", "03", "angry", "angry"},
        {"emodb/16b10Lb.wav", "emodb", "16", "boredom", ""},
        {"emodb/08a02Ed.wav", "emodb", "08", "disgust", "disgust"},
        {"savee/DC/a01.wav", "savee", "DC", "angry", "angry"},
        {"savee/JE/sa15.wav", "savee", "JE", "sad", "sad"},
        {"savee/KL_su03.wav", "savee", "KL", "surprised", ""},
        {"savee/JK_n30.wav", "savee", "JK", "neutral", "neutral"},
        {"mine/bob/Happy/take1.wav", "folder", "bob", "happy", "happy"},
        {"mine/alice/fearful/x.ogg", "folder", "alice", "fear", "fear"},
    };
    for (const auto& w : cases) {
        auto f = parse(w.path);
        EXPECT_EQ(f.corpus, w.corpus) << w.path;
        EXPECT_EQ(f.speaker, w.speaker) << w.path;
        EXPECT_EQ(f.original_label, w.original) << w.path;
        EXPECT_EQ(f.label, w.label) << w.path;
    }
    EXPECT_FALSE(parse_labeled_path("some/where/recording.wav", corpora::LabelMapping()).has_value());
}

TEST(Corpus, ParsesTheNewCorporaNames) {
    // Real names from ../shared/data/MANIFEST.csv (first, last and a middle one of each corpus).
    struct Want {
        const char* path;
        const char* corpus;
        const char* speaker;
        const char* original;
    } cases[] = {
        {"nemo/EB0_anger_1.opus", "nemo", "EB0", "angry"},
        {"nemo/MP0_fear_104.opus", "nemo", "MP0", "fear"},
        {"nemo/KS0_happiness_27.opus", "nemo", "KS0", "happy"},
        {"nemo/IC0_neutral_3.opus", "nemo", "IC0", "neutral"},
        {"nemo/WR0_sadness_90.opus", "nemo", "WR0", "sad"},
        {"nemo/SM0_surprised_5.wav", "nemo", "SM0", "surprised"},  // in the full nEMO, not in ../shared/data
        {"korean/ema/ema00001.opus", "korean", "ema", "neutral"},
        {"korean/nea/nea00100.opus", "korean", "nea", "neutral"},
        {"korean/nea/nea00101.opus", "korean", "nea", "happy"},
        {"korean/nea/nea00215.opus", "korean", "nea", "angry"},
        {"korean/neo/neo00305.opus", "korean", "neo", "sad"},
        {"turev/Angry/1157_kz_acik.opus", "turev", "1157", "angry"},
        {"turev/Happy/1234_mt_beste.opus", "turev", "1234", "happy"},
        {"turev/Sad/7895_hl_zeytin.opus", "turev", "7895", "sad"},
    };
    for (const auto& w : cases) {
        auto f = parse(w.path);
        EXPECT_EQ(f.corpus, w.corpus) << w.path;
        EXPECT_EQ(f.speaker, w.speaker) << w.path;
        EXPECT_EQ(f.original_label, w.original) << w.path;
        EXPECT_EQ(f.label, w.original == std::string("surprised") ? "" : w.original) << w.path;
    }
    // Lookalikes are not taken for these corpora: a Korean number outside 1-400 or in another
    // speaker's folder, an unknown TurEV code (the folder then names the emotion, as for any folder).
    EXPECT_FALSE(parse_labeled_path("korean/nea/nea00401.opus", corpora::LabelMapping()).has_value());
    EXPECT_FALSE(parse_labeled_path("korean/neb/nea00001.opus", corpora::LabelMapping()).has_value());
    auto folder = parse("mine/bob/Happy/12_xx_take.wav");
    EXPECT_EQ(folder.corpus, "folder");
    EXPECT_EQ(folder.speaker, "bob");
}

TEST(Corpus, ManifestRowsWithQuotingRelativePathsAndBadRows) {
    test_support::TempDir tmp;
    fs::create_directories(tmp / "my corpus");
    test_support::write_bytes(tmp / "my corpus/labels.csv",
                              "id,path,speaker,label,notes\n"
                              "1,a.wav,s1,Anger,\n"                                // word normalised, path relative
                              "2,\"takes, day 2/b.wav\",s2,sad,\"said \"\"hi\"\"\nthen left\"\n"
                              "3,c.wav,s1,calm,\n"                                 // mapped out by default
                              "4,d.wav,s3,,\n"                                     // no label
                              "5,e.wav,,happy,\n"                                  // bad: no speaker
                              "6,f.wav,s1,grumpy,\n"                               // bad: unknown emotion
                              "7,g.wav,s1\n"                                       // bad: too few fields
                              "8,/abs/h.wav,s4,fearful,\n");
    auto m = corpora::read_manifest(tmp / "my corpus/labels.csv", corpora::LabelMapping());
    EXPECT_FALSE(m.is_dataset);
    ASSERT_EQ(m.entries.size(), 5u);
    EXPECT_EQ(m.entries[0].file.path, tmp / "my corpus/a.wav");
    EXPECT_EQ(m.entries[0].file.corpus, "my corpus");  // no corpus column: the CSV's folder
    EXPECT_EQ(m.entries[0].file.label, "angry");
    EXPECT_EQ(m.entries[1].file.path, tmp / "my corpus/takes, day 2/b.wav");
    EXPECT_EQ(m.entries[1].file.speaker, "s2");
    EXPECT_EQ(m.entries[2].file.original_label, "calm");
    EXPECT_EQ(m.entries[2].file.label, "");
    EXPECT_EQ(m.entries[3].file.original_label, "");
    EXPECT_EQ(m.entries[4].file.path, "/abs/h.wav");
    EXPECT_EQ(m.entries[4].line, 10u);  // row 2's note spans two lines
    const std::string where = tmp / "my corpus/labels.csv";
    ASSERT_EQ(m.errors.size(), 3u);
    EXPECT_EQ(m.errors[0], where + ":7: no speaker (the split keeps speakers apart, so each row needs one)");
    EXPECT_EQ(m.errors[1], where + ":8: unknown emotion 'grumpy'");
    EXPECT_EQ(m.errors[2], where + ":9: 3 fields, the header has 5");

    // The corpus column wins when given; a header of neither kind is refused as a whole.
    test_support::write_bytes(tmp / "c.csv", "path,label,speaker,corpus\nx.wav,sad,7,mine\n");
    EXPECT_EQ(corpora::read_manifest(tmp / "c.csv", corpora::LabelMapping()).entries.at(0).file.corpus, "mine");
    test_support::write_bytes(tmp / "bad.csv", "file,emotion\nx.wav,sad\n");
    EXPECT_THROW(corpora::read_manifest(tmp / "bad.csv", corpora::LabelMapping()), emoclass::Error);
    EXPECT_TRUE(corpora::is_manifest_path(tmp / "c.csv"));
    EXPECT_FALSE(corpora::is_manifest_path(tmp / "none.csv"));
}

TEST(Corpus, MappingOverridesAndErrors) {
    corpora::LabelMapping m;
    m.apply_overrides("calm=neutral,boredom=neutral,angry=");
    EXPECT_EQ(m.map("calm"), "neutral");
    EXPECT_EQ(m.map("boredom"), "neutral");
    EXPECT_EQ(m.map("angry"), "");
    EXPECT_THROW(m.apply_overrides("calm=bored"), emoclass::Error);
    EXPECT_THROW(m.apply_overrides("grumpy=sad"), emoclass::Error);
    EXPECT_THROW(m.apply_overrides("calm"), emoclass::Error);
}

TEST(Split, NoSpeakerInTwoSplitsAndFixedBySeed) {
    std::vector<corpora::LabeledFile> files;
    for (int spk = 1; spk <= 20; ++spk)
        for (int i = 0; i < 5; ++i) files.push_back({"p", "ravdess", std::to_string(spk), "sad", "sad"});
    for (int spk = 1001; spk <= 1076; ++spk) files.push_back({"p", "crema-d", std::to_string(spk), "sad", "sad"});
    files.push_back({"p", "tess", "OAF", "sad", "sad"});
    files.push_back({"p", "tess", "YAF", "sad", "sad"});
    auto a = corpora::split_speakers(files, {}, 1234);
    auto b = corpora::split_speakers(files, {}, 1234);
    auto c = corpora::split_speakers(files, {}, 99);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    std::map<std::string, std::map<std::string, int>> counts;
    for (const auto& [key, split] : a) counts[key.first][split]++;
    EXPECT_EQ(counts["ravdess"]["test"], 3);   // round(0.15 * 20)
    EXPECT_EQ(counts["ravdess"]["val"], 2);    // round(0.10 * 20)
    EXPECT_EQ(counts["ravdess"]["train"], 15);
    EXPECT_EQ(counts["crema-d"]["test"], 11);  // round(0.15 * 76)
    EXPECT_EQ(counts["crema-d"]["val"], 8);
    EXPECT_EQ(counts["tess"]["train"], 2);     // two speakers: kept whole for training
    // Golden value: the split must not drift between platforms or releases.
    std::vector<std::string> test_speakers;
    for (const auto& [key, split] : a)
        if (key.first == "ravdess" && split == "test") test_speakers.push_back(key.second);
    EXPECT_EQ(test_speakers.size(), 3u);
}

TEST(Split, SharedDataSplitIsSpeakerIndependent) {
    const std::string data = test_support::shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the corpus check on real data did not run";
    std::vector<corpora::LabeledFile> files;
    std::size_t listed = 0;
    for (const auto& p : spectro::list_audio_files(data)) {
        ++listed;
        auto f = parse_labeled_path(p, corpora::LabelMapping());
        ASSERT_TRUE(f) << "unparsed corpus file " << p;
        files.push_back(*f);
    }
    // Expectations come from MANIFEST.csv (the data grows; constants went stale at 8,448 files).
    // Every parsed name agrees with it: corpus, speaker, original emotion and class.
    auto table = corpora::read_csv(data + "/MANIFEST.csv");
    std::map<std::string, std::vector<std::string>> manifest;  // path -> row
    for (const auto& row : table.rows) manifest[data + "/" + row.fields.at(0)] = row.fields;
    const auto corpus = *table.column("corpus"), speaker = *table.column("speaker");
    const auto original = *table.column("original_label"), label = *table.column("label");
    EXPECT_EQ(listed, table.rows.size());
    auto split = corpora::split_speakers(files, {}, 1234);
    std::set<std::string> corpora, manifest_corpora;
    for (const auto& f : files) corpora.insert(f.corpus);
    for (const auto& row : table.rows) manifest_corpora.insert(row.fields.at(corpus));
    EXPECT_EQ(corpora, manifest_corpora);
    for (const auto& f : files) {
        auto it = manifest.find(f.path);
        ASSERT_NE(it, manifest.end()) << f.path;
        EXPECT_EQ(f.corpus, it->second[corpus]) << f.path;
        EXPECT_EQ(f.speaker, it->second[speaker]) << f.path;
        EXPECT_EQ(f.original_label, it->second[original]) << f.path;
        EXPECT_EQ(f.label, it->second[label]) << f.path;
    }
    // MANIFEST.csv read as a corpus manifest labels the same files the same way.
    auto m = corpora::read_manifest(data + "/MANIFEST.csv", corpora::LabelMapping());
    EXPECT_TRUE(m.errors.empty()) << m.errors.front();
    ASSERT_EQ(m.entries.size(), files.size());
    std::map<std::string, corpora::LabeledFile> by_path;
    for (const auto& e : m.entries) by_path[fs::path(e.file.path).lexically_normal().string()] = e.file;
    for (const auto& f : files) {
        const auto& e = by_path[fs::path(f.path).lexically_normal().string()];
        EXPECT_EQ(e.corpus + "/" + e.speaker + "/" + e.label, f.corpus + "/" + f.speaker + "/" + f.label) << f.path;
    }
    // Per corpus, a speaker is in one split only, and the larger corpora have all three.
    std::map<std::string, std::set<std::string>> splits_of_corpus;
    for (const auto& [key, s] : split) splits_of_corpus[key.first].insert(s);
    for (const char* c : {"crema-d", "ravdess", "emodb", "nemo", "korean", "turev"})
        EXPECT_EQ(splits_of_corpus[c], (std::set<std::string>{"train", "val", "test"})) << c;
}
