#!/usr/bin/python3
"""librosa references for resampled input (tests/fixtures/resample/).

librosa 0.10's load(f, sr=16000) decodes with soundfile to float32, averages the channels
(to_mono) and only then resamples with soxr (res_type 'soxr_hq'), fixing the length to
ceil(n * 16000 / rate). emoclass's default resampler (spectro/resampler.cpp, 'soxr_hq') must give
the same spectrogram: tests/test_resample.cpp compares `spectro-dump --raw` and the library with
the references written here, cell by cell (0.01 dB over the cells above max - 70 dB).

The audio is real speech at rates our corpora do not store: the one 96 kHz original in
../shared/data (TESS, OAF_food_fear.wav, 1.5 s), brought down with sox's very-high-quality
resampler to
  speech_48k.flac          48 kHz mono, 16-bit
  speech_44k1_stereo.flac  44.1 kHz stereo, 16-bit: left the clip, right the clip 6 dB lower
                           and 7 ms later (a wall reflection), so the downmix-before-resample
                           order is exercised
and, for a longer clip, a RAVDESS recording (16 kHz in ../shared/data) raised to 48 kHz:
  ravdess_48k.flac         48 kHz mono (band-limited to 8 kHz by its source)
FLAC keeps them small; libsndfile and soundfile decode FLAC bit-identically.

Usage, with the project's venv (librosa 0.10.2.post1, soxr from PyPI):
  .venv/bin/python scripts/make_resample_fixtures.py            # audio (if missing) + references
  .venv/bin/python scripts/make_resample_fixtures.py --regen-audio
  .venv/bin/python scripts/make_resample_fixtures.py --check FILE.npy --audio F [--sr 16000]
        compare a dB matrix made elsewhere with librosa computed now (the live ctest)
"""
import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "resample"
DATA = ROOT.parent / "shared" / "data"
TESS_96K = DATA / "tess" / "OAF_Fear" / "OAF_food_fear.wav"
RAVDESS = DATA / "ravdess" / "Actor_03" / "03-01-06-02-02-01-03.flac"

# The project's spectrogram defaults (spectro/settings.hpp), at 16 kHz.
SETTINGS = dict(n_fft=1024, hop_length=320, win_length=1024, n_mels=128, fmin=0.0, fmax=8000.0,
                htk=False, norm="slaney", center=True, pad_mode="constant", power=2.0)
TOP_DB = 80.0
CASES = [
    {"name": "tess_48k", "audio": "speech_48k.flac", "file": "db_speech_48k.npy"},
    {"name": "tess_44k1_stereo", "audio": "speech_44k1_stereo.flac", "file": "db_speech_44k1_stereo.npy"},
    {"name": "ravdess_48k", "audio": "ravdess_48k.flac", "file": "db_ravdess_48k.npy"},
]


def librosa_db(path, sr=16000):
    """What the notebook computes: librosa.load(sr) -> melspectrogram -> power_to_db."""
    import librosa
    y, sr = librosa.load(str(path), sr=sr)
    S = librosa.feature.melspectrogram(y=y, sr=sr, window="hann", **SETTINGS)
    return librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=TOP_DB).astype(np.float32)


def compare(ours, ref, tol=0.01):
    """Largest |difference| over the cells where the reference is above its max - 70 dB."""
    if ours.shape != ref.shape:
        return False, f"shape {ours.shape} vs librosa {ref.shape}"
    mask = ref > ref.max() - 70.0
    worst = float(np.max(np.abs(ours[mask].astype(np.float64) - ref[mask])))
    return worst <= tol, f"max |dB - librosa| = {worst:.5f} over {int(mask.sum())} cells"


def sox(*args):
    subprocess.run(["sox", *map(str, args)], check=True)


def make_audio():
    for src in (TESS_96K, RAVDESS):
        if not src.exists():
            sys.exit(f"{src} is missing: the fixture audio is made from ../shared/data")
    OUT.mkdir(parents=True, exist_ok=True)
    sox(TESS_96K, "-b", "16", OUT / "speech_48k.flac", "rate", "-v", "48000")
    left, right = OUT / "_left.wav", OUT / "_reflection.wav"
    sox(TESS_96K, "-b", "16", left, "rate", "-v", "44100")
    sox(left, right, "gain", "-6", "pad", "0.007", "trim", "0", f"{145172 / 96000:.6f}")
    sox("-M", left, right, "-b", "16", OUT / "speech_44k1_stereo.flac")
    left.unlink()
    right.unlink()
    sox(RAVDESS, "-b", "16", OUT / "ravdess_48k.flac", "rate", "-v", "48000")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--regen-audio", action="store_true")
    ap.add_argument("--check", type=pathlib.Path, help="dB matrix (.npy, [n_mels, frames]) to compare")
    ap.add_argument("--audio", type=pathlib.Path)
    ap.add_argument("--sr", type=int, default=16000)
    args = ap.parse_args()
    if args.check:
        ok, msg = compare(np.load(args.check), librosa_db(args.audio, args.sr))
        print(f"{args.audio.name}: {msg}")
        return 0 if ok else 1
    if args.regen_audio or not all((OUT / c["audio"]).exists() for c in CASES):
        make_audio()
    import librosa
    import soxr
    for c in CASES:
        db = librosa_db(OUT / c["audio"])
        np.save(OUT / c["file"], db)
        print(f"{c['file']}: {db.shape}")
    meta = {"librosa": librosa.__version__, "soxr": soxr.__version__, "libsoxr": soxr.__libsoxr_version__,
            "settings": SETTINGS, "top_db": TOP_DB, "cases": CASES}
    (OUT / "cases.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
