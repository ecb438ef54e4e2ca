"""emoclass.load / melspectrogram / power_to_db against librosa 0.10 itself (the PyPI package)."""
import os
import pathlib
import subprocess

import librosa
import numpy as np
import pytest
import soundfile

import emoclass
from conftest import FIXTURE_CLIPS, FIXTURES, SOURCE_DIR

TOLERANCE_DB = 0.01

# librosa.feature.melspectrogram keyword sets (sr is the clip's own rate).
PARAMETER_SETS = {
    "librosa defaults": {},
    "emoclass defaults": dict(n_fft=1024, hop_length=320, n_mels=128),
    "htk, no norm, magnitude": dict(n_fft=1024, hop_length=256, htk=True, norm=None, power=1.0, n_mels=64),
    "no centre, short window, band": dict(n_fft=512, win_length=400, hop_length=160, center=False, fmin=60.0,
                                          fmax=3800.0, n_mels=64),
    "reflect, hop None": dict(n_fft=1024, hop_length=None, pad_mode="reflect", n_mels=80),
    "odd n_fft, 40 mels": dict(n_fft=1023, hop_length=200, n_mels=40, fmin=20.0),
}


def read(path):
    y, sr = soundfile.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(y.mean(axis=1, dtype=np.float32)), sr


def db(S, power):
    # librosa's own pairing: power_to_db for power spectrograms, amplitude_to_db for magnitudes.
    if power == 1.0:
        return librosa.amplitude_to_db(S, ref=np.max, amin=1e-5, top_db=80.0)
    return librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db=80.0)


def max_db_difference(ours, theirs, power):
    assert ours.shape == theirs.shape
    return float(np.abs(db(ours, power) - db(theirs, power)).max())


@pytest.mark.parametrize("clip", FIXTURE_CLIPS, ids=lambda p: p.name)
@pytest.mark.parametrize("name", PARAMETER_SETS)
def test_melspectrogram_matches_librosa(clip, name):
    y, sr = read(clip)
    kwargs = dict(PARAMETER_SETS[name])
    if kwargs.get("fmax", 0) > sr / 2:
        kwargs["fmax"] = sr / 2
    ours = emoclass.melspectrogram(y=y, sr=sr, **kwargs)
    theirs = librosa.feature.melspectrogram(y=y, sr=sr, **kwargs)
    assert ours.dtype == np.float32
    assert max_db_difference(ours, theirs, kwargs.get("power", 2.0)) < TOLERANCE_DB


def test_melspectrogram_real_recordings_match_librosa(real_clips):
    for clip in real_clips:  # RAVDESS 48 kHz FLAC, CREMA-D Opus, EMO-DB 16 kHz FLAC
        y, sr = librosa.load(clip, sr=None)
        for kwargs in (dict(n_fft=1024, hop_length=320), dict(n_fft=2048, hop_length=512, htk=True, n_mels=64)):
            ours = emoclass.melspectrogram(y=y, sr=sr, **kwargs)
            theirs = librosa.feature.melspectrogram(y=y, sr=sr, **kwargs)
            assert max_db_difference(ours, theirs, 2.0) < TOLERANCE_DB, (clip, kwargs)


def test_melspectrogram_keeps_leading_axes():
    y, sr = read(FIXTURES / "speech_16k.wav")
    stereo = np.stack([y, 0.5 * y[::-1]])
    ours = emoclass.melspectrogram(y=stereo, sr=sr, n_fft=512, hop_length=128)
    theirs = librosa.feature.melspectrogram(y=stereo, sr=sr, n_fft=512, hop_length=128)
    assert ours.shape == theirs.shape == (2, 128, len(y) // 128 + 1)
    assert max_db_difference(ours, theirs, 2.0) < TOLERANCE_DB


def test_float64_input_gives_the_same_float32_spectrogram():
    y, sr = read(FIXTURES / "speech_8k.wav")
    a = emoclass.melspectrogram(y=y, sr=sr, n_fft=256, hop_length=80, n_mels=40)
    b = emoclass.melspectrogram(y=y.astype(np.float64), sr=sr, n_fft=256, hop_length=80, n_mels=40)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs", [dict(ref=1.0), dict(ref=np.max), dict(ref=np.median), dict(ref=1.0, top_db=None),
                                    dict(ref=np.max, amin=1e-5, top_db=60.0), dict(ref=3.5, top_db=0.0)],
                         ids=["ref 1", "ref max", "ref median", "no top_db", "amin 1e-5 top_db 60", "top_db 0"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_power_to_db_matches_librosa(kwargs, dtype):
    y, sr = read(FIXTURES / "speech_22050.wav")
    S = librosa.feature.melspectrogram(y=y, sr=sr).astype(dtype)
    ours, theirs = emoclass.power_to_db(S, **kwargs), librosa.power_to_db(S, **kwargs)
    assert ours.dtype == theirs.dtype == dtype
    assert float(np.abs(ours - theirs).max()) < TOLERANCE_DB
    np.testing.assert_array_equal(S, librosa.feature.melspectrogram(y=y, sr=sr).astype(dtype))  # input untouched


def test_power_to_db_defaults_are_librosas():
    S = np.array([[1e-12, 1e-3], [2.0, 1000.0]], dtype=np.float32)
    np.testing.assert_allclose(emoclass.power_to_db(S), librosa.power_to_db(S), atol=1e-4)


def test_power_to_db_complex_input_warns_like_librosa():
    D = np.array([1 + 1j, 3 - 4j], dtype=np.complex64)
    with pytest.warns(UserWarning, match="phase information will be discarded"):
        ours = emoclass.power_to_db(D)
    np.testing.assert_allclose(ours, [10 * np.log10(np.sqrt(2)), 10 * np.log10(5)], atol=1e-4)


def test_load_without_resampling_equals_librosa_load():
    for clip in FIXTURE_CLIPS:
        ours, sr = emoclass.load(clip, sr=None)
        theirs, their_sr = librosa.load(clip, sr=None)
        assert (sr, ours.dtype) == (their_sr, np.float32)
        np.testing.assert_array_equal(ours, theirs)


def test_load_resamples_to_librosas_length():
    # The resampler differs from librosa's (soxr_hq); the length is librosa's, ceil(n * out / in).
    ours, sr = emoclass.load(FIXTURES / "speech_22050.wav")
    theirs, _ = librosa.load(FIXTURES / "speech_22050.wav", sr=16000)
    assert sr == 16000 and ours.shape == theirs.shape
    # The same speech: the spectrograms agree closely, though not to 0.01 dB.
    a = librosa.power_to_db(librosa.feature.melspectrogram(y=ours, sr=sr), ref=np.max)
    b = librosa.power_to_db(librosa.feature.melspectrogram(y=theirs, sr=sr), ref=np.max)
    assert float(np.abs(a - b)[b > -60].mean()) < 0.5


def test_load_accepts_bytes_and_stereo_downmixes_by_the_mean(tmp_path):
    y, sr = read(FIXTURES / "speech_16k.wav")
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([y, 0.25 * y], axis=1), sr, subtype="FLOAT")
    ours, rate = emoclass.load(path.read_bytes(), sr=None)
    assert rate == sr
    np.testing.assert_allclose(ours, 0.625 * y, atol=1e-7)


def test_pipeline_equals_spectro_dump(tmp_path):
    """load -> melspectrogram -> power_to_db with the model's settings is what spectro-dump --raw
    writes for the same file (resampled from 22.05 kHz): one definition of the spectrogram."""
    dump = pathlib.Path(os.environ.get("SPECTRO_DUMP_BIN", SOURCE_DIR / "build" / "spectro" / "spectro-dump"))
    if not dump.is_file():
        pytest.fail(f"spectro-dump is needed: build it or set SPECTRO_DUMP_BIN ({dump})")
    clip = FIXTURES / "speech_22050.wav"
    subprocess.run([str(dump), "--raw", str(tmp_path / "x.npy"), str(clip)], check=True, capture_output=True)
    reference = np.load(tmp_path / "x.npy")
    s = emoclass.default_settings()
    y, sr = emoclass.load(clip, sr=s["sample_rate"])
    S = emoclass.melspectrogram(y=y, sr=sr, n_fft=s["n_fft"], hop_length=s["hop_length"], win_length=s["win_length"],
                                n_mels=s["n_mels"], fmin=s["fmin"], fmax=s["fmax"], htk=s["mel_scale"] == "htk",
                                norm="slaney" if s["mel_norm"] == "slaney" else None, center=s["center"],
                                pad_mode=s["pad_mode"], power=s["power"])
    ours = emoclass.power_to_db(S, ref=np.max, top_db=s["top_db"])
    assert ours.shape == reference.shape
    assert float(np.abs(ours - reference).max()) < 1e-4


@pytest.mark.parametrize("kwargs, message", [
    (dict(window="hamming"), "window 'hamming' is not implemented"),
    (dict(norm=1), "norm 1 is not implemented"),
    (dict(pad_mode="edge"), "pad_mode 'edge' is not implemented"),
    (dict(power=1.5), "power must be 1 or 2"),
    (dict(n_fft=8), "n_fft must be within 16..65536"),
    (dict(fmax=20000.0), "fmax must not exceed sample_rate / 2"),
    (dict(y=np.zeros(0, np.float32)), "non-empty"),
    (dict(y=np.array([0.0, np.nan])), "NaN or infinite"),
    (dict(y=np.arange(100, dtype=np.int16)), "floating-point"),
    (dict(y=np.zeros(100, np.float32), center=False), "shorter than one frame"),
])
def test_melspectrogram_rejects_what_it_does_not_implement(kwargs, message):
    kwargs = {"y": np.zeros(4096, np.float32), "sr": 16000, **kwargs}
    with pytest.raises(emoclass.Error, match=message):
        emoclass.melspectrogram(**kwargs)


def test_power_to_db_rejects_librosas_bad_arguments():
    with pytest.raises(emoclass.Error, match="amin must be strictly positive"):
        emoclass.power_to_db(np.ones(3), amin=0)
    with pytest.raises(emoclass.Error, match="top_db must be non-negative"):
        emoclass.power_to_db(np.ones(3), top_db=-1)
