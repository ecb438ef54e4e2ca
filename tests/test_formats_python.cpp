// The scripts' formats module (scripts/emoclass_train/formats.py) against the C++ definitions it
// restates: spectro.json's defaults and names (spectro::setting_fields), model.json's window
// defaults and bytes (classify::bundle_json), the dataset manifest's columns
// (corpora::dataset_manifest_header, read_manifest). A default changed on one side only fails here.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "classify/bundle.hpp"
#include "spectro/corpora/corpus.hpp"
#include "spectro/settings.hpp"
#include "test_support.hpp"

using namespace test_support;
using json = nlohmann::json;

namespace {

// Prints the module's definitions as JSON, and writes a model.json (with training_data) of the
// spectro.json in its folder argument, as export_bundle.py writes one.
const char* const kDumpScript = R"(
import json, pathlib, sys
from emoclass_train import formats

folder = pathlib.Path(sys.argv[1])
manifest = formats.model_json("py", ["a", "b", "c"], 3, 64, 32, "viridis", formats.read_spectro(folder), "logits")
manifest["training_data"] = formats.training_data(
    [{"split": s, "corpus": c, "speaker": p} for s, c, p in
     [("val", "b", "7"), ("train", "b", "2"), ("train", "a", "9"), ("test", "a", "5"), ("train", "a", "1")]])
formats.write_json(folder / "model.json", manifest)
row = {"source": "in/a, b.wav", "path": "a, b.wav", "corpus": "mine", "speaker": "s1", "label": "angry",
       "split": "val", "image": "val/angry/mine_a.png"}
formats.write_manifest(folder / "dataset.csv", [row])
formats.write_manifest(folder / "corpus.csv", [row], formats.CORPUS_MANIFEST_COLUMNS)
print(json.dumps({"spectro_defaults": formats.SPECTRO_DEFAULTS, "choices": formats.SPECTRO_CHOICES,
                  "window": formats.WINDOW, "manifest_columns": formats.MANIFEST_COLUMNS, "splits": formats.SPLITS}))
)";

struct PythonFormats {
    json definitions;
    std::string model_json;  // the model.json formats.write_json wrote
    corpora::Manifest dataset_manifest, corpus_manifest;  // what formats.write_manifest wrote, read here
};

PythonFormats python_formats(const spectro::SpectroSettings& spectro) {
    TempDir tmp;
    write_bytes(tmp / "dump.py", kDumpScript);
    write_bytes(tmp / "spectro.json", spectro.to_json());
    auto r = run("PYTHONPATH=" EMOCLASS_SOURCE_DIR "/scripts " + std::string(PYTHON3_BIN) + " " + (tmp / "dump.py") +
                 " " + tmp.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const corpora::LabelMapping mapping;
    return {json::parse(r.out), read_bytes(tmp / "model.json"), corpora::read_manifest(tmp / "dataset.csv", mapping),
            corpora::read_manifest(tmp / "corpus.csv", mapping)};
}

TEST(PythonFormats, SpectroDefaultsAndNamesEqualTheSettingsTable) {
    const auto py = python_formats(spectro::SpectroSettings{}).definitions;
    EXPECT_EQ(py["spectro_defaults"], json::parse(spectro::SpectroSettings{}.to_json()));
    std::size_t with_choices = 0;
    for (const auto& f : spectro::setting_fields()) {
        if (f.choices.empty()) continue;
        ++with_choices;
        ASSERT_TRUE(py["choices"].contains(f.path())) << f.path();
        EXPECT_EQ(py["choices"][f.path()].get<std::vector<std::string>>(), f.choices) << f.path();
    }
    EXPECT_EQ(py["choices"].size(), with_choices);
}

TEST(PythonFormats, ModelJsonIsTheCppWritersByteForByte) {
    spectro::SpectroSettings s;
    s.n_mels = 64;
    s.image.frames = 32;
    s.image.colormap = spectro::Colormap::Viridis;
    const auto py = python_formats(s);
    const classify::WindowPolicy window;
    EXPECT_EQ(py.definitions["window"], (json{{"hop_s", window.hop_s}, {"min_voiced_fraction", window.min_voiced_fraction}}));
    const auto bundle = classify::parse_bundle_json(py.model_json, "py");
    EXPECT_EQ(bundle.training_data.split_of("b", "7"), "val");
    EXPECT_EQ(classify::bundle_json(bundle).dump(2) + "\n", py.model_json);
}

TEST(PythonFormats, ManifestColumnsAndSplitsAreSpectroDumps) {
    const auto py = python_formats(spectro::SpectroSettings{}).definitions;
    std::string header;
    for (const auto& column : py["manifest_columns"]) header += (header.empty() ? "" : ",") + column.get<std::string>();
    EXPECT_EQ(header + "\n", corpora::dataset_manifest_header());
    EXPECT_EQ(py["splits"], (json{"train", "val", "test"}));
}

TEST(PythonFormats, ManifestsThePythonWriterWritesAreReadHere) {
    const auto py = python_formats(spectro::SpectroSettings{});
    ASSERT_TRUE(py.dataset_manifest.is_dataset);
    ASSERT_EQ(py.dataset_manifest.entries.size(), 1u);
    EXPECT_TRUE(py.dataset_manifest.errors.empty());
    const auto& d = py.dataset_manifest.entries[0];
    EXPECT_EQ(d.file.path, "in/a, b.wav");
    EXPECT_EQ(d.split, "val");
    EXPECT_EQ(d.file.label, "angry");
    ASSERT_FALSE(py.corpus_manifest.is_dataset);
    ASSERT_EQ(py.corpus_manifest.entries.size(), 1u);
    const auto& c = py.corpus_manifest.entries[0];
    EXPECT_EQ(fs::path(c.file.path).filename().string(), "a, b.wav");
    EXPECT_EQ(c.file.corpus, "mine");
    EXPECT_EQ(c.file.speaker, "s1");
}

}  // namespace
