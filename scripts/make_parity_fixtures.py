#!/usr/bin/python3
"""Reference mel spectrograms for the C++ parity tests (tests/fixtures/parity/).

The C++ spectrogram must match librosa 0.10:

    S = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=..., hop_length=..., win_length=...,
                                       window="hann", center=..., pad_mode=..., power=...,
                                       n_mels=..., fmin=..., fmax=..., htk=..., norm=...)
    power 2: librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=80)
    power 1: librosa.amplitude_to_db(S, ref=np.max, amin=1e-5, top_db=80)

librosa itself is not available here (no PyPI), so this script re-derives exactly those
functions in numpy, following librosa 0.10's source line by line; each function below names
the librosa function it mirrors. librosa computes in the input's dtype (float32 audio gives a
complex64 STFT) and keeps the mel basis in float32; this reference computes everything in
float64, i.e. it is the "true" value that both librosa and the C++ code approximate, and only
the final matrices are stored as float32.

Usage (always with /usr/bin/python3, which has the Debian numpy):

  make_parity_fixtures.py                 regenerate every fixture (the WAVs only if missing)
  make_parity_fixtures.py --regen-audio   also re-synthesise the WAVs (espeak-ng + sox)
  make_parity_fixtures.py --self-check    verify this re-derivation (librosa doc examples,
                                          scipy's window, torchaudio's filterbank, a direct DFT)
  make_parity_fixtures.py --audio F.wav [--sr N] [--spectro-json spectro.json] [options]
                          [-o ref.npy] [--check other.npy]
        reference for any WAV (16/24/32-bit PCM or float; the file's rate must be the
        spectrogram rate, since librosa's resampler is not re-derived here)
  make_parity_fixtures.py --case NAME --check other.npy
        compare a matrix produced elsewhere with a committed fixture

--check prints the largest absolute difference over the cells where the reference is above
(its max - 70 dB) and exits with status 1 when it exceeds --tol (0.01 dB). For kind "stft"
both matrices are first converted to dB relative to the reference's max; for kind "melfb" the
difference is relative to the largest weight (tolerance 1e-5).

cases.json holds one object per fixture with every setting resolved (fmax is a number). For
kind "melfb" the audio, hop and STFT options are present but unused; for kind "stft" the mel
options are present but unused.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import wave

import numpy as np

from emoclass_train.formats import SPECTRO_DEFAULTS

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "parity"

# espeak-ng is deterministic, so the WAVs can be re-made; they are still committed so the
# references never depend on the installed espeak-ng/sox versions.
SENTENCE = "Kids are talking by the door. Dogs are sitting by the door."
ESPEAK_ARGS = ["-v", "en-us", "-s", "190"]
CLIP_SECONDS = 3.0  # the sentence ends at about 2.97 s at this speed
AUDIO_FILES = {"speech_16k.wav": 16000, "speech_22050.wav": 22050, "speech_8k.wav": 8000}

# The settings a reference depends on, at the project's defaults; None = derived from another
# setting (win_length = n_fft, fmax = sample_rate / 2).
SETTING_KEYS = ["sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "fmin", "fmax", "mel_scale",
                "mel_norm", "center", "pad_mode", "power", "top_db"]
DEFAULTS = dict({k: SPECTRO_DEFAULTS[k] for k in SETTING_KEYS}, win_length=None, fmax=None)


# --------------------------------------------------------------------------------------------
# librosa.core.convert
# --------------------------------------------------------------------------------------------
def hz_to_mel(frequencies, htk):
    """librosa.hz_to_mel: HTK's 2595 * log10(1 + f / 700), or Slaney's Auditory Toolbox scale
    (linear, 200/3 Hz per mel, below 1 kHz; logarithmic, log(6.4)/27 per mel, above)."""
    frequencies = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + frequencies / 700.0)
    f_min, f_sp = 0.0, 200.0 / 3
    mels = (frequencies - f_min) / f_sp
    min_log_hz = 1000.0
    min_log_mel = (min_log_hz - f_min) / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = frequencies >= min_log_hz
    return np.where(log_t, min_log_mel + np.log(np.maximum(frequencies, min_log_hz) / min_log_hz)
                    / logstep, mels)


def mel_to_hz(mels, htk):
    """librosa.mel_to_hz: the inverse of hz_to_mel."""
    mels = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    f_min, f_sp = 0.0, 200.0 / 3
    freqs = f_min + f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = (min_log_hz - f_min) / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    return np.where(log_t, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_frequencies(n_mels, fmin, fmax, htk):
    """librosa.mel_frequencies: n_mels points equally spaced on the mel scale, in Hz."""
    mels = np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels)
    return mel_to_hz(mels, htk)


def fft_frequencies(sr, n_fft):
    """librosa.fft_frequencies (0.10): np.fft.rfftfreq, i.e. k * sr / n_fft. (Before 0.9 it
    was a linspace up to sr / 2, which differs for odd n_fft.)"""
    return np.fft.rfftfreq(n=n_fft, d=1.0 / sr)


# --------------------------------------------------------------------------------------------
# librosa.filters
# --------------------------------------------------------------------------------------------
def mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk, norm):
    """librosa.filters.mel, shape [n_mels, 1 + n_fft // 2]. librosa stores it as float32
    (dtype=np.float32); kept in float64 here. norm: "slaney" or None."""
    if fmax is None:
        fmax = float(sr) / 2
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float64)
    fftfreqs = fft_frequencies(sr, n_fft)
    # Band edges: n_mels + 2 points, band i spans mel_f[i] .. mel_f[i + 2] peaking at i + 1.
    mel_f = mel_frequencies(n_mels + 2, fmin, fmax, htk)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        # Rising and falling slopes, intersected with each other and with zero.
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    if norm == "slaney":
        # Slaney-style: divide each triangle by its width in Hz, so every band has the same
        # area (approximately constant energy per channel).
        enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
        weights *= enorm[:, np.newaxis]
    elif norm is not None:
        raise ValueError(f"unsupported mel norm {norm!r}")
    if not np.all((mel_f[:-2] == 0) | (weights.max(axis=1) > 0)):
        # librosa only warns; a fixture with an empty band would be a poor test.
        raise ValueError("empty mel filters: increase n_fft or reduce n_mels")
    return weights


def hann_window(win_length, n_fft):
    """librosa.filters.get_window("hann", win_length, fftbins=True) -- scipy's *periodic* Hann,
    0.5 - 0.5 cos(2 pi n / win_length) -- then librosa.util.pad_center(window, size=n_fft):
    zero-padded on both sides, the extra zero (odd difference) going to the right."""
    n = np.arange(win_length, dtype=np.float64)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)
    lpad = (n_fft - win_length) // 2
    return np.pad(window, (lpad, n_fft - win_length - lpad), mode="constant")


# --------------------------------------------------------------------------------------------
# librosa.core.spectrum / librosa.feature.spectral
# --------------------------------------------------------------------------------------------
def frame(y, frame_length, hop_length):
    """librosa.util.frame: columns y[t*hop : t*hop + frame_length], shape [frame_length, T]
    with T = 1 + (len(y) - frame_length) // hop_length."""
    n_frames = 1 + (len(y) - frame_length) // hop_length
    idx = np.arange(frame_length)[:, None] + hop_length * np.arange(n_frames)[None, :]
    return y[idx]


def stft(y, n_fft, hop_length, win_length, center, pad_mode):
    """librosa.stft, shape [1 + n_fft // 2, T], in complex128.

    With center=True librosa 0.10 pads n_fft // 2 samples on both sides with np.pad(mode=
    pad_mode); it pads the head and the tail separately to avoid copying the signal, which
    gives exactly the frames of padding the whole signal (checked by --self-check). With
    center=False frame t starts at y[t * hop_length] and the signal must be >= n_fft."""
    y = np.asarray(y, dtype=np.float64)
    window = hann_window(win_length, n_fft)
    if center:
        if pad_mode not in ("constant", "reflect"):
            raise ValueError(f"unsupported pad_mode {pad_mode!r}")
        y = np.pad(y, (n_fft // 2, n_fft // 2), mode=pad_mode)
    elif n_fft > len(y):
        raise ValueError(f"n_fft={n_fft} is too large for uncentered analysis of {len(y)} samples")
    frames = frame(y, n_fft, hop_length)
    return np.fft.rfft(window[:, None] * frames, axis=0)


def spectrogram(y, n_fft, hop_length, win_length, center, pad_mode, power):
    """librosa.core.spectrum._spectrogram: np.abs(stft(...)) ** power."""
    return np.abs(stft(y, n_fft, hop_length, win_length, center, pad_mode)) ** power


def melspectrogram(y, s):
    """librosa.feature.melspectrogram: mel_basis @ |STFT|**power (an einsum in librosa)."""
    spec = spectrogram(y, s["n_fft"], s["hop_length"], s["win_length"], s["center"],
                       s["pad_mode"], s["power"])
    mel_basis = mel_filterbank(s["sample_rate"], s["n_fft"], s["n_mels"], s["fmin"], s["fmax"],
                               s["mel_scale"] == "htk",
                               "slaney" if s["mel_norm"] == "slaney" else None)
    return mel_basis @ spec


def power_to_db(S, ref, amin=1e-10, top_db=80.0):
    """librosa.power_to_db: 10 log10(max(amin, S)) - 10 log10(max(amin, ref)), then clipped
    from below at (its own max - top_db). ref is a number or a function of S (np.max)."""
    ref_value = ref(S) if callable(ref) else np.abs(ref)
    log_spec = 10.0 * np.log10(np.maximum(amin, S))
    log_spec -= 10.0 * np.log10(np.maximum(amin, ref_value))
    if top_db is not None:
        log_spec = np.maximum(log_spec, log_spec.max() - top_db)
    return log_spec


def amplitude_to_db(S, ref, amin=1e-5, top_db=80.0):
    """librosa.amplitude_to_db: power_to_db(S**2, ref=ref**2, amin=amin**2), where a callable
    ref is evaluated on the magnitudes (so ref=np.max uses max |S|)."""
    magnitude = np.abs(S)
    ref_value = ref(magnitude) if callable(ref) else np.abs(ref)
    return power_to_db(magnitude ** 2, ref=ref_value ** 2, amin=amin ** 2, top_db=top_db)


def reference(y, s):
    """The matrix a case of kind s["kind"] holds, in float64."""
    kind = s.get("kind", "db")
    if kind == "melfb":
        return mel_filterbank(s["sample_rate"], s["n_fft"], s["n_mels"], s["fmin"], s["fmax"],
                              s["mel_scale"] == "htk",
                              "slaney" if s["mel_norm"] == "slaney" else None)
    if kind == "stft":
        return spectrogram(y, s["n_fft"], s["hop_length"], s["win_length"], s["center"],
                           s["pad_mode"], 2.0)
    S = melspectrogram(y, s)
    if s["power"] == 2.0:
        return power_to_db(S, ref=np.max, amin=1e-10, top_db=s["top_db"])
    if s["power"] == 1.0:
        return amplitude_to_db(S, ref=np.max, amin=1e-5, top_db=s["top_db"])
    raise ValueError("power must be 1 or 2")


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------
def load_audio(path):
    """(samples as float32 mono, sample rate), as librosa.load(path, sr=None) gives them:
    soundfile.read(dtype="float32"), i.e. 16-bit PCM is value / 32768; several channels are
    averaged (librosa.to_mono). Without python3-soundfile only 16-bit PCM is read."""
    try:
        import soundfile
    except ImportError:
        soundfile = None
    if soundfile is not None:
        data, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        data = data.T
    else:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise SystemExit(f"{path}: only 16-bit PCM can be read without python3-soundfile")
            sr, channels = w.getframerate(), w.getnchannels()
            raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        data = (raw.astype(np.float32) / np.float32(32768.0)).reshape(-1, channels).T
    y = np.mean(data, axis=0) if data.shape[0] > 1 else data[0]
    return y.astype(np.float32), int(sr)


def make_audio(force):
    """Synthesise the sentence with espeak-ng (22050 Hz) and derive the three fixture WAVs
    with sox: mono 16-bit, cut to CLIP_SECONDS, no dither (so they are reproducible)."""
    if not force and all((FIXTURES / name).exists() for name in AUDIO_FILES):
        return
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed to make the fixture WAVs (scripts/setup.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = pathlib.Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", *ESPEAK_ARGS, "-w", str(raw), SENTENCE], check=True)
        for name, rate in AUDIO_FILES.items():
            subprocess.run(["sox", "-D", str(raw), "-r", str(rate), "-c", "1", "-b", "16",
                            str(FIXTURES / name), "trim", "0", str(CLIP_SECONDS)], check=True)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------
def case(name, audio, kind="db", **overrides):
    s = dict(DEFAULTS, **overrides)
    s["sample_rate"] = AUDIO_FILES[audio]
    s["win_length"] = s["win_length"] or s["n_fft"]
    s["fmin"] = float(s["fmin"])
    s["fmax"] = float(s["fmax"]) if s["fmax"] is not None else s["sample_rate"] / 2.0
    s["power"], s["top_db"] = float(s["power"]), float(s["top_db"])
    prefix = {"db": "db", "melfb": "melfb", "stft": "stft"}[kind]
    return {"name": name, "audio": audio, **s, "kind": kind, "file": f"{prefix}_{name}.npy"}


CASES = [
    # The project defaults.
    case("default_16k", "speech_16k.wav"),
    # librosa's own defaults (n_fft 2048, hop 512) at 22050 Hz, fmax None -> 11025.
    case("librosa_defaults_22050", "speech_22050.wav", n_fft=2048, hop_length=512),
    # Non-power-of-two FFT (a 25 ms / 10 ms speech front end).
    case("nfft400_40mels_16k", "speech_16k.wav", n_fft=400, hop_length=160, n_mels=40),
    # Window shorter than the FFT: a 400-sample Hann centred in a 512-sample frame.
    case("win400_nfft512_16k", "speech_16k.wav", n_fft=512, hop_length=160, win_length=400,
         n_mels=64),
    case("center_false_16k", "speech_16k.wav", center=False),
    case("reflect_16k", "speech_16k.wav", pad_mode="reflect"),
    case("power1_16k", "speech_16k.wav", power=1.0),
    case("htk_16k", "speech_16k.wav", mel_scale="htk"),
    case("norm_none_16k", "speech_16k.wav", mel_norm="none"),
    case("fmin50_fmax4000_8k", "speech_8k.wav", n_fft=512, hop_length=128, n_mels=64,
         fmin=50.0, fmax=4000.0),
    # Odd FFT size: 512 bins at k * sr / 1023, a window of odd length.
    case("nfft1023_16k", "speech_16k.wav", n_fft=1023, hop_length=256),
    case("htk_nonorm_power1_64mels_16k", "speech_16k.wav", n_mels=64, mel_scale="htk",
         mel_norm="none", power=1.0),
    # Filterbanks alone.
    case("slaney_16k_nfft512_64", "speech_16k.wav", "melfb", n_fft=512, n_mels=64, fmin=20.0,
         fmax=7600.0),
    case("htk_none_22050_nfft1023_64", "speech_22050.wav", "melfb", n_fft=1023, n_mels=64,
         fmin=50.0, fmax=10000.0, mel_scale="htk", mel_norm="none"),
    # The power STFT alone: window shorter than the FFT, reflect padding.
    case("8k_nfft256_win200_reflect", "speech_8k.wav", "stft", n_fft=256, hop_length=128,
         win_length=200, n_mels=64, pad_mode="reflect"),
]


def write_fixtures(regen_audio):
    FIXTURES.mkdir(parents=True, exist_ok=True)
    make_audio(regen_audio)
    audio = {name: load_audio(FIXTURES / name) for name in AUDIO_FILES}
    for c in CASES:
        y, sr = audio[c["audio"]]
        assert sr == c["sample_rate"], (c["name"], sr)
        # C order always: readers (ours included) need not handle Fortran-ordered arrays.
        ref = np.ascontiguousarray(reference(y, c), dtype=np.float32)
        np.save(FIXTURES / c["file"], ref)
        print(f"{c['file']:<48} {str(ref.shape):>12}  {c['kind']}")
    (FIXTURES / "cases.json").write_text(json.dumps(CASES, indent=2) + "\n")
    total = sum(p.stat().st_size for p in FIXTURES.iterdir() if p.is_file())
    print(f"wrote {len(CASES)} cases to {FIXTURES} ({total / 1024:.0f} KiB in all)")


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------
def compare(ref, other, kind, tol):
    """Prints the difference between a reference and a candidate matrix; returns True if it
    is within tol (dB for db/stft, relative to the largest weight for melfb)."""
    ref = np.asarray(ref, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if ref.shape != other.shape:
        print(f"FAIL shape {other.shape} != reference {ref.shape}")
        return False
    if not np.all(np.isfinite(other)):
        print("FAIL the matrix has non-finite values")
        return False
    if kind == "melfb":
        diff = np.max(np.abs(other - ref)) / np.max(np.abs(ref))
        ok = diff <= tol
        print(f"{'ok' if ok else 'FAIL'} max |diff| / max weight = {diff:.3g} (tol {tol:g})")
        return ok
    if kind == "stft":
        top = ref.max()
        ref = 10.0 * np.log10(np.maximum(ref, 1e-30) / top)
        other = 10.0 * np.log10(np.maximum(other, 1e-30) / top)
    mask = ref > ref.max() - 70.0
    diff = np.abs(other - ref)[mask]
    worst = float(diff.max())
    ok = worst <= tol
    print(f"{'ok' if ok else 'FAIL'} max |diff| = {worst:.3g} dB over {mask.sum()} of {mask.size}"
          f" cells within 70 dB of the max (mean {diff.mean():.2g} dB, tol {tol:g} dB)")
    return ok


# --------------------------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------------------------
def _librosa_split_stft_frames(y, n_fft, hop, pad_mode):
    """The head / middle / tail framing of librosa 0.10's stft (center=True), transcribed to
    check that it equals framing the fully padded signal."""
    start_k = int(np.ceil(n_fft // 2 / hop))
    tail_k = (len(y) + n_fft // 2 - n_fft) // hop + 1
    if tail_k <= start_k:
        return frame(np.pad(y, (n_fft // 2, n_fft // 2), mode=pad_mode), n_fft, hop)
    start = start_k * hop - n_fft // 2
    y_pre = np.pad(y[:(start_k - 1) * hop - n_fft // 2 + n_fft + 1], (n_fft // 2, 0),
                   mode=pad_mode)
    pre = frame(y_pre, n_fft, hop)[:, :start_k]
    if tail_k * hop - n_fft // 2 + n_fft <= len(y) + n_fft // 2:
        post = frame(np.pad(y[tail_k * hop - n_fft // 2:], (0, n_fft // 2), mode=pad_mode),
                     n_fft, hop)
    else:
        post = np.zeros((n_fft, 0))
    middle = frame(y[start:], n_fft, hop)
    return np.concatenate([pre, middle, post], axis=1)


def self_check():
    ok = True

    def report(label, value, tol):
        nonlocal ok
        good = value <= tol
        ok &= good
        print(f"{'ok  ' if good else 'FAIL'} {label}: {value:.3g} (tol {tol:g})")

    # librosa's documented examples (librosa/core/convert.py docstrings).
    report("hz_to_mel(60), ([110,220,440]) vs docs",
           max(abs(hz_to_mel(60, False) - 0.9),
               np.max(np.abs(hz_to_mel([110, 220, 440], False) - [1.65, 3.3, 6.6]))), 1e-12)
    report("mel_to_hz([1..5]) vs docs", np.max(np.abs(mel_to_hz([1, 2, 3, 4, 5], False)
                                                      - [66.667, 133.333, 200, 266.667, 333.333])),
           5e-4)
    doc_mel40 = [0., 85.317, 170.635, 255.952, 341.269, 426.586, 511.904, 597.221, 682.538,
                 767.855, 853.173, 938.49, 1024.856, 1119.114, 1222.042, 1334.436, 1457.167,
                 1591.187, 1737.532, 1897.337, 2071.84, 2262.393, 2470.47, 2697.686, 2945.799,
                 3216.731, 3512.582, 3835.643, 4188.417, 4573.636, 4994.285, 5453.621,
                 5955.205, 6502.92, 7101.009, 7754.107, 8467.272, 9246.028, 10096.408, 11025.]
    report("mel_frequencies(40, 0, 11025) vs docs",
           np.max(np.abs(mel_frequencies(40, 0.0, 11025.0, False) - doc_mel40)), 5e-4)
    report("fft_frequencies(22050, 16) vs docs",
           np.max(np.abs(fft_frequencies(22050, 16) - 1378.125 * np.arange(9))), 1e-9)

    # The window against scipy.signal.get_window, which librosa calls.
    try:
        import scipy.signal
        worst = max(np.max(np.abs(hann_window(n, n) - scipy.signal.get_window("hann", n, True)))
                    for n in (200, 400, 1023, 1024, 2048))
        report("Hann window vs scipy.signal.get_window('hann', fftbins=True)", worst, 1e-15)
    except ImportError:
        print("skip scipy not installed")

    # The filterbank against torchaudio's independent implementation (its transpose; even
    # n_fft only, as it spaces the bins by linspace(0, sr // 2)). It computes in torch's
    # default dtype: float64 makes the comparison exact, float32 shows the size of the
    # rounding a float32 implementation may have.
    try:
        import torch
        import torchaudio
        configs = ((16000, 1024, 128, 0.0, 8000.0), (22050, 2048, 128, 0.0, 11025.0),
                   (16000, 400, 40, 0.0, 8000.0), (8000, 512, 64, 50.0, 4000.0),
                   (16000, 512, 64, 20.0, 7600.0))
        saved = torch.get_default_dtype()
        for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 5e-5)):
            torch.set_default_dtype(dtype)
            worst = 0.0
            for sr, n_fft, n_mels, fmin, fmax in configs:
                for scale in ("slaney", "htk"):
                    for norm in ("slaney", None):
                        ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax, scale == "htk", norm)
                        theirs = torchaudio.functional.melscale_fbanks(
                            n_fft // 2 + 1, fmin, fmax, n_mels, sr, norm=norm,
                            mel_scale=scale).numpy().T.astype(np.float64)
                        worst = max(worst, np.max(np.abs(ours - theirs)) / np.max(ours))
            report(f"mel filterbank vs torchaudio melscale_fbanks in {dtype} "
                   f"({len(configs) * 4} configs), max |diff| / max weight", worst, tol)
        torch.set_default_dtype(saved)
    except ImportError:
        print("skip torchaudio not installed")

    # The STFT against a direct DFT of the padded, windowed frames.
    rng = np.random.default_rng(1)
    y = rng.standard_normal(3000)
    worst = 0.0
    for n_fft, hop, win, center, pad_mode in ((1024, 320, 1024, True, "constant"),
                                              (400, 160, 400, True, "reflect"),
                                              (512, 160, 400, False, "constant"),
                                              (1023, 256, 1023, True, "reflect"),
                                              (256, 128, 200, True, "constant")):
        X = stft(y, n_fft, hop, win, center, pad_mode)
        padded = np.pad(y, (n_fft // 2, n_fft // 2), mode=pad_mode) if center else y
        n_frames = 1 + (len(padded) - n_fft) // hop
        assert X.shape == (n_fft // 2 + 1, n_frames), X.shape
        window = hann_window(win, n_fft)
        k = np.arange(n_fft // 2 + 1)[:, None]
        n = np.arange(n_fft)[None, :]
        dft = np.exp(-2j * np.pi * k * n / n_fft)
        for t in (0, 1, n_frames // 2, n_frames - 1):
            seg = padded[t * hop:t * hop + n_fft] * window
            direct = dft @ seg
            worst = max(worst, np.max(np.abs(X[:, t] - direct)) / np.max(np.abs(direct)))
    report("STFT vs direct DFT, max |diff| / max |X|", worst, 1e-12)

    # librosa's split head/tail padding equals padding the whole signal.
    worst = 0.0
    for n_fft, hop in ((1024, 320), (400, 160), (1023, 256), (2048, 512), (256, 128), (512, 100)):
        for pad_mode in ("constant", "reflect"):
            for length in (3000, 3001, 4095, 2500):
                sig = rng.standard_normal(length)
                full = frame(np.pad(sig, (n_fft // 2, n_fft // 2), mode=pad_mode), n_fft, hop)
                split = _librosa_split_stft_frames(sig, n_fft, hop, pad_mode)
                worst = max(worst, np.inf if full.shape != split.shape
                            else np.max(np.abs(full - split)))
    report("librosa's split head/tail padding vs whole-signal padding", worst, 0.0)

    # The committed fixtures match a fresh computation.
    if (FIXTURES / "cases.json").exists():
        worst = 0.0
        for c in json.loads((FIXTURES / "cases.json").read_text()):
            y, _ = load_audio(FIXTURES / c["audio"])
            fresh = reference(y, c).astype(np.float32)
            stored = np.load(FIXTURES / c["file"])
            worst = max(worst, np.inf if fresh.shape != stored.shape
                        else np.max(np.abs(fresh - stored)))
        report("committed fixtures vs fresh computation", worst, 1e-4)
    return ok


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def settings_from_args(args, file_rate):
    s = dict(DEFAULTS)
    if args.spectro_json:
        spectro = json.loads(pathlib.Path(args.spectro_json).read_text())
        s.update({k: spectro[k] for k in SETTING_KEYS if k in spectro})
    for key in SETTING_KEYS:
        value = getattr(args, key)
        if value is not None:
            s[key] = value
    if args.sr is None and not args.spectro_json:
        s["sample_rate"] = file_rate
    if s["sample_rate"] != file_rate:
        raise SystemExit(f"the file is at {file_rate} Hz but the spectrogram wants "
                         f"{s['sample_rate']} Hz: resample it first")
    s["win_length"] = s["win_length"] or s["n_fft"]
    if s["fmax"] is None or s["fmax"] <= 0:
        s["fmax"] = s["sample_rate"] / 2.0
    s["kind"] = args.kind
    return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--regen-audio", action="store_true", help="re-synthesise the WAVs")
    p.add_argument("--self-check", action="store_true", help="verify the re-derivation")
    p.add_argument("--audio", help="compute the reference for this WAV")
    p.add_argument("--case", help="use a committed fixture (by name) as the reference")
    p.add_argument("--check", help="compare this .npy with the reference")
    p.add_argument("--tol", type=float, help="0.01 dB (db, stft) or 1e-5 relative (melfb)")
    p.add_argument("-o", "--output", help="write the reference .npy (float32) here")
    p.add_argument("--spectro-json", help="take the settings from a spectro.json")
    p.add_argument("--kind", choices=("db", "melfb", "stft"), default="db")
    p.add_argument("--sr", "--sample-rate", dest="sample_rate", type=int,
                   help="the file's rate (must match it; default: the file's rate)")
    p.add_argument("--n-fft", dest="n_fft", type=int)
    p.add_argument("--hop-length", dest="hop_length", type=int)
    p.add_argument("--win-length", dest="win_length", type=int)
    p.add_argument("--n-mels", dest="n_mels", type=int)
    p.add_argument("--fmin", type=float)
    p.add_argument("--fmax", type=float, help="<= 0 or absent: sample_rate / 2")
    p.add_argument("--mel-scale", dest="mel_scale", choices=("slaney", "htk"))
    p.add_argument("--mel-norm", dest="mel_norm", choices=("slaney", "none"))
    p.add_argument("--center", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--pad-mode", dest="pad_mode", choices=("constant", "reflect"))
    p.add_argument("--power", type=float, choices=(1.0, 2.0))
    p.add_argument("--top-db", dest="top_db", type=float)
    args = p.parse_args()
    args.sr = args.sample_rate

    if args.self_check:
        return 0 if self_check() else 1

    if args.case:
        cases = {c["name"]: c for c in json.loads((FIXTURES / "cases.json").read_text())}
        if args.case not in cases:
            raise SystemExit(f"no case {args.case!r}; cases: {', '.join(cases)}")
        c = cases[args.case]
        ref, kind = np.load(FIXTURES / c["file"]), c["kind"]
    elif args.audio:
        y, rate = load_audio(args.audio)
        s = settings_from_args(args, rate)
        ref, kind = reference(y, s), s["kind"]
        print(f"reference {ref.shape} for {args.audio}: " + json.dumps(s))
        if args.output:
            np.save(args.output, np.ascontiguousarray(ref, dtype=np.float32))
            print(f"wrote {args.output}")
    else:
        if args.check or args.output:
            p.error("--check and -o need --audio or --case")
        write_fixtures(args.regen_audio)
        return 0

    if args.check:
        tol = args.tol if args.tol is not None else (1e-5 if kind == "melfb" else 0.01)
        return 0 if compare(ref, np.load(args.check), kind, tol) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
