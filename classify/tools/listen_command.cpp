#include "listen_command.hpp"

#include <fcntl.h>
#include <sys/stat.h>
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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if EMOCLASS_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "classify/analysis_stream.hpp"
#include "classify/classifier.hpp"
#include "classify/result_format.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"

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
    throw emoclass::Error("--sample-format", "unknown sample format '" + s + "' (s16le, s32le, f32le or u8)");
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
    // stopped by a signal. Throws emoclass::Error on read errors.
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
            if (fd_ < 0) throw emoclass::Error(input, std::strerror(errno));
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
            if (ready < 0 && errno != EINTR) throw emoclass::Error(name_, std::strerror(errno));
            if (ready <= 0) continue;
            const ssize_t n = ::read(fd_, buf, max);
            if (n > 0) return std::size_t(n);
            if (n == 0) return 0;
            if (errno == EINTR || errno == EAGAIN) continue;
            throw emoclass::Error(name_, std::strerror(errno));
        }
    }
    std::string describe() const override { return name_; }
    int fd() const { return fd_; }

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
        if (rc < 0) throw emoclass::Error("ALSA device " + device, std::string("cannot open: ") + snd_strerror(rc));
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
            throw emoclass::Error("ALSA device " + device,
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
            throw emoclass::Error("ALSA device " + device_, snd_strerror(int(n)));
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
        throw emoclass::Error("--device", "this emoclass was built without ALSA (install libasound2-dev and "
                                         "rebuild); pipe raw PCM into 'emoclass listen -' instead");
#endif
    }
    return std::make_unique<FdSource>(o.input);
}

// Up to `want` first bytes of `fd`, left in place for the decoder: a regular file is read with
// pread, a pipe is copied with tee(2), which does not consume it (waiting until `want` bytes are
// there or the writer has closed). Anything else (a terminal, a socket) gives "": raw PCM.
std::string peek_head(int fd, const struct stat& st, std::size_t want) {
    std::string head(want, '\0');
    if (S_ISREG(st.st_mode)) {
        const off_t at = ::lseek(fd, 0, SEEK_CUR);
        const ssize_t n = at < 0 ? -1 : ::pread(fd, head.data(), want, at);
        head.resize(n > 0 ? std::size_t(n) : 0);
        return head;
    }
    if (!S_ISFIFO(st.st_mode)) return {};
    int copy[2];
    if (::pipe2(copy, O_CLOEXEC) != 0) return {};
    ssize_t have = 0;
    while (!g_stop) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        have = ::tee(fd, copy[1], want, SPLICE_F_NONBLOCK);
        const bool writer_gone = (p.revents & POLLHUP) != 0;
        if (have >= ssize_t(want) || have == 0 || (have < 0 && errno != EAGAIN) || writer_gone) break;
        ::usleep(10000);  // fewer bytes than wanted so far: the pipe stays readable, so wait a little
    }
    have = have > 0 ? ::read(copy[0], head.data(), std::size_t(have)) : 0;
    ::close(copy[0]);
    ::close(copy[1]);
    head.resize(have > 0 ? std::size_t(have) : 0);
    return head;
}

// Copies `source` into a pipe of its own, which libsndfile decodes as it arrives. The copy
// honours Ctrl-C (Source::read does; libsndfile reading the input itself would block through
// it): once stopped, the pipe is closed and the decoder takes that for the end of the audio.
class PipeFeeder {
public:
    explicit PipeFeeder(Source& source) {
        if (::pipe2(fds_, O_CLOEXEC) != 0) throw emoclass::Error(source.describe(), std::strerror(errno));
        thread_ = std::thread([this, &source] { copy(source); });
    }
    ~PipeFeeder() { finish(); }
    int fd() const { return fds_[0]; }
    // Ends the copy and waits for it; the input's read error, if any (the decoder then saw an
    // early end of the audio).
    std::string finish() {
        if (!thread_.joinable()) return error_;
        g_stop = 1;        // Source::read returns within its poll timeout
        ::close(fds_[0]);  // a copy still writing gets EPIPE
        thread_.join();
        return error_;
    }

private:
    void copy(Source& source) {
        sigset_t pipe_signal;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);  // a closed pipe gives EPIPE, not death
        std::vector<unsigned char> block(1 << 16);
        try {
            while (const std::size_t n = source.read(block.data(), block.size())) {
                std::size_t sent = 0;
                while (sent < n) {
                    const ssize_t w = ::write(fds_[1], block.data() + sent, n - sent);
                    if (w < 0 && errno == EINTR) continue;
                    if (w <= 0) break;
                    sent += std::size_t(w);
                }
                if (sent < n) break;  // the decoder has stopped reading
            }
        } catch (const std::exception& e) {
            error_ = e.what();
        }
        ::close(fds_[1]);
    }
    int fds_[2] = {-1, -1};
    std::thread thread_;
    std::string error_;
};

// Everything in `source` to its end (decoders other than libsndfile's WAV/AU need to seek).
std::string read_all(Source& source) {
    std::string bytes;
    std::vector<unsigned char> block(1 << 16);
    while (const std::size_t n = source.read(block.data(), block.size()))
        bytes.append(reinterpret_cast<const char*>(block.data()), n);
    return bytes;
}

int listen(const classify::ModelBundle& bundle, const ListenOptions& o) {
    const SampleFormat format = parse_sample_format(o.sample_format);
    if (o.rate < 1000 || o.rate > 768000) throw emoclass::Error("--rate", "must be 1000..768000 Hz");
    if (o.channels < 1 || o.channels > 64) throw emoclass::Error("--channels", "must be 1..64");
    const double hop_s = o.hop_s > 0 ? o.hop_s : bundle.window.hop_s;

    classify::Classifier classifier(bundle);
    auto source = open_source(o, format);
    StopSignals signals;

    // A WAV, FLAC, Ogg... file (or pipe) is decoded by the same decoders as `emoclass FILE`;
    // its header says the rate and channels. Anything else is headerless PCM as the flags say.
    std::optional<PipeFeeder> feeder;  // declared before the reader, which must close first
    std::optional<spectro::AudioReader> reader;
    std::string bytes;  // a piped file read whole (the reader reads from it)
    if (auto* fd_source = dynamic_cast<FdSource*>(source.get())) {
        struct stat st {};
        if (::fstat(fd_source->fd(), &st) == 0) {
            const std::string head = peek_head(fd_source->fd(), st, 12);
            if (spectro::looks_like_audio_file(head.data(), head.size())) {
                const bool streams = head.rfind("RIFF", 0) == 0 || head.rfind("RF64", 0) == 0 ||
                                     head.rfind(".snd", 0) == 0;  // libsndfile reads these from a pipe
                if (S_ISREG(st.st_mode) && o.input != "-") {
                    reader = spectro::AudioReader::open_file(o.input);
                } else if (S_ISFIFO(st.st_mode) && streams) {
                    feeder.emplace(*source);
                    reader = spectro::AudioReader::open_pipe(feeder->fd(), source->describe());
                } else {
                    std::fprintf(stderr, "emoclass listen: %s is an audio file, not raw PCM: reading it to its "
                                         "end, then decoding it\n", source->describe().c_str());
                    bytes = read_all(*source);
                    reader = spectro::AudioReader::open_memory(bytes.data(), bytes.size(), source->describe());
                }
            }
        }
    }
    const int rate = reader ? reader->sample_rate() : o.rate;

    const bool jsonl = o.output_format == "jsonl";
    classify::Result one;  // the formatter's view of one window
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
    const std::string name = reader ? reader->name() : source->describe();
    classify::AnalysisStream stream(classifier, hop_s, rate, name, [&](const classify::Segment& s) {
        speech_windows += s.voiced ? 1 : 0;
        if (s.voiced || o.show_silence) print_segment(s);
    });

    const std::string what = reader ? reader->format_name() + ", " + std::to_string(rate) + " Hz, " +
                                          std::to_string(reader->channels()) + " channel(s), from its header"
                                    : std::to_string(rate) + " Hz, " + std::to_string(o.channels) +
                                          " channel(s), " + o.sample_format;
    std::fprintf(stderr, "emoclass listen: %s, %s; windows of %.2f s every %.2f s%s\n", name.c_str(), what.c_str(),
                 bundle.spectro.window_seconds(), hop_s,
                 o.device.empty() && o.input != "-" ? "" : " (Ctrl-C to stop)");

    if (reader) {
        std::vector<float> block(std::size_t(std::max(1, rate / 10)));  // 0.1 s
        while (!g_stop) {
            const std::size_t n = reader->read_mono(block.data(), block.size());
            if (n == 0) break;
            stream.push(block.data(), n);
        }
        if (feeder) {
            reader.reset();
            const std::string error = feeder->finish();
            if (!error.empty()) throw std::runtime_error(error);
        }
    } else {
        const std::size_t bytes_per_sample = sample_bytes(format);
        const std::size_t frame_bytes = bytes_per_sample * std::size_t(o.channels);
        const std::size_t block_frames = std::max(1, o.rate / 10);  // 0.1 s
        const std::size_t channels = std::size_t(o.channels);
        std::vector<unsigned char> buf((block_frames + 1) * frame_bytes);
        std::vector<float> samples((block_frames + 1) * channels);  // interleaved, as the stream downmixes them
        std::size_t have = 0;  // bytes in buf, less than one frame carried over between reads
        for (;;) {
            const std::size_t n = source->read(buf.data() + have, block_frames * frame_bytes);
            if (n == 0) break;
            have += n;
            const std::size_t frames = have / frame_bytes;
            for (std::size_t i = 0; i < frames * channels; ++i)
                samples[i] = decode_sample(buf.data() + i * bytes_per_sample, format);
            if (frames > 0) stream.push_channels(samples.data(), channels, frames, channels, 1);
            const std::size_t rest = have - frames * frame_bytes;
            if (rest > 0) std::memmove(buf.data(), buf.data() + frames * frame_bytes, rest);
            have = rest;
        }
        if (have > 0)
            std::fprintf(stderr,
                         "emoclass listen: the stream ended inside a sample frame; ignored its last %zu byte(s)\n",
                         have);
    }
    if (!stream.finish()) {
        std::fprintf(stderr, "emoclass listen: no audio received\n");
        return 0;
    }
    if (speech_windows == 0 && !o.show_silence) {
        // The whole stream held no speech: one explicit "no speech" line for all of it, in the
        // same shape as the window lines (with --show-silence every window already said so).
        classify::Segment all;
        all.end_s = stream.duration_s();
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
