#pragma once
// A deterministic, voice-like test signal for the benches: a harmonic source whose pitch glides
// between 100 and 240 Hz, shaped by three moving formants, in syllables of ~0.25 s with a short
// pause every ~2 s (so voice activity sees both speech and silence), over a -65 dBFS noise floor.
// Generated block by block, so an hour of it never has to sit in memory.
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

class VoiceLikeSignal {
public:
    explicit VoiceLikeSignal(int rate, std::uint64_t seed = 1) : rate_(rate), rng_(seed * 0x9E3779B97F4A7C15ull + 1) {
        table_.resize(kTable + 1);
        for (int i = 0; i <= kTable; ++i) table_[std::size_t(i)] = float(std::sin(2.0 * M_PI * i / kTable));
    }

    // Appends `n` samples in [-1, 1].
    void generate(std::size_t n, std::vector<float>& out) {
        const double fs = rate_;
        const double nyquist_guard = 0.45 * fs;
        for (std::size_t i = 0; i < n; ++i, ++t_) {
            const double t = double(t_) / fs;
            // Pitch contour and syllable envelope.
            const double f0 = 170.0 + 55.0 * std::sin(2 * M_PI * 0.37 * t) + 15.0 * std::sin(2 * M_PI * 2.1 * t);
            const double syl = std::sin(M_PI * std::fmod(t * 4.0, 1.0));
            const double phrase = std::fmod(t, 2.0) < 1.7 ? 1.0 : 0.0;  // 0.3 s pause every 2 s
            const double env = 0.5 * syl * syl * phrase;
            // Formants move with the syllable rate.
            const double f1 = 600 + 200 * std::sin(2 * M_PI * 1.3 * t);
            const double f2 = 1600 + 500 * std::sin(2 * M_PI * 0.9 * t + 1.0);
            const double f3 = 2600 + 200 * std::sin(2 * M_PI * 0.5 * t + 2.0);
            phase_ += f0 / fs;
            phase_ -= std::floor(phase_);
            double v = 0;
            if (env > 0) {
                for (int k = 1; k <= kHarmonics; ++k) {
                    const double fk = k * f0;
                    if (fk > nyquist_guard) break;
                    const double a = (formant(fk, f1, 90) + 0.5 * formant(fk, f2, 120) + 0.25 * formant(fk, f3, 160)) / k;
                    v += a * lookup(phase_ * k);
                }
            }
            const double noise = (double(next() >> 11) / double(1ull << 53) - 0.5) * 2.0 * 5.6e-4;  // ~ -65 dBFS
            out.push_back(float(0.25 * env * v + noise));
        }
    }

    std::vector<float> take(double seconds) {
        std::vector<float> out;
        out.reserve(std::size_t(seconds * rate_));
        generate(std::size_t(std::llround(seconds * rate_)), out);
        return out;
    }

    int rate() const { return rate_; }

private:
    static constexpr int kTable = 4096;
    static constexpr int kHarmonics = 24;
    static double formant(double f, double centre, double bw) {
        const double x = (f - centre) / bw;
        return 1.0 / (1.0 + x * x) + 0.05;
    }
    float lookup(double cycles) const {
        const double p = (cycles - std::floor(cycles)) * kTable;
        const int i = int(p);
        const float frac = float(p - i);
        return table_[std::size_t(i)] + frac * (table_[std::size_t(i) + 1] - table_[std::size_t(i)]);
    }
    std::uint64_t next() {  // xorshift64*
        rng_ ^= rng_ >> 12;
        rng_ ^= rng_ << 25;
        rng_ ^= rng_ >> 27;
        return rng_ * 2685821657736338717ull;
    }

    int rate_;
    std::uint64_t rng_;
    std::uint64_t t_ = 0;
    double phase_ = 0;
    std::vector<float> table_;
};

// Writes `seconds` of the signal as 16-bit PCM, WAV or FLAC by the path's extension, in blocks.
inline void write_signal(const std::string& path, double seconds, int rate, std::uint64_t seed = 1) {
    const bool flac = path.size() >= 5 && path.compare(path.size() - 5, 5, ".flac") == 0;
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = 1;
    info.format = (flac ? SF_FORMAT_FLAC : SF_FORMAT_WAV) | SF_FORMAT_PCM_16;
    SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
    if (!f) throw std::runtime_error(path + ": " + sf_strerror(nullptr));
    sf_command(f, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    VoiceLikeSignal sig(rate, seed);
    std::size_t left = std::size_t(std::llround(seconds * rate));
    std::vector<float> block;
    while (left > 0) {
        const std::size_t n = std::min<std::size_t>(left, 1 << 16);
        block.clear();
        sig.generate(n, block);
        if (sf_writef_float(f, block.data(), sf_count_t(n)) != sf_count_t(n)) {
            sf_close(f);
            throw std::runtime_error(path + ": short write");
        }
        left -= n;
    }
    sf_close(f);
}

}  // namespace bench
