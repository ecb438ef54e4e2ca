// spectro-dump: audio files -> model-input PNGs, inspection figures, raw dB matrices, or a whole
// labelled dataset for training. A thin shell over the spectro library.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "spectro/tools/batch_io.hpp"
#include "dataset_dump.hpp"
#include "spectro/tools/progress.hpp"
#include "spectro/tools/settings_flags.hpp"
#include "spectro/tools/tool_support.hpp"
#include "spectro/atomic_file.hpp"
#include "spectro/audio_folder.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/db.hpp"
#include "spectro/error.hpp"
#include "spectro/figures/figure.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"
#include "spectro/npy_io.hpp"
#include "spectro/parallel.hpp"
#include "spectro/png_io.hpp"
#include "spectro/resampler.hpp"
#include "spectro/stft.hpp"

namespace fs = std::filesystem;

namespace {

std::string version_text() { return std::string("spectro-dump ") + EMOCLASS_VERSION + "\n" + tools::library_versions(); }

std::string describe(const spectro::SpectroSettings& s) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%d Hz, n_fft %d, hop %d, win %d, %d %s mels %.0f-%.0f Hz, power %.0f, top_db %.0f",
                  s.sample_rate, s.n_fft, s.hop_length, s.win_length, s.n_mels, to_string(s.mel_scale).c_str(),
                  s.fmin, s.resolved_fmax(), s.power, s.top_db);
    return buf;
}

// One input, one output. Throws emoclass::Error on any failure; nothing partial is left.
void dump_one(const std::string& input, const std::string& output, bool inspect, const spectro::SpectroSettings& s) {
    if (!inspect) {
        // Only the frames the image can show are kept: memory does not grow with the recording.
        spectro::write_png(output, spectro::image_from_file(input, s));
        return;
    }
    spectro::AudioInfo info;
    auto mel = spectro::mel_from_file(input, s, &info);
    if (mel.frames() == 0) throw emoclass::Error(input, "shorter than one STFT frame (center is off)");
    {
        figures::InspectionFigure fig;
        fig.title = fs::path(input).filename().string();
        char dur[64];
        std::snprintf(dur, sizeof dur, "%.2f s, %d Hz x %d ch -> ", info.duration_s, info.source_rate, info.channels);
        fig.subtitle = dur + describe(s);
        fig.mel = &mel;
        fig.settings = s;
        figures::write_inspection_figure(output, fig);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"spectro-dump: audio -> librosa-exact log-mel spectrogram -> model-input PNG, inspection figure,\n"
                 "raw dB matrix (.npy), or a labelled, speaker-split training dataset."};
    app.footer(
        "Examples:\n"
        "  spectro-dump speech.wav -o out/                 # out/speech.png (model input)\n"
        "  spectro-dump --inspect speech.wav -o figs/      # figs/speech.inspect.png (for people)\n"
        "  spectro-dump --raw speech.npy speech.wav        # float32 dB [n_mels, frames], librosa's layout\n"
        "  spectro-dump --dataset ../shared/data -o dataset/   # train/val/test ImageFolder + manifest.csv\n"
        "Defaults equal librosa.feature.melspectrogram + power_to_db(ref=np.max, top_db=80) with the\n"
        "settings shown; --settings FILE loads a spectro.json (flags given after it still override).");
    app.set_version_flag("--version", version_text);  // called only for --version: it loads the figures module
    app.get_formatter()->column_width(34);

    std::vector<std::string> inputs, dataset_roots;
    std::string out_dir, raw_path, settings_file, mapping;
    bool inspect = false, overwrite = false, quiet = false;
    int jobs = spectro::default_jobs();
    tools::DatasetOptions ds;
    std::string files_from, log_path, shard_text;
    bool nul_separated = false, resume = false, list_inputs = false;

    app.add_option("inputs", inputs, "audio files (any format libsndfile or FFmpeg reads) or folders");
    app.add_option("-o,--output", out_dir, "output directory (created if missing)");
    app.add_flag("--inspect", inspect, "write the inspection figure (axes, colorbar, title) instead of the model input");
    app.add_option("--raw", raw_path, "single input: write the float32 dB matrix [n_mels, frames] as .npy (- for standard output)");
    app.add_option("--dataset", dataset_roots,
                   "dataset mode: corpus folders or CSV manifests (path,label,speaker[,corpus]) to label, split and dump")
        ->expected(1, -1);
    app.add_option("--settings", settings_file, "load spectrogram settings from a spectro.json");

    // One flag per spectro::setting_fields() row: names, help and defaults come from the table.
    auto* g = app.add_option_group("Spectrogram (librosa's names)");
    auto* im = app.add_option_group("Image");
    tools::SettingsFlags settings_flags(*g, *im);

    auto* d = app.add_option_group("Dataset mode");
    d->add_option("--val-frac", ds.fractions.val, "fraction of each corpus's speakers for validation")->capture_default_str();
    d->add_option("--test-frac", ds.fractions.test, "fraction of each corpus's speakers for test")->capture_default_str();
    d->add_option("--seed", ds.seed, "split seed")->capture_default_str();
    d->add_option("--map", mapping, "label mapping overrides, e.g. calm=neutral,boredom= (empty = skip)");
    d->add_flag("--list-split", ds.list_split, "print the manifest the split gives (stdout) and its counts; read no audio");

    app.add_option("-j,--jobs", jobs, "parallel files [default: all cores]");
    app.add_flag("--overwrite", overwrite, "redo outputs that already exist");
    app.add_flag("-q,--quiet", quiet, "no progress output");

    auto* batch = app.add_option_group("Big jobs (docs/scale.md)");
    batch->add_option("--files-from", files_from, "read input paths from FILE, one per line ('-' = stdin)")->type_name("FILE");
    batch->add_flag("-0,--null", nul_separated, "with --files-from: paths are NUL-separated (find -print0)");
    batch->add_option("--log", log_path, "record every image done in FILE (jsonl: file, output, size, mtime)")->type_name("FILE");
    batch->add_flag("--resume", resume, "with --log: skip inputs it records whose file and image are unchanged");
    batch->add_option("--shard", shard_text, "K/N: only this worker's deterministic 1/N of the inputs")->type_name("K/N");
    batch->add_flag("--list-inputs", list_inputs, "print the inputs after --files-from and --shard, then exit");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return e.get_exit_code() == 0 ? 0 : (code ? 2 : 0);
    }

    spectro::SpectroSettings s;
    try {
        // Flags given explicitly still win over the file.
        std::optional<spectro::SpectroSettings> file;
        if (!settings_file.empty()) file = spectro::SpectroSettings::from_file(settings_file);
        s = settings_flags.resolve(file ? &*file : nullptr);
    } catch (const emoclass::Error& e) {
        std::fprintf(stderr, "spectro-dump: %s\n", e.what());
        return 2;
    }

    auto usage = [](const char* msg) {
        std::fprintf(stderr, "spectro-dump: %s (see --help)\n", msg);
        return 2;
    };

    if (nul_separated && files_from.empty()) return usage("-0 goes with --files-from");
    if (resume && log_path.empty()) return usage("--resume needs --log FILE");
    tools::Shard shard;
    try {
        if (!shard_text.empty()) shard = tools::parse_shard(shard_text);
    } catch (const emoclass::Error& e) {
        std::fprintf(stderr, "spectro-dump: %s\n", e.what());
        return 2;
    }
    try {
        if (!files_from.empty()) {
            auto listed = tools::read_file_list(files_from, nul_separated);
            inputs.insert(inputs.end(), listed.begin(), listed.end());
        }
    } catch (const emoclass::Error& e) {
        std::fprintf(stderr, "spectro-dump: %s\n", e.what());
        return 1;
    }
    // A folder stands for every file in it that a decoder reads; the rest are named on stderr.
    std::vector<std::string> expanded;
    std::size_t unreadable = 0;  // entries inside folders that cannot be looked at: failures
    for (const auto& input : inputs) {
        std::error_code ec;
        if (!fs::is_directory(input, ec)) {
            expanded.push_back(input);
            continue;
        }
        try {
            auto scan = spectro::scan_audio_folder(input);
            for (const auto& [file, reason] : scan.skipped)
                std::fprintf(stderr, "skipped %s: %s\n", file.c_str(), reason.c_str());
            for (const auto& [path, reason] : scan.errors)
                std::fprintf(stderr, "error: %s: %s\n", path.c_str(), reason.c_str());
            unreadable += scan.errors.size();
            expanded.insert(expanded.end(), scan.files.begin(), scan.files.end());
            if (scan.files.empty()) expanded.push_back(input);  // nothing to read: its error line says why
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "spectro-dump: %s\n", e.what());
            return 1;
        }
    }
    inputs = std::move(expanded);
    const std::size_t all_inputs = inputs.size();
    if (!shard_text.empty()) inputs = tools::select_shard(inputs, shard);
    if (!log_path.empty()) inputs = tools::without_duplicates(inputs);
    if (list_inputs) {
        for (const auto& f : inputs) std::printf("%s\n", f.c_str());
        return 0;
    }

    if (!dataset_roots.empty()) {
        if (!shard_text.empty() || !log_path.empty()) return usage("--dataset takes no --shard or --log");
        if (!inputs.empty() || !raw_path.empty() || inspect) return usage("--dataset takes no other inputs, --raw or --inspect");
        if (out_dir.empty() && !ds.list_split) return usage("--dataset needs -o OUTDIR");
        ds.roots = dataset_roots;
        ds.out_dir = out_dir;
        ds.settings = s;
        ds.jobs = jobs;
        ds.overwrite = overwrite;
        ds.progress = !quiet;
        try {
            if (!mapping.empty()) ds.mapping.apply_overrides(mapping);
            return tools::run_dataset_dump(ds);
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "spectro-dump: %s\n", e.what());
            return 1;
        }
    }

    if (inputs.empty() && all_inputs > 0) {
        std::fprintf(stderr, "spectro-dump: shard %s holds none of the %zu inputs\n", shard_text.c_str(), all_inputs);
        return 0;
    }
    if (inputs.empty()) return usage("no input files");
    if (!raw_path.empty()) {
        if (!log_path.empty()) return usage("--raw takes no --log");
        if (inputs.size() != 1) return usage("--raw takes exactly one input");
        try {
            auto mel = spectro::mel_from_file(inputs[0], s);
            if (mel.frames() == 0) throw emoclass::Error(inputs[0], "shorter than one STFT frame (center is off)");
            // dB in place and a transposing write: the mel matrix is the only copy held (it was
            // four: mel, dB, transpose, encoded file).
            spectro::to_db_ref_max(mel.values.data(), mel.values.size(), s.power, s.top_db);
            if (raw_path == "-") spectro::write_npy_transposed(stdout, mel.values.data(), mel.frames(), std::size_t(mel.n_mels));
            else spectro::write_npy_transposed(raw_path, mel.values.data(), mel.frames(), std::size_t(mel.n_mels));
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 1;
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "error: %s: out of memory for its %d-band mel matrix (a larger --hop-length needs less)\n",
                         inputs[0].c_str(), s.n_mels);
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: %s: %s\n", inputs[0].c_str(), e.what());
            return 1;
        }
        if (out_dir.empty()) return 0;
    }
    if (out_dir.empty()) return usage("-o OUTDIR is required");
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec || !fs::is_directory(out_dir)) {
        std::fprintf(stderr, "error: %s: cannot create output directory%s%s\n", out_dir.c_str(), ec ? ": " : "",
                     ec ? ec.message().c_str() : "");
        return 1;
    }
    spectro::remove_stale_temporaries(out_dir);  // debris of a killed run, never an output

    // Output names from the input stems; two inputs with one stem would overwrite each other.
    std::vector<std::string> outputs(inputs.size()), errors(inputs.size());
    std::map<std::string, std::size_t> first_with_name;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        // Figures get a suffix of their own: one folder can hold both, and a figure is never
        // mistaken for (or skipped as) a model input.
        outputs[i] = (fs::path(out_dir) / (fs::path(inputs[i]).stem().string() + (inspect ? ".inspect.png" : ".png")))
                         .string();
        auto [it, fresh] = first_with_name.emplace(outputs[i], i);
        if (!fresh) errors[i] = inputs[i] + ": output name collides with " + inputs[it->second];
    }
    std::vector<char> skipped(inputs.size(), 0);

    // --log: a jsonl record of every input whose image is in place (written now or found there),
    // in input order; --resume skips the inputs it records, unless the input or image changed.
    std::unique_ptr<tools::ResumableJsonl> log;
    std::vector<char> logged_before(inputs.size(), 0);
    if (!log_path.empty()) {
        tools::ResumableJsonl::Options lo;
        lo.resume = resume;
        std::map<std::string, std::string> output_of;
        for (std::size_t i = 0; i < inputs.size(); ++i) output_of.emplace(inputs[i], outputs[i]);
        lo.still_valid = [&](const nlohmann::json& line) {
            auto it = output_of.find(line.value("file", std::string()));
            std::error_code exists_ec;
            return it == output_of.end() || (line.value("output", std::string()) == it->second &&
                                             fs::is_regular_file(it->second, exists_ec) && !overwrite);
        };
        try {
            log = std::make_unique<tools::ResumableJsonl>(log_path, inputs, lo);
        } catch (const emoclass::Error& e) {
            std::fprintf(stderr, "spectro-dump: %s\n", e.what());
            return 1;
        }
        logged_before = log->done();
        if (log->dropped_tail_bytes() > 0)
            std::fprintf(stderr, "spectro-dump: %s: cut off %zu bytes of an unfinished last line\n", log_path.c_str(),
                         log->dropped_tail_bytes());
        if (log->dropped_changed_lines() > 0)
            std::fprintf(stderr, "spectro-dump: %s: %zu lines dropped (input or image changed or gone): doing them again\n",
                         log_path.c_str(), log->dropped_changed_lines());
        if (log->done_count() > 0 && !quiet)
            std::fprintf(stderr, "spectro-dump: %s: resuming, %zu of %zu inputs already done\n", log_path.c_str(),
                         log->done_count(), inputs.size());
    }
    std::vector<tools::FileStamp> stamps(inputs.size());
    std::string log_error;
    tools::InOrder in_order(inputs.size(), [&](std::size_t i) {
        if (!log || logged_before[i] || !errors[i].empty() || !log_error.empty()) return;
        try {
            log->append(nlohmann::json{{"file", inputs[i]}, {"output", outputs[i]}}.dump(), stamps[i]);
        } catch (const std::exception& e) {
            log_error = e.what();
        }
    });
    tools::Progress progress(inputs.size(), "spectro-dump", !quiet);
    spectro::parallel_for(inputs.size(), jobs, [&](std::size_t i) {
        if (logged_before[i]) skipped[i] = 1;
        else if (errors[i].empty()) {
            try {
                // Stamped before reading: an input changed meanwhile is redone on resume.
                auto stamp = log ? tools::stamp_of(inputs[i]) : std::nullopt;
                const int stat_errno = errno;
                if (!overwrite && tools::output_in_place(outputs[i])) skipped[i] = 1;
                else dump_one(inputs[i], outputs[i], inspect, s);  // says why an input is missing
                if (log && !stamp) throw emoclass::Error(inputs[i], "cannot stat: " + std::string(std::strerror(stat_errno)));
                if (log) stamps[i] = *stamp;
            } catch (const emoclass::Error& e) {
                errors[i] = e.what();
            } catch (const std::exception& e) {
                errors[i] = inputs[i] + ": " + (dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory" : e.what());
            }
        }
        progress.tick(!errors[i].empty());
        in_order.done(i);
    });
    progress.finish();
    if (log && log_error.empty()) {
        try {
            log->finish();
        } catch (const std::exception& e) {
            log_error = e.what();
        }
    }
    if (!log_error.empty()) {
        std::fprintf(stderr, "spectro-dump: %s\n", log_error.c_str());
        return 1;
    }
    std::size_t failed = 0, skipped_count = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!errors[i].empty()) {
            std::fprintf(stderr, "error: %s\n", errors[i].c_str());
            ++failed;
        }
        skipped_count += std::size_t(skipped[i]);
    }
    if (inputs.size() > 1 || failed || unreadable)
        std::fprintf(stderr, "spectro-dump: %zu written, %zu already there, %zu failed (%.1fs)\n",
                     inputs.size() - failed - skipped_count, skipped_count, failed + unreadable, progress.elapsed_s());
    return failed || unreadable ? 1 : 0;
}
