#pragma once
// `spectro-dump --dataset`: corpora (folders parsed by file name, or CSV manifests) -> labelled,
// speaker-split ImageFolder of model-input PNGs, with manifest.csv and spectro.json.
#include <cstdint>
#include <string>
#include <vector>

#include "spectro/corpora/corpus.hpp"
#include "spectro/settings.hpp"

namespace tools {

struct DatasetOptions {
    std::vector<std::string> roots;  // folders, or *.csv corpus manifests (spectro/corpora/corpus.hpp)
    std::string out_dir;
    spectro::SpectroSettings settings;
    corpora::LabelMapping mapping;
    corpora::SplitFractions fractions;
    std::uint64_t seed = 1234;
    int jobs = 0;
    bool overwrite = false;
    bool progress = true;
    bool list_split = false;  // print the manifest the split gives, read no audio, write nothing
};

// Returns the process exit code: 0 all done, 1 some files failed (reported on stderr).
int run_dataset_dump(const DatasetOptions& options);

}  // namespace tools
