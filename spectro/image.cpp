#include "spectro/image.hpp"

#include <algorithm>
#include <cmath>

#include "spectro/audio_reader.hpp"
#include "spectro/db.hpp"
#include "spectro/error.hpp"

namespace spectro {

FrameWindow choose_window(const MelMatrix& mel, const ImageRecipe& recipe) {
    const std::size_t frames = mel.frames();
    FrameWindow w;
    w.width = recipe.frames > 0 ? std::size_t(recipe.frames) : frames;
    if (frames <= w.width) {
        w.count = frames;
        w.offset = recipe.clip_policy == ClipPolicy::Start ? 0 : (w.width - frames) / 2;
        return w;
    }
    w.count = w.width;
    switch (recipe.clip_policy) {
        case ClipPolicy::Start: w.first = 0; break;
        case ClipPolicy::Center: w.first = (frames - w.width) / 2; break;
        case ClipPolicy::Loudest: {
            // The window with the most total mel energy (sliding sum, first maximum wins).
            const std::size_t n = std::size_t(mel.n_mels);
            std::vector<double> energy(frames, 0.0);
            for (std::size_t f = 0; f < frames; ++f)
                for (std::size_t m = 0; m < n; ++m) energy[f] += mel.values[f * n + m];
            double sum = 0;
            for (std::size_t f = 0; f < w.width; ++f) sum += energy[f];
            double best = sum;
            for (std::size_t start = 1; start + w.width <= frames; ++start) {
                sum += energy[start + w.width - 1] - energy[start - 1];
                if (sum > best * (1 + 1e-12)) {
                    best = sum;
                    w.first = start;
                }
            }
            break;
        }
    }
    return w;
}

Image render_window(const MelMatrix& mel, const FrameWindow& window, const SpectroSettings& settings) {
    const std::size_t n_mels = std::size_t(mel.n_mels);
    if (window.first + window.count > mel.frames() || window.offset + window.count > window.width)
        throw emoclass::Error("image", "frame window out of range");
    const int width = int(window.width), height = int(n_mels);
    std::vector<std::uint8_t> levels(std::size_t(width) * n_mels, 0);
    if (window.count > 0) {
        std::vector<float> db(mel.values.begin() + long(window.first * n_mels),
                              mel.values.begin() + long((window.first + window.count) * n_mels));
        const float ref_power = to_db_ref_max(db.data(), db.size(), settings.power, settings.top_db);
        if (ref_power > 0.0f) {
            // dB is <= 0 after ref = max; [-top_db, 0] -> [0, 255], rounded half up.
            const double scale = 255.0 / settings.top_db;
            for (std::size_t f = 0; f < window.count; ++f) {
                const std::size_t col = window.offset + f;
                for (std::size_t m = 0; m < n_mels; ++m) {
                    double v = std::floor((double(db[f * n_mels + m]) + settings.top_db) * scale + 0.5);
                    v = std::isnan(v) ? 0.0 : std::clamp(v, 0.0, 255.0);  // a NaN cast to a byte is undefined
                    const std::size_t row = n_mels - 1 - m;  // low frequencies at the bottom
                    levels[row * std::size_t(width) + col] = std::uint8_t(v);
                }
            }
        }
    }
    return apply_colormap(levels, width, height, settings.image.colormap);
}

Image render_image(const MelMatrix& mel, const SpectroSettings& settings) {
    return render_window(mel, choose_window(mel, settings.image), settings);
}

}  // namespace spectro

namespace spectro {

// The image of a file without holding the whole clip's mel matrix: only the frames the clip policy
// can pick are kept, so memory does not grow with the recording (a 5 h file held ~460 MB of mel
// values for a 128-frame image). The result is the same image render_image gives.
Image image_from_file(const std::string& path, const SpectroSettings& s, AudioInfo* info) {
    const std::size_t width = s.image.frames > 0 ? std::size_t(s.image.frames) : 0;
    auto whole_clip = [&] {
        MelMatrix mel = mel_from_file(path, s, info);
        if (mel.frames() == 0) throw emoclass::Error(path, "shorter than one STFT frame (center is off)");
        return render_image(mel, s);
    };
    if (width == 0) return whole_clip();  // the image is the whole clip

    AudioReader reader = AudioReader::open_file(path);
    const std::size_t n = std::size_t(s.n_mels);
    MelMatrix kept;
    kept.n_mels = s.n_mels;
    std::size_t seen = 0, lo = 0, hi = 0;
    FrameWindow window;
    window.width = width;

    if (s.image.clip_policy == ClipPolicy::Loudest) {
        // choose_window's sliding energy sum, in the same order of operations, over a ring of the
        // last `width` frames; the best window is copied out only before its first frame leaves.
        std::vector<float> ring(width * n), best_frames(width * n);
        std::vector<double> energy(width);
        double sum = 0, best = 0;
        std::size_t best_start = 0;
        bool saved = false;
        auto save = [&](std::size_t start) {
            for (std::size_t k = 0; k < width; ++k)
                std::copy_n(&ring[((start + k) % width) * n], n, &best_frames[k * n]);
            saved = true;
        };
        AudioInfo i = stream_audio(reader, s, [&](const float* mel) {
            double e = 0.0;
            for (std::size_t m = 0; m < n; ++m) e += mel[m];
            const std::size_t slot = seen % width;
            if (seen < width) {
                sum += e;
                if (seen == width - 1) best = sum;
            } else {
                const std::size_t start = seen - width + 1;
                if (!saved && best_start == start - 1) save(best_start);
                sum += e - energy[slot];
                if (sum > best * (1 + 1e-12)) {
                    best = sum;
                    best_start = start;
                    saved = false;
                }
            }
            std::copy_n(mel, n, &ring[slot * n]);
            energy[slot] = e;
            ++seen;
        });
        if (info) *info = i;
        if (seen == 0) throw emoclass::Error(path, "shorter than one STFT frame (center is off)");
        if (seen <= width) {
            kept.values.assign(ring.begin(), ring.begin() + long(seen * n));
            window.count = seen;
            window.offset = (width - seen) / 2;
        } else {
            if (!saved) save(best_start);
            kept.values = std::move(best_frames);
            window.count = width;
        }
        return render_window(kept, window, s);
    }

    if (s.image.clip_policy == ClipPolicy::Start) {
        hi = width;
    } else {
        // Center: the frame count follows from the header (the resampler gives exactly
        // ceil(n * out / in) samples); a margin covers any doubt, and a miss falls back to the
        // whole clip below.
        const std::int64_t in = reader.frames(), in_rate = reader.sample_rate(), out_rate = s.sample_rate;
        const std::int64_t samples = in_rate == out_rate ? in : (in * out_rate + in_rate - 1) / in_rate;
        const std::int64_t padded = s.center ? samples + 2 * (s.n_fft / 2) : samples;
        const std::size_t expected = padded >= s.n_fft ? std::size_t(1 + (padded - s.n_fft) / s.hop_length) : 0;
        constexpr std::size_t kMargin = 256;
        lo = expected > width ? (expected - width) / 2 : 0;
        lo = lo > kMargin ? lo - kMargin : 0;
        hi = lo + width + 2 * kMargin;
    }
    AudioInfo i = stream_audio(reader, s, [&](const float* mel) {
        if (seen >= lo && seen < hi) kept.values.insert(kept.values.end(), mel, mel + n);
        ++seen;
    });
    if (info) *info = i;
    if (seen == 0) throw emoclass::Error(path, "shorter than one STFT frame (center is off)");
    if (seen <= width) {
        window.first = 0;
        window.count = seen;
        window.offset = s.image.clip_policy == ClipPolicy::Start ? 0 : (width - seen) / 2;
    } else {
        window.first = s.image.clip_policy == ClipPolicy::Start ? 0 : (seen - width) / 2;
        window.count = width;
    }
    if (window.first < lo || window.first + window.count > std::min(hi, seen)) return whole_clip();
    window.first -= lo;
    return render_window(kept, window, s);
}

}  // namespace spectro
