#include "spectro/audio_reader.hpp"

#include <fcntl.h>
#include <sndfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "spectro/downmix.hpp"
#include "spectro/error.hpp"
#include "spectro/ffmpeg_decoder.hpp"

namespace spectro {
namespace {

// libsndfile's virtual I/O over a read-only memory buffer (for HTTP bodies).
struct MemoryFile {
    const unsigned char* data;
    sf_count_t size;
    sf_count_t pos = 0;
};

sf_count_t mem_length(void* user) { return static_cast<MemoryFile*>(user)->size; }
sf_count_t mem_seek(sf_count_t offset, int whence, void* user) {
    auto* m = static_cast<MemoryFile*>(user);
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
    sf_count_t target = base + offset;
    if (target < 0 || target > m->size) return -1;
    m->pos = target;
    return m->pos;
}
sf_count_t mem_read(void* ptr, sf_count_t count, void* user) {
    auto* m = static_cast<MemoryFile*>(user);
    sf_count_t n = std::min(count, m->size - m->pos);
    if (n <= 0) return 0;
    std::memcpy(ptr, m->data + m->pos, size_t(n));
    m->pos += n;
    return n;
}
sf_count_t mem_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t mem_tell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

// libsndfile quietly shortens a WAV/AIFF whose data chunk claims more bytes than the file holds;
// its log is the only trace ("data : 32000 (should be 19956)"). A truncated file is an error.
bool log_reports_truncation(SNDFILE* file) {
    char log[8192] = {0};
    sf_command(file, SFC_GET_LOG_INFO, log, sizeof log);
    const char* line = log;
    while (line && *line) {
        const char* end = std::strchr(line, '\n');
        std::string text(line, end ? size_t(end - line) : std::strlen(line));
        bool data_chunk = text.rfind("data", 0) == 0 || text.rfind("SSND", 0) == 0;
        if (data_chunk && text.find("(should be") != std::string::npos) {
            // "data : 32000 (should be 19956)": only a shortfall is truncation.
            long long declared = 0, actual = 0;
            auto colon = text.find(':');
            auto should = text.find("(should be");
            if (colon != std::string::npos) declared = std::atoll(text.c_str() + colon + 1);
            actual = std::atoll(text.c_str() + should + 10);
            if (actual < declared) return true;
        }
        line = end ? end + 1 : nullptr;
    }
    return false;
}

// libsndfile does not know the container or the codec: FFmpeg's turn (m4a, mp4, webm, AMR, WMA).
std::mutex& sndfile_open_mutex() {
    static std::mutex m;
    return m;
}

bool sndfile_lacks_the_format(int sf_error_code) {
    return sf_error_code == SF_ERR_UNRECOGNISED_FORMAT || sf_error_code == SF_ERR_UNSUPPORTED_ENCODING;
}

// Opens with FFmpeg; nullptr when FFmpeg does not recognise the bytes either (the libsndfile
// error then stands). Any other FFmpeg error (no audio stream, corrupt data) is the answer.
template <typename Open>
std::unique_ptr<DecodedStream> try_ffmpeg(Open open) {
    try {
        return open();
    } catch (const emoclass::Error& e) {
        if (e.reason() == "not a recognised audio format") return nullptr;
        throw;
    }
}

}  // namespace

struct AudioReader::Impl {
    std::string name;
    SNDFILE* file = nullptr;
    SF_INFO info{};
    std::unique_ptr<MemoryFile> memory;
    std::unique_ptr<DecodedStream> ffmpeg;  // set when libsndfile could not read the format
    SF_VIRTUAL_IO vio{mem_length, mem_seek, mem_read, mem_write, mem_tell};
    std::vector<float> interleaved;
    std::int64_t delivered = 0;
    bool truncated_header = false;
    bool pipe = false;  // open_pipe: no length known before the end

    ~Impl() {
        if (file) sf_close(file);
    }

    // Descriptors are handed to libsndfile with ownership (SF_TRUE): it closes them at sf_close
    // and when the open fails. Debian 12's libsndfile 1.2.0 closes the descriptor of a failed
    // open even when told not to (libsndfile issue #949), so keeping our own close too closed
    // the number twice, and under -j the second close hit another thread's freshly opened file
    // ("Bad file descriptor" in the middle of a good file).
    SNDFILE* open_descriptor(int owned_fd) { return sf_open_fd(owned_fd, SFM_READ, &info, SF_TRUE); }

    // A failed open leaves its reason only in libsndfile's process-wide error, which a concurrent
    // open in another thread overwrites: open and read that reason (and its code, which decides
    // whether FFmpeg is tried) under one lock shared by every open.
    template <typename Open>
    std::string open_locked(Open open, int& error_code) {
        std::lock_guard<std::mutex> lock(sndfile_open_mutex());
        file = open();
        if (file) return {};
        error_code = sf_error(nullptr);
        return sf_strerror(nullptr);
    }

    void check_opened(std::string reason) {
        if (!file) {
            if (reason.find("unknown format") != std::string::npos ||
                reason.find("Format not recognised") != std::string::npos ||
                reason.find("not recognised") != std::string::npos)
                reason = "not a recognised audio format (" + reason + ")";
            // libsndfile's MPEG probe fails on bytes that are no MP3 with this code, although the
            // file was checked to exist and be regular (or is memory): say what it means.
            else if (reason.find("File does not exist or is not a regular file") != std::string::npos)
                reason = "not a recognised audio format (no decoder accepted the data)";
            throw emoclass::Error(name, reason);
        }
        if (info.channels < 1) throw emoclass::Error(name, "no audio channels");
        if (info.samplerate < 1) throw emoclass::Error(name, "invalid sample rate " + std::to_string(info.samplerate));
        if (pipe) return;
        if (info.frames <= 0) throw emoclass::Error(name, "contains no audio samples");
        truncated_header = log_reports_truncation(file);
        if (truncated_header) throw emoclass::Error(name, "truncated: the header declares more audio data than the file holds");
    }
};

AudioReader::AudioReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AudioReader::AudioReader(AudioReader&&) noexcept = default;
AudioReader& AudioReader::operator=(AudioReader&&) noexcept = default;
AudioReader::~AudioReader() = default;

AudioReader AudioReader::open_file(const std::string& path) {
    auto impl = std::make_unique<Impl>();
    impl->name = path;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) throw emoclass::Error(path, std::strerror(errno));
    if (S_ISDIR(st.st_mode)) throw emoclass::Error(path, "is a directory, not an audio file");
    if (!S_ISREG(st.st_mode)) throw emoclass::Error(path, "not a regular file");
    if (st.st_size == 0) throw emoclass::Error(path, "empty file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw emoclass::Error(path, std::strerror(errno));
    // By descriptor, not by name: libsndfile then picks its decoder from the bytes alone, as it
    // does for memory (HTTP, stdin). Given the name, bytes it does not recognise but named .mp3
    // went to its MPEG decoder anyway, whose libmpg123 printed "Note: ..." lines on stderr (its
    // handle is libsndfile's own, so they cannot be silenced). A real MP3 starts with an ID3 tag
    // or a frame header, which libsndfile recognises by content; FFmpeg takes any other.
    int sndfile_code = 0;
    std::string sndfile_reason = impl->open_locked(
        [&] { return impl->open_descriptor(fd); }, sndfile_code);
    if (!impl->file && sndfile_lacks_the_format(sndfile_code)) {
        impl->ffmpeg = try_ffmpeg([&] { return ffmpeg_open_file(path); });
        if (impl->ffmpeg) return AudioReader(std::move(impl));
    }
    impl->check_opened(sndfile_reason);
    return AudioReader(std::move(impl));
}

AudioReader AudioReader::open_memory(const void* data, std::size_t size, const std::string& name) {
    auto impl = std::make_unique<Impl>();
    impl->name = name;
    if (size == 0) throw emoclass::Error(name, "empty input");
    impl->memory = std::make_unique<MemoryFile>(
        MemoryFile{static_cast<const unsigned char*>(data), sf_count_t(size)});
    int sndfile_code = 0;
    std::string sndfile_reason = impl->open_locked(
        [&] { return sf_open_virtual(&impl->vio, SFM_READ, &impl->info, impl->memory.get()); }, sndfile_code);
    if (!impl->file && sndfile_lacks_the_format(sndfile_code)) {
        impl->ffmpeg = try_ffmpeg([&] { return ffmpeg_open_memory(data, size, name); });
        if (impl->ffmpeg) return AudioReader(std::move(impl));
    }
    impl->check_opened(sndfile_reason);
    return AudioReader(std::move(impl));
}

AudioReader AudioReader::open_pipe(int fd, const std::string& name) {
    auto impl = std::make_unique<Impl>();
    impl->name = name;
    impl->pipe = true;
    int sndfile_code = 0;
    // The caller keeps its descriptor: libsndfile gets a duplicate of its own (see open_descriptor).
    const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) throw emoclass::Error(name, std::strerror(errno));
    std::string sndfile_reason = impl->open_locked([&] { return impl->open_descriptor(own); }, sndfile_code);
    impl->check_opened(sndfile_reason);
    return AudioReader(std::move(impl));
}

int AudioReader::sample_rate() const { return impl_->ffmpeg ? impl_->ffmpeg->sample_rate() : impl_->info.samplerate; }
int AudioReader::channels() const { return impl_->ffmpeg ? impl_->ffmpeg->channels() : impl_->info.channels; }
std::int64_t AudioReader::frames() const {
    return impl_->ffmpeg ? impl_->ffmpeg->frames() : impl_->pipe ? impl_->delivered : impl_->info.frames;
}
const std::string& AudioReader::name() const { return impl_->name; }

std::string AudioReader::format_name() const {
    if (impl_->ffmpeg) return impl_->ffmpeg->format_name();
    SF_FORMAT_INFO major{}, sub{};
    major.format = impl_->info.format & SF_FORMAT_TYPEMASK;
    sub.format = impl_->info.format & SF_FORMAT_SUBMASK;
    sf_command(nullptr, SFC_GET_FORMAT_INFO, &major, sizeof major);
    sf_command(nullptr, SFC_GET_FORMAT_INFO, &sub, sizeof sub);
    return std::string(major.name ? major.name : "?") + " / " + (sub.name ? sub.name : "?");
}

std::size_t AudioReader::read_mono(float* out, std::size_t max_frames) {
    Impl& m = *impl_;
    if (m.ffmpeg) return m.ffmpeg->read_mono(out, max_frames);
    const int ch = m.info.channels;
    std::int64_t left = m.pipe ? std::int64_t(max_frames) : m.info.frames - m.delivered;
    if (left <= 0 || max_frames == 0) return 0;
    std::size_t want = std::size_t(std::min<std::int64_t>(left, std::int64_t(max_frames)));
    float* target = out;
    if (ch > 1) {
        m.interleaved.resize(want * size_t(ch));
        target = m.interleaved.data();
    }
    sf_count_t got = sf_readf_float(m.file, target, sf_count_t(want));
    if (got < 0) got = 0;
    if (size_t(got) < want && !m.pipe) {
        std::string detail = sf_error(m.file) ? std::string(" (") + sf_strerror(m.file) + ")" : "";
        throw emoclass::Error(m.name, "truncated: decoded " + std::to_string(m.delivered + got) + " of " +
                                std::to_string(m.info.frames) + " frames the header declares" + detail);
    }
    if (ch > 1) downmix_mean(target, size_t(ch), size_t(got), size_t(ch), 1, out);
    for (size_t i = 0; i < size_t(got); ++i) {
        if (!std::isfinite(out[i]))
            throw emoclass::Error(m.name, "holds NaN or infinite samples (frame " + std::to_string(m.delivered + i) + ")");
    }
    m.delivered += got;
    return size_t(got);
}

bool looks_like_audio_file(const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    auto at = [&](std::size_t offset, const char* tag, std::size_t n) {
        return size >= offset + n && std::memcmp(p + offset, tag, n) == 0;
    };
    for (const char* tag : {"RIFF", "RIFX", "RF64", "BW64", "riff", "FORM", "caff", ".snd", "fLaC", "OggS"})
        if (at(0, tag, 4)) return true;
    return at(0, "ID3", 3) || at(4, "ftyp", 4) || at(0, "\x1a\x45\xdf\xa3", 4) || at(0, "#!AMR", 5) ||
           at(0, "\x30\x26\xb2\x75\x8e\x66\xcf\x11", 8);  // ASF (WMA)
}

std::string sndfile_version() { return sf_version_string(); }

std::string sndfile_formats() {
    int count = 0;
    sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof count);
    std::string out;
    for (int i = 0; i < count; ++i) {
        SF_FORMAT_INFO info{};
        info.format = i;
        sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &info, sizeof info);
        if (info.extension) out += (out.empty() ? "" : ",") + std::string(info.extension);
    }
    return out;
}

}  // namespace spectro
