// emoclass._native: the spectro and classify libraries as a Python extension (nanobind).
// The Python layer (emoclass/__init__.py) checks and converts arguments into the plain forms taken
// here (C-contiguous float arrays, str paths, bytes); every number is computed by the same C++
// code the emoclass and spectro-dump tools run, with the GIL released.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "classify/analyzer.hpp"
#include "classify/bundle.hpp"
#include "classify/classifier.hpp"
#include "classify/metrics.hpp"
#include "classify/result_format.hpp"
#include "spectro/audio_reader.hpp"
#include "spectro/db.hpp"
#include "spectro/error.hpp"
#include "spectro/mel_filterbank.hpp"
#include "spectro/resampler.hpp"
#include "spectro/settings.hpp"
#include "spectro/stft.hpp"

namespace nb = nanobind;

namespace {

// emoclass::Error becomes the Python class emoclass.Error(subject, reason), registered by
// emoclass/__init__.py (defined there so that Python code can raise it too).
PyObject* g_error_class = nullptr;

void set_error_class(nb::handle cls) {
    Py_XINCREF(cls.ptr());
    Py_XDECREF(g_error_class);
    g_error_class = cls.ptr();
}

void raise_error(const emoclass::Error& e) {
    // File names may hold any bytes: decode them as Python decodes paths (surrogateescape).
    PyObject* subject = PyUnicode_DecodeFSDefaultAndSize(e.subject().data(), Py_ssize_t(e.subject().size()));
    PyObject* reason = PyUnicode_DecodeUTF8(e.reason().data(), Py_ssize_t(e.reason().size()), "replace");
    PyObject* cls = g_error_class ? g_error_class : PyExc_RuntimeError;
    PyObject* instance = subject && reason ? PyObject_CallFunctionObjArgs(cls, subject, reason, nullptr) : nullptr;
    Py_XDECREF(subject);
    Py_XDECREF(reason);
    if (!instance) return;  // the failed call has set a Python error already
    PyErr_SetObject(cls, instance);
    Py_DECREF(instance);
}

template <class T, std::size_t N>
using OutArray = nb::ndarray<nb::numpy, T, nb::ndim<N>>;

// A numpy array that owns a heap vector (no copy on the way out).
template <class T, std::size_t N>
OutArray<T, N> to_numpy(std::vector<T>&& values, std::initializer_list<std::size_t> shape) {
    auto* owned = new std::vector<T>(std::move(values));
    nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
    return OutArray<T, N>(owned->data(), shape, owner);
}

// --- load --------------------------------------------------------------------------------------

// Decodes (and downmixes) as the tools do, then resamples to `target_rate` with the resampler
// the spectrogram path uses; target_rate 0 keeps the file's rate.
std::vector<float> decode(spectro::AudioReader& reader, int target_rate, int* rate_out) {
    std::vector<float> out;
    const int rate = reader.sample_rate();
    try {
        std::unique_ptr<spectro::Resampler> resampler;
        if (target_rate > 0 && target_rate != rate)
            resampler = std::make_unique<spectro::Resampler>(rate, target_rate,
                                                             spectro::SpectroSettings{}.resample_quality);
        out.reserve(resampler ? 0 : std::size_t(std::max<std::int64_t>(reader.frames(), 0)));
        std::vector<float> block(1 << 14);
        for (;;) {
            const std::size_t n = reader.read_mono(block.data(), block.size());
            if (n == 0) break;
            if (resampler) resampler->process(block.data(), n, false, out);
            else out.insert(out.end(), block.data(), block.data() + n);
        }
        if (resampler) resampler->process(nullptr, 0, true, out);
    } catch (const emoclass::Error& e) {
        if (e.subject() == reader.name()) throw;
        throw emoclass::Error(reader.name(), e.reason());  // resampler errors name the input too
    }
    *rate_out = target_rate > 0 ? target_rate : rate;
    return out;
}

nb::tuple load_file(const std::string& path, int target_rate) {
    std::vector<float> samples;
    int rate = 0;
    {
        nb::gil_scoped_release release;
        auto reader = spectro::AudioReader::open_file(path);
        samples = decode(reader, target_rate, &rate);
    }
    const std::size_t n = samples.size();
    return nb::make_tuple(to_numpy<float, 1>(std::move(samples), {n}), rate);
}

nb::tuple load_bytes(const nb::bytes& data, const std::string& name, int target_rate) {
    std::vector<float> samples;
    int rate = 0;
    {
        nb::gil_scoped_release release;
        auto reader = spectro::AudioReader::open_memory(data.c_str(), data.size(), name);
        samples = decode(reader, target_rate, &rate);
    }
    const std::size_t n = samples.size();
    return nb::make_tuple(to_numpy<float, 1>(std::move(samples), {n}), rate);
}

// --- melspectrogram and power_to_db ------------------------------------------------------------

using Signals = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// Each row of `y` (rows, samples) -> (rows, n_mels, frames): librosa's layout. The settings
// are librosa's arguments; validate() rejects what the C++ path does not implement.
OutArray<float, 3> melspectrogram(Signals y, int sr, int n_fft, int hop_length, int win_length, bool center,
                                  const std::string& pad_mode, double power, int n_mels, double fmin, double fmax,
                                  bool htk, bool slaney_norm) {
    spectro::SpectroSettings s;
    s.sample_rate = sr;
    s.n_fft = n_fft;
    s.hop_length = hop_length;
    s.win_length = win_length;
    s.center = center;
    s.pad_mode = spectro::parse_pad_mode(pad_mode);
    s.power = power;
    s.n_mels = n_mels;
    s.fmin = fmin;
    s.fmax = fmax;
    s.mel_scale = htk ? spectro::MelScale::Htk : spectro::MelScale::Slaney;
    s.mel_norm = slaney_norm ? spectro::MelNorm::Slaney : spectro::MelNorm::None;
    s.validate("melspectrogram");

    const std::size_t rows = y.shape(0), n = y.shape(1);
    std::vector<float> out;
    std::size_t frames = 0;
    {
        nb::gil_scoped_release release;
        spectro::Stft stft(s);
        spectro::MelFilterbank filterbank(s);
        std::vector<float> frame_major;  // one row's mel frames, frame by frame
        for (std::size_t r = 0; r < rows; ++r) {
            frame_major.clear();
            std::size_t offset = 0;
            auto sink = [&](const float* spectrum) {
                frame_major.resize(offset + std::size_t(n_mels));
                filterbank.apply(spectrum, frame_major.data() + offset);
                offset += std::size_t(n_mels);
            };
            stft.push(y.data() + r * n, n, sink);
            stft.finish(sink);  // also resets the Stft for the next row
            const std::size_t row_frames = frame_major.size() / std::size_t(n_mels);
            if (row_frames == 0)
                throw emoclass::Error("melspectrogram", "input of " + std::to_string(n) +
                                                           " samples is shorter than one frame (n_fft " +
                                                           std::to_string(n_fft) + ", center=False)");
            if (r == 0) {
                frames = row_frames;
                out.resize(rows * std::size_t(n_mels) * frames);
            }
            float* dst = out.data() + r * std::size_t(n_mels) * frames;
            for (std::size_t f = 0; f < frames; ++f)
                for (std::size_t m = 0; m < std::size_t(n_mels); ++m)
                    dst[m * frames + f] = frame_major[f * std::size_t(n_mels) + m];
        }
    }
    return to_numpy<float, 3>(std::move(out), {rows, std::size_t(n_mels), frames});
}

// In place on an array the Python layer has just copied: ref < 0 is ref=np.max, top_db < 0 None.
template <class T>
void power_to_db_inplace(nb::ndarray<T, nb::c_contig, nb::device::cpu> S, double ref, double amin, double top_db) {
    nb::gil_scoped_release release;
    spectro::power_to_db(S.data(), S.size(), ref, amin, top_db);
}

// --- the model ---------------------------------------------------------------------------------

// One model, any number of Python threads: an Analyzer (not thread-safe: it owns an OpenCV net)
// is lent to one call at a time from a pool that grows to the number of concurrent calls.
class NativeModel {
public:
    NativeModel(const std::string& dir, bool int8)
        : bundle_(int8 ? classify::use_int8(classify::load_bundle(dir)) : classify::load_bundle(dir)) {
        idle_.push_back(std::make_unique<classify::Analyzer>(bundle_));  // a bad network fails here
    }

    std::string analyze_file(const std::string& path) {
        return run([&](classify::Analyzer& a) { return a.analyze_file(path); });
    }
    std::string analyze_bytes(const nb::bytes& data, const std::string& name) {
        return run([&](classify::Analyzer& a) { return a.analyze_bytes(data.c_str(), data.size(), name); });
    }
    // The array's samples go to the analysis stream as they are (no copy, no WAV in between),
    // downmixed as the decoders downmix: an array gives what a file of the same samples gives.
    std::string analyze_array(Signals channels, int rate, const std::string& name) {
        return run([&](classify::Analyzer& a) {
            return a.analyze_samples(channels.data(), channels.shape(0), channels.shape(1), rate, name);
        });
    }

    const classify::ModelBundle& bundle() const { return bundle_; }

private:
    template <class Analyze>
    std::string run(Analyze&& analyze) {
        nb::gil_scoped_release release;
        std::unique_ptr<classify::Analyzer> analyzer;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!idle_.empty()) {
                analyzer = std::move(idle_.back());
                idle_.pop_back();
            }
        }
        if (!analyzer) analyzer = std::make_unique<classify::Analyzer>(bundle_);
        struct GiveBack {
            NativeModel* model;
            std::unique_ptr<classify::Analyzer>& analyzer;
            ~GiveBack() {
                std::lock_guard<std::mutex> lock(model->mutex_);
                model->idle_.push_back(std::move(analyzer));
            }
        } give_back{this, analyzer};
        // The jsonl line of `emoclass --format jsonl`, so the two cannot disagree.
        return classify::to_json(analyze(*analyzer), true);
    }

    classify::ModelBundle bundle_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<classify::Analyzer>> idle_;
};

}  // namespace

NB_MODULE(_native, m) {
    m.doc() = "emoclass's C++ libraries (spectro, classify); use the emoclass package, not this module";
    m.attr("__version__") = EMOCLASS_VERSION;

    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const emoclass::Error& e) {
            raise_error(e);
        }
    });
    m.def("_set_error_class", &set_error_class);

    m.def("load_file", &load_file, nb::arg("path"), nb::arg("sr"));
    m.def("load_bytes", &load_bytes, nb::arg("data"), nb::arg("name"), nb::arg("sr"));
    m.def("melspectrogram", &melspectrogram, nb::arg("y"), nb::arg("sr"), nb::arg("n_fft"), nb::arg("hop_length"),
          nb::arg("win_length"), nb::arg("center"), nb::arg("pad_mode"), nb::arg("power"), nb::arg("n_mels"),
          nb::arg("fmin"), nb::arg("fmax"), nb::arg("htk"), nb::arg("slaney_norm"));
    m.def("power_to_db_inplace", &power_to_db_inplace<float>, nb::arg("S"), nb::arg("ref"), nb::arg("amin"),
          nb::arg("top_db"));
    m.def("power_to_db_inplace", &power_to_db_inplace<double>, nb::arg("S"), nb::arg("ref"), nb::arg("amin"),
          nb::arg("top_db"));
    m.def("evaluate_json",
          [](const std::vector<std::string>& labels, const std::vector<int>& truth, const std::vector<int>& predicted) {
              return classify::report_json(classify::evaluate(labels, truth, predicted), -1);
          },
          nb::arg("labels"), nb::arg("truth"), nb::arg("predicted"));
    m.def("set_inference_threads", &classify::set_inference_threads, nb::arg("threads"));
    m.def("default_settings_json", [] { return spectro::SpectroSettings{}.to_json(); });
    m.def("versions", [] {
        return std::string("OpenCV ") + classify::opencv_version() + ", " + spectro::sndfile_version() + ", " +
               spectro::samplerate_version() + ", " + spectro::fftw_version();
    });

    nb::class_<NativeModel>(m, "NativeModel")
        .def(nb::init<const std::string&, bool>(), nb::arg("dir"), nb::arg("int8") = false)
        .def("analyze_file", &NativeModel::analyze_file, nb::arg("path"))
        .def("analyze_bytes", &NativeModel::analyze_bytes, nb::arg("data"), nb::arg("name"))
        .def("analyze_array", &NativeModel::analyze_array, nb::arg("channels"), nb::arg("sr"), nb::arg("name"))
        .def_prop_ro("dir", [](const NativeModel& m) { return m.bundle().dir; })
        .def_prop_ro("name", [](const NativeModel& m) { return m.bundle().name; })
        .def_prop_ro("labels", [](const NativeModel& m) { return m.bundle().labels; })
        .def_prop_ro("settings_json", [](const NativeModel& m) { return m.bundle().spectro.to_json(); })
        .def_prop_ro("window_seconds", [](const NativeModel& m) { return m.bundle().spectro.window_seconds(); })
        .def_prop_ro("hop_seconds", [](const NativeModel& m) { return m.bundle().window.hop_s; });
}
