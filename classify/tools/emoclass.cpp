// emoclass: the emotion of speech recordings, with a YOLOv8-cls ONNX model in OpenCV DNN.
//   emoclass [--model DIR] FILE|DIR...      classify (table, jsonl or csv)
//   emoclass eval DATASET...                accuracy, macro-F1, confusion matrix
//   emoclass serve                          HTTP service
//   emoclass listen -                       live PCM stream, one line per window
// Results on stdout, everything else on stderr; exit 0 ok, 1 some input failed, 2 usage.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>

#include "spectro/tools/batch_io.hpp"
#include "classify/classifier.hpp"
#include "classify/explain.hpp"
#include "classify/result_format.hpp"
#include "classify/tools/server/server.hpp"
#include "common.hpp"
#include "eval_command.hpp"
#include "listen_command.hpp"
#include "spectro/tools/progress.hpp"
#include "spectro/tools/tool_support.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/parallel.hpp"
#include "spectro/png_io.hpp"
#include "spectro/resampler.hpp"
#include "spectro/stft.hpp"

namespace {

std::string version_text() {
    return std::string("emoclass ") + EMOCLASS_VERSION + "\n  OpenCV " + classify::opencv_version() + "\n" +
           tools::library_versions();
}

struct ClassifyOptions {
    std::vector<std::string> inputs;
    std::string format = "table";
    bool segments = false;
    int top_k = 0;
    std::string explain;
    int jobs = 0;
    int threads = 0;
    double hop_s = 0;
    bool quiet = false;
    // Big jobs (docs/scale.md).
    std::string files_from;
    bool nul_separated = false;
    std::string output;
    bool resume = false;
    std::string shard;
    bool list_inputs = false;
};

// `mel` is the spectrogram the analysis computed: the input is decoded once.
void write_explain(const std::string& path, const std::string& input, const classify::ModelBundle& bundle,
                   const classify::Result& r, const spectro::MelMatrix& mel) {
    const auto figure = classify::explain_figure(bundle, r, mel, r.duration_s,
                                                 std::filesystem::path(input).filename().string(),
                                                 figures::figure_format_for(path));
    spectro::write_file_atomically(path, figure);
}

int run_classify(const std::string& model_dir, bool int8, const ClassifyOptions& o) {
    auto args = o.inputs;
    if (!o.files_from.empty()) {
        auto listed = tools::read_file_list(o.files_from, o.nul_separated);
        args.insert(args.end(), listed.begin(), listed.end());
    }
    std::size_t unreadable = 0;  // inside folders: counted as failed inputs
    auto files = tools::expand_inputs(args, &unreadable);
    const std::size_t all_inputs = files.size();
    if (!o.shard.empty()) files = tools::select_shard(files, tools::parse_shard(o.shard));
    if (!o.output.empty()) files = tools::without_duplicates(files);
    if (o.list_inputs) {
        for (const auto& f : files) std::printf("%s\n", f.c_str());
        return unreadable ? 1 : 0;
    }
    std::unique_ptr<tools::ResumableJsonl> output;
    if (!o.output.empty()) {
        tools::ResumableJsonl::Options jo;
        jo.resume = o.resume;
        output = std::make_unique<tools::ResumableJsonl>(o.output, files, jo);
        if (output->dropped_tail_bytes() > 0)
            std::fprintf(stderr, "emoclass: %s: cut off %zu bytes of an unfinished last line\n", o.output.c_str(),
                         output->dropped_tail_bytes());
        if (output->dropped_changed_lines() > 0)
            std::fprintf(stderr, "emoclass: %s: %zu lines dropped (their files changed or vanished): doing them again\n",
                         o.output.c_str(), output->dropped_changed_lines());
        if (output->done_count() > 0) {
            if (!o.quiet)
                std::fprintf(stderr, "emoclass: %s: resuming, %zu of %zu files already done\n", o.output.c_str(),
                             output->done_count(), files.size());
            std::vector<std::string> rest;
            for (std::size_t i = 0; i < files.size(); ++i)
                if (!output->done()[i]) rest.push_back(files[i]);
            files = std::move(rest);
        }
    }
    if (files.empty()) {
        if (output && all_inputs > 0) {
            output->finish();
            return unreadable ? 1 : 0;
        }
        if (!o.shard.empty() && all_inputs > 0) {
            std::fprintf(stderr, "emoclass: shard %s holds none of the %zu inputs\n", o.shard.c_str(), all_inputs);
            return unreadable ? 1 : 0;
        }
        std::fprintf(stderr, "emoclass: no audio files found in the given directories\n");
        return 1;
    }
    const auto bundle = tools::load_model(model_dir, int8);
    if (!o.explain.empty() && files.size() != 1) {
        std::fprintf(stderr, "emoclass: --explain takes exactly one input\n");
        return 2;
    }
    // "-" is standard input (read whole: the decoders need to seek), at most once.
    if (std::count(files.begin(), files.end(), "-") > 1 || (!o.explain.empty() && files[0] == "-")) {
        std::fprintf(stderr, "emoclass: '-' (standard input) may be given once, and not with --explain\n");
        return 2;
    }
    if (!o.explain.empty() && classify::is_png_path(files[0])) {
        std::fprintf(stderr, "emoclass: --explain draws a recording's spectrogram: give the audio, not %s\n",
                     files[0].c_str());
        return 2;
    }
    const int jobs = std::max(1, std::min<int>(o.jobs > 0 ? o.jobs : spectro::default_jobs(), int(files.size())));
    classify::AnalyzeOptions ao;
    ao.hop_s = o.hop_s;
    auto pool = tools::make_analyzers(bundle, jobs, ao, o.threads);

    std::size_t file_width = 4;
    for (const auto& f : files) file_width = std::max(file_width, f.size());
    file_width = std::min<std::size_t>(file_width, 48);
    if (!output && o.format == "table") std::printf("%s\n", classify::table_header(bundle.labels, file_width).c_str());
    else if (!output && o.format == "csv") std::printf("%s\n", classify::csv_header(bundle.labels, o.segments).c_str());
    std::fflush(stdout);

    // Results print in input order, each as soon as all before it are done.
    std::vector<classify::Result> results(files.size());
    std::vector<std::string> errors(files.size());
    std::vector<char> done(files.size(), 0);
    std::vector<tools::FileStamp> stamps(output ? files.size() : 0);
    spectro::MelMatrix explain_mel;  // --explain's one input: its spectrogram, kept by the analysis
    std::string output_error;             // under print_mutex
    std::atomic<bool> output_failed{false};  // read by the workers without the lock
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
            if (output) {
                if (!output_error.empty()) continue;
                try {
                    output->append(classify::to_json(r, true, -1, o.top_k), stamps[i]);
                } catch (const std::exception& e) {
                    output_error = e.what();
                    output_failed = true;
                }
            } else if (o.format == "jsonl") std::printf("%s\n", classify::to_json(r, true, -1, o.top_k).c_str());
            else if (o.format == "csv") std::printf("%s", classify::to_csv_rows(r, o.segments, o.top_k).c_str());
            else {
                std::printf("%s\n", classify::to_table_row(r, file_width, o.top_k).c_str());
                if (o.segments && r.segments.size() > 1) std::printf("%s", classify::segments_table(r, o.top_k).c_str());
            }
        }
        std::fflush(stdout);
    };
    spectro::parallel_for_workers(files.size(), jobs, [&](std::size_t i, int worker) {
        // Once the output has failed, the rest is left undone without a line each: the one error
        // that matters is the output's, printed at the end.
        if (!output_failed) try {
            if (files[i] == "-") {  // standard input: no size or mtime to stamp, so never resumable
                const std::string bytes((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
                results[i] = pool[std::size_t(worker)]->analyze_bytes(bytes.data(), bytes.size(), "-");
            } else {
                // Stamped before reading: a file changed during the analysis is redone on resume.
                auto stamp = output ? tools::stamp_of(files[i]) : std::nullopt;
                const int stat_errno = errno;
                results[i] = pool[std::size_t(worker)]->analyze_file(  // says why a file is missing
                    files[i], o.explain.empty() ? nullptr : &explain_mel);
                if (output && !stamp) throw emoclass::Error(files[i], "cannot stat: " + std::string(std::strerror(stat_errno)));
                if (output) stamps[i] = *stamp;
            }
        } catch (const std::exception& e) {
            errors[i] = e.what();
        }
        progress.tick(!errors[i].empty());
        std::lock_guard<std::mutex> lock(print_mutex);
        done[i] = 1;
        progress.print_above(print_ready);  // results never land on the progress line
    });
    progress.finish();
    if (output && output_error.empty()) {
        try {
            output->finish();
        } catch (const std::exception& e) {
            output_error = e.what();
        }
    }
    if (!output_error.empty()) {
        std::fprintf(stderr, "emoclass: %s\n", output_error.c_str());
        return 1;
    }
    std::size_t failed = unreadable;
    for (const auto& e : errors) failed += e.empty() ? 0 : 1;
    if (!o.explain.empty() && failed == 0) {
        try {
            write_explain(o.explain, files[0], bundle, results[0], explain_mel);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 1;
        }
    }
    if ((files.size() > 1 || failed) && !o.quiet)  // a lone failure gets its summary too
        std::fprintf(stderr, "emoclass: %zu files, %zu failed, %.1fs\n", files.size() + unreadable, failed,
                     progress.elapsed_s());
    return failed ? 1 : 0;
}

// For --hop. CLI11's PositiveNumber refuses 0 with "Value 0 not in range 0.000000 to " and
// DBL_MAX written out in 309 digits; this says what is wanted.
const CLI::Validator kPositiveSeconds(
    [](std::string& text) {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end != text.c_str() + text.size()) return "'" + text + "' is not a number of seconds";
        return v > 0 && std::isfinite(v) ? std::string() : "must be more than 0 seconds, not " + text;
    },
    "SECONDS>0");

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
    app.set_version_flag("--version", version_text);  // called only for --version: it loads the figures module
    app.require_subcommand(0, 1);
    std::string model_dir;
    app.add_option("-m,--model", model_dir, "model bundle folder (model.onnx + model.json) [default: shipped model]");
    bool int8 = false;
    app.add_flag("--int8", int8, "run the bundle's int8 network (about 1.5x faster per window; 2 % of labels may differ: docs/benchmarks.md)");

    ClassifyOptions co;
    app.add_option("inputs", co.inputs, "audio files or folders, - for standard input (a .png from spectro-dump is classified as is)");
    app.add_option("-f,--format", co.format, "table | jsonl | csv")->check(CLI::IsMember({"table", "jsonl", "csv"}))->capture_default_str();
    app.add_flag("--segments", co.segments, "print each window's result (start, end, emotion, confidence, probabilities)");
    app.add_option("--top-k", co.top_k, "list only the K most probable labels [default: all]")->check(CLI::NonNegativeNumber);
    app.add_option("--explain", co.explain, "single input: write a figure (.png, .svg or .pdf) with spectrogram, probabilities, timeline");
    app.add_option("--hop", co.hop_s, "seconds between windows on long audio [default: the model's]")
        ->check(kPositiveSeconds);
    app.add_option("-j,--jobs", co.jobs, "files in parallel [default: all cores]");
    app.add_option("--threads", co.threads, "OpenCV threads per inference [default: all with 1 job, else 1]");
    app.add_flag("-q,--quiet", co.quiet, "no progress output");
    auto* batch = app.add_option_group("Big jobs (docs/scale.md)");
    batch->add_option("--files-from", co.files_from, "read input paths from FILE, one per line ('-' = stdin)")->type_name("FILE");
    batch->add_flag("-0,--null", co.nul_separated, "with --files-from: paths are NUL-separated (find -print0)");
    batch->add_option("--output", co.output, "write jsonl results to FILE, one whole line per file, synced to disk")->type_name("FILE");
    batch->add_flag("--resume", co.resume, "with --output: skip files already in it (same path, size, mtime)");
    batch->add_option("--shard", co.shard, "K/N: only this worker's deterministic 1/N of the inputs")->type_name("K/N");
    batch->add_flag("--list-inputs", co.list_inputs, "print the inputs after --files-from and --shard, then exit");

    tools::EvalOptions eo;
    auto* eval = app.add_subcommand("eval", "accuracy, macro-F1, per-class figures and the confusion matrix");
    eval->add_option("inputs", eo.inputs, "labelled files or folders (corpus file names or emotion folder names), or CSV manifests");
    eval->add_option("--manifest", eo.manifest, "a CSV manifest (path,label,speaker[,corpus]) or spectro-dump's manifest.csv");
    eval->add_option("--split", eo.split, "with --manifest: only this split (e.g. test)");
    eval->add_flag("--json", eo.json, "machine-readable report");
    eval->add_option("--confusion-png", eo.confusion_png, "draw the confusion matrix");
    eval->add_option("--predictions", eo.predictions_jsonl, "also write every file's result as jsonl");
    eval->add_option("-j,--jobs", eo.jobs, "files in parallel")->capture_default_str();
    eval->add_option("--hop", eo.hop_s, "seconds between windows on long audio")->check(kPositiveSeconds);
    eval->add_flag("-q,--quiet", [&](std::int64_t) { eo.progress = false; }, "no progress output");
    eo.jobs = spectro::default_jobs();

    classify::ServerOptions so;
    auto* serve = app.add_subcommand("serve", "HTTP service: POST /v1/classify, POST /v1/explain, GET /v1/model, GET /healthz;\n"
                                              "a web page at /, the API at /docs and /openapi.json");
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
    listen->add_option("--hop", lo.hop_s, "seconds between windows [default: the model's]")->check(kPositiveSeconds);
    listen->add_flag("--show-silence", lo.show_silence, "also print windows skipped for holding no speech");
    listen->add_option("--top-k", lo.top_k, "list only the K most probable labels [default: all]")->check(CLI::NonNegativeNumber);

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
            return tools::run_eval(tools::load_model(model_dir, int8), eo);
        }
        if (*serve) {
            classify::Server server(tools::load_model(model_dir, int8), so);
            server.bind();
            g_server = &server;
            std::signal(SIGINT, stop_server);
            std::signal(SIGTERM, stop_server);
            std::fprintf(stderr, "emoclass: serving on http://%s:%d (POST /v1/classify)\n", so.host.c_str(), server.port());
            server.serve();
            g_server = nullptr;
            return 0;
        }
        if (*listen) return tools::run_listen(tools::load_model(model_dir, int8), lo);
        if (co.inputs.empty() && co.files_from.empty()) {
            std::fprintf(stderr, "emoclass: no input files (see --help)\n");
            return 2;
        }
        if (co.resume && co.output.empty()) {
            std::fprintf(stderr, "emoclass: --resume needs --output FILE (see --help)\n");
            return 2;
        }
        if (!co.output.empty() && ((co.format != "jsonl" && app.count("--format") > 0) || !co.explain.empty())) {
            std::fprintf(stderr, "emoclass: --output writes jsonl; it takes no --format %s or --explain\n",
                         co.format.c_str());
            return 2;
        }
        if (!co.explain.empty()) try {
            figures::figure_format_for(co.explain);  // a name that says no format is refused before the work
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "emoclass: %s\n", e.what());
            return 2;
        }
        if (co.nul_separated && co.files_from.empty()) {
            std::fprintf(stderr, "emoclass: -0 goes with --files-from (see --help)\n");
            return 2;
        }
        try {
            if (!co.shard.empty()) tools::parse_shard(co.shard);
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "emoclass: %s\n", e.what());
            return 2;
        }
        return run_classify(model_dir, int8, co);
    } catch (const emoclass::Error& e) {
        std::fprintf(stderr, "emoclass: %s\n", e.what());
        return 1;
    }
}
