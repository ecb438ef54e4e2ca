#include "spectro/mel_spectrogram.hpp"

#include "spectro/audio_reader.hpp"
#include "spectro/db.hpp"
#include "spectro/error.hpp"

namespace spectro {

MelStream::MelStream(const SpectroSettings& settings, int input_rate)
    : settings_(settings),
      resampler_(input_rate, settings.sample_rate, settings.resample_quality),
      stft_(settings),
      filterbank_(settings),
      mel_(size_t(settings.n_mels)) {}

Stft::SpectrumSink MelStream::to_mel(const FrameSink& sink) {
    return [this, &sink](const float* spectrum) {
        filterbank_.apply(spectrum, mel_.data());
        sink(mel_.data());
    };
}

void MelStream::analyse(const float* samples, std::size_t n, const FrameSink& sink) {
    samples_out_ += n;
    stft_.push(samples, n, to_mel(sink));
}

void MelStream::push(const float* mono, std::size_t n, const FrameSink& sink) {
    if (resampler_.passthrough()) {
        analyse(mono, n, sink);  // 16 kHz input reaches the STFT bit-exact
        return;
    }
    resampled_.clear();
    resampler_.process(mono, n, false, resampled_);
    analyse(resampled_.data(), resampled_.size(), sink);
}

void MelStream::finish(const FrameSink& sink) {
    if (!resampler_.passthrough()) {
        resampled_.clear();
        resampler_.process(nullptr, 0, true, resampled_);
        analyse(resampled_.data(), resampled_.size(), sink);
    }
    stft_.finish(to_mel(sink));
}

AudioInfo stream_audio(AudioReader& reader, const SpectroSettings& settings, const MelStream::FrameSink& sink) {
    AudioInfo info;
    info.format = reader.format_name();
    info.source_rate = reader.sample_rate();
    info.channels = reader.channels();
    info.source_frames = reader.frames();
    info.duration_s = reader.duration_s();
    try {
        MelStream stream(settings, reader.sample_rate());
        std::vector<float> block(1 << 14);
        for (;;) {
            std::size_t n = reader.read_mono(block.data(), block.size());
            if (n == 0) break;
            stream.push(block.data(), n, sink);
        }
        stream.finish(sink);
        info.samples = stream.samples_out();
        info.source_frames = reader.frames();  // exact now, also where the container only estimated it
        info.duration_s = reader.duration_s();
    } catch (const emoclass::Error& e) {
        if (e.subject() == reader.name()) throw;
        throw emoclass::Error(reader.name(), e.reason());  // resampler/STFT errors name the file too
    }
    return info;
}

namespace {
MelStream::FrameSink collect_into(MelMatrix& out) {
    return [&out](const float* mel) { out.values.insert(out.values.end(), mel, mel + out.n_mels); };
}
}  // namespace

MelMatrix mel_from_reader(AudioReader& reader, const SpectroSettings& settings, AudioInfo* info) {
    MelMatrix out;
    out.n_mels = settings.n_mels;
    AudioInfo i = stream_audio(reader, settings, collect_into(out));
    if (info) *info = i;
    return out;
}

MelMatrix mel_from_file(const std::string& path, const SpectroSettings& settings, AudioInfo* info) {
    AudioReader reader = AudioReader::open_file(path);
    return mel_from_reader(reader, settings, info);
}

MelMatrix mel_from_samples(const float* mono, std::size_t n, int rate, const SpectroSettings& settings) {
    MelMatrix out;
    out.n_mels = settings.n_mels;
    MelStream stream(settings, rate);
    auto sink = collect_into(out);
    stream.push(mono, n, sink);
    stream.finish(sink);
    return out;
}

std::vector<float> db_matrix_mel_major(const MelMatrix& mel, const SpectroSettings& settings) {
    std::vector<float> values = mel.values;
    to_db_ref_max(values.data(), values.size(), settings.power, settings.top_db);
    const size_t frames = mel.frames(), n_mels = size_t(mel.n_mels);
    std::vector<float> out(values.size());
    for (size_t f = 0; f < frames; ++f)
        for (size_t m = 0; m < n_mels; ++m) out[m * frames + f] = values[f * n_mels + m];
    return out;
}

}  // namespace spectro
