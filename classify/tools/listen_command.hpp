#pragma once
// `emoclass listen`: live audio (raw PCM on stdin, or an ALSA capture device) -> one line per
// window as soon as it is complete.
#include <string>

#include "classify/bundle.hpp"

namespace tools {

struct ListenOptions {
    std::string input = "-";        // "-" = stdin
    std::string device;             // ALSA device name (e.g. "default"); overrides input
    int rate = 16000;
    int channels = 1;
    std::string sample_format = "s16le";  // s16le | s32le | f32le | u8
    std::string output_format = "text";   // text | jsonl
    double hop_s = 0;               // <= 0: bundle default
    bool show_silence = false;      // also print windows skipped for holding no speech
    int top_k = 0;                  // probabilities listed per window (0: all)
};

// Returns the exit code (0 on clean end of stream or Ctrl-C, 1 on input errors).
int run_listen(const classify::ModelBundle& bundle, const ListenOptions& options);

}  // namespace tools
