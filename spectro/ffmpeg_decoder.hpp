#pragma once
// The second decoder behind AudioReader: FFmpeg's libraries (libavformat, libavcodec,
// libswresample) for what libsndfile cannot read: m4a/AAC, mp4/mov audio tracks, webm/Matroska
// (Opus, Vorbis), AMR, WMA, ... The container is detected from the bytes, never the file name.
//
// FFmpeg's libraries pull in some 130 shared libraries (video codecs included), and loading them
// costs a process more than everything else at start-up, so they are not linked into the tools:
// the decoder lives in a module (libspectro_ffmpeg.so, built from ffmpeg_decoder.cpp) that is
// loaded with dlopen the first time a file needs it. A clip libsndfile reads never loads it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spectro {

// A decoding stream: mono float samples (mean of the channels, as librosa.to_mono), block by
// block; only the current packet's samples are held. Errors are emoclass::Error(name, reason).
class DecodedStream {
public:
    virtual ~DecodedStream() = default;
    virtual int sample_rate() const = 0;
    virtual int channels() const = 0;
    // The container's estimate until the end of the stream is reached, then the exact count.
    virtual std::int64_t frames() const = 0;
    virtual std::string format_name() const = 0;  // e.g. "FFmpeg mov,mp4,m4a,3gp,3g2,mj2 / aac"
    virtual std::size_t read_mono(float* out, std::size_t max_frames) = 0;  // 0 at the end
};

// Open with FFmpeg; throws emoclass::Error(name, reason) when FFmpeg cannot read the bytes as
// audio or the module cannot be loaded. open_memory's `data` must outlive the stream.
std::unique_ptr<DecodedStream> ffmpeg_open_file(const std::string& path);
std::unique_ptr<DecodedStream> ffmpeg_open_memory(const void* data, std::size_t size, const std::string& name);

// "FFmpeg libavformat 59.27.100, libavcodec 59.37.100 (module ...)" or why it is unavailable.
std::string ffmpeg_version();

// The module's entry points (C linkage so that dlsym finds them by name).
extern "C" {
using FfmpegOpenFn = DecodedStream* (*)(const char* path, const void* data, std::size_t size, const char* name);
using FfmpegVersionFn = const char* (*)();
}

}  // namespace spectro
