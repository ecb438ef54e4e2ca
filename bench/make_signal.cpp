// make_signal OUT SECONDS [RATE]: writes bench/signal.hpp's voice-like signal as 16-bit WAV or
// FLAC (by OUT's extension), for bench/compare.py's long-audio and scaling runs.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "signal.hpp"

int main(int argc, char** argv) {
    if (argc < 3 || argc > 4) {
        std::fprintf(stderr, "usage: make_signal OUT.wav|OUT.flac SECONDS [RATE=16000]\n");
        return 2;
    }
    try {
        const double seconds = std::atof(argv[2]);
        const int rate = argc > 3 ? std::atoi(argv[3]) : 16000;
        if (!(seconds > 0) || rate < 1000) throw std::runtime_error("bad SECONDS or RATE");
        bench::write_signal(argv[1], seconds, rate);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_signal: %s\n", e.what());
        return 1;
    }
    return 0;
}
