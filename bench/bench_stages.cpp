// Per-stage benchmarks of the emoclass path (issue 5), Google Benchmark:
//   decode (16-bit WAV, FLAC) -> resample 48 -> 16 kHz -> STFT -> mel + dB -> image + PNG
//   -> inference (OpenCV DNN) and the whole file -> emotion path (Analyzer::analyze_file).
// Inputs are generated here (bench/signal.hpp, a 3 s voice-like clip) into a temporary folder
// before any timing; each benchmark reports audio_s_per_s = seconds of audio processed per
// second of wall time. The model is $EMOCLASS_BENCH_MODEL, else models/default when it exists,
// else tests/fixtures/tiny_bundle (a very narrow network: its inference time means little);
// the label of the model benchmarks names the one used.
//
//   build/bench/bench_stages --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"
#include "classify/classifier.hpp"
#include "signal.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/db.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_filterbank.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/png_io.hpp"
#include "spectro/resampler.hpp"
#include "spectro/settings.hpp"
#include "spectro/stft.hpp"

namespace fs = std::filesystem;

namespace {

constexpr double kClipSeconds = 3.0;

void set_rate(benchmark::State& state, double audio_seconds) {
    state.counters["audio_s_per_s"] =
        benchmark::Counter(audio_seconds * double(state.iterations()), benchmark::Counter::kIsRate);
}

// The temporary folder with the generated clips; removed at exit.
struct Fixture {
    fs::path dir;
    std::string wav16k, flac16k, wav48k;
    Fixture() {
        dir = fs::temp_directory_path() / ("emoclass-bench-" + std::to_string(::getpid()));
        fs::create_directories(dir);
        wav16k = (dir / "clip16k.wav").string();
        flac16k = (dir / "clip16k.flac").string();
        wav48k = (dir / "clip48k.wav").string();
        bench::write_signal(wav16k, kClipSeconds, 16000);
        bench::write_signal(flac16k, kClipSeconds, 16000);
        bench::write_signal(wav48k, kClipSeconds, 48000);
    }
    ~Fixture() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

std::string model_dir() {
    if (const char* env = std::getenv("EMOCLASS_BENCH_MODEL"); env && *env) return env;
    const fs::path shipped = fs::path(EMOCLASS_SOURCE_DIR) / "models" / "default";
    if (fs::exists(shipped / "model.onnx")) return shipped.string();
    return (fs::path(EMOCLASS_SOURCE_DIR) / "tests" / "fixtures" / "tiny_bundle").string();
}

const classify::ModelBundle& bundle() {
    static const classify::ModelBundle b = classify::load_bundle(model_dir());
    return b;
}

const spectro::SpectroSettings& settings() {
    static const spectro::SpectroSettings s = [] {
        spectro::SpectroSettings s;  // the documented defaults: n_fft 1024, hop 320, 128 mels
        s.n_fft = 1024;
        s.win_length = 1024;
        s.hop_length = 320;
        return s;
    }();
    return s;
}

const std::vector<float>& clip16k() {
    static const std::vector<float> v = bench::VoiceLikeSignal(16000).take(kClipSeconds);
    return v;
}

const std::vector<float>& clip48k() {
    static const std::vector<float> v = bench::VoiceLikeSignal(48000).take(kClipSeconds);
    return v;
}

std::size_t decode_all(const std::string& path) {
    auto reader = spectro::AudioReader::open_file(path);
    std::vector<float> block(8192);
    std::size_t total = 0;
    while (std::size_t n = reader.read_mono(block.data(), block.size())) {
        benchmark::DoNotOptimize(block.data());
        total += n;
    }
    return total;
}

void BM_DecodeWav16(benchmark::State& state) {
    const std::string& path = fixture().wav16k;
    for (auto _ : state) benchmark::DoNotOptimize(decode_all(path));
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_DecodeWav16)->Unit(benchmark::kMicrosecond);

void BM_DecodeFlac(benchmark::State& state) {
    const std::string& path = fixture().flac16k;
    for (auto _ : state) benchmark::DoNotOptimize(decode_all(path));
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_DecodeFlac)->Unit(benchmark::kMicrosecond);

void resample_48k_to_16k(benchmark::State& state, spectro::ResampleQuality quality) {
    const auto& in = clip48k();
    std::vector<float> out;
    out.reserve(in.size() / 3 + 64);
    const std::size_t block = 4096;
    for (auto _ : state) {
        spectro::Resampler r(48000, 16000, quality);
        out.clear();
        for (std::size_t i = 0; i < in.size(); i += block) {
            const std::size_t n = std::min(block, in.size() - i);
            r.process(in.data() + i, n, i + n == in.size(), out);
        }
        benchmark::DoNotOptimize(out.data());
    }
    set_rate(state, kClipSeconds);
}
// The default (libsoxr soxr_hq, as librosa.load) and libsamplerate's sinc_medium (older bundles).
void BM_Resample48kTo16k(benchmark::State& state) { resample_48k_to_16k(state, settings().resample_quality); }
BENCHMARK(BM_Resample48kTo16k)->Unit(benchmark::kMicrosecond);
void BM_Resample48kTo16kSincMedium(benchmark::State& state) {
    resample_48k_to_16k(state, spectro::ResampleQuality::SincMedium);
}
BENCHMARK(BM_Resample48kTo16kSincMedium)->Unit(benchmark::kMicrosecond);

void BM_Stft(benchmark::State& state) {
    const auto& in = clip16k();
    spectro::Stft stft(settings());
    float acc = 0;
    const spectro::Stft::SpectrumSink sink = [&](const float* s) { acc += s[10]; };
    for (auto _ : state) {
        stft.push(in.data(), in.size(), sink);
        stft.finish(sink);
    }
    benchmark::DoNotOptimize(acc);
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_Stft)->Unit(benchmark::kMicrosecond);

void BM_MelDb(benchmark::State& state) {
    // The STFT output of the clip, made once; the loop applies the filterbank and power_to_db.
    spectro::Stft stft(settings());
    std::vector<float> spectra;
    const auto keep = [&](const float* s) { spectra.insert(spectra.end(), s, s + stft.n_bins()); };
    stft.push(clip16k().data(), clip16k().size(), keep);
    stft.finish(keep);
    const std::size_t bins = std::size_t(stft.n_bins()), frames = spectra.size() / bins;
    spectro::MelFilterbank fb(settings());
    std::vector<float> mel(frames * std::size_t(fb.n_mels()));
    for (auto _ : state) {
        for (std::size_t f = 0; f < frames; ++f) fb.apply(spectra.data() + f * bins, mel.data() + f * std::size_t(fb.n_mels()));
        benchmark::DoNotOptimize(spectro::to_db_ref_max(mel.data(), mel.size(), settings().power, settings().top_db));
    }
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_MelDb)->Unit(benchmark::kMicrosecond);

// Resample (pass-through at 16 kHz) + STFT + mel, as mel_from_samples does for an in-memory clip.
void BM_MelFromSamples16k(benchmark::State& state) {
    const auto& in = clip16k();
    for (auto _ : state) {
        auto mel = spectro::mel_from_samples(in.data(), in.size(), 16000, settings());
        benchmark::DoNotOptimize(mel.values.data());
    }
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_MelFromSamples16k)->Unit(benchmark::kMicrosecond);

// Decode -> mel -> dB matrix (librosa layout) from the WAV file: the spectrogram stage alone.
void BM_SpectroStageWav16(benchmark::State& state) {
    const std::string& path = fixture().wav16k;
    for (auto _ : state) {
        auto mel = spectro::mel_from_file(path, settings());
        auto db = spectro::db_matrix_mel_major(mel, settings());
        benchmark::DoNotOptimize(db.data());
    }
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_SpectroStageWav16)->Unit(benchmark::kMicrosecond);

const spectro::MelMatrix& clip_mel() {
    static const spectro::MelMatrix m = spectro::mel_from_samples(clip16k().data(), clip16k().size(), 16000, settings());
    return m;
}

void BM_RenderImage(benchmark::State& state) {
    const auto& mel = clip_mel();
    for (auto _ : state) {
        auto img = spectro::render_image(mel, settings());
        benchmark::DoNotOptimize(img.pixels.data());
    }
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_RenderImage)->Unit(benchmark::kMicrosecond);

void BM_RenderImageAndEncodePng(benchmark::State& state) {
    const auto& mel = clip_mel();
    std::size_t bytes = 0;
    for (auto _ : state) {
        auto img = spectro::render_image(mel, settings());
        auto png = spectro::encode_png(img);
        bytes = png.size();
        benchmark::DoNotOptimize(png.data());
    }
    state.counters["png_bytes"] = double(bytes);
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_RenderImageAndEncodePng)->Unit(benchmark::kMicrosecond);

// One forward pass on the 128x128 image of the clip (tensor fill included, < 1 % of it).
// Arg = OpenCV threads (1, or 0 = OpenCV's default: all cores).
void BM_Inference(benchmark::State& state) {
    const int threads = state.range(0) > 0 ? int(state.range(0)) : int(std::thread::hardware_concurrency());
    classify::set_inference_threads(threads);
    classify::Classifier classifier(bundle());
    const auto img = spectro::render_image(clip_mel(), bundle().spectro);
    for (auto _ : state) benchmark::DoNotOptimize(classifier.classify(img).data());
    state.SetLabel(std::to_string(threads) + " thread(s), model " + bundle().dir);
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_Inference)->Arg(1)->Arg(0)->ArgName("threads")->Unit(benchmark::kMillisecond);

// The same with the bundle's int8 network (`emoclass --int8`), when model.json names one.
void BM_InferenceInt8(benchmark::State& state) {
    if (bundle().int8_file.empty()) return state.SkipWithError("the bundle has no int8_model");
    classify::set_inference_threads(1);
    classify::Classifier classifier(classify::use_int8(bundle()));
    const auto img = spectro::render_image(clip_mel(), bundle().spectro);
    for (auto _ : state) benchmark::DoNotOptimize(classifier.classify(img).data());
    state.SetLabel("1 thread, " + bundle().dir + "/" + bundle().int8_file);
    set_rate(state, kClipSeconds);
}
BENCHMARK(BM_InferenceInt8)->Unit(benchmark::kMillisecond);

// File -> emotion: decode, mel, windows, image, model, aggregate, on the 3 s 16-bit WAV (one
// window) and on the same clip at 48 kHz (resampling included). One inference thread.
void analyze(benchmark::State& state, const std::string& path, bool int8 = false) {
    if (int8 && bundle().int8_file.empty()) return state.SkipWithError("the bundle has no int8_model");
    classify::set_inference_threads(1);
    classify::Analyzer analyzer(int8 ? classify::use_int8(bundle()) : bundle());
    for (auto _ : state) {
        auto r = analyzer.analyze_file(path);
        benchmark::DoNotOptimize(r.probabilities.data());
    }
    state.SetLabel("1 thread, model " + bundle().dir + (int8 ? "/" + bundle().int8_file : ""));
    set_rate(state, kClipSeconds);
}
void BM_AnalyzeFileWav16k(benchmark::State& state) { analyze(state, fixture().wav16k); }
void BM_AnalyzeFileWav48k(benchmark::State& state) { analyze(state, fixture().wav48k); }
BENCHMARK(BM_AnalyzeFileWav16k)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AnalyzeFileWav48k)->Unit(benchmark::kMillisecond);
void BM_AnalyzeFileWav48kInt8(benchmark::State& state) { analyze(state, fixture().wav48k, true); }
BENCHMARK(BM_AnalyzeFileWav48kInt8)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
