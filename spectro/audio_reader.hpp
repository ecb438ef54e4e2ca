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
    // Throws emoclass::Error(path, reason) for a missing, unreadable, non-audio or empty file.
    static AudioReader open_file(const std::string& path);
    // Decodes from memory; `data` must outlive the reader. `name` is used in error messages.
    static AudioReader open_memory(const void* data, std::size_t size, const std::string& name);
    // Decodes a pipe as it arrives, for the formats libsndfile reads without seeking (WAV, AU):
    // the end of the pipe is the end of the audio, whatever the header declares (a recorder
    // writing to a pipe cannot know the length). `fd` stays open and owned by the caller.
    static AudioReader open_pipe(int fd, const std::string& name);

    AudioReader(AudioReader&&) noexcept;
    AudioReader& operator=(AudioReader&&) noexcept;
    ~AudioReader();

    int sample_rate() const;
    int channels() const;
    // As the header declares (checked while reading); for FFmpeg containers the container's
    // estimate until the end is reached, then the exact count; for a pipe, the frames read so far.
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

// True when `data` starts with the signature of an audio file format the reader decodes (WAV,
// RF64, Wave64, AIFF, CAF, AU, FLAC, Ogg, MP3 with an ID3 tag, MP4/M4A/MOV, Matroska/WebM, AMR,
// WMA): what tells such a file apart from headerless PCM. Give it at least 12 bytes. MPEG audio
// without an ID3 tag is not recognised: its frame sync (11 one bits) is too common in raw samples.
bool looks_like_audio_file(const void* data, std::size_t size);

// "libsndfile-1.2.0" and the list of major formats it reads.
std::string sndfile_version();
std::string sndfile_formats();

}  // namespace spectro
