#include "spectro/stft.hpp"

#include <fftw3.h>

#include <cmath>
#include <map>
#include <mutex>

#include "spectro/error.hpp"

namespace spectro {
namespace {

std::mutex g_plan_mutex;  // FFTW's planner is not thread-safe

// One plan per n_fft for the life of the process. FFTW_ESTIMATE keeps the choice of algorithm,
// and so the output bytes, the same on every run (FFTW_MEASURE may pick differently each time).
fftwf_plan shared_plan(int n_fft) {
    static std::map<int, fftwf_plan> plans;
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    auto it = plans.find(n_fft);
    if (it != plans.end()) return it->second;
    float* in = fftwf_alloc_real(size_t(n_fft));
    fftwf_complex* out = fftwf_alloc_complex(size_t(n_fft / 2 + 1));
    fftwf_plan plan = fftwf_plan_dft_r2c_1d(n_fft, in, out, FFTW_ESTIMATE);
    fftwf_free(in);
    fftwf_free(out);
    if (!plan) throw emoclass::Error("stft", "FFTW could not plan a transform of size " + std::to_string(n_fft));
    plans.emplace(n_fft, plan);
    return plan;
}

// numpy.pad(mode='reflect') for any index, also when the pad is longer than the signal.
float reflect_at(const std::vector<float>& x, long long i) {
    const long long n = static_cast<long long>(x.size());
    if (n == 1) return x[0];
    const long long period = 2 * (n - 1);
    long long j = i % period;
    if (j < 0) j += period;
    if (j >= n) j = period - j;
    return x[size_t(j)];
}

}  // namespace

Stft::Stft(const SpectroSettings& s)
    : n_fft_(s.n_fft), hop_(s.hop_length), pad_(s.center ? s.n_fft / 2 : 0), center_(s.center),
      reflect_(s.pad_mode == PadMode::Reflect), power_(s.power) {
    s.validate();
    // Periodic Hann (scipy.signal.get_window('hann', win_length, fftbins=True)), centred in
    // n_fft with librosa.util.pad_center's left pad of (n_fft - win_length) // 2.
    window_.assign(size_t(n_fft_), 0.0f);
    const int lpad = (n_fft_ - s.win_length) / 2;
    for (int i = 0; i < s.win_length; ++i)
        window_[size_t(lpad + i)] = float(0.5 - 0.5 * std::cos(2.0 * M_PI * i / s.win_length));
    plan_ = shared_plan(n_fft_);
    fft_in_ = fftwf_alloc_real(size_t(n_fft_));
    fft_out_ = fftwf_alloc_complex(size_t(n_bins()));
    spectrum_.resize(size_t(n_bins()));
}

Stft::~Stft() {
    fftwf_free(fft_in_);
    fftwf_free(fft_out_);
}

void Stft::spectrum(const float* frame, float* out) {
    for (int i = 0; i < n_fft_; ++i) fft_in_[i] = frame[i] * window_[size_t(i)];
    auto* X = static_cast<fftwf_complex*>(fft_out_);
    fftwf_execute_dft_r2c(static_cast<fftwf_plan>(plan_), fft_in_, X);
    const int bins = n_bins();
    float total = 0.0f;
    if (power_ == 2.0) {
        for (int k = 0; k < bins; ++k) total += out[k] = X[k][0] * X[k][0] + X[k][1] * X[k][1];
    } else {
        for (int k = 0; k < bins; ++k) total += out[k] = std::sqrt(X[k][0] * X[k][0] + X[k][1] * X[k][1]);
    }
    // A float file with samples far outside [-1, 1] (beyond ~1e18) or with NaN/inf samples
    // overflows the float power spectrum; every later step (mel, dB, image) would turn it into
    // NaN and a confident wrong answer. Refuse it here, where it first shows.
    if (!std::isfinite(total))
        throw emoclass::Error("", "samples too large or not finite (the power spectrum overflows float): "
                        "float audio is expected in [-1, 1]");
}

void Stft::start_body() {
    // Left pad from the first samples (reflect) or zeros (constant), then the samples themselves.
    buf_.clear();
    buf_pos_ = 0;
    for (int i = pad_; i >= 1; --i) buf_.push_back(reflect_ ? reflect_at(head_, i) : 0.0f);
    buf_.insert(buf_.end(), head_.begin(), head_.end());
    body_started_ = true;
}

void Stft::push(const float* samples, std::size_t n, const SpectrumSink& sink) {
    if (n == 0) return;
    // Keep the last pad_+1 original samples for the right pad.
    const size_t keep = size_t(pad_) + 1;
    if (n >= keep) {
        tail_.assign(samples + (n - keep), samples + n);
    } else {
        tail_.insert(tail_.end(), samples, samples + n);
        if (tail_.size() > keep) tail_.erase(tail_.begin(), tail_.begin() + long(tail_.size() - keep));
    }
    if (!body_started_) {
        head_.insert(head_.end(), samples, samples + n);
        if (head_.size() >= keep) {
            start_body();
            head_.clear();
            emit_ready(sink);
        }
        return;
    }
    buf_.insert(buf_.end(), samples, samples + n);
    emit_ready(sink);
}

void Stft::emit_ready(const SpectrumSink& sink) {
    for (;;) {
        if (skip_ > 0) {
            size_t s = std::min(skip_, buf_.size() - buf_pos_);
            buf_pos_ += s;
            skip_ -= s;
            if (skip_ > 0) break;
        }
        if (buf_.size() - buf_pos_ < size_t(n_fft_)) break;
        spectrum(buf_.data() + buf_pos_, spectrum_.data());
        sink(spectrum_.data());
        ++frames_emitted_;
        size_t advance = std::min(size_t(hop_), buf_.size() - buf_pos_);
        buf_pos_ += advance;
        skip_ = size_t(hop_) - advance;
    }
    // Compact so the buffer stays about one frame long however long the signal.
    if (buf_pos_ > size_t(n_fft_) * 4) {
        buf_.erase(buf_.begin(), buf_.begin() + long(buf_pos_));
        buf_pos_ = 0;
    }
}

void Stft::finish(const SpectrumSink& sink) {
    if (!body_started_) {
        // The whole signal is shorter than the pad: build the padded signal at once.
        if (head_.empty()) {
            reset();
            return;
        }
        buf_.clear();
        buf_pos_ = 0;
        const long long n = static_cast<long long>(head_.size());
        for (long long i = -pad_; i < n + pad_; ++i) {
            if (i >= 0 && i < n) buf_.push_back(head_[size_t(i)]);
            else buf_.push_back(reflect_ ? reflect_at(head_, i) : 0.0f);
        }
        body_started_ = true;
        emit_ready(sink);
        reset();
        return;
    }
    // Right pad: x[N-1-k] for k = 1..pad (reflect) or zeros.
    const long long t = static_cast<long long>(tail_.size());
    for (int k = 1; k <= pad_; ++k)
        buf_.push_back(reflect_ ? reflect_at(tail_, t - 1 + k) : 0.0f);
    emit_ready(sink);
    reset();
}

void Stft::reset() {
    head_.clear();
    tail_.clear();
    buf_.clear();
    buf_pos_ = 0;
    skip_ = 0;
    body_started_ = false;
}

std::string fftw_version() { return fftwf_version; }

}  // namespace spectro
