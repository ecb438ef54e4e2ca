#pragma once
// Helpers shared by the tests: temporary folders, generated audio (libsndfile), running the
// tools. Fixtures are generated, never downloaded; ../shared/data is optional and announced.
#include <sndfile.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace test_support {
namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed at destruction.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "emoclass-test-XXXXXX").string();
        path_ = mkdtemp(tmpl.data()) ? tmpl : throw std::runtime_error("mkdtemp failed");
    }
    ~TempDir() {
        std::error_code ec;
        fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path_, ec);
    }
    std::string operator/(const std::string& name) const { return (fs::path(path_) / name).string(); }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Speech-like test signal: a gliding harmonic voice with syllable-rate amplitude envelope and a
// little noise, so spectrograms have structure and voice activity sees speech.
inline std::vector<float> voice_like(double seconds, int rate, unsigned seed = 1, double f0 = 140.0) {
    std::vector<float> y(std::size_t(seconds * rate));
    std::mt19937 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.003f);
    double phase = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        double t = double(i) / rate;
        // Intonation: a slow glide plus the faster pitch movement of syllables (the speech detector
        // takes a harmonic sound that only glides slowly for music).
        double f = f0 * (1.0 + 0.15 * std::sin(2 * M_PI * 0.7 * t) + 0.08 * std::sin(2 * M_PI * 3.3 * t));
        phase += 2 * M_PI * f / rate;
        double env = 0.5 * (1 - std::cos(2 * M_PI * 4.0 * t)) * 0.3;
        double v = 0;
        for (int h = 1; h <= 12; ++h) v += std::sin(h * phase) / h;
        y[i] = float(env * v * 0.5) + noise(rng);
    }
    return y;
}

// Writes `channels`-channel audio (the same signal on every channel unless `interleaved`).
inline void write_audio(const std::string& path, int format, int rate, int channels, const std::vector<float>& mono) {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error(std::string("cannot write ") + path + ": " + sf_strerror(nullptr));
    std::vector<float> inter(mono.size() * std::size_t(channels));
    for (std::size_t i = 0; i < mono.size(); ++i)
        for (int c = 0; c < channels; ++c) inter[i * std::size_t(channels) + std::size_t(c)] = mono[i];
    sf_writef_float(f, inter.data(), sf_count_t(mono.size()));
    sf_close(f);
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct CommandResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs a shell command, capturing stdout and stderr separately.
inline CommandResult run(const std::string& command) {
    TempDir tmp;
    const std::string out = tmp / "out", err = tmp / "err";
    int status = std::system((command + " >" + out + " 2>" + err).c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_bytes(out);
    r.err = read_bytes(err);
    return r;
}

inline std::size_t count_lines(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

// A command prefix under which a folder with mode 000 cannot be read. Root reads it anyway
// (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so as root the tool runs under setpriv (util-linux)
// with those two capabilities dropped from its bounding set. Sets *possible false (and returns
// "") where neither works, e.g. a container without CAP_SETPCAP.
inline std::string without_root_read_override(const std::string& probe_dir, bool* possible) {
    *possible = true;
    if (geteuid() != 0) return "";
    const std::string prefix = "setpriv --bounding-set=-dac_override,-dac_read_search ";
    std::error_code ec;
    fs::create_directories(probe_dir, ec);
    fs::permissions(probe_dir, fs::perms::none, ec);
    // ls must start (status 0 on an empty readable folder) yet fail on the locked one.
    const int started = std::system((prefix + "true >/dev/null 2>&1").c_str());
    const int locked = std::system((prefix + "ls " + probe_dir + " >/dev/null 2>&1").c_str());
    fs::permissions(probe_dir, fs::perms::owner_all, ec);
    fs::remove_all(probe_dir, ec);
    if (started == 0 && locked != 0) return prefix;
    *possible = false;
    return "";
}

// ../shared/data beside the checkout, or "" (tests that need it say so and skip).
inline std::string shared_data_dir() {
    for (const char* p : {EMOCLASS_SOURCE_DIR "/../shared/data", EMOCLASS_SOURCE_DIR "/shared/data"}) {
        std::error_code ec;
        if (fs::is_regular_file(fs::path(p) / "MANIFEST.csv", ec)) return fs::weakly_canonical(p).string();
    }
    return "";
}

}  // namespace test_support
