#pragma once
// SpeechDetector: does a window of mel frames hold speech, or only tones, music, noise, clicks,
// hum or silence? Only windows that hold speech are given to the emotion model.
//
// It works on the mel power frames the model's spectrogram is made of, as they stream in, so
// files, HTTP bodies and live input share it; its memory is one previous frame, and a window's
// verdict is drawn from the per-frame cues the window stream keeps for its frames. Four cues:
//  1. loudness: the frame's level against a full-scale sine (silence is not speech);
//  2. voicing: a voiced speech frame has harmonics of a pitch between 60 and 400 Hz, so its
//     log spectrum below 1.5 kHz repeats itself at the pitch spacing (normalised autocorrelation
//     of the spectrum across frequency); noise, clicks and single tones do not;
//  3. movement: speech never holds still. Pitch glides and formants move from one 20 ms frame to
//     the next, so the strongest bands change by decibels; a tone, a chord, a square wave, a hum
//     or a held synthesised note repeats the same spectrum frame after frame;
//  4. syllables: the 300..4000 Hz level rises and falls by >= 10 dB within the window (words,
//     syllables, pauses); noise, tones, chords and arpeggios hold it steady.
// A window is speech when enough of its frames are loud, voiced and moving, and its level moves
// like syllables (see judge()). The thresholds and why they are where they are: the .cpp.
#include <cstddef>
#include <vector>

#include "spectro/settings.hpp"

namespace classify {

// What one mel frame looks like to the detector.
struct FrameCues {
    float level_dbfs = -200;  // frame energy, dB against a full-scale 1 kHz sine
    float speech_band_db = -200;  // energy of the 300..4000 Hz bands, dB (same reference)
    float periodicity = 0;    // 0..1: harmonic repetition at a pitch of 60..400 Hz
    float pitch_hz = 0;       // the spacing that repeats best (0 when not loud)
    float change_db = -1;     // how much the strong bands moved since the previous frame (-1: none before)
    bool loud = false;        // level above the silence floor
    bool voiced = false;      // loud and periodic
    bool moving = false;      // voiced, and its strong bands changed since the previous frame
};

// Why a window was or was not taken as speech.
// silence: too few loud frames; unvoiced: too few voiced frames (noise, clicks, DC); steady: a
// voiced sound that holds still (tones, chords, hum, buzz, held or fast-repeating notes).
enum class WindowSound { speech, silence, unvoiced, steady };
const char* to_string(WindowSound s);

struct WindowVerdict {
    WindowSound sound = WindowSound::silence;
    bool speech() const { return sound == WindowSound::speech; }
    double loud_fraction = 0;    // frames above the silence floor
    double voiced_fraction = 0;  // frames loud and periodic
    double moving_fraction = 0;  // frames voiced and changing
    double median_change_db = 0; // of the voiced frames
    std::size_t longest_voiced_run = 0;  // frames
    double level_range_db = 0;   // 90th minus 10th percentile of the frames' levels (syllables, pauses)
};

class SpeechDetector {
public:
    // min_voiced_fraction: the share of a window's frames that must be voiced speech (the model
    // bundle's window.min_voiced_fraction).
    SpeechDetector(const spectro::SpectroSettings& settings, double min_voiced_fraction);

    // One mel frame (settings.n_mels values, power or magnitude per settings.power), in stream
    // order. Remembers this frame for the next one's change_db.
    FrameCues push(const float* mel);
    void reset();  // a new stream begins

    // The verdict on a window made of `n` consecutive frames' cues.
    WindowVerdict judge(const FrameCues* frames, std::size_t n) const;

    double level_dbfs(const float* mel) const;

private:
    spectro::SpectroSettings settings_;
    double min_voiced_fraction_;
    double reference_db_ = 0;
    // Each mel band's centre frequency, and the linear-frequency grid the voicing cue uses.
    std::vector<double> band_hz_;
    std::vector<int> grid_band_;       // grid point -> band below it
    std::vector<float> grid_weight_;   // interpolation weight of the band above
    int lag_min_ = 0, lag_max_ = 0;    // pitch range in grid steps
    // Scratch and the previous frame's log spectrum (the only state between frames).
    std::vector<float> log_power_, previous_log_power_, grid_, detrended_, correlation_;
    std::vector<double> energy_prefix_;
    bool have_previous_ = false, previous_periodic_ = false;
    float previous_max_db_ = 0;
};

}  // namespace classify
