#pragma once
// Several channels to mono by the mean of the channels (librosa.to_mono): the one downmix every
// source takes, whether its samples come interleaved (the decoders, raw PCM in `emoclass listen`)
// or channel by channel (arrays from the Python package), so the same audio gives the same mono
// samples, bit for bit, whichever way it arrives.
#include <cstddef>

namespace spectro {

// mono[i] = mean over c of samples[i * frame_step + c * channel_step], for i < frames. Summed in
// channel order and scaled by 1 / channels; one channel is copied as it is.
//   interleaved: frame_step = channels, channel_step = 1
//   channel by channel, each `n` long: frame_step = 1, channel_step = n
inline void downmix_mean(const float* samples, std::size_t channels, std::size_t frames, std::size_t frame_step,
                         std::size_t channel_step, float* mono) {
    const float scale = 1.0f / float(channels);
    for (std::size_t i = 0; i < frames; ++i) {
        const float* frame = samples + i * frame_step;
        float sum = frame[0];
        if (channels > 1) {
            for (std::size_t c = 1; c < channels; ++c) sum += frame[c * channel_step];
            sum *= scale;
        }
        mono[i] = sum;
    }
}

}  // namespace spectro
