#include "listen_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#if EMOCLASS_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "classify/classifier.hpp"
#include "classify/result_format.hpp"
#include "classify/windows.hpp"
#include "spectro/error.hpp"
#include "spectro/mel_spectrogram.hpp"

namespace tools {
namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

// SIGINT/SIGTERM set a flag (without SA_RESTART, so a blocking read returns EINTR); a second
// Ctrl-C falls back to the default action and ends the process at once.
class StopSignals {
public:
    StopSignals() {
        g_stop = 0;
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~StopSignals() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }

private:
    struct sigaction old_int_ {};
    struct sigaction old_term_ {};
};

enum class SampleFormat { S16, S32, F32, U8 };

SampleFormat parse_sample_format(const std::string& s) {
    if (s == "s16le") return SampleFormat::S16;
    if (s == "s32le") return SampleFormat::S32;
    if (s == "f32le") return SampleFormat::F32;
    if (s == "u8") return SampleFormat::U8;
    throw spectro::Error("--sample-format", "unknown sample format '" + s + "' (s16le, s32le, f32le or u8)");
}

std::size_t sample_bytes(SampleFormat f) {
    switch (f) {
    case SampleFormat::S16: return 2;
    case SampleFormat::S32: return 4;
    case SampleFormat::F32: return 4;
    case SampleFormat::U8: return 1;
    }
    return 2;
}

// One sample at `p` (little-endian whatever the host) as a float in [-1, 1).
inline float decode_sample(const unsigned char* p, SampleFormat f) {
    switch (f) {
    case SampleFormat::S16: return float(std::int16_t(std::uint16_t(p[0] | (p[1] << 8)))) / 32768.0f;
    case SampleFormat::S32: {
        const std::uint32_t u = std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
                                (std::uint32_t(p[3]) << 24);
        return float(double(std::int32_t(u)) / 2147483648.0);
    }
    case SampleFormat::F32: {
        const std::uint32_t u = std::uint32_t(p[0]) | (std::uint32_t(p[1]) << 8) | (std::uint32_t(p[2]) << 16) |
                                (std::uint32_t(p[3]) << 24);
        float v;
        std::memcpy(&v, &u, sizeof v);
        return v;
    }
    case SampleFormat::U8: return (float(p[0]) - 128.0f) / 128.0f;
    }
    return 0.0f;
}

// Where the raw interleaved PCM comes from.
class Source {
public:
    virtual ~Source() = default;
    // Reads up to `max` bytes into `buf`: the count read, 0 at the end of the stream or once
    // stopped by a signal. Throws spectro::Error on read errors.
    virtual std::size_t read(unsigned char* buf, std::size_t max) = 0;
    virtual std::string describe() const = 0;
};

class FdSource : public Source {
public:
    explicit FdSource(const std::string& input) : name_(input) {
        if (input == "-") {
            fd_ = STDIN_FILENO;
            name_ = "standard input";
        } else {
            fd_ = ::open(input.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd_ < 0) throw spectro::Error(input, std::strerror(errno));
            owned_ = true;
        }
    }
    ~FdSource() override {
        if (owned_) ::close(fd_);
    }
    std::size_t read(unsigned char* buf, std::size_t max) override {
        for (;;) {
            if (g_stop) return 0;
            // Poll with a timeout so that a signal arriving just before a blocking read cannot
            // be missed.
            pollfd p{fd_, POLLIN, 0};
            const int ready = ::poll(&p, 1, 200);
            if (ready < 0 && errno != EINTR) throw spectro::Error(name_, std::strerror(errno));
            if (ready <= 0) continue;
            const ssize_t n = ::read(fd_, buf, max);
            if (n > 0) return std::size_t(n);
            if (n == 0) return 0;
            if (errno == EINTR || errno == EAGAIN) continue;
            throw spectro::Error(name_, std::strerror(errno));
        }
    }
    std::string describe() const override { return name_; }

private:
    std::string name_;
    int fd_ = -1;
    bool owned_ = false;
};

#if EMOCLASS_HAVE_ALSA
// ALSA's library prints its own diagnostics on stderr; the error we throw says it in one line.
extern "C" void quiet_alsa_errors(const char*, int, const char*, int, const char*, ...) {}

class AlsaSource : public Source {
public:
    AlsaSource(const std::string& device, SampleFormat format, int rate, int channels)
        : device_(device), frame_bytes_(sample_bytes(format) * std::size_t(channels)) {
        snd_lib_error_set_handler(quiet_alsa_errors);
        int rc = snd_pcm_open(&pcm_, device.c_str(), SND_PCM_STREAM_CAPTURE, 0);
        if (rc < 0) throw spectro::Error("ALSA device " + device, std::string("cannot open: ") + snd_strerror(rc));
        snd_pcm_format_t f = SND_PCM_FORMAT_S16_LE;
        switch (format) {
        case SampleFormat::S16: f = SND_PCM_FORMAT_S16_LE; break;
        case SampleFormat::S32: f = SND_PCM_FORMAT_S32_LE; break;
        case SampleFormat::F32: f = SND_PCM_FORMAT_FLOAT_LE; break;
        case SampleFormat::U8: f = SND_PCM_FORMAT_U8; break;
        }
        rc = snd_pcm_set_params(pcm_, f, SND_PCM_ACCESS_RW_INTERLEAVED, unsigned(channels), unsigned(rate),
                                1 /* allow ALSA's resampling */, 500000 /* latency, us */);
        if (rc < 0) {
            snd_pcm_close(pcm_);
            throw spectro::Error("ALSA device " + device,
                                 "cannot capture " + std::to_string(rate) + " Hz, " + std::to_string(channels) +
                                     " channel(s): " + snd_strerror(rc));
        }
    }
    ~AlsaSource() override { snd_pcm_close(pcm_); }
    std::size_t read(unsigned char* buf, std::size_t max) override {
        const snd_pcm_uframes_t frames = snd_pcm_uframes_t(max / frame_bytes_);
        for (;;) {
            if (g_stop) return 0;
            const snd_pcm_sframes_t n = snd_pcm_readi(pcm_, buf, frames);
            if (n > 0) return std::size_t(n) * frame_bytes_;
            if (n == 0 || n == -EAGAIN || n == -EINTR) continue;
            if (n == -EPIPE || n == -ESTRPIPE) {
                if (!warned_overrun_) {
                    std::fprintf(stderr, "emoclass listen: capture overrun on %s (audio was lost); continuing\n",
                                 device_.c_str());
                    warned_overrun_ = true;
                }
                if (snd_pcm_recover(pcm_, int(n), 1) == 0) continue;
            }
            throw spectro::Error("ALSA device " + device_, snd_strerror(int(n)));
        }
    }
    std::string describe() const override { return "ALSA device " + device_; }

private:
    std::string device_;
    std::size_t frame_bytes_;
    snd_pcm_t* pcm_ = nullptr;
    bool warned_overrun_ = false;
};
#endif

std::unique_ptr<Source> open_source(const ListenOptions& o, SampleFormat format) {
    if (!o.device.empty()) {
#if EMOCLASS_HAVE_ALSA
        return std::make_unique<AlsaSource>(o.device, format, o.rate, o.channels);
#else
        (void)format;
        throw spectro::Error("--device", "this emoclass was built without ALSA (install libasound2-dev and "
                                         "rebuild); pipe raw PCM into 'emoclass listen -' instead");
#endif
    }
    return std::make_unique<FdSource>(o.input);
}

int listen(const classify::ModelBundle& bundle, const ListenOptions& o) {
    const SampleFormat format = parse_sample_format(o.sample_format);
    if (o.rate < 1000 || o.rate > 768000) throw spectro::Error("--rate", "must be 1000..768000 Hz");
    if (o.channels < 1 || o.channels > 64) throw spectro::Error("--channels", "must be 1..64");
    const double hop_s = o.hop_s > 0 ? o.hop_s : bundle.window.hop_s;

    classify::Classifier classifier(bundle);
    auto source = open_source(o, format);
    StopSignals signals;

    const bool jsonl = o.output_format == "jsonl";
    std::size_t frames_in = 0;  // input sample frames so far
    classify::Result one;       // the formatter's view of one window
    one.labels = bundle.labels;
    std::size_t speech_windows = 0;
    auto print_segment = [&](const classify::Segment& s) {
        if (jsonl) {
            std::printf("%s\n", classify::segment_to_json(bundle.labels, s, true, o.top_k).c_str());
        } else {
            one.segments.assign(1, s);
            std::fputs(classify::segments_table(one, o.top_k).c_str(), stdout);
        }
        std::fflush(stdout);
    };
    auto print = [&](const classify::Segment& seg) {
        speech_windows += seg.voiced ? 1 : 0;
        if (!seg.voiced && !o.show_silence) return;
        classify::Segment s = seg;
        // As the file path does: a window never ends after the audio that has arrived.
        s.end_s = std::min(s.end_s, double(frames_in) / o.rate);
        print_segment(s);
    };
    classify::WindowStream windows(classifier, hop_s, print);
    spectro::MelStream mel(bundle.spectro, o.rate);
    auto to_windows = [&](const float* frame) { windows.push_frame(frame); };

    std::fprintf(stderr, "emoclass listen: %s, %d Hz, %d channel(s), %s; windows of %.2f s every %.2f s%s\n",
                 source->describe().c_str(), o.rate, o.channels, o.sample_format.c_str(),
                 double(bundle.spectro.image.frames) * bundle.spectro.hop_length / bundle.spectro.sample_rate, hop_s, o.device.empty() && o.input != "-" ? "" : " (Ctrl-C to stop)");

    const std::size_t bytes_per_sample = sample_bytes(format);
    const std::size_t frame_bytes = bytes_per_sample * std::size_t(o.channels);
    const std::size_t block_frames = std::max(1, o.rate / 10);  // 0.1 s
    std::vector<unsigned char> buf((block_frames + 1) * frame_bytes);
    std::vector<float> mono(block_frames + 1);
    std::size_t have = 0;  // bytes in buf, less than one frame carried over between reads
    bool warned_bad_values = false;
    for (;;) {
        const std::size_t n = source->read(buf.data() + have, block_frames * frame_bytes);
        if (n == 0) break;
        have += n;
        const std::size_t frames = have / frame_bytes;
        for (std::size_t f = 0; f < frames; ++f) {
            const unsigned char* p = buf.data() + f * frame_bytes;
            float sum = 0;
            for (int c = 0; c < o.channels; ++c) sum += decode_sample(p + std::size_t(c) * bytes_per_sample, format);
            float v = sum / float(o.channels);
            if (!std::isfinite(v)) {
                if (!warned_bad_values)
                    std::fprintf(stderr, "emoclass listen: NaN/Inf samples in the input, read as silence\n");
                warned_bad_values = true;
                v = 0;
            }
            mono[f] = v;
        }
        frames_in += frames;
        if (frames > 0) mel.push(mono.data(), frames, to_windows);
        const std::size_t rest = have - frames * frame_bytes;
        if (rest > 0) std::memmove(buf.data(), buf.data() + frames * frame_bytes, rest);
        have = rest;
    }
    if (have > 0)
        std::fprintf(stderr, "emoclass listen: the stream ended inside a sample frame; ignored its last %zu byte(s)\n",
                     have);
    mel.finish(to_windows);
    if (windows.frames_seen() == 0) {
        std::fprintf(stderr, "emoclass listen: no audio received\n");
        return 0;
    }
    windows.finish();
    if (speech_windows == 0 && !o.show_silence) {
        // The whole stream held no speech: one explicit "no speech" line for all of it, in the
        // same shape as the window lines (with --show-silence every window already said so).
        classify::Segment all;
        all.end_s = double(frames_in) / o.rate;
        print_segment(all);
    }
    return 0;
}

}  // namespace

int run_listen(const classify::ModelBundle& bundle, const ListenOptions& options) {
    try {
        return listen(bundle, options);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "emoclass listen: %s\n", e.what());
        return 1;
    }
}

}  // namespace tools
