"""emoclass: the emotion in recorded speech, from Python.

The same C++ code as the ``emoclass`` and ``spectro-dump`` tools, as a Python extension::

    import emoclass
    model = emoclass.Model()                      # the shipped default model
    model("speech.wav")                           # [{'label': 'happy', 'score': 0.71}, ...]
    y, sr = emoclass.load("speech.wav")           # float32 mono at 16 kHz
    S = emoclass.power_to_db(emoclass.melspectrogram(y=y, sr=sr), ref=np.max)   # librosa's numbers

Audio arrays follow librosa's convention: float samples, shape ``(n,)`` for mono or
``(channels, n)`` for several channels (soundfile's ``(n, channels)``: pass ``data.T``).
Problems with an input raise :class:`emoclass.Error` carrying the one-line message the
``emoclass`` tool prints for the same input. See docs/python.md.
"""

import json
import os
import warnings

import numpy as np

from . import _native

__version__ = _native.__version__
__all__ = ["Error", "Model", "load", "melspectrogram", "power_to_db", "evaluate", "set_inference_threads",
           "default_settings"]


class Error(ValueError):
    """An input (or model bundle) emoclass cannot use: ``str(error)`` is ``"SUBJECT: reason"``,
    the line the emoclass tool prints; ``subject`` is the file (``"<bytes>"``, ``"<array>"``)
    or setting, ``reason`` the rest."""

    def __init__(self, subject, reason):
        super().__init__(f"{subject}: {reason}" if subject else reason)
        self.subject = subject
        self.reason = reason


_native._set_error_class(Error)

BYTES_NAME = "<bytes>"  # the subject of errors about audio given as bytes
ARRAY_NAME = "<array>"  # ... and as a numpy array


def _shipped_model_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "default")


def _audio_bytes(data):
    return bytes(data) if isinstance(data, (bytearray, memoryview)) else data


def _channels_first(y, name=ARRAY_NAME):
    """A C-contiguous float32 (channels, n) view of a librosa-style audio array."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise Error(name, f"expected floating-point samples, got dtype {y.dtype} "
                          "(integer PCM: divide by its full scale, e.g. x / 32768 for int16)")
    if y.ndim == 1:
        y = y[np.newaxis, :]
    elif y.ndim != 2:
        raise Error(name, f"expected shape (n,) or (channels, n), got {y.shape}")
    elif y.shape[0] > y.shape[1]:
        raise Error(name, f"shape {y.shape} has more channels than samples: expected (channels, n) "
                          "as librosa does (for soundfile's (n, channels) pass data.T)")
    return np.ascontiguousarray(y, dtype=np.float32)


def _check_rate(sr, name):
    if isinstance(sr, (bool, np.bool_)) or not isinstance(sr, (int, np.integer)) or sr < 1:
        raise Error(name, f"sr must be a positive integer sample rate, got {sr!r}")
    return int(sr)


def load(path, sr=16000):
    """Decodes an audio file (or audio bytes) to a float32 mono array, as librosa.load does.

    Decoding, downmix (mean of the channels) and resampling are the C++ path's: the samples the
    model analyses. ``sr=None`` keeps the file's own rate. Returns ``(y, sr)``.
    """
    target = 0 if sr is None else _check_rate(sr, "sr")
    if isinstance(path, (bytes, bytearray, memoryview)):
        return _native.load_bytes(_audio_bytes(path), BYTES_NAME, target)
    return _native.load_file(os.fspath(path), target)


def melspectrogram(y=None, sr=22050, n_fft=2048, hop_length=512, win_length=None, window="hann", center=True,
                   pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False, norm="slaney"):
    """librosa.feature.melspectrogram(y=...) with librosa 0.10's names, defaults and numbers.

    ``y`` is ``(..., n)`` float audio; the result is ``(..., n_mels, frames)`` float32. Implemented
    (and rejected with emoclass.Error otherwise): window 'hann', pad_mode 'constant' or 'reflect',
    power 1 or 2, norm 'slaney' or None, hop_length None meaning win_length // 4.
    """
    if y is None:
        raise TypeError("melspectrogram() needs y (a spectrogram S is not accepted)")
    if window != "hann":
        raise Error("melspectrogram", f"window {window!r} is not implemented (only 'hann')")
    if norm not in ("slaney", None):
        raise Error("melspectrogram", f"norm {norm!r} is not implemented (only 'slaney' or None)")
    if pad_mode not in ("constant", "reflect"):
        raise Error("melspectrogram", f"pad_mode {pad_mode!r} is not implemented (only 'constant' or 'reflect')")
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.floating):
        raise Error("melspectrogram", f"y must hold floating-point samples, got dtype {y.dtype}")
    if y.ndim < 1 or y.shape[-1] == 0:
        raise Error("melspectrogram", f"y must be a non-empty (..., n) array, got shape {y.shape}")
    if not np.isfinite(y).all():
        raise Error("melspectrogram", "y holds NaN or infinite samples")
    win_length = n_fft if win_length is None else win_length
    hop_length = win_length // 4 if hop_length is None else hop_length
    rows = np.ascontiguousarray(y.reshape(-1, y.shape[-1]), dtype=np.float32)
    S = _native.melspectrogram(rows, int(sr), int(n_fft), int(hop_length), int(win_length), bool(center), pad_mode,
                               float(power), int(n_mels), float(fmin), 0.0 if fmax is None else float(fmax),
                               bool(htk), norm == "slaney")
    return S.reshape(y.shape[:-1] + S.shape[1:])


def power_to_db(S, ref=1.0, amin=1e-10, top_db=80.0):
    """librosa.power_to_db: 10 log10(max(amin, S) / ref), clipped at max - top_db.

    ``ref`` is a number or a callable applied to S (``np.max`` is computed in C++ in the same
    pass); ``top_db=None`` disables clipping. float64 input stays float64, anything else becomes
    float32.
    """
    S = np.asarray(S)
    if np.iscomplexobj(S):
        warnings.warn("power_to_db was called on complex input so phase information will be discarded. "
                      "To suppress this warning, call power_to_db(np.abs(D)**2) instead.", stacklevel=2)
        S = np.abs(S)
    if amin <= 0:
        raise Error("power_to_db", "amin must be strictly positive")
    if top_db is not None and top_db < 0:
        raise Error("power_to_db", "top_db must be non-negative")
    out = np.array(S, dtype=np.float64 if S.dtype == np.float64 else np.float32, order="C", copy=True)
    if ref is np.max or ref is np.amax:
        ref_value = -1.0  # the maximum, taken in the same pass as the conversion
    elif callable(ref):
        ref_value = float(np.abs(ref(out)))
    else:
        ref_value = float(np.abs(ref))
    _native.power_to_db_inplace(out, ref_value, float(amin), -1.0 if top_db is None else float(top_db))
    return out


def evaluate(labels, truth, predicted):
    """The report of ``emoclass eval --json``: accuracy, macro-F1 (mean F1 over the classes present
    in truth or predictions, as scikit-learn's f1_score(average="macro")), per-class precision,
    recall, F1, support and the confusion matrix. ``truth`` and ``predicted`` hold label names or
    indices into ``labels``; a prediction of None (or -1) is a file with no speech found,
    counted wrong."""
    def index(value, allow_none):
        if allow_none and (value is None or (not isinstance(value, str) and int(value) == -1)):
            return -1
        if isinstance(value, str):
            if value not in labels:
                raise Error("eval", f"unknown label {value!r} (labels: {', '.join(labels)})")
            return labels.index(value)
        return int(value)

    labels = [str(label) for label in labels]
    return json.loads(_native.evaluate_json(labels, [index(t, False) for t in truth],
                                            [index(p, True) for p in predicted]))


def set_inference_threads(threads):
    """OpenCV's threads per network pass, for the whole process (cv::setNumThreads).

    When many Python threads call a Model at once, 1 avoids oversubscribing the cores."""
    _native.set_inference_threads(int(threads))


def default_settings():
    """The project's spectrogram settings (the only defaults, spectro/settings.hpp) as a dict."""
    return json.loads(_native.default_settings_json())


class Model:
    """A model bundle (model.onnx + model.json): ``Model()`` is the shipped default (or the folder
    in $EMOCLASS_MODEL, as the emoclass tool does), ``Model("path/to/bundle")`` any other.

    Calls accept a path (str or os.PathLike), audio bytes (any format the tool reads), a numpy
    array with ``sr`` (librosa's layout, any rate and channel count: it goes through the same
    decoder checks, downmix and resampler as a file) or a dict ``{"array" or "raw": ...,
    "sampling_rate": ...}`` as Hugging Face datasets and pipelines use. A list of inputs gives a
    list of results.

    A Model may be shared by threads: each call releases the GIL and borrows one of a pool of
    analysers (one per concurrent call), so threads analyse in parallel.

    ``int8=True`` runs the bundle's int8 network instead (model.json's ``int8_model``, as
    ``emoclass --int8``): about 1.4x faster per window, with 2 % of labels different.
    """

    def __init__(self, path=None, int8=False):
        if path is None:
            path = os.environ.get("EMOCLASS_MODEL") or _shipped_model_dir()
        self._native = _native.NativeModel(os.fspath(path), bool(int8))

    @property
    def labels(self):
        """The model's labels in output order."""
        return list(self._native.labels)

    @property
    def name(self):
        return self._native.name

    @property
    def path(self):
        return self._native.dir

    @property
    def settings(self):
        """The bundle's spectrogram settings (model.json's "spectro") as a dict."""
        return json.loads(self._native.settings_json)

    def __repr__(self):
        return f"emoclass.Model({self.path!r}: {self.name}, labels {self.labels})"

    def _analyze_json(self, inputs, sr):
        if isinstance(inputs, dict):
            if sr is not None:
                raise TypeError("give the rate once: the dict's 'sampling_rate' or sr, not both")
            array = inputs["array"] if "array" in inputs else inputs.get("raw")
            if array is None or "sampling_rate" not in inputs:
                raise TypeError("a dict input needs 'array' (or 'raw') and 'sampling_rate'")
            inputs, sr = array, inputs["sampling_rate"]
        if isinstance(inputs, (str, os.PathLike)):
            if sr is not None:
                raise TypeError("sr is for arrays: files carry their own rate")
            return self._native.analyze_file(os.fspath(inputs))
        if isinstance(inputs, (bytes, bytearray, memoryview)):
            if sr is not None:
                raise TypeError("sr is for arrays: audio bytes carry their own rate")
            return self._native.analyze_bytes(_audio_bytes(inputs), BYTES_NAME)
        if isinstance(inputs, np.ndarray):
            if sr is None:
                raise TypeError("an array needs its sample rate: model(y, sr=...)")
            return self._native.analyze_array(_channels_first(inputs), _check_rate(sr, ARRAY_NAME), ARRAY_NAME)
        raise TypeError(f"expected a path, audio bytes or a numpy array, got {type(inputs).__name__}")

    def analyze(self, inputs, sr=None):
        """The full result, the object ``emoclass --format jsonl`` prints for the same input:
        file, emotion (None when no speech), confidence, probabilities by label, duration_s,
        voiced_windows, windows and segments (each window's start_s, end_s, emotion, confidence
        and whatever else the tool's jsonl carries)."""
        if isinstance(inputs, list):
            return [self.analyze(x, sr) for x in inputs]
        return json.loads(self._analyze_json(inputs, sr))

    def __call__(self, inputs, sr=None, top_k=None):
        """``[{"label": ..., "score": ...}, ...]`` by decreasing score, as transformers'
        pipeline("audio-classification") returns; every label unless ``top_k`` is given, and an
        empty list when the input holds no speech (see ``analyze`` for the details)."""
        if isinstance(inputs, list):
            return [self(x, sr, top_k) for x in inputs]
        if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise TypeError(f"top_k must be a positive integer or None, got {top_k!r}")
        probabilities = self.analyze(inputs, sr)["probabilities"]
        ranked = sorted(probabilities.items(), key=lambda item: -item[1])  # stable: ties keep label order
        return [{"label": label, "score": score} for label, score in ranked[:top_k]]
