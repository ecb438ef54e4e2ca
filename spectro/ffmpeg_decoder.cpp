// FFmpeg decoder module (libspectro_ffmpeg.so): loaded by ffmpeg_loader.cpp on first use, never
// linked into the tools (see ffmpeg_decoder.hpp for why). Reads through a custom AVIOContext over
// the file or the memory buffer, so the container is probed from the bytes alone and no demuxer
// can open other files or URLs; only audio containers are accepted.
#include "spectro/ffmpeg_decoder.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "spectro/downmix.hpp"
#include "spectro/error.hpp"

namespace spectro {
namespace {

// Demuxers for audio files and the audio of common recording containers. Anything else FFmpeg
// might recognise (images, playlists, subtitles, raw video, ...) is not audio to us.
constexpr const char* kAudioContainers =
    "mov,matroska,webm,amr,amrnb,amrwb,asf,aac,mp3,ogg,wav,w64,flac,caf,aiff,au,wv,ape,tta,ac3,eac3,dts,"
    "mpc,mpc8,avi,flv,mpeg,mpegts,rm,voc,aptx";

std::string av_message(int code) {
    char text[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(code, text, sizeof text);
    return text;
}

// The bytes: a file (read with stdio) or a caller's memory buffer.
struct ByteSource {
    std::FILE* file = nullptr;
    const unsigned char* data = nullptr;
    std::int64_t size = 0;
    std::int64_t pos = 0;
    ~ByteSource() {
        if (file) std::fclose(file);
    }
};

int read_bytes(void* opaque, std::uint8_t* buf, int n) {
    auto* s = static_cast<ByteSource*>(opaque);
    if (s->file) {
        const std::size_t got = std::fread(buf, 1, std::size_t(n), s->file);
        if (got == 0) return std::ferror(s->file) ? AVERROR(EIO) : AVERROR_EOF;
        return int(got);
    }
    const std::int64_t left = s->size - s->pos;
    if (left <= 0) return AVERROR_EOF;
    const int count = int(std::min<std::int64_t>(left, n));
    std::memcpy(buf, s->data + s->pos, std::size_t(count));
    s->pos += count;
    return count;
}

std::int64_t seek_bytes(void* opaque, std::int64_t offset, int whence) {
    auto* s = static_cast<ByteSource*>(opaque);
    if (whence & AVSEEK_SIZE) return s->size;
    whence &= ~AVSEEK_FORCE;
    std::int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (s->file ? std::ftell(s->file) : s->pos) : s->size;
    const std::int64_t target = base + offset;
    if (target < 0 || target > s->size) return AVERROR(EINVAL);
    if (s->file) {
        if (fseeko(s->file, off_t(target), SEEK_SET) != 0) return AVERROR(errno);
        return target;
    }
    s->pos = target;
    return target;
}

// Demuxers may ask to open further files (playlists, external references): never.
int refuse_nested_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) { return AVERROR(EPERM); }

void silence_ffmpeg_logging() {
    static std::once_flag once;
    std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

class FfmpegStream final : public DecodedStream {
public:
    FfmpegStream(const char* path, const void* data, std::size_t size, std::string name) : name_(std::move(name)) {
        try {
            open(path, data, size);
        } catch (...) {
            release();
            throw;
        }
    }

    ~FfmpegStream() override { release(); }

    int sample_rate() const override { return rate_; }
    int channels() const override { return channels_; }
    std::int64_t frames() const override {
        return finished_ ? delivered_ : std::max(estimate_, delivered_ + std::int64_t(pending_.size() - offset_));
    }
    std::string format_name() const override { return format_label_; }

    std::size_t read_mono(float* out, std::size_t max_frames) override {
        std::size_t written = 0;
        while (written < max_frames) {
            if (offset_ == pending_.size() && !decode_next()) break;
            const std::size_t n = std::min(max_frames - written, pending_.size() - offset_);
            std::memcpy(out + written, pending_.data() + offset_, n * sizeof(float));
            offset_ += n;
            written += n;
        }
        delivered_ += std::int64_t(written);
        return written;
    }

private:
    void open(const char* path, const void* data, std::size_t size) {
        silence_ffmpeg_logging();
        if (path) {
            struct stat st {};
            source_.file = std::fopen(path, "rb");
            if (!source_.file || fstat(fileno(source_.file), &st) != 0) fail(std::strerror(errno));
            source_.size = st.st_size;
        } else {
            source_.data = static_cast<const unsigned char*>(data);
            source_.size = std::int64_t(size);
        }
        constexpr int kIoBuffer = 1 << 15;
        auto* buffer = static_cast<unsigned char*>(av_malloc(kIoBuffer));
        if (!buffer) fail("out of memory");
        io_ = avio_alloc_context(buffer, kIoBuffer, 0, &source_, read_bytes, nullptr, seek_bytes);
        if (!io_) {
            av_free(buffer);
            fail("out of memory");
        }
        format_ = avformat_alloc_context();
        if (!format_) fail("out of memory");
        format_->pb = io_;
        format_->flags |= AVFMT_FLAG_CUSTOM_IO;
        format_->io_open = refuse_nested_open;
        format_->format_whitelist = av_strdup(kAudioContainers);
        format_->protocol_whitelist = av_strdup("none");
        // Probe the bytes first: "not a recognised audio format" only when FFmpeg does not know
        // them as one of the audio containers; a known container that fails to open is broken.
        // At most 64 KiB are probed (FFmpeg's default is 1 MiB): the audio containers accepted
        // here are known from their first bytes, and probing bytes that are no container costs
        // time in proportion (1 MiB of junk: ~70 ms, a cheap way to keep a server's worker busy).
        const AVInputFormat* probed = nullptr;
        constexpr unsigned kMaxProbeBytes = 64u << 10;
        int err = av_probe_input_buffer2(io_, &probed, "", nullptr, 0, kMaxProbeBytes);
        if (err < 0 || !probed || av_match_list(probed->name, kAudioContainers, ',') <= 0)
            fail("not a recognised audio format");
        err = avformat_open_input(&format_, "", probed, nullptr);
        if (err < 0) {
            format_ = nullptr;  // freed by avformat_open_input on failure
            fail("truncated or corrupt " + std::string(probed->name) + " file (" + av_message(err) + ")");
        }
        err = avformat_find_stream_info(format_, nullptr);
        if (err < 0) fail("cannot read the stream information (" + av_message(err) + ")");
        const AVCodec* codec = nullptr;
        stream_index_ = av_find_best_stream(format_, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
        if (stream_index_ == AVERROR_STREAM_NOT_FOUND) fail("no audio stream in this " + std::string(format_->iformat->name) + " file");
        if (stream_index_ < 0 || !codec) fail("no decoder for its audio stream (" + av_message(stream_index_) + ")");
        AVStream* stream = format_->streams[stream_index_];
        for (unsigned i = 0; i < format_->nb_streams; ++i)
            if (int(i) != stream_index_) format_->streams[i]->discard = AVDISCARD_ALL;  // skip video packets
        codec_ = avcodec_alloc_context3(codec);
        if (!codec_) fail("out of memory");
        if ((err = avcodec_parameters_to_context(codec_, stream->codecpar)) < 0) fail(av_message(err));
        codec_->thread_count = 1;
        codec_->request_sample_fmt = AV_SAMPLE_FMT_FLT;
        if ((err = avcodec_open2(codec_, codec, nullptr)) < 0)
            fail("cannot open the " + std::string(codec->name) + " decoder (" + av_message(err) + ")");
        packet_ = av_packet_alloc();
        frame_ = av_frame_alloc();
        if (!packet_ || !frame_) fail("out of memory");
        format_label_ = "FFmpeg " + std::string(format_->iformat->name) + " / " + codec->name;
        // The codec parameters may be wrong (HE-AAC's SBR doubles the rate): the first decoded
        // frame decides the rate and the channel count.
        if (!decode_next()) fail("contains no audio samples");
        if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0)
            estimate_ = std::int64_t(double(stream->duration) * av_q2d(stream->time_base) * rate_ + 0.5);
        else if (format_->duration != AV_NOPTS_VALUE && format_->duration > 0)
            estimate_ = std::int64_t(double(format_->duration) / AV_TIME_BASE * rate_ + 0.5);
    }

    void release() {
        swr_free(&swr_);
        av_channel_layout_uninit(&swr_layout_);
        av_frame_free(&frame_);
        av_packet_free(&packet_);
        avcodec_free_context(&codec_);
        if (format_) avformat_close_input(&format_);
        if (io_) {
            av_freep(&io_->buffer);
            avio_context_free(&io_);
        }
    }

    [[noreturn]] void fail(const std::string& reason) const { throw emoclass::Error(name_, reason); }

    // Decodes the next frame into pending_ (mono). False at the end of the stream.
    bool decode_next() {
        if (finished_) return false;
        for (;;) {
            int err = avcodec_receive_frame(codec_, frame_);
            if (err == 0) {
                const bool got = take_frame();
                av_frame_unref(frame_);
                if (got) return true;
                continue;
            }
            if (err == AVERROR_EOF) {
                finished_ = true;
                pending_.clear();
                offset_ = 0;
                if (decoded_frames_ == 0 && delivered_samples_ > 0) fail("corrupt audio data (no packet decodes)");
                return false;
            }
            if (err != AVERROR(EAGAIN)) fail("corrupt audio data (" + av_message(err) + ")");
            if (draining_) {
                finished_ = true;
                return false;
            }
            err = av_read_frame(format_, packet_);
            if (err == AVERROR_EOF) {
                draining_ = true;
                avcodec_send_packet(codec_, nullptr);
                continue;
            }
            if (err < 0) fail("cannot read audio data (" + av_message(err) + ")");
            if (packet_->stream_index == stream_index_) {
                err = avcodec_send_packet(codec_, packet_);
                if (err == AVERROR_INVALIDDATA || err == AVERROR_PATCHWELCOME) {
                    // A packet the decoder cannot use (a damaged frame; AMR's comfort-noise frames,
                    // which FFmpeg's AMR decoder does not implement): silence for its duration keeps
                    // the timeline, as the ffmpeg tool does by going on.
                    const bool filled = fill_silence(packet_);
                    av_packet_unref(packet_);
                    if (filled) return true;
                    continue;
                }
                if (err < 0 && err != AVERROR(EAGAIN)) {
                    av_packet_unref(packet_);
                    fail("corrupt audio data at " + std::to_string(delivered_samples_ / std::max(rate_, 1)) +
                         " s (" + av_message(err) + ")");
                }
            }
            av_packet_unref(packet_);
        }
    }

    // Zeros for the duration of a packet the decoder rejected; false when the duration is unknown.
    bool fill_silence(const AVPacket* packet) {
        const int rate = rate_ > 0 ? rate_ : codec_->sample_rate;
        if (packet->duration <= 0 || rate <= 0) return false;
        if (rate_ == 0) {
            rate_ = rate;
            channels_ = std::max(1, codec_->ch_layout.nb_channels);
        }
        const AVRational base = format_->streams[stream_index_]->time_base;
        const auto n = std::int64_t(double(packet->duration) * av_q2d(base) * rate + 0.5);
        if (n <= 0 || n > rate) return false;  // at most a second per packet
        pending_.assign(std::size_t(n), 0.0f);
        offset_ = 0;
        delivered_samples_ += n;
        return true;
    }

    // Converts frame_ to interleaved float (libswresample, same rate and channels), then to mono
    // by the mean of the channels, as the libsndfile path and librosa.to_mono do.
    bool take_frame() {
        const int n = frame_->nb_samples;
        const int ch = frame_->ch_layout.nb_channels;
        if (n <= 0 || ch <= 0) return false;
        if (rate_ == 0) {
            rate_ = frame_->sample_rate;
            channels_ = ch;
            if (rate_ <= 0) fail("invalid sample rate " + std::to_string(rate_));
        } else if (frame_->sample_rate != rate_) {
            fail("the sample rate changes within the stream (" + std::to_string(rate_) + " -> " +
                 std::to_string(frame_->sample_rate) + " Hz)");
        }
        if (!swr_ || frame_->format != swr_format_ || av_channel_layout_compare(&frame_->ch_layout, &swr_layout_) != 0) {
            swr_free(&swr_);
            av_channel_layout_uninit(&swr_layout_);
            if (av_channel_layout_copy(&swr_layout_, &frame_->ch_layout) < 0) fail("out of memory");
            int err = swr_alloc_set_opts2(&swr_, &frame_->ch_layout, AV_SAMPLE_FMT_FLT, rate_, &frame_->ch_layout,
                                          AVSampleFormat(frame_->format), rate_, 0, nullptr);
            if (err < 0 || (err = swr_init(swr_)) < 0) fail("cannot convert its samples (" + av_message(err) + ")");
            swr_format_ = frame_->format;
        }
        interleaved_.resize(std::size_t(n) * std::size_t(ch));
        auto* target = reinterpret_cast<std::uint8_t*>(interleaved_.data());
        const int got = swr_convert(swr_, &target, n, const_cast<const std::uint8_t**>(frame_->extended_data), n);
        if (got < 0) fail("cannot convert its samples (" + av_message(got) + ")");
        pending_.resize(std::size_t(got));
        offset_ = 0;
        downmix_mean(interleaved_.data(), std::size_t(ch), std::size_t(got), std::size_t(ch), 1, pending_.data());
        for (std::size_t i = 0; i < std::size_t(got); ++i)
            if (!std::isfinite(pending_[i]))
                fail("holds NaN or infinite samples (frame " + std::to_string(delivered_samples_ + std::int64_t(i)) + ")");
        delivered_samples_ += got;
        ++decoded_frames_;
        return got > 0;
    }

    std::string name_;
    ByteSource source_;
    AVIOContext* io_ = nullptr;
    AVFormatContext* format_ = nullptr;
    AVCodecContext* codec_ = nullptr;
    AVPacket* packet_ = nullptr;
    AVFrame* frame_ = nullptr;
    SwrContext* swr_ = nullptr;
    AVChannelLayout swr_layout_{};
    int swr_format_ = -1;
    int stream_index_ = -1;
    int rate_ = 0, channels_ = 0;
    std::string format_label_;
    std::vector<float> interleaved_, pending_;
    std::size_t offset_ = 0;
    std::int64_t estimate_ = 0, delivered_ = 0, delivered_samples_ = 0, decoded_frames_ = 0;
    bool draining_ = false, finished_ = false;
};

}  // namespace
}  // namespace spectro

// The module's entry points, looked up by ffmpeg_loader.cpp with dlsym.
extern "C" __attribute__((visibility("default"))) spectro::DecodedStream* spectro_ffmpeg_open(
    const char* path, const void* data, std::size_t size, const char* name) {
    return new spectro::FfmpegStream(path, data, size, name);
}

extern "C" __attribute__((visibility("default"))) const char* spectro_ffmpeg_version() {
    static const std::string text = "FFmpeg libavformat " + std::string(AV_STRINGIFY(LIBAVFORMAT_VERSION)) +
                                    ", libavcodec " + AV_STRINGIFY(LIBAVCODEC_VERSION) + ", libswresample " +
                                    AV_STRINGIFY(LIBSWRESAMPLE_VERSION);
    return text.c_str();
}
