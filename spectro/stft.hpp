#pragma once
// Stft: librosa.stft's framing (center padding with pad_mode, periodic Hann of win_length
// centred in n_fft) followed by |X|^power per frame, computed with FFTW (single precision).
// Streaming: samples go in block by block, spectra come out frame by frame, so an hour of audio
// never sits in memory. FFTW plans are made once per n_fft, process-wide, under a lock, and
// shared read-only by every thread (FFTW's new-array execute is thread-safe).
#include <cstddef>
#include <functional>
#include <vector>

#include "spectro/settings.hpp"

namespace spectro {

class Stft {
public:
    using SpectrumSink = std::function<void(const float* spectrum)>;  // n_bins() values

    explicit Stft(const SpectroSettings& settings);
    ~Stft();
    Stft(const Stft&) = delete;
    Stft& operator=(const Stft&) = delete;

    int n_fft() const { return n_fft_; }
    int n_bins() const { return n_fft_ / 2 + 1; }
    const std::vector<float>& window() const { return window_; }  // n_fft long, zero-padded

    void push(const float* samples, std::size_t n, const SpectrumSink& sink);
    // Ends the signal: right padding (center) and the last frames. The Stft can then be reused.
    void finish(const SpectrumSink& sink);
    std::size_t frames_emitted() const { return frames_emitted_; }

    // |FFT(window * frame)|^power of one n_fft-long frame.
    void spectrum(const float* frame, float* out);

private:
    void emit_ready(const SpectrumSink& sink);
    void start_body();
    void reset();

    int n_fft_, hop_, pad_;
    bool center_, reflect_;
    double power_;
    std::vector<float> window_;
    std::vector<float> spectrum_;  // one frame's output, reused
    float* fft_in_ = nullptr;   // fftwf_malloc'd, n_fft
    void* fft_out_ = nullptr;   // fftwf_complex[n_bins]
    void* plan_ = nullptr;      // shared fftwf_plan, owned by the cache

    std::vector<float> head_;   // original samples until enough exist to build the left pad
    bool body_started_ = false;
    std::vector<float> buf_;    // padded signal from the next frame's start (plus consumed prefix)
    std::size_t buf_pos_ = 0;   // start of the next frame inside buf_
    std::size_t skip_ = 0;      // samples still to skip when hop > n_fft
    std::vector<float> tail_;   // last pad_+1 original samples, for the right reflect pad
    std::size_t frames_emitted_ = 0;
};

std::string fftw_version();

}  // namespace spectro
