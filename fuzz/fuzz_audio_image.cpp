// Audio bytes -> decoder -> log-mel -> model-input image: the path every upload takes.
#include <cstddef>
#include <cstdint>

#include "spectro/audio_reader.hpp"
#include "spectro/error.hpp"
#include "spectro/image.hpp"
#include "spectro/mel_spectrogram.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        auto reader = spectro::AudioReader::open_memory(data, size, "<fuzz>");
        // Bounded work per input: a header may declare hours of audio.
        if (reader.frames() > std::int64_t(reader.sample_rate()) * 20) return 0;
        spectro::SpectroSettings s;
        auto mel = spectro::mel_from_reader(reader, s);
        if (mel.frames() > 0) (void)spectro::render_image(mel, s);
    } catch (const emoclass::Error&) {
    }
    return 0;
}
