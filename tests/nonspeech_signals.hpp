#pragma once
// Generated sounds that are not speech, for the speech detector's tests and its measurement
// (tests/speech_detector_eval.cpp): silence, DC, tones, chords, square waves, mains hum, noise
// colours, clicks, buzzes, synthesised melodies with harmonics (some with vibrato), arpeggios, a
// drum pattern, a full "band" (melody + chords + drums), and tones or music under noise.
// Every signal is deterministic in (kind, seed), mono float in [-1, 1].
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace nonspeech {

inline const std::vector<std::string>& kinds() {
    static const std::vector<std::string> k = {
        "silence", "dc",      "tone",   "siren",    "chord", "square", "hum",     "white_noise",
        "pink_noise", "brown_noise", "clicks", "buzz", "melody", "vibrato_melody", "arpeggio",
        "drums", "band",    "tone_in_noise", "music_in_noise"};
    return k;
}

class Rng {
public:
    explicit Rng(std::uint64_t seed) : g_(seed * 0x9E3779B97F4A7C15ull + 12345) {}
    double uniform(double lo, double hi) { return lo + (hi - lo) * (double(g_() >> 11) / double(1ull << 53)); }
    double log_uniform(double lo, double hi) { return std::exp(uniform(std::log(lo), std::log(hi))); }
    double gauss() {  // Box-Muller, so the values are the same with every standard library
        const double u1 = uniform(1e-12, 1.0), u2 = uniform(0.0, 1.0);
        return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
    }
    int below(int n) { return int(uniform(0, n)) % n; }

private:
    std::mt19937_64 g_;
};

inline void scale_to_peak(std::vector<float>& y, double peak) {
    float m = 0;
    for (float v : y) m = std::max(m, std::fabs(v));
    if (m > 0)
        for (float& v : y) v = float(v * peak / m);
}

inline double rms(const std::vector<float>& y) {
    double s = 0;
    for (float v : y) s += double(v) * v;
    return y.empty() ? 0 : std::sqrt(s / double(y.size()));
}

// Noise of a colour: white, pink (Paul Kellet's filter, -3 dB/octave) or brown (leaky integral).
inline std::vector<float> noise(const std::string& colour, std::size_t n, Rng& rng) {
    std::vector<float> y(n);
    double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, brown = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double w = rng.gauss();
        if (colour == "pink") {
            b0 = 0.99886 * b0 + w * 0.0555179;
            b1 = 0.99332 * b1 + w * 0.0750759;
            b2 = 0.96900 * b2 + w * 0.1538520;
            b3 = 0.86650 * b3 + w * 0.3104856;
            b4 = 0.55000 * b4 + w * 0.5329522;
            b5 = -0.7616 * b5 - w * 0.0168980;
            y[i] = float(b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362);
            b6 = w * 0.115926;
        } else if (colour == "brown") {
            brown = 0.998 * brown + w * 0.05;
            y[i] = float(brown);
        } else {
            y[i] = float(w);
        }
    }
    return y;
}

// A note: harmonics with 1/k^tilt amplitudes, attack-decay-sustain-release envelope, optional
// vibrato (rate Hz, depth as a fraction of the pitch), added into y from `start`.
inline void add_note(std::vector<float>& y, int rate, std::size_t start, double seconds, double f0, double amp,
                     int harmonics, double tilt, double vibrato_hz = 0, double vibrato_depth = 0) {
    const std::size_t n = std::size_t(seconds * rate);
    const double attack = std::min(0.02, seconds / 4), release = std::min(0.05, seconds / 4);
    double phase = 0;
    for (std::size_t i = 0; i < n && start + i < y.size(); ++i) {
        const double t = double(i) / rate;
        double env = t < attack ? t / attack : (t > seconds - release ? (seconds - t) / release : 1.0);
        env *= 0.6 + 0.4 * std::exp(-3 * t);  // a little decay, as struck or plucked notes have
        const double f = f0 * (1 + vibrato_depth * std::sin(2 * M_PI * vibrato_hz * t));
        phase += f / rate;
        double v = 0;
        for (int k = 1; k <= harmonics && k * f < 0.45 * rate; ++k)
            v += std::sin(2 * M_PI * k * phase) / std::pow(k, tilt);
        y[start + i] += float(amp * env * v);
    }
}

inline double midi_hz(double note) { return 440.0 * std::pow(2.0, (note - 69) / 12.0); }

inline std::vector<float> melody(double seconds, int rate, Rng& rng, bool vibrato) {
    std::vector<float> y(std::size_t(seconds * rate), 0.0f);
    static const int scale[] = {0, 2, 4, 5, 7, 9, 11, 12, 14, 16};
    const double root = 48 + rng.below(24);
    const int harmonics = 4 + rng.below(10);
    const double tilt = rng.uniform(0.7, 2.0);
    std::size_t at = 0;
    while (at < y.size()) {
        const double len = rng.uniform(0.12, 0.6);
        const double f0 = midi_hz(root + scale[rng.below(10)]);
        add_note(y, rate, at, len, f0, 0.3, harmonics, tilt, vibrato ? rng.uniform(4.5, 6.5) : 0,
                 vibrato ? rng.uniform(0.005, 0.02) : 0);
        at += std::size_t((len + (rng.below(4) == 0 ? rng.uniform(0.02, 0.2) : 0.0)) * rate);
    }
    return y;
}

inline std::vector<float> arpeggio(double seconds, int rate, Rng& rng) {
    std::vector<float> y(std::size_t(seconds * rate), 0.0f);
    const double root = 45 + rng.below(24);
    const bool minor = rng.below(2) == 0;
    const int chord[] = {0, minor ? 3 : 4, 7, 12};
    const double len = rng.uniform(0.08, 0.15);
    const int harmonics = 3 + rng.below(8);
    for (std::size_t i = 0, at = 0; at < y.size(); ++i, at += std::size_t(len * rate))
        add_note(y, rate, at, len * 1.5, midi_hz(root + chord[i % 4] + 12 * ((i / 4) % 2)), 0.3, harmonics, 1.2);
    return y;
}

inline std::vector<float> chord(double seconds, int rate, Rng& rng) {
    std::vector<float> y(std::size_t(seconds * rate), 0.0f);
    const double root = 48 + rng.below(24);
    const bool minor = rng.below(2) == 0;
    const int harmonics = rng.below(2) == 0 ? 1 : 6;  // pure sines or organ-like
    for (int step : {0, minor ? 3 : 4, 7}) add_note(y, rate, 0, seconds, midi_hz(root + step), 0.3, harmonics, 1.0);
    return y;
}

inline std::vector<float> drums(double seconds, int rate, Rng& rng) {
    std::vector<float> y(std::size_t(seconds * rate), 0.0f);
    const double beat = 60.0 / rng.uniform(80, 150);
    for (int step = 0; step * beat / 2 < seconds; ++step) {
        const std::size_t at = std::size_t(step * beat / 2 * rate);
        const bool kick = step % 4 == 0, snare = step % 4 == 2;
        for (std::size_t i = 0; i < std::size_t(0.25 * rate) && at + i < y.size(); ++i) {
            const double t = double(i) / rate;
            double v = 0.3 * rng.gauss() * std::exp(-t / 0.01) * 0.3;                  // hi-hat tick
            if (kick) v += 0.8 * std::sin(2 * M_PI * (50 * t + 100 * 0.03 * (1 - std::exp(-t / 0.03)))) *
                           std::exp(-t / 0.12);                                        // pitch-dropping kick
            if (snare) v += 0.4 * rng.gauss() * std::exp(-t / 0.06) + 0.3 * std::sin(2 * M_PI * 190 * t) * std::exp(-t / 0.05);
            y[at + i] += float(v);
        }
    }
    return y;
}

inline void mix_at_snr(std::vector<float>& signal, const std::vector<float>& noise_, double snr_db) {
    const double gain = rms(signal) / (rms(noise_) + 1e-12) / std::pow(10.0, snr_db / 20);
    for (std::size_t i = 0; i < signal.size() && i < noise_.size(); ++i) signal[i] += float(gain * noise_[i]);
}

// `seconds` of the sound `kind` (one of kinds()), peak level random in -30..-1 dBFS (DC: its level).
inline std::vector<float> make(const std::string& kind, double seconds, int rate, std::uint64_t seed) {
    Rng rng(seed * 131 + std::hash<std::string>{}(kind) % 1000003);
    const std::size_t n = std::size_t(seconds * rate);
    std::vector<float> y(n, 0.0f);
    const double peak = std::pow(10.0, rng.uniform(-30, -1) / 20);
    if (kind == "silence") return y;
    if (kind == "dc") {
        std::fill(y.begin(), y.end(), float(rng.below(2) ? peak : -peak));
        return y;
    }
    if (kind == "tone") {
        add_note(y, rate, 0, seconds, rng.log_uniform(80, 4000), 1, 1, 1);
    } else if (kind == "siren") {  // a pure tone gliding up and down, as alarms and test sweeps do
        const double lo = rng.log_uniform(300, 1200), rate_hz = rng.uniform(0.3, 3);
        double phase = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double f = lo * (1.5 + 0.5 * std::sin(2 * M_PI * rate_hz * double(i) / rate));
            phase += f / rate;
            y[i] = float(std::sin(2 * M_PI * phase));
        }
    } else if (kind == "chord") {
        y = chord(seconds, rate, rng);
    } else if (kind == "square") {
        const double f = rng.log_uniform(50, 1000);
        for (std::size_t i = 0; i < n; ++i) y[i] = std::fmod(double(i) * f / rate, 1.0) < 0.5 ? 1.0f : -1.0f;
    } else if (kind == "hum") {  // mains hum: 50 or 60 Hz and its harmonics
        add_note(y, rate, 0, seconds, rng.below(2) ? 50.0 : 60.0, 1, 12, 0.8);
    } else if (kind == "white_noise" || kind == "pink_noise" || kind == "brown_noise") {
        y = noise(kind.substr(0, kind.find('_')), n, rng);
    } else if (kind == "clicks") {  // irregular clicks, 1..30 a second
        const double per_s = rng.log_uniform(1, 30);
        for (double t = rng.uniform(0, 0.2); t < seconds; t += rng.uniform(0.3, 1.7) / per_s)
            y[std::min(n - 1, std::size_t(t * rate))] = rng.below(2) ? 1.0f : -1.0f;
    } else if (kind == "buzz") {  // a regular click train at a voice-like rate (a buzzer)
        const double f = rng.log_uniform(70, 300);
        for (double t = 0; t < seconds; t += 1 / f) y[std::min(n - 1, std::size_t(t * rate))] = 1.0f;
    } else if (kind == "melody" || kind == "vibrato_melody") {
        y = melody(seconds, rate, rng, kind == "vibrato_melody");
    } else if (kind == "arpeggio") {
        y = arpeggio(seconds, rate, rng);
    } else if (kind == "drums") {
        y = drums(seconds, rate, rng);
    } else if (kind == "band") {
        y = melody(seconds, rate, rng, rng.below(2) == 0);
        auto pad = chord(seconds, rate, rng), beat = drums(seconds, rate, rng);
        for (std::size_t i = 0; i < n; ++i) y[i] += 0.5f * pad[i] + 0.7f * beat[i];
    } else if (kind == "tone_in_noise") {
        add_note(y, rate, 0, seconds, rng.log_uniform(100, 2000), 1, 1 + rng.below(8), 1);
        mix_at_snr(y, noise(rng.below(2) ? "pink" : "white", n, rng), rng.uniform(10, 20));
    } else if (kind == "music_in_noise") {
        y = rng.below(2) ? melody(seconds, rate, rng, true) : arpeggio(seconds, rate, rng);
        mix_at_snr(y, noise(rng.below(2) ? "pink" : "white", n, rng), rng.uniform(10, 20));
    }
    scale_to_peak(y, peak);
    return y;
}

}  // namespace nonspeech
