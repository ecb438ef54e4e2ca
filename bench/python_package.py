#!/usr/bin/python3
"""The Python package `emoclass` against librosa itself, on real clips (docs/python.md).

    PYTHONPATH=build/python .venv/bin/python bench/python_package.py [--clips 24] [--rounds 5]

(or with `emoclass` pip-installed into the venv that has librosa). On clips sampled with a
fixed seed across the corpora of ../shared/data (bench/compare.py's choice), each decoded once
to float32 at its native rate, it times, as medians over --rounds interleaved rounds:
  - the log-mel spectrogram, `power_to_db(melspectrogram(y=y, sr=sr, ...), ref=np.max)`, with
    emoclass and with librosa 0.10, for the model's settings at 16 kHz and librosa's defaults at
    22.05 kHz (both sides get identical samples), and the largest |dB difference| seen;
  - power_to_db alone, on identical mel spectrograms;
  - `load(path, sr=16000)` (decode + resample) with emoclass and librosa (soxr_hq);
  - Model.analyze over all clips from 1 thread and from 2 threads sharing one Model.
Single-threaded throughout except the last line: OpenCV runs one thread per pass
(emoclass.set_inference_threads(1)). Timings mean something only on an idle machine; the
load average is printed with them.
"""
import os

# One BLAS thread for numpy (librosa's mel product), as emoclass computes on one thread.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import concurrent.futures  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import librosa  # noqa: E402
import numpy as np  # noqa: E402

import emoclass  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import pick_clips  # noqa: E402  (the same clips as the end-to-end comparison)

REPO = Path(__file__).resolve().parent.parent
SETTINGS = {
    "model's settings, 16 kHz": (16000, dict(n_fft=1024, hop_length=320, n_mels=128)),
    "librosa defaults, 22.05 kHz": (22050, dict()),
}


def timed(fn):
    """Wall time of one fn() call and its result (the caller takes medians over rounds)."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args()
    if not (args.data / "MANIFEST.csv").is_file():
        sys.exit(f"{args.data}/MANIFEST.csv is missing: this bench needs the real clips")
    emoclass.set_inference_threads(1)
    paths = [p for p, _ in pick_clips(args.data, args.clips, args.seed)]
    audio_s = sum(librosa.get_duration(path=p) for p in paths)
    print(f"emoclass {emoclass.__version__} ({Path(emoclass.__file__).parent}), librosa {librosa.__version__}, "
          f"numpy {np.__version__}; {len(paths)} clips, {audio_s:.1f} s of audio; "
          f"load average {os.getloadavg()[0]:.2f}")

    # Identical input for both sides: each clip at each rate, resampled once beforehand.
    signals = {rate: [emoclass.load(p, sr=rate)[0] for p in paths] for rate, _ in SETTINGS.values()}

    def spectrograms(lib, rate, kwargs):
        if lib == "emoclass":
            return [emoclass.power_to_db(emoclass.melspectrogram(y=y, sr=rate, **kwargs), ref=np.max)
                    for y in signals[rate]]
        return [librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=rate, **kwargs), ref=np.max)
                for y in signals[rate]]

    model = emoclass.Model()
    model.analyze(paths[0])  # first-call costs out of the way

    def analyze(threads):
        if threads == 1:
            return [model.analyze(p) for p in paths]
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            return list(pool.map(model.analyze, paths))

    jobs = {}
    for name, (rate, kwargs) in SETTINGS.items():
        for lib in ("emoclass", "librosa"):
            jobs[("spectrogram", name, lib)] = lambda lib=lib, rate=rate, kwargs=kwargs: spectrograms(lib, rate, kwargs)
    # power_to_db alone, on the same mel spectrograms (numpy's float32 log10 is vectorised).
    mels = [librosa.feature.melspectrogram(y=y, sr=16000, n_fft=1024, hop_length=320) for y in signals[16000]]
    jobs[("power_to_db", "alone, ref=np.max (model's settings)", "emoclass")] = \
        lambda: [emoclass.power_to_db(S, ref=np.max) for S in mels]
    jobs[("power_to_db", "alone, ref=np.max (model's settings)", "librosa")] = \
        lambda: [librosa.power_to_db(S, ref=np.max) for S in mels]
    jobs[("load", "decode + resample to 16 kHz", "emoclass")] = lambda: [emoclass.load(p, sr=16000) for p in paths]
    jobs[("load", "decode + resample to 16 kHz", "librosa")] = lambda: [librosa.load(p, sr=16000) for p in paths]
    jobs[("model", "Model.analyze, 1 thread", "emoclass")] = lambda: analyze(1)
    jobs[("model", "Model.analyze, 2 threads", "emoclass")] = lambda: analyze(2)

    times = {key: [] for key in jobs}
    outputs = {}
    for r in range(args.rounds):
        order = list(jobs) if r % 2 == 0 else list(reversed(jobs))
        for key in order:
            seconds, outputs[key] = timed(jobs[key])
            times[key].append(seconds)
    median = {key: statistics.median(t) for key, t in times.items()}

    print(f"\nmedian of {args.rounds} rounds, ms per clip (ratio = librosa / emoclass)")
    print(f"| {'stage':<50} | {'emoclass':>9} | {'librosa':>9} | {'ratio':>6} | max dB diff |")
    print(f"|{'-' * 52}|{'-' * 11}|{'-' * 11}|{'-' * 8}|-------------|")
    for kind, name in dict.fromkeys((k[0], k[1]) for k in jobs if k[0] != "model"):
        ours, theirs = median[(kind, name, "emoclass")], median[(kind, name, "librosa")]
        diff = "-"
        if kind in ("spectrogram", "power_to_db"):
            diff = f"{max(float(np.abs(a - b).max()) for a, b in zip(outputs[(kind, name, 'emoclass')], outputs[(kind, name, 'librosa')])):.5f}"
        print(f"| {kind + ': ' + name:<50} | {1000 * ours / len(paths):9.2f} | {1000 * theirs / len(paths):9.2f} "
              f"| {theirs / ours:5.1f}x | {diff:>11} |")
    one, two = median[("model", "Model.analyze, 1 thread", "emoclass")], median[("model", "Model.analyze, 2 threads", "emoclass")]
    same = outputs[("model", "Model.analyze, 1 thread", "emoclass")] == outputs[("model", "Model.analyze, 2 threads", "emoclass")]
    print(f"\nModel.analyze: {1000 * one / len(paths):.2f} ms per clip from 1 thread, {1000 * two / len(paths):.2f} from 2 "
          f"threads sharing one Model ({one / two:.2f}x; results identical: {same}); "
          f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
