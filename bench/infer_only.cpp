// infer_only: OpenCV DNN inference alone, as emoclass runs it (classify::Classifier::classify on a
// spectrogram image: tensor fill + forward), for bench/compare.py's comparison with ONNX Runtime
// on identical input tensors.
//
//   infer_only --model DIR [--threads T] [--reps K] [--tensors OUT.f32] [--outputs OUT.f32] PNG...
//
// Each PNG is classified once untimed (warm-up), then K times over all PNGs, each forward timed.
// --tensors writes the exact input tensors (float32, N x C x H x W, in PNG order) for the other
// runtime; --outputs writes the N x labels outputs. Prints one JSON object with the median and
// mean milliseconds per forward.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "classify/bundle.hpp"
#include "classify/classifier.hpp"
#include "spectro/png_io.hpp"

namespace {

int usage() {
    std::fprintf(stderr, "usage: infer_only --model DIR [--threads T] [--reps K] [--tensors F] [--outputs F] PNG...\n");
    return 2;
}

void write_floats(const std::string& path, const std::vector<float>& v) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(v.data(), sizeof(float), v.size(), f) != v.size()) throw std::runtime_error(path + ": write failed");
    std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
    std::string model, tensors_path, outputs_path;
    int threads = 1, reps = 20;
    std::vector<std::string> pngs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--model" && i + 1 < argc) model = argv[++i];
        else if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else if (a == "--tensors" && i + 1 < argc) tensors_path = argv[++i];
        else if (a == "--outputs" && i + 1 < argc) outputs_path = argv[++i];
        else if (!a.empty() && a[0] == '-') return usage();
        else pngs.push_back(a);
    }
    if (model.empty() || pngs.empty()) return usage();
    try {
        classify::set_inference_threads(threads);
        const auto bundle = classify::load_bundle(model);
        classify::Classifier classifier(bundle);
        std::vector<spectro::Image> images;
        for (const auto& p : pngs) images.push_back(spectro::read_png(p));
        std::vector<float> tensors, outputs;
        for (const auto& img : images) {
            const auto t = classifier.input_tensor(img);
            tensors.insert(tensors.end(), t.begin(), t.end());
            const auto o = classifier.classify(img);  // warm-up
            outputs.insert(outputs.end(), o.begin(), o.end());
        }
        if (!tensors_path.empty()) write_floats(tensors_path, tensors);
        if (!outputs_path.empty()) write_floats(outputs_path, outputs);
        std::vector<double> ms;
        ms.reserve(std::size_t(reps) * images.size());
        for (int r = 0; r < reps; ++r)
            for (const auto& img : images) {
                const auto t0 = std::chrono::steady_clock::now();
                const auto o = classifier.classify(img);
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
                if (o.empty()) std::abort();
            }
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        const double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                                 : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
        const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
        std::printf("{\"runtime\": \"opencv-dnn %s\", \"threads\": %d, \"forwards\": %zu, \"median_ms\": %.6f, "
                    "\"mean_ms\": %.6f, \"shape\": [%zu, %d, %d, %d]}\n",
                    classify::opencv_version().c_str(), threads, ms.size(), median, mean, images.size(),
                    bundle.input.channels, bundle.input.height, bundle.input.width);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "infer_only: %s\n", e.what());
        return 1;
    }
    return 0;
}
