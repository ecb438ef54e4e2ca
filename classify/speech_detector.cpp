#include "classify/speech_detector.hpp"

#include <algorithm>
#include <cmath>

#include "spectro/db.hpp"
#include "spectro/mel_filterbank.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace classify {
namespace {

// --- Loudness ---------------------------------------------------------------------------------
// A frame quieter than this (against a full-scale 1 kHz sine) is silence: speech recorded at any
// usable level is well above it; room noise and dither are below.
constexpr double kSilenceFloorDbfs = -55.0;

// --- Syllables ---------------------------------------------------------------------------------
// Speech comes in syllables and words with dips and pauses between them: the level of the band
// that carries them (300..4000 Hz) spans tens of dB within a window. Tones, chords, arpeggios,
// sustained music and noise hold a steady level there (noise, being wide-band, the steadiest).
constexpr double kSpeechBandLowHz = 300.0;
constexpr double kSpeechBandHighHz = 4000.0;

// At least this range (90th minus 10th percentile of the frames' speech-band level) in a window.
// Measured: clean speech windows 13..80 dB (5th percentile 13.5 dB, CREMA-D), speech under pink
// noise at 10 dB SNR ~11..22 dB; tones, chords, arpeggios, noise 0..8 dB.
constexpr double kMinLevelRangeDb = 10.0;

// --- Voicing ----------------------------------------------------------------------------------
// Voiced speech has its strongest harmonics below ~1.5 kHz, where the mel bands are narrow enough
// (about 25 Hz apart below 1 kHz with 128 bands up to 8 kHz) to resolve harmonics of any pitch in
// the 60..400 Hz range of adult and child voices.
constexpr double kGridLowHz = 50.0;
constexpr double kGridHighHz = 1500.0;
constexpr double kGridStepHz = 5.0;
constexpr double kPitchMinHz = 60.0;
constexpr double kPitchMaxHz = 400.0;
// The spectral envelope (formants, tilt) is removed by subtracting a moving average wider than the
// largest harmonic spacing, so that only the harmonic ripple is left to correlate.
constexpr double kEnvelopeHalfWidthHz = 250.0;
// Log spectra are floored this far below the frame's strongest band: a synthetic tone's empty
// bands would otherwise be -100 dB holes that dominate the ripple.
constexpr float kLogFloorBelowMaxDb = 60.0f;
// Periodicity score: half the difference of the ripple's normalised autocorrelation at the pitch
// spacing and at half of it (-1..1). Voiced speech frames score 0.35..0.9; noise reaches 0.35 in
// about one frame of ten by chance, hence also two periodic frames in a row (below). Lower
// thresholds dropped fewer speech windows but let noise through; higher ones dropped CREMA-D
// and RAVDESS windows (tests/speech_detector_eval, docs/emoclass.md).
constexpr float kMinPeriodicity = 0.35f;
// The grid's strongest band must be within this of the frame's strongest band.
constexpr float kLowBandBelowMaxDb = 20.0f;
// Share of a window's frames that must be voiced (and moving): 4 %, five frames of a 2.56 s
// window. Short words (TURev's are 0.6..1 s) and a window's tail of a sentence have few voiced
// frames; 10 % dropped 10-16 % of their windows. Noise rarely gets there as its periodic frames
// seldom come two in a row, and the level-range cue rejects it besides.
constexpr double kMinVoicedFraction = 0.04;

// --- Movement ---------------------------------------------------------------------------------
// Bands within this range of the frame's strongest band are the ones compared with the previous
// frame: they carry the harmonics and formants, and stay above noise mixed in 10 dB below.
constexpr float kChangeRangeDb = 20.0f;
// Mean absolute change of those bands' levels from one frame to the next (after removing the
// change of the overall level, so fades and note envelopes do not count). A held synthetic tone,
// chord or square wave changes by ~0 dB; voiced speech by 1.5..6 dB per 20 ms.
constexpr float kMinChangeDb = 1.0f;
// And the window's voiced frames must move by at least this much in the median: a melody of held
// synthesised notes changes only at note boundaries (median ~0 dB), a hum or buzz by < 0.7 dB,
// vibrato melodies by ~1.4 dB, drums ~0.9 dB; real speech windows by 1.9..7 dB (1st percentile
// 1.9 dB, TESS).
constexpr float kMinMedianChangeDb = 1.8f;

}  // namespace

const char* to_string(WindowSound s) {
    switch (s) {
    case WindowSound::speech: return "speech";
    case WindowSound::silence: return "silence";
    case WindowSound::unvoiced: return "unvoiced";
    case WindowSound::steady: return "steady";
    }
    return "?";
}

SpeechDetector::SpeechDetector(const spectro::SpectroSettings& settings, double min_voiced_fraction)
    : settings_(settings), min_voiced_fraction_(min_voiced_fraction) {
    // Reference level: a full-scale 1 kHz sine through the same STFT + mel (its middle frame).
    const int n = settings.n_fft * 4;
    std::vector<float> sine(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) sine[size_t(i)] = float(std::sin(2.0 * M_PI * 1000.0 * i / settings.sample_rate));
    spectro::SpectroSettings s = settings;
    s.center = false;
    auto mel = spectro::mel_from_samples(sine.data(), sine.size(), settings.sample_rate, s);
    reference_db_ = mel.frames() ? level_dbfs(mel.frame(mel.frames() / 2)) : 0.0;

    // Band centres: librosa's mel_frequencies(n_mels + 2, fmin, fmax)[1:-1].
    const int n_mels = settings.n_mels;
    const double lo = spectro::hz_to_mel(settings.fmin, settings.mel_scale);
    const double hi = spectro::hz_to_mel(settings.fmax, settings.mel_scale);
    band_hz_.resize(std::size_t(n_mels));
    for (int m = 0; m < n_mels; ++m)
        band_hz_[std::size_t(m)] = spectro::mel_to_hz(lo + (hi - lo) * (m + 1) / (n_mels + 1), settings.mel_scale);

    const double grid_high = std::min(kGridHighHz, band_hz_.back());
    for (double f = kGridLowHz; f <= grid_high; f += kGridStepHz) {
        auto above = std::lower_bound(band_hz_.begin(), band_hz_.end(), f);
        int b = int(above - band_hz_.begin());
        if (b == 0) {
            grid_band_.push_back(0);
            grid_weight_.push_back(0.0f);
            continue;
        }
        if (b >= n_mels) b = n_mels - 1;
        const double f0 = band_hz_[std::size_t(b - 1)], f1 = band_hz_[std::size_t(b)];
        grid_band_.push_back(b - 1);
        grid_weight_.push_back(float(std::clamp((f - f0) / (f1 - f0), 0.0, 1.0)));
    }
    lag_min_ = int(std::lround(kPitchMinHz / kGridStepHz));
    lag_max_ = int(std::lround(kPitchMaxHz / kGridStepHz));
    log_power_.resize(std::size_t(n_mels));
    previous_log_power_.resize(std::size_t(n_mels));
    grid_.resize(grid_band_.size());
    detrended_.resize(grid_band_.size());
    correlation_.assign(std::size_t(lag_max_) + 1, 0.0f);
    energy_prefix_.assign(grid_band_.size() + 1, 0.0);
}

double SpeechDetector::level_dbfs(const float* mel) const {
    double energy = 0;
    for (int m = 0; m < settings_.n_mels; ++m) energy += spectro::as_power(mel[m], settings_.power);
    return 10.0 * std::log10(energy + 1e-30) - reference_db_;
}

void SpeechDetector::reset() { have_previous_ = previous_periodic_ = false; }

FrameCues SpeechDetector::push(const float* mel) {
    FrameCues c;
    const std::size_t n_mels = std::size_t(settings_.n_mels);
    c.level_dbfs = float(level_dbfs(mel));
    c.loud = c.level_dbfs > kSilenceFloorDbfs;
    double band_energy = 0;
    for (std::size_t m = 0; m < n_mels; ++m)
        if (band_hz_[m] >= kSpeechBandLowHz && band_hz_[m] <= kSpeechBandHighHz)
            band_energy += spectro::as_power(mel[m], settings_.power);
    c.speech_band_db = float(10.0 * std::log10(band_energy + 1e-30) - reference_db_);
    bool periodic = false;

    float max_db = -300;
    for (std::size_t m = 0; m < n_mels; ++m) {
        log_power_[m] = float(10.0 * std::log10(spectro::as_power(mel[m], settings_.power) + 1e-30));
        max_db = std::max(max_db, log_power_[m]);
    }
    for (auto& v : log_power_) v = std::max(v, max_db - kLogFloorBelowMaxDb);

    // Voiced speech has its strongest harmonics in the grid's range; a tone or whistle above it
    // leaves the grid only window side lobes, whose ripple is not a voice.
    float grid_max_db = -300;
    for (std::size_t m = 0; m < n_mels && band_hz_[m] <= kGridHighHz; ++m) grid_max_db = std::max(grid_max_db, log_power_[m]);
    const bool low_band_strong = grid_max_db >= max_db - kLowBandBelowMaxDb;
    if (c.loud && low_band_strong && grid_.size() > std::size_t(lag_max_) * 2) {
        // Log spectrum on a linear frequency grid, its envelope removed.
        const std::size_t n = grid_.size();
        for (std::size_t i = 0; i < n; ++i) {
            const int b = grid_band_[i];
            const float w = grid_weight_[i];
            const float above = log_power_[std::size_t(std::min<int>(b + 1, int(n_mels) - 1))];
            grid_[i] = (1 - w) * log_power_[std::size_t(b)] + w * above;
        }
        const int half = int(std::lround(kEnvelopeHalfWidthHz / kGridStepHz));
        double sum = 0;
        int count = 0, lo = 0, hi = -1;
        for (int i = 0; i < int(n); ++i) {
            while (hi < std::min(int(n) - 1, i + half)) sum += grid_[std::size_t(++hi)], ++count;
            while (lo < i - half) sum -= grid_[std::size_t(lo++)], --count;
            detrended_[std::size_t(i)] = grid_[std::size_t(i)] - float(sum / count);
        }
        // Normalised autocorrelation across frequency at every spacing from half the lowest pitch
        // up. Harmonics at spacing L correlate at L and anti-correlate at L/2 (peaks on valleys);
        // one broad peak (a gliding tone, a drum's thump) correlates at both, noise at neither.
        // Energies of every head and tail of the ripple from prefix sums, so that only the cross
        // products are summed per spacing (four partial sums, which the compiler vectorises).
        energy_prefix_[0] = 0;
        for (std::size_t i = 0; i < n; ++i)
            energy_prefix_[i + 1] = energy_prefix_[i] + double(detrended_[i]) * detrended_[i];
        for (int lag = lag_min_ / 2; lag <= lag_max_; ++lag) {
            const std::size_t m = n - std::size_t(lag);
            const float* x = detrended_.data();
            const float* y = detrended_.data() + lag;
            float p0 = 0, p1 = 0, p2 = 0, p3 = 0;
            std::size_t i = 0;
            for (; i + 4 <= m; i += 4) {
                p0 += x[i] * y[i];
                p1 += x[i + 1] * y[i + 1];
                p2 += x[i + 2] * y[i + 2];
                p3 += x[i + 3] * y[i + 3];
            }
            for (; i < m; ++i) p0 += x[i] * y[i];
            const double xy = double(p0) + p1 + p2 + p3;
            const double xx = energy_prefix_[m];
            const double yy = energy_prefix_[n] - energy_prefix_[std::size_t(lag)];
            correlation_[std::size_t(lag)] = xx > 0 && yy > 0 ? float(xy / std::sqrt(xx * yy)) : 0.0f;
        }
        float best = 0;
        int best_lag = 0;
        for (int lag = lag_min_; lag <= lag_max_; ++lag) {
            const float score = 0.5f * (correlation_[std::size_t(lag)] - correlation_[std::size_t(lag / 2)]);
            if (score > best) best = score, best_lag = lag;
        }
        c.periodicity = best;
        c.pitch_hz = float(best_lag * kGridStepHz);
        periodic = best >= kMinPeriodicity;
    }

    if (have_previous_) {
        // Shape change of the strong bands, the overall level change removed.
        double diff_sum = 0;
        int used = 0;
        for (std::size_t m = 0; m < n_mels; ++m) {
            if (log_power_[m] < max_db - kChangeRangeDb && previous_log_power_[m] < previous_max_db_ - kChangeRangeDb)
                continue;
            diff_sum += log_power_[m] - previous_log_power_[m];
            ++used;
        }
        if (used > 0) {
            const double mean_diff = diff_sum / used;
            double dev = 0;
            for (std::size_t m = 0; m < n_mels; ++m) {
                if (log_power_[m] < max_db - kChangeRangeDb &&
                    previous_log_power_[m] < previous_max_db_ - kChangeRangeDb)
                    continue;
                dev += std::fabs(log_power_[m] - previous_log_power_[m] - mean_diff);
            }
            c.change_db = float(dev / used);
        }
    }
    // Voicing lasts: a frame is voiced when it and the one before are periodic (noise is, by
    // chance, in one frame of ~15; two in a row are rare).
    c.voiced = periodic && previous_periodic_;
    previous_periodic_ = periodic;
    c.moving = c.voiced && c.change_db >= kMinChangeDb;
    previous_log_power_.swap(log_power_);
    previous_max_db_ = max_db;
    have_previous_ = true;
    return c;
}

WindowVerdict SpeechDetector::judge(const FrameCues* frames, std::size_t n) const {
    WindowVerdict v;
    if (n == 0) return v;
    std::size_t loud = 0, voiced = 0, moving = 0;
    std::vector<float> changes, levels;
    std::size_t run = 0;
    for (std::size_t i = 0; i < n; ++i) {
        run = frames[i].voiced ? run + 1 : 0;
        v.longest_voiced_run = std::max(v.longest_voiced_run, run);
        levels.push_back(std::max(frames[i].speech_band_db, -100.0f));
        if (frames[i].voiced) changes.push_back(frames[i].change_db);
        loud += frames[i].loud ? 1 : 0;
        voiced += frames[i].voiced ? 1 : 0;
        moving += frames[i].moving ? 1 : 0;
    }
    v.loud_fraction = double(loud) / double(n);
    v.voiced_fraction = double(voiced) / double(n);
    v.moving_fraction = double(moving) / double(n);
    std::sort(levels.begin(), levels.end());
    v.level_range_db = levels[levels.size() * 9 / 10] - levels[levels.size() / 10];
    if (!changes.empty()) {
        std::nth_element(changes.begin(), changes.begin() + long(changes.size() / 2), changes.end());
        v.median_change_db = changes[changes.size() / 2];
    }
    // Enough loud frames (the bundle's share, as the energy-only test had it), a level that rises
    // and falls like syllables, and enough voiced frames that move like speech.
    const double need = std::max(min_voiced_fraction_, 1.0 / double(n));
    const double voiced_need = std::max(kMinVoicedFraction, 2.0 / double(n));
    if (v.loud_fraction < need) v.sound = WindowSound::silence;
    else if (v.level_range_db < kMinLevelRangeDb) v.sound = WindowSound::steady;
    else if (v.voiced_fraction < voiced_need) v.sound = WindowSound::unvoiced;
    else if (v.moving_fraction < voiced_need || v.median_change_db < kMinMedianChangeDb) v.sound = WindowSound::steady;
    else v.sound = WindowSound::speech;
    return v;
}

}  // namespace classify
