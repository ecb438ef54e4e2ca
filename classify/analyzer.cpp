#include "classify/analyzer.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "classify/analysis_stream.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/png_io.hpp"

namespace classify {

Analyzer::Analyzer(const ModelBundle& bundle, AnalyzeOptions options) : classifier_(bundle), options_(options) {
    if (options_.hop_s <= 0) options_.hop_s = bundle.window.hop_s;
}

void aggregate(Result& r) {
    r.probabilities.assign(r.labels.size(), 0.0f);
    int voiced = 0;
    for (const auto& s : r.segments) {
        if (!s.voiced) continue;
        ++voiced;
        for (std::size_t i = 0; i < r.labels.size(); ++i) r.probabilities[i] += s.probabilities[i];
    }
    if (voiced == 0) {
        r.probabilities.clear();
        r.emotion.clear();
        r.confidence = 0;
        return;
    }
    for (float& p : r.probabilities) p /= float(voiced);
    const auto best = std::size_t(most_probable(r.probabilities));
    r.emotion = r.labels[best];
    r.confidence = r.probabilities[best];
}

// Samples go into the stream in blocks of this many frames, whatever their source, so that a
// file and an array of the same samples reach the resampler in the same pieces.
constexpr std::size_t kBlockFrames = 1 << 14;

Result Analyzer::run(const std::string& name, int rate, const std::function<void(AnalysisStream&)>& feed,
                     spectro::MelMatrix* mel) {
    Result r;
    r.file = name;
    r.labels = classifier_.bundle().labels;
    AnalysisStream stream(classifier_, options_.hop_s, rate, name, [&](const Segment& s) { r.segments.push_back(s); });
    stream.keep_mel(mel);
    feed(stream);
    if (!stream.finish()) throw emoclass::Error(name, "shorter than one STFT frame");
    r.duration_s = stream.duration_s();
    aggregate(r);
    return r;
}

Result Analyzer::run(spectro::AudioReader& reader, spectro::MelMatrix* mel) {
    Result r = run(reader.name(), reader.sample_rate(), [&](AnalysisStream& stream) {
        std::vector<float> block(kBlockFrames);
        while (const std::size_t n = reader.read_mono(block.data(), block.size())) stream.push(block.data(), n);
    }, mel);
    r.duration_s = reader.duration_s();  // exact now, also where the container only estimated it
    return r;
}

Result Analyzer::analyze_file(const std::string& path, spectro::MelMatrix* mel) {
    if (is_png_path(path)) return analyze_png(path);
    auto reader = spectro::AudioReader::open_file(path);
    return run(reader, mel);
}

Result Analyzer::analyze_bytes(const void* data, std::size_t size, const std::string& name, spectro::MelMatrix* mel) {
    auto reader = spectro::AudioReader::open_memory(data, size, name);
    return run(reader, mel);
}

Result Analyzer::analyze_samples(const float* channel_major, std::size_t channels, std::size_t frames, int rate,
                                 const std::string& name, spectro::MelMatrix* mel) {
    // What the decoders say of a file with the same problem.
    if (channels < 1) throw emoclass::Error(name, "no audio channels");
    if (rate < 1) throw emoclass::Error(name, "invalid sample rate " + std::to_string(rate));
    if (frames == 0) throw emoclass::Error(name, "contains no audio samples");
    return run(name, rate, [&](AnalysisStream& stream) {
        for (std::size_t first = 0; first < frames; first += kBlockFrames)
            stream.push_channels(channel_major + first, channels, std::min(kBlockFrames, frames - first), 1, frames);
    }, mel);
}

Result Analyzer::analyze_png(const std::string& path) {
    const auto image = spectro::read_png(path);
    const auto& s = classifier_.bundle().spectro;
    check_model_input_png(image, s, path);
    Result r;
    r.file = path;
    r.labels = classifier_.bundle().labels;
    Segment seg;
    seg.voiced = true;
    seg.end_s = s.frames_seconds(std::size_t(image.width));
    seg.probabilities = classifier_.classify(image);
    r.segments.push_back(seg);
    aggregate(r);
    return r;
}

void check_model_input_png(const spectro::Image& image, const spectro::SpectroSettings& s, const std::string& name) {
    const int channels = s.image.colormap == spectro::Colormap::Gray ? 1 : 3;
    const bool width_ok = s.image.frames > 0 ? image.width == s.image.frames : image.width >= 1;
    if (width_ok && image.height == s.n_mels && image.channels == channels) return;
    auto describe = [](int width, int height, int channels) {
        return (width > 0 ? std::to_string(width) : std::string("any")) + "x" + std::to_string(height) + " " +
               (channels == 1 ? "gray" : "RGB");
    };
    throw emoclass::Error(name, "not a model-input spectrogram for this model: " +
                                   describe(image.width, image.height, image.channels) + ", the model takes " +
                                   describe(s.image.frames, s.n_mels, channels) +
                                   " as spectro-dump writes with its settings (an --inspect figure is for people)");
}

bool is_png_path(const std::string& path) {
    if (path.size() < 4) return false;
    std::string ext = path.substr(path.size() - 4);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".png";
}

}  // namespace classify
