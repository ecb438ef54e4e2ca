"""The project's file formats as the scripts read and write them (docs/formats.md), one place for
each: spectro.json (the spectrogram settings and their defaults), model.json (the bundle
manifest) and spectro-dump's dataset manifest.csv.

Their C++ definitions are spectro/settings.cpp (the settings table), classify/bundle.cpp
(bundle_json, parse_bundle_json) and spectro/corpora/corpus.cpp (dataset_manifest_header, read_manifest);
tests/test_formats_python.cpp checks that this module's defaults, choices, columns and model.json
bytes equal theirs. Standard library only, so every script can import it.
"""
import csv
import json
import os

from emoclass_train import Error

# ---------------------------------------------------------------------------------------------
# spectro.json
# ---------------------------------------------------------------------------------------------
# What spectro-dump writes with no flags (SpectroSettings' defaults), in docs/formats.md's order.
SPECTRO_DEFAULTS = {
    "format_version": 1,
    "sample_rate": 16000,
    "resample_quality": "soxr_hq",
    "n_fft": 1024,
    "hop_length": 320,
    "win_length": 1024,
    "n_mels": 128,
    "fmin": 0.0,
    "fmax": 8000.0,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "center": True,
    "pad_mode": "constant",
    "power": 2.0,
    "top_db": 80.0,
    "image": {"frames": 128, "clip_policy": "center", "colormap": "gray"},
}
# The names each text setting takes ("image.colormap" for a key of the image object).
SPECTRO_CHOICES = {
    "resample_quality": ("soxr_hq", "sinc_best", "sinc_medium", "sinc_fastest", "linear"),
    "mel_scale": ("slaney", "htk"),
    "mel_norm": ("slaney", "none"),
    "pad_mode": ("constant", "reflect"),
    "image.clip_policy": ("center", "start", "loudest"),
    "image.colormap": ("gray", "viridis", "magma"),
}
SPECTRO_KEYS = set(SPECTRO_DEFAULTS)
COLORMAPS = SPECTRO_CHOICES["image.colormap"]


def default_spectro(**changes):
    """A fresh copy of SPECTRO_DEFAULTS with `changes` applied (image keys as image={...})."""
    spectro = json.loads(json.dumps(SPECTRO_DEFAULTS))
    image = changes.pop("image", {})
    spectro.update(changes)
    spectro["image"].update(image)
    return spectro


def spectro_with_defaults(spectro):
    """Every setting of a spectro.json object, a missing key taking its default as emoclass reads
    it: win_length follows n_fft, fmax (absent, null or <= 0) is sample_rate / 2."""
    full = default_spectro()
    full.update({k: v for k, v in spectro.items() if k != "image"})
    full["image"].update(spectro.get("image") or {})
    if "win_length" not in spectro:
        full["win_length"] = full["n_fft"]
    if full["fmax"] is None or (isinstance(full["fmax"], (int, float)) and full["fmax"] <= 0):
        full["fmax"] = full["sample_rate"] / 2.0
    return full


def read_spectro(root):
    """DIR/spectro.json of a dataset folder, as written."""
    path = root / "spectro.json"
    if not path.is_file():
        raise Error(f"{path}: missing")
    with open(path) as f:
        return json.load(f)


def _load_json(path):
    """A JSON file's value; an unreadable or malformed file is one Error naming it."""
    try:
        return json.loads(path.read_text())
    except OSError as e:
        raise Error(f"{path}: cannot be read ({e.strerror})")
    except json.JSONDecodeError as e:
        raise Error(f"{path}: not valid JSON ({e.msg}, line {e.lineno})")


def check_spectro(path):
    """A spectro.json checked for use in a bundle: (settings, colormap)."""
    spectro = _load_json(path)
    if not isinstance(spectro, dict):
        raise Error(f"{path}: must be a JSON object (the spectro.json spectro-dump wrote)")
    unknown = sorted(set(spectro) - SPECTRO_KEYS)
    if unknown:
        raise Error(f"{path}: unknown key '{unknown[0]}' (not a spectro.json?)")
    image = spectro.get("image")
    if not isinstance(image, dict):
        raise Error(f"{path}: has no 'image' object (frames, clip_policy, colormap)")
    defaults = SPECTRO_DEFAULTS["image"]
    colormap = image.get("colormap", defaults["colormap"])
    if colormap not in COLORMAPS:
        raise Error(f"{path}: image.colormap must be one of {', '.join(COLORMAPS)}, got {colormap!r}")
    frames = image.get("frames", defaults["frames"])
    if not isinstance(frames, int) or isinstance(frames, bool) or frames <= 0:
        raise Error(f"{path}: image.frames must be a positive integer for a model (0 = whole clip cannot be classified)")
    return spectro, colormap


# ---------------------------------------------------------------------------------------------
# model.json: export_bundle.py for train.py's models, make_manifest.py for ultralytics exports,
# make_test_models.py for the test fixtures
# ---------------------------------------------------------------------------------------------
# The long-audio defaults emoclass gives a model.json without `window` (classify/bundle.hpp).
WINDOW = {"hop_s": 1.0, "min_voiced_fraction": 0.1}


def model_json(name, labels, channels, height, width, colormap, spectro, output="probabilities"):
    """The bundle manifest (model.json), keys in docs/formats.md's order."""
    return {
        "format": "emoclass-model",
        "format_version": 1,
        "name": name,
        "labels": list(labels),
        "output": output,
        "input": {
            "channels": channels,
            "height": height,
            "width": width,
            "color": colormap,
            "channel_order": "RGB",
            "scale": 1.0 / 255.0,
            "mean": [0.0] * channels,
            "std": [1.0] * channels,
        },
        "spectro": spectro,
        "window": dict(WINDOW),
    }


def with_int8_model(manifest, file_name):
    """model.json naming its int8 network (`int8_model`, written by quantize_bundle.py), keys in
    docs/formats.md's order: after `window`, before `training_data`."""
    out = {k: v for k, v in manifest.items() if k not in ("int8_model", "training_data")}
    out["int8_model"] = file_name
    if "training_data" in manifest:
        out["training_data"] = manifest["training_data"]
    return out


def training_data(rows):
    """split -> corpus -> sorted speaker codes, from manifest rows (docs/formats.md, `training_data`)."""
    splits = {}
    for r in rows:
        splits.setdefault(r["split"], {}).setdefault(r["corpus"], set()).add(r["speaker"])
    unknown = set(splits) - set(SPLITS)
    if unknown:
        raise Error(f"manifest has splits other than train, val, test: {sorted(unknown)}")
    return {split: {corpus: sorted(speakers) for corpus, speakers in sorted(splits[split].items())}
            for split in SPLITS if split in splits}


def read_model_json(path):
    """An emoclass bundle's model.json as a dict (checked to be one)."""
    manifest = _load_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != "emoclass-model":
        raise Error(f"{path}: not an emoclass model.json (format)")
    return manifest


def write_json(path, obj):
    """model.json's layout (indent 2, final newline), written to a .tmp file and renamed, so a
    reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# manifest.csv (spectro-dump --dataset; RFC 4180 through Python's csv module)
# ---------------------------------------------------------------------------------------------
SPLITS = ("train", "val", "test")
MANIFEST_COLUMNS = ("source", "corpus", "speaker", "label", "split", "image")
# A corpus manifest (labelled audio for `spectro-dump --dataset` and `emoclass eval`).
CORPUS_MANIFEST_COLUMNS = ("path", "label", "speaker", "corpus")


def read_manifest_file(path, need=frozenset(MANIFEST_COLUMNS), hint=""):
    """The rows of a manifest in spectro-dump's columns (manifest.csv, or `--list-split`'s
    output) as dicts; `need` are the columns the caller uses, `hint` ends the error message."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or not set(need) <= set(rows[0]):
        raise Error(f"{path}: needs the columns {','.join(sorted(need))}{hint}")
    return rows


def read_manifest(root):
    """The rows of a dataset folder's manifest.csv, with every column training uses."""
    path = root / "manifest.csv"
    if not path.is_file():
        raise Error(f"{path}: missing (is {root} a spectro-dump dataset folder?)")
    return read_manifest_file(path)


def write_manifest(path, rows, columns=MANIFEST_COLUMNS):
    """Rows (dicts) as a CSV with `columns` (spectro-dump's by default; extra keys are left out),
    written to a .tmp file and renamed. Lines end in CRLF, csv's default (RFC 4180's; spectro-dump
    writes LF, and every reader takes both)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
