// emoclass: the emotion of speech recordings, with a YOLOv8-cls ONNX model in OpenCV DNN.
//   emoclass [--model DIR] FILE|DIR...      classify (table, jsonl or csv)
//   emoclass eval DATASET...                accuracy, macro-F1, confusion matrix
//   emoclass serve                          HTTP service
//   emoclass listen -                       live PCM stream, one line per window
// Results on stdout, everything else on stderr; exit 0 ok, 1 some input failed, 2 usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>

#include "classify/classifier.hpp"
#include "classify/result_format.hpp"
#include "classify/server.hpp"
#include "common.hpp"
#include "eval_command.hpp"
#include "listen_command.hpp"
#include "progress.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/figure.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/parallel.hpp"
#include "spectro/png_io.hpp"
#include "spectro/resampler.hpp"
#include "spectro/stft.hpp"

namespace {

std::string version_text() {
    return std::string("emoclass ") + EMOCLASS_VERSION + "\n  OpenCV " + classify::opencv_version() + "\n  " +
           spectro::sndfile_version() + "\n  " + spectro::samplerate_version() + "\n  " + spectro::fftw_version() +
           "\n  libpng " + spectro::png_version() + "\n  cairo " + spectro::cairo_version() + "\n";
}

struct ClassifyOptions {
    std::vector<std::string> inputs;
    std::string format = "table";
    bool segments = false;
    std::string explain;
    int jobs = 0;
    int threads = 0;
    double hop_s = 0;
    bool quiet = false;
};

void write_explain(const std::string& path, const std::string& input, const classify::ModelBundle& bundle,
                   const classify::Result& r) {
    spectro::AudioInfo info;
    auto mel = spectro::mel_from_file(input, bundle.spectro, &info);
    spectro::InspectionFigure fig;
    fig.title = std::filesystem::path(input).filename().string() + ": " +
                (r.emotion.empty() ? std::string("no speech found")
                                   : r.emotion + " " + classify::format_number(100.0 * r.confidence, 1) + "%");
    fig.subtitle = classify::format_number(info.duration_s, 2) + " s, model " + bundle.name + ", " +
                   std::to_string(r.voiced_windows()) + " of " + std::to_string(r.segments.size()) +
                   " windows voiced";
    fig.mel = &mel;
    fig.settings = bundle.spectro;
    fig.labels = r.labels;
    fig.probabilities.assign(r.probabilities.begin(), r.probabilities.end());
    if (r.segments.size() > 1) {
        for (const auto& s : r.segments) {
            spectro::TimelineSegment t;
            t.start_s = s.start_s;
            t.end_s = s.end_s;
            if (s.voiced) {
                auto best = std::max_element(s.probabilities.begin(), s.probabilities.end());
                t.label = r.labels[std::size_t(best - s.probabilities.begin())];
                t.confidence = *best;
            }
            fig.timeline.push_back(t);
        }
    }
    spectro::write_inspection_figure(path, fig);
}

int run_classify(const classify::ModelBundle& bundle, const ClassifyOptions& o) {
    auto files = tools::expand_inputs(o.inputs);
    if (files.empty()) {
        std::fprintf(stderr, "emoclass: no audio files found in the given directories\n");
        return 1;
    }
    if (!o.explain.empty() && files.size() != 1) {
        std::fprintf(stderr, "emoclass: --explain takes exactly one input\n");
        return 2;
    }
    // "-" is standard input (read whole: the decoders need to seek), at most once.
    if (std::count(files.begin(), files.end(), "-") > 1 || (!o.explain.empty() && files[0] == "-")) {
        std::fprintf(stderr, "emoclass: '-' (standard input) may be given once, and not with --explain\n");
        return 2;
    }
    const int jobs = std::max(1, std::min<int>(o.jobs > 0 ? o.jobs : spectro::default_jobs(), int(files.size())));
    classify::AnalyzeOptions ao;
    ao.hop_s = o.hop_s;
    auto pool = tools::make_analyzers(bundle, jobs, ao, o.threads);

    std::size_t file_width = 4;
    for (const auto& f : files) file_width = std::max(file_width, f.size());
    file_width = std::min<std::size_t>(file_width, 48);
    if (o.format == "table") std::printf("%s\n", classify::table_header(bundle.labels, file_width).c_str());
    else if (o.format == "csv") std::printf("%s\n", classify::csv_header(bundle.labels).c_str());
    std::fflush(stdout);

    // Results print in input order, each as soon as all before it are done.
    std::vector<classify::Result> results(files.size());
    std::vector<std::string> errors(files.size());
    std::vector<char> done(files.size(), 0);
    std::size_t printed = 0;
    std::mutex print_mutex;
    tools::Progress progress(files.size(), "emoclass", !o.quiet && files.size() > 8);
    auto print_ready = [&] {
        while (printed < files.size() && done[printed]) {
            const std::size_t i = printed++;
            if (!errors[i].empty()) {
                std::fprintf(stderr, "error: %s\n", errors[i].c_str());
                continue;
            }
            const auto& r = results[i];
            if (o.format == "jsonl") std::printf("%s\n", classify::to_json(r, true).c_str());
            else if (o.format == "csv") std::printf("%s\n", classify::to_csv_row(r).c_str());
            else {
                std::printf("%s\n", classify::to_table_row(r, file_width).c_str());
                if (o.segments && r.segments.size() > 1) std::printf("%s", classify::segments_table(r).c_str());
            }
        }
        std::fflush(stdout);
    };
    spectro::parallel_for_workers(files.size(), jobs, [&](std::size_t i, int worker) {
        try {
            if (files[i] == "-") {
                const std::string bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
                results[i] = pool[std::size_t(worker)]->analyze_bytes(bytes.data(), bytes.size(), "-");
            } else {
                results[i] = pool[std::size_t(worker)]->analyze_file(files[i]);
            }
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
        progress.tick(!errors[i].empty());
        std::lock_guard<std::mutex> lock(print_mutex);
        done[i] = 1;
        print_ready();
    });
    progress.finish();
    std::size_t failed = 0;
    for (const auto& e : errors) failed += e.empty() ? 0 : 1;
    if (!o.explain.empty() && failed == 0) {
        try {
            write_explain(o.explain, files[0], bundle, results[0]);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 1;
        }
    }
    if ((files.size() > 1 || failed) && !o.quiet)  // a lone failure gets its summary too
        std::fprintf(stderr, "emoclass: %zu files, %zu failed, %.1fs\n", files.size(), failed, progress.elapsed_s());
    return failed ? 1 : 0;
}

classify::Server* g_server = nullptr;
void stop_server(int) {
    if (g_server) g_server->stop();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"emoclass: the emotion (angry, disgust, fear, happy, neutral, sad) of speech recordings,\n"
                 "from a log-mel spectrogram and a YOLOv8-classification ONNX model run with OpenCV DNN."};
    app.footer(
        "Examples:\n"
        "  emoclass speech.wav                      # table: emotion, confidence, every probability\n"
        "  emoclass --format jsonl recordings/      # one JSON object per file\n"
        "  emoclass --segments interview.flac       # long audio: timeline of windows\n"
        "  emoclass eval ../shared/data/ravdess     # accuracy, macro-F1, confusion matrix\n"
        "  emoclass serve --port 8080               # HTTP: POST /v1/classify\n"
        "  arecord -f S16_LE -r 16000 -c 1 | emoclass listen -");
    app.set_version_flag("--version", version_text());
    app.require_subcommand(0, 1);
    std::string model_dir;
    app.add_option("-m,--model", model_dir, "model bundle folder (model.onnx + model.json) [default: shipped model]");

    ClassifyOptions co;
    app.add_option("inputs", co.inputs, "audio files or folders, - for standard input (a .png from spectro-dump is classified as is)");
    app.add_option("-f,--format", co.format, "table | jsonl | csv")->check(CLI::IsMember({"table", "jsonl", "csv"}))->capture_default_str();
    app.add_flag("--segments", co.segments, "print each window's result (start, end, emotion, confidence)");
    app.add_option("--explain", co.explain, "single input: write a figure with spectrogram, probabilities, timeline");
    app.add_option("--hop", co.hop_s, "seconds between windows on long audio [default: the model's]")
        ->check(CLI::PositiveNumber);
    app.add_option("-j,--jobs", co.jobs, "files in parallel [default: all cores]");
    app.add_option("--threads", co.threads, "OpenCV threads per inference [default: all with 1 job, else 1]");
    app.add_flag("-q,--quiet", co.quiet, "no progress output");

    tools::EvalOptions eo;
    auto* eval = app.add_subcommand("eval", "accuracy, macro-F1, per-class figures and the confusion matrix");
    eval->add_option("inputs", eo.inputs, "labelled files or folders (corpus file names or emotion folder names)");
    eval->add_option("--manifest", eo.manifest, "a spectro-dump manifest.csv: evaluate its source files");
    eval->add_option("--split", eo.split, "with --manifest: only this split (e.g. test)");
    eval->add_flag("--json", eo.json, "machine-readable report");
    eval->add_option("--confusion-png", eo.confusion_png, "draw the confusion matrix");
    eval->add_option("--predictions", eo.predictions_jsonl, "also write every file's result as jsonl");
    eval->add_option("-j,--jobs", eo.jobs, "files in parallel")->capture_default_str();
    eval->add_option("--hop", eo.hop_s, "seconds between windows on long audio")->check(CLI::PositiveNumber);
    eval->add_flag("-q,--quiet", [&](std::int64_t) { eo.progress = false; }, "no progress output");
    eo.jobs = spectro::default_jobs();

    classify::ServerOptions so;
    auto* serve = app.add_subcommand("serve", "HTTP service: POST /v1/classify, GET /v1/model, GET /healthz");
    serve->add_option("--host", so.host, "address to bind")->capture_default_str();
    serve->add_option("--port", so.port, "port (0 = any free port)")->capture_default_str();
    serve->add_option("--max-body", so.max_body_bytes, "largest accepted body, bytes")->capture_default_str();
    serve->add_option("--workers", so.workers, "analyses at once [default: cores]");
    serve->add_option("--queue", so.max_queue, "requests allowed to wait beyond the workers [default: workers]");
    serve->add_option("--timeout", so.request_timeout_s, "whole-request deadline (headers and body), s")->capture_default_str();
    serve->add_option("--max-connections", so.max_connections, "open connections, all clients")->capture_default_str();
    serve->add_option("--max-connections-per-ip", so.max_connections_per_ip, "open connections from one address")
        ->capture_default_str();
    serve->add_option("--max-inflight-body", so.max_inflight_body_bytes, "bytes of request bodies in flight, all requests")
        ->capture_default_str();
    serve->add_option("--max-header-bytes", so.max_header_bytes, "request line and headers, bytes")->capture_default_str();

    tools::ListenOptions lo;
    auto* listen = app.add_subcommand("listen", "live audio: raw PCM on stdin or an ALSA device");
    listen->add_option("input", lo.input, "'-' for standard input")->capture_default_str();
    listen->add_option("--device", lo.device, "ALSA capture device, e.g. default");
    listen->add_option("--rate", lo.rate, "input sample rate")->capture_default_str();
    listen->add_option("--channels", lo.channels, "input channels")->capture_default_str();
    listen->add_option("--sample-format", lo.sample_format, "s16le | s32le | f32le | u8")
        ->check(CLI::IsMember({"s16le", "s32le", "f32le", "u8"}))->capture_default_str();
    listen->add_option("-f,--format", lo.output_format, "text | jsonl")->check(CLI::IsMember({"text", "jsonl"}))->capture_default_str();
    listen->add_option("--hop", lo.hop_s, "seconds between windows [default: the model's]")->check(CLI::PositiveNumber);
    listen->add_flag("--show-silence", lo.show_silence, "also print windows skipped as silence");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return e.get_exit_code() == 0 ? 0 : 2;
    }

    try {
        if (*eval) {
            if (eo.inputs.empty() && eo.manifest.empty()) {
                std::fprintf(stderr, "emoclass eval: give labelled files/folders or --manifest (see --help)\n");
                return 2;
            }
            return tools::run_eval(tools::load_model(model_dir), eo);
        }
        if (*serve) {
            classify::Server server(tools::load_model(model_dir), so);
            server.bind();
            g_server = &server;
            std::signal(SIGINT, stop_server);
            std::signal(SIGTERM, stop_server);
            std::fprintf(stderr, "emoclass: serving on http://%s:%d (POST /v1/classify)\n", so.host.c_str(), server.port());
            server.serve();
            g_server = nullptr;
            return 0;
        }
        if (*listen) return tools::run_listen(tools::load_model(model_dir), lo);
        if (co.inputs.empty()) {
            std::fprintf(stderr, "emoclass: no input files (see --help)\n");
            return 2;
        }
        return run_classify(tools::load_model(model_dir), co);
    } catch (const spectro::Error& e) {
        std::fprintf(stderr, "emoclass: %s\n", e.what());
        return 1;
    }
}
