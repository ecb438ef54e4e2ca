// spectro-dump end to end: the real binary on generated audio, the bad-input catalogue, dataset
// mode (labels, speaker split, ImageFolder layout, manifest, re-runs, --jobs invariance).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include "spectro/corpora/csv.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/png_io.hpp"
#include "test_support.hpp"

using namespace test_support;

namespace {
const std::string kBin = SPECTRO_DUMP_BIN;

std::size_t count_files(const std::string& dir, const std::string& ext) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().extension() == ext) ++n;
    return n;
}

bool any_temp_left(const std::string& dir) {
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().string().find(".tmp.") != std::string::npos) return true;
    return false;
}

// A corpus in RAVDESS/CREMA-D naming: `speakers` speakers x 6 emotions.
void make_corpus(const std::string& root, int speakers) {
    fs::create_directories(root + "/ravdess");
    fs::create_directories(root + "/crema");
    const char* crema[] = {"ANG", "DIS", "FEA", "HAP", "NEU", "SAD"};
    const int ravdess[] = {5, 7, 6, 3, 1, 4};  // the same six emotions in RAVDESS codes
    for (int s = 1; s <= speakers; ++s)
        for (int e = 1; e <= 6; ++e) {
            char name[64];
            std::snprintf(name, sizeof name, "/ravdess/03-01-%02d-01-01-01-%02d.wav", ravdess[e - 1], s);
            write_audio(root + name, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0 + 0.2 * e, 16000, unsigned(s * 10 + e)));
            std::snprintf(name, sizeof name, "/crema/%d_IEO_%s_XX.flac", 1000 + s, crema[e - 1]);
            write_audio(root + name, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 22050, 1, voice_like(2.0, 22050, unsigned(s * 7 + e)));
        }
}
}  // namespace

TEST(SpectroDumpCli, HelpAndVersion) {
    auto help = run(kBin + " --help");
    EXPECT_EQ(help.exit_code, 0);
    for (const char* flag : {"--n-fft", "--hop-length", "--mel-scale", "--pad-mode", "--top-db", "--dataset", "--raw",
                             "--inspect", "--jobs", "Examples"})
        EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
    EXPECT_NE(help.out.find("=1024"), std::string::npos) << "defaults shown";
    auto version = run(kBin + " --version");
    EXPECT_EQ(version.exit_code, 0);
    for (const char* dep : {"libsndfile", "libsamplerate", "fftw", "libpng", "cairo"})
        EXPECT_NE(version.out.find(dep), std::string::npos) << dep;
    EXPECT_EQ(run(kBin + " --n-fft").exit_code, 2);
    EXPECT_EQ(run(kBin + " --no-such-flag x.wav -o /tmp").exit_code, 2);
    EXPECT_EQ(run(kBin + " x.wav -o /tmp --power 3").exit_code, 2);
}

// The figures' drawing is a module loaded on the first figure (spectro/figures/figures_module.hpp):
// the dynamic loader's own log shows that a process that draws nothing never loads cairo, and
// that one that draws does.
TEST(SpectroDumpCli, CairoLoadsOnlyWhenAFigureIsDrawn) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    auto r = run("LD_DEBUG=files " + kBin + " -q " + (tmp / "a.wav") + " -o " + (tmp / "out"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("libcairo"), std::string::npos) << "cairo loaded for a model-input PNG";
    EXPECT_EQ(r.err.find("libfigures_cairo"), std::string::npos);
    r = run("LD_DEBUG=files " + kBin + " -q --inspect " + (tmp / "a.wav") + " -o " + (tmp / "fig"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("libfigures_cairo"), std::string::npos) << "the figures module was not loaded to draw";
    EXPECT_NE(r.err.find("libcairo"), std::string::npos);
    EXPECT_GT(spectro::read_png(tmp / "fig/a.inspect.png").width, 600);
}

TEST(SpectroDumpCli, PngRawAndInspect) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, voice_like(3.0, 44100));
    auto r = run(kBin + " " + (tmp / "a.wav") + " -o " + (tmp / "out"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto img = spectro::read_png(tmp / "out/a.png");
    EXPECT_EQ(img.width, 128);
    EXPECT_EQ(img.height, 128);
    EXPECT_EQ(img.channels, 1);
    r = run(kBin + " --raw " + (tmp / "a.npy") + " " + (tmp / "a.wav"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto raw = spectro::read_npy(tmp / "a.npy");
    EXPECT_EQ(raw.rows, 128u);
    EXPECT_EQ(raw.cols, 1u + 48000u / 320u);  // 3 s at 44.1 kHz -> 48000 samples at 16 kHz
    EXPECT_FLOAT_EQ(*std::max_element(raw.values.begin(), raw.values.end()), 0.0f);
    EXPECT_FLOAT_EQ(*std::min_element(raw.values.begin(), raw.values.end()), -80.0f);
    r = run(kBin + " --inspect --colormap magma " + (tmp / "a.wav") + " -o " + (tmp / "fig"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto fig = spectro::read_png(tmp / "fig/a.inspect.png");
    EXPECT_GT(fig.width, 600);
    EXPECT_EQ(fig.channels, 3);
    EXPECT_EQ(run(kBin + " --raw x.npy a.wav b.wav").exit_code, 2);
}

TEST(SpectroDumpCli, BadInputsAreReportedAndTheBatchCarriesOn) {
    TempDir tmp;
    write_audio(tmp / "good1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_audio(tmp / "good2.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 96000, 6, voice_like(1.0, 96000));
    write_bytes(tmp / "empty.wav", "");
    write_audio(tmp / "header.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, {});
    write_audio(tmp / "full.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_bytes(tmp / "trunc.wav", read_bytes(tmp / "full.wav").substr(0, 9000));
    write_bytes(tmp / "text.wav", "hello\n");
    std::string junk(5000, 'x');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = char(i * 2654435761u >> 13);
    write_bytes(tmp / "random.ogg", junk);
    fs::create_directory(tmp / "adir.wav");
    auto nan = voice_like(0.5, 16000);
    nan[100] = std::nanf("");
    write_audio(tmp / "nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, nan);
    write_audio(tmp / "silence.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, std::vector<float>(16000, 0.0f));
    write_audio(tmp / "tiny.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(0.01, 16000));

    const std::vector<std::string> bad = {"empty.wav", "header.wav", "trunc.wav", "text.wav", "random.ogg",
                                          "adir.wav",  "nan.wav",    "missing.wav"};
    std::string cmd = kBin + " -j 2";
    for (const char* f : {"good1.wav", "empty.wav", "header.wav", "trunc.wav", "text.wav", "random.ogg", "adir.wav",
                          "nan.wav", "missing.wav", "silence.wav", "tiny.wav", "good2.flac"})
        cmd += " " + (tmp / f);
    auto r = run(cmd + " -o " + (tmp / "out"));
    EXPECT_EQ(r.exit_code, 1);
    // One line per bad file, naming it; nothing for the good ones.
    for (const auto& f : bad) {
        auto pos = r.err.find("error: " + (tmp / f) + ": ");
        EXPECT_NE(pos, std::string::npos) << f << "\n" << r.err;
        EXPECT_FALSE(fs::exists(tmp / ("out/" + fs::path(f).stem().string() + ".png"))) << f;
    }
    // Defined results: silence renders black, a 10 ms clip renders one centred frame.
    for (const char* f : {"good1", "good2", "silence", "tiny"}) EXPECT_TRUE(fs::exists(tmp / (std::string("out/") + f + ".png"))) << f;
    auto silent = spectro::read_png(tmp / "out/silence.png");
    EXPECT_EQ(*std::max_element(silent.pixels.begin(), silent.pixels.end()), 0);
    EXPECT_FALSE(any_temp_left(tmp / "out"));
    EXPECT_NE(r.err.find("4 written, 0 already there, 8 failed"), std::string::npos) << r.err;
}

// Random bytes named .mp3 (.mp2, .mp1) get our one line each and nothing else on stderr: the
// name no longer sends unrecognised bytes to libsndfile's MPEG decoder, whose libmpg123 printed
// "Note: Illegal Audio-MPEG-Header ..." lines. A real MP3, with or without an ID3 tag, still decodes.
TEST(SpectroDumpCli, RandomBytesNamedMp3GiveOnlyOurErrorLine) {
    TempDir tmp;
    std::mt19937 rng(19);
    std::string cmd = kBin + " -q";
    const std::vector<std::string> names = {"r1.mp3", "r2.mp3", "r3.mp3", "r4.MP3", "r5.mp2", "r6.mp1"};
    for (const auto& name : names) {
        std::string bytes(20000, '\0');
        for (char& c : bytes) c = char(rng() & 0xff);
        bytes[0] = 'x';  // never an MPEG frame sync (0xFFE) or tag at the start: these are no MP3s
        write_bytes(tmp / name, bytes);
        cmd += " " + (tmp / name);
    }
    auto r = run(cmd + " -o " + (tmp / "out"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err.find("Note:"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("mpg123"), std::string::npos) << r.err;
    for (const auto& name : names)
        EXPECT_NE(r.err.find("error: " + (tmp / name) + ": not a recognised audio format"), std::string::npos) << r.err;
    EXPECT_EQ(count_lines(r.err), names.size() + 1) << r.err;  // one per file, then the summary
}

TEST(SpectroDumpCli, UnwritableOutputDirectory) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_bytes(tmp / "file", "x");
    auto r = run(kBin + " " + (tmp / "a.wav") + " -o " + (tmp / "file/sub"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(count_lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("cannot create output directory"), std::string::npos) << r.err;
    // Read-only directory (root ignores modes, so use /proc, which refuses new files for everyone).
    r = run(kBin + " " + (tmp / "a.wav") + " -o /proc/sys");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
}

TEST(SpectroDumpCli, DatasetModeSplitsBySpeakerAndIsIndependentOfJobs) {
    TempDir tmp;
    make_corpus(tmp / "corpus", 6);
    write_bytes(tmp / "corpus/readme.wav", "not audio");  // unlabelled by name: counted, not dumped
    auto one = run(kBin + " -q -j 1 --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds1"));
    ASSERT_EQ(one.exit_code, 0) << one.err;
    auto two = run(kBin + " -q -j 2 --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds2"));
    ASSERT_EQ(two.exit_code, 0) << two.err;
    EXPECT_EQ(count_files(tmp / "ds1", ".png"), 72u);
    EXPECT_EQ(read_bytes(tmp / "ds1/manifest.csv").size(), read_bytes(tmp / "ds2/manifest.csv").size());
    // Same bytes whatever --jobs is.
    for (const auto& e : fs::recursive_directory_iterator(tmp / "ds1")) {
        if (e.path().extension() != ".png") continue;
        auto rel = fs::relative(e.path(), tmp / "ds1").string();
        ASSERT_EQ(read_bytes(e.path().string()), read_bytes(tmp / ("ds2/" + rel))) << rel;
    }
    // The manifest: no speaker in two splits; label folders match labels.
    const auto table = corpora::read_csv(tmp / "ds1/manifest.csv");
    EXPECT_EQ(table.header, (std::vector<std::string>{"source", "corpus", "speaker", "label", "split", "image"}));
    std::map<std::string, std::set<std::string>> splits_of_speaker;
    std::size_t rows = 0;
    for (const auto& row : table.rows) {
        const auto& c = row.fields;
        ASSERT_EQ(c.size(), 6u);
        splits_of_speaker[c[1] + "/" + c[2]].insert(c[4]);
        EXPECT_EQ(c[5].rfind(c[4] + "/" + c[3] + "/", 0), 0u) << c[0];
        EXPECT_TRUE(fs::exists(tmp / ("ds1/" + c[5])));
        ++rows;
    }
    EXPECT_EQ(rows, 72u);
    std::set<std::string> used;
    for (const auto& [spk, s] : splits_of_speaker) {
        EXPECT_EQ(s.size(), 1u) << spk;
        used.insert(*s.begin());
    }
    EXPECT_EQ(used, (std::set<std::string>{"train", "val", "test"}));
    auto settings = nlohmann::json::parse(read_bytes(tmp / "ds1/spectro.json"));
    EXPECT_EQ(settings["n_fft"], 1024);
    EXPECT_EQ(settings["image"]["frames"], 128);
    // Re-running skips finished images; other settings into the same folder are refused.
    auto again = run(kBin + " -j 2 --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds1"));
    EXPECT_EQ(again.exit_code, 0);
    EXPECT_NE(again.err.find("0 written, 72 already there"), std::string::npos) << again.err;
    auto other = run(kBin + " -q --n-mels 64 --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds1"));
    EXPECT_EQ(other.exit_code, 1);
    EXPECT_NE(other.err.find("other settings"), std::string::npos) << other.err;
}

TEST(SpectroDumpCli, DatasetBadFileIsSkippedAndExitIsOne) {
    TempDir tmp;
    make_corpus(tmp / "corpus", 3);
    write_bytes(tmp / "corpus/ravdess/03-01-05-01-01-01-09.wav", "RIFF....WAVEjunk");
    auto r = run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("03-01-05-01-01-01-09.wav: "), std::string::npos) << r.err;
    EXPECT_EQ(count_files(tmp / "ds", ".png"), 36u);
    EXPECT_EQ(read_bytes(tmp / "ds/manifest.csv").find("-09.wav"), std::string::npos);
}

// Inside an input or --dataset folder, a FIFO, a broken link and a folder that cannot be opened
// are each named in one error line (they were passed over without a word, exit 0); the rest is
// done and the exit status is 1. A FIFO is never opened (that would hang).
TEST(SpectroDumpCli, FifosBrokenLinksAndUnreadableFoldersInsideFoldersAreNamed) {
    TempDir tmp;
    bool can_lock = false;
    const std::string as_user = without_root_read_override(tmp / "probe", &can_lock);
    if (!can_lock) std::cout << "note: no way to make a folder unreadable here; the locked-folder case is left out\n";
    fs::create_directories(tmp / "in/sub");
    write_audio(tmp / "in/a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    write_audio(tmp / "in/sub/b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000, 2));
    ASSERT_EQ(mkfifo((tmp / "in/pipe.wav").c_str(), 0644), 0);
    ASSERT_EQ(mkfifo((tmp / "in/sub/notes").c_str(), 0644), 0);
    fs::create_symlink("nowhere.wav", tmp / "in/dangling.wav");
    fs::create_directories(tmp / "in/locked");
    write_audio(tmp / "in/locked/c.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000, 3));
    if (can_lock) fs::permissions(tmp / "in/locked", fs::perms::none);
    auto r = run(as_user + kBin + " -q " + (tmp / "in") + " -o " + (tmp / "out"));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("error: " + (tmp / "in/pipe.wav") + ": a FIFO (named pipe), not a regular file\n"),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("error: " + (tmp / "in/sub/notes") + ": a FIFO"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("error: " + (tmp / "in/dangling.wav") + ": broken symbolic link\n"), std::string::npos)
        << r.err;
    if (can_lock) {
        EXPECT_NE(r.err.find("error: " + (tmp / "in/locked") + ": cannot read folder: "), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("2 written, 0 already there, 4 failed"), std::string::npos) << r.err;
    }
    EXPECT_TRUE(fs::exists(tmp / "out/a.png"));
    EXPECT_TRUE(fs::exists(tmp / "out/b.png"));

    // --dataset: the same, counted with the failures; every labelled file is still dumped.
    make_corpus(tmp / "corpus", 3);
    ASSERT_EQ(mkfifo((tmp / "corpus/ravdess/03-01-05-01-01-01-09.wav").c_str(), 0644), 0);
    fs::create_directories(tmp / "corpus/crema/locked");
    if (can_lock) fs::permissions(tmp / "corpus/crema/locked", fs::perms::none);
    auto d = run(as_user + kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds"));
    EXPECT_EQ(d.exit_code, 1) << d.err;
    EXPECT_NE(d.err.find("error: " + (tmp / "corpus/ravdess/03-01-05-01-01-01-09.wav") + ": a FIFO"), std::string::npos)
        << d.err;
    if (can_lock)
        EXPECT_NE(d.err.find("error: " + (tmp / "corpus/crema/locked") + ": cannot read folder: "), std::string::npos)
            << d.err;
    EXPECT_EQ(count_files(tmp / "ds", ".png"), 36u);
}

// A corpus of one speaker cannot be split by speaker: all of it goes to train, and one warning
// line per such corpus says so (it used to happen without a word). None for a splittable corpus.
TEST(SpectroDumpCli, DatasetWarnsWhenACorpusHasTooFewSpeakersToSplit) {
    TempDir tmp;
    make_corpus(tmp / "corpus", 1);
    auto r = run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* corpus : {"ravdess", "crema-d"})
        EXPECT_NE(r.err.find("spectro-dump: warning: corpus " + std::string(corpus) +
                             " has 1 speaker, so all its 6 files are in train"),
                  std::string::npos)
            << corpus << "\n" << r.err;
    EXPECT_EQ(count_lines(r.err), 3u) << r.err;  // two warnings and the summary
    EXPECT_EQ(count_files(tmp / "ds/train", ".png"), 12u);
    auto listed = run(kBin + " --list-split --dataset " + (tmp / "corpus"));
    EXPECT_NE(listed.err.find("warning: corpus ravdess has 1 speaker"), std::string::npos) << listed.err;

    make_corpus(tmp / "six", 6);
    auto six = run(kBin + " -q --dataset " + (tmp / "six") + " -o " + (tmp / "ds6"));
    EXPECT_EQ(six.exit_code, 0) << six.err;
    EXPECT_EQ(six.err.find("warning"), std::string::npos) << six.err;
}

namespace {
// The PID of a process that has exited (and been reaped): what a SIGKILLed run leaves in its
// temporaries' names.
int dead_pid() {
    const pid_t child = fork();
    if (child == 0) _exit(0);
    int status = 0;
    waitpid(child, &status, 0);
    return int(child);
}
}  // namespace

// A temporary a killed run left (NAME.tmp.PID.N, that PID gone) is removed by the next run into
// the folder; a live process's is kept. It used to stay for ever.
TEST(SpectroDumpCli, TemporariesOfAKilledRunAreRemovedByTheNextRun) {
    TempDir tmp;
    write_audio(tmp / "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    fs::create_directories(tmp / "out");
    const std::string stale = tmp / ("out/a.png.tmp." + std::to_string(dead_pid()) + ".0");
    const std::string stale_raw = tmp / ("out/x.npy.tmp." + std::to_string(dead_pid()) + ".p2");
    const std::string live = tmp / ("out/b.png.tmp." + std::to_string(getpid()) + ".0");
    const std::string other = tmp / "out/notes.tmp.txt";
    for (const auto& f : {stale, stale_raw, live, other}) write_bytes(f, "partial");
    auto r = run(kBin + " -q " + (tmp / "a.wav") + " -o " + (tmp / "out"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_FALSE(fs::exists(stale));
    EXPECT_FALSE(fs::exists(stale_raw));
    EXPECT_TRUE(fs::exists(live));   // its writer may still rename it
    EXPECT_TRUE(fs::exists(other));  // not ours
    EXPECT_TRUE(fs::exists(tmp / "out/a.png"));

    make_corpus(tmp / "corpus", 3);
    ASSERT_EQ(run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds")).exit_code, 0);
    const std::string stale_image = tmp / ("ds/train/sad/x.png.tmp." + std::to_string(dead_pid()) + ".7");
    const std::string stale_manifest = tmp / ("ds/manifest.csv.tmp." + std::to_string(dead_pid()) + ".1");
    write_bytes(stale_image, "partial");
    write_bytes(stale_manifest, "partial");
    ASSERT_EQ(run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds")).exit_code, 0);
    EXPECT_FALSE(fs::exists(stale_image));
    EXPECT_FALSE(fs::exists(stale_manifest));
}

// A folder (or anything but a regular file) where an output goes is an error for that input,
// not "already there"; the rest of the batch is done.
TEST(SpectroDumpCli, AFolderNamedLikeAnOutputIsAnErrorNotDone) {
    TempDir tmp;
    for (const char* f : {"a.wav", "b.wav", "c.wav"})
        write_audio(tmp / f, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, voice_like(1.0, 16000));
    fs::create_directories(tmp / "out/b.png");
    const std::string inputs = (tmp / "a.wav") + " " + (tmp / "b.wav") + " " + (tmp / "c.wav");
    for (int pass = 0; pass < 2; ++pass) {  // the second pass: a.png and c.png are there, b.png still not
        auto r = run(kBin + " -q " + inputs + " -o " + (tmp / "out"));
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find("error: " + (tmp / "out/b.png") + ": exists and is not a regular file\n"),
                  std::string::npos) << r.err;
        EXPECT_NE(r.err.find(pass == 0 ? "2 written, 0 already there, 1 failed" : "0 written, 2 already there, 1 failed"),
                  std::string::npos) << r.err;
        EXPECT_TRUE(fs::is_regular_file(tmp / "out/a.png"));
        EXPECT_TRUE(fs::is_regular_file(tmp / "out/c.png"));
    }
    // --dataset: the same for an image path.
    make_corpus(tmp / "corpus", 3);
    ASSERT_EQ(run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds")).exit_code, 0);
    const auto table = corpora::read_csv(tmp / "ds/manifest.csv");
    const std::string image = tmp / ("ds/" + table.rows[0].fields[5]);
    fs::remove(image);
    fs::create_directories(image);
    auto d = run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds"));
    EXPECT_EQ(d.exit_code, 1) << d.err;
    EXPECT_NE(d.err.find(image + ": exists and is not a regular file"), std::string::npos) << d.err;
    EXPECT_NE(d.err.find("35 images (0 written, 35 already there), 1 failed"), std::string::npos) << d.err;
}

TEST(SpectroDumpCli, SharedDataDumpsCompletely) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the full-corpus dataset dump did not run";
    TempDir tmp;
    auto r = run(kBin + " -q --dataset " + data + " -o " + (tmp / "ds"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Every MANIFEST.csv row with one of the six labels (an empty label: calm, surprised, ...);
    // expectations come from the manifest, as the data grows.
    const auto table = corpora::read_csv(data + "/MANIFEST.csv");
    const auto label = *table.column("label");
    std::size_t labelled = 0;
    for (const auto& row : table.rows) labelled += !row.fields.at(label).empty();
    const std::string n = std::to_string(labelled);
    EXPECT_NE(r.err.find(n + " images (" + n + " written"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("0 failed"), std::string::npos) << r.err;
    EXPECT_EQ(count_files(tmp / "ds", ".png"), labelled);
}

TEST(SpectroDumpCli, DatasetFromACsvManifestEqualsTheFolderDumpAndReportsBadRows) {
    TempDir tmp;
    make_corpus(tmp / "corpus", 4);
    auto folders = run(kBin + " -q -j 2 --dataset " + (tmp / "corpus") + " -o " + (tmp / "by_name"));
    ASSERT_EQ(folders.exit_code, 0) << folders.err;
    // The same files under names that say nothing, in folders with a comma and a space, listed by
    // a manifest with relative paths, quoted fields, an ignored column with a line break, a
    // corpus column, and one bad row.
    const auto manifest = corpora::read_csv(tmp / "by_name/manifest.csv");
    std::string csv = "speaker,path,label,corpus,note\n";
    int n = 0;
    for (const auto& row : manifest.rows) {
        const std::string rel = "take, " + row.fields[1] + "/clip " + std::to_string(++n) + fs::path(row.fields[0]).extension().string();
        fs::create_directories(fs::path(tmp / ("mine/" + rel)).parent_path());
        fs::copy_file(row.fields[0], tmp / ("mine/" + rel));
        csv += row.fields[2] + "," + corpora::csv_field(rel) + "," + row.fields[3] + "," + row.fields[1] + "," +
               (n == 3 ? "\"checked\nby \"\"ear\"\"\"" : "") + "\n";
    }
    csv += "99,\"take, x/missing.wav\",,ravdess,\n";              // no label: counted as unlabelled
    csv += "\"\",\"take, x/nobody.wav\",sad,ravdess,\n";       // bad row: no speaker
    write_bytes(tmp / "mine/list.csv", csv);
    auto r = run(kBin + " -q -j 2 --dataset " + (tmp / "mine/list.csv") + " -o " + (tmp / "by_csv"));
    EXPECT_EQ(r.exit_code, 1) << r.err;  // the bad row fails the run, the rest is dumped
    EXPECT_NE(r.err.find("error: " + (tmp / "mine/list.csv") + ":" + std::to_string(manifest.rows.size() + 4) +
                         ": no speaker"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("48 images (48 written"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("1 failed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("1 unlabelled"), std::string::npos) << r.err;
    // Same speakers, splits and labels as by name, so the same images, byte for byte.
    const auto again = corpora::read_csv(tmp / "by_csv/manifest.csv");
    ASSERT_EQ(again.rows.size(), manifest.rows.size());
    std::map<std::string, std::string> image_of_split;  // corpus/speaker/label -> split
    for (const auto& row : manifest.rows) image_of_split[row.fields[1] + "/" + row.fields[2]] = row.fields[4];
    for (const auto& row : again.rows) {
        EXPECT_EQ(row.fields[4], image_of_split[row.fields[1] + "/" + row.fields[2]]) << row.fields[0];
        EXPECT_NE(row.fields[0].find("/mine/take, "), std::string::npos) << row.fields[0];
    }
    std::multiset<std::string> a, b;
    for (const auto& e : fs::recursive_directory_iterator(tmp / "by_name"))
        if (e.path().extension() == ".png") a.insert(e.path().parent_path().string().substr((tmp / "by_name").size()) + read_bytes(e.path().string()));
    for (const auto& e : fs::recursive_directory_iterator(tmp / "by_csv"))
        if (e.path().extension() == ".png") b.insert(e.path().parent_path().string().substr((tmp / "by_csv").size()) + read_bytes(e.path().string()));
    EXPECT_EQ(a, b);
}

TEST(SpectroDumpCli, ListSplitReadsNoAudioAndWritesNothing) {
    TempDir tmp;
    make_corpus(tmp / "corpus", 6);
    auto dump = run(kBin + " -q --dataset " + (tmp / "corpus") + " -o " + (tmp / "ds"));
    ASSERT_EQ(dump.exit_code, 0) << dump.err;
    // Replace every clip by junk: listing the split must not need the audio.
    for (const auto& e : fs::recursive_directory_iterator(tmp / "corpus"))
        if (e.is_regular_file()) write_bytes(e.path().string(), "not audio");
    auto list = run("cd " + tmp.path() + " && " + kBin + " --dataset " + (tmp / "corpus") + " --list-split");
    ASSERT_EQ(list.exit_code, 0) << list.err;
    EXPECT_EQ(list.out, read_bytes(tmp / "ds/manifest.csv"));
    EXPECT_NE(list.err.find("train "), std::string::npos) << list.err;
    EXPECT_NE(list.err.find("test "), std::string::npos) << list.err;
    std::size_t entries = 0;
    for (auto it = fs::directory_iterator(tmp.path()); it != fs::directory_iterator(); ++it) ++entries;
    EXPECT_EQ(entries, 2u);  // corpus/ and ds/: nothing new
}

TEST(SpectroDumpCli, ListSplitOfSharedDataGivesTheShippedModelsSpeakers) {
    const std::string data = shared_data_dir();
    if (data.empty()) GTEST_SKIP() << "../shared/data is missing: the shipped model's split was not regenerated";
    // The shipped model was trained on the four original corpora (models/default/MODEL_CARD.md).
    auto r = run(kBin + " --list-split --dataset " + data + "/ravdess " + data + "/crema-d " + data + "/tess " + data +
                 "/emodb");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto rows = corpora::parse_csv(r.out, "stdout").rows;
    std::map<std::string, std::map<std::string, std::set<std::string>>> listed;  // split -> corpus -> speakers
    std::map<std::string, std::size_t> files;
    for (const auto& row : rows) {
        listed[row.fields[4]][row.fields[1]].insert(row.fields[2]);
        ++files[row.fields[4]];
    }
    EXPECT_EQ(files["train"], 6151u);  // the model card's table
    EXPECT_EQ(files["val"], 779u);
    EXPECT_EQ(files["test"], 1098u);
    auto model = nlohmann::json::parse(read_bytes(EMOCLASS_SOURCE_DIR "/models/default/model.json"));
    for (const auto& [split, corpora] : listed)
        for (const auto& [corpus, speakers] : corpora) {
            std::set<std::string> recorded;
            for (const auto& s : model["training_data"][split][corpus]) recorded.insert(s.get<std::string>());
            EXPECT_EQ(recorded, speakers) << split << " " << corpus;
        }
    EXPECT_EQ(model["training_data"].size(), 3u);
}
