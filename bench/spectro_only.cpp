// spectro_only: the spectrogram stage alone, as emoclass runs it: decode -> mono -> resample (to
// the settings' rate; pass-through at 16 kHz) -> STFT -> mel -> power_to_db(ref = max, top_db),
// librosa's [n_mels, frames] layout. One thread. Driven by bench/compare.py against torchaudio.
//
//   spectro_only [--model DIR] [--rounds R] [--dump DIR] [--decode-only] FILE...
//
// --decode-only times the decode alone (AudioReader::read_mono into a buffer, no resampling), the
// share of the stage that libsndfile and its codecs set.
// One untimed pass first (page cache, FFTW plans), then R timed passes over all files. Prints one
// JSON object: files, audio_s, and per pass the total seconds. --dump writes each file's dB
// matrix as DIR/<index>.npy (float32 [n_mels, frames]) after the timing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "classify/bundle.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/settings.hpp"

namespace {

int usage() {
    std::fprintf(stderr, "usage: spectro_only [--model DIR] [--rounds R] [--dump DIR] [--decode-only] FILE...\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model, dump;
    int rounds = 1;
    bool decode_only = false;
    std::vector<std::string> files;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--model" && i + 1 < argc) model = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
        else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
        else if (a == "--decode-only") decode_only = true;
        else if (!a.empty() && a[0] == '-') return usage();
        else files.push_back(a);
    }
    if (files.empty()) return usage();
    try {
        const spectro::SpectroSettings settings = model.empty() ? spectro::SpectroSettings{} : classify::load_bundle(model).spectro;
        double audio_s = 0;
        std::vector<float> block(16384);
        auto decode = [&](const std::string& f) {
            auto reader = spectro::AudioReader::open_file(f);
            std::size_t n = 0, got;
            while ((got = reader.read_mono(block.data(), block.size())) > 0) n += got;
            return n;
        };
        auto one = [&](const std::string& f, spectro::AudioInfo* info) {
            auto mel = spectro::mel_from_file(f, settings, info);
            return std::make_pair(spectro::db_matrix_mel_major(mel, settings), mel.frames());
        };
        for (const auto& f : files) {  // warm-up pass
            spectro::AudioInfo info;
            one(f, &info);
            audio_s += info.duration_s;
        }
        std::vector<double> totals;
        for (int r = 0; r < rounds; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            for (const auto& f : files) {
                if (decode_only) {
                    if (decode(f) == 0) std::abort();
                    continue;
                }
                auto out = one(f, nullptr);
                if (out.first.empty()) std::abort();
            }
            totals.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        if (!dump.empty()) {
            for (std::size_t i = 0; i < files.size(); ++i) {
                auto out = one(files[i], nullptr);
                spectro::write_npy(dump + "/" + std::to_string(i) + ".npy", out.first.data(),
                                   std::size_t(settings.n_mels), out.second);
            }
        }
        std::printf("{\"files\": %zu, \"audio_s\": %.6f, \"totals_s\": [", files.size(), audio_s);
        for (std::size_t i = 0; i < totals.size(); ++i) std::printf("%s%.9f", i ? ", " : "", totals[i]);
        std::printf("]}\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spectro_only: %s\n", e.what());
        return 1;
    }
    return 0;
}
