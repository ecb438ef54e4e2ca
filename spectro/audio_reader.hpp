#pragma once
// AudioReader: decodes any format libsndfile reads (WAV, AIFF, FLAC, Ogg Vorbis/Opus, MP3 where
// the Debian build has it) and, where libsndfile does not know the format, anything FFmpeg's
// libraries read (m4a/AAC, mp4/mov, webm/Matroska, AMR, WMA; spectro/ffmpeg_decoder.hpp), from a
// file or from bytes in memory, block by block, downmixed to mono by the mean of the channels
// (librosa.to_mono). It never holds the whole file. Formats are told apart by content.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spectro {

class AudioReader {
public:
    // Throws spectro::Error(path, reason) for a missing, unreadable, non-audio or empty file.
    static AudioReader open_file(const std::string& path);
    // Decodes from memory; `data` must outlive the reader. `name` is used in error messages.
    static AudioReader open_memory(const void* data, std::size_t size, const std::string& name);

    AudioReader(AudioReader&&) noexcept;
    AudioReader& operator=(AudioReader&&) noexcept;
    ~AudioReader();

    int sample_rate() const;
    int channels() const;
    // As the header declares (checked while reading); for FFmpeg containers the container's
    // estimate until the end is reached, then the exact count.
    std::int64_t frames() const;
    double duration_s() const { return sample_rate() > 0 ? double(frames()) / sample_rate() : 0.0; }
    const std::string& name() const;
    std::string format_name() const;  // e.g. "WAV (Microsoft) / Signed 16 bit PCM"

    // Reads up to `max_frames` frames as mono floats into `out`. Returns the number read; 0 at the
    // end. Throws when the data is shorter than the header declares or holds NaN/Inf samples.
    std::size_t read_mono(float* out, std::size_t max_frames);

private:
    struct Impl;
    explicit AudioReader(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// "libsndfile-1.2.0" and the list of major formats it reads.
std::string sndfile_version();
std::string sndfile_formats();

}  // namespace spectro
