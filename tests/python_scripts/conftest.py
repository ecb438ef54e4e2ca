"""Shared helpers of the training-scripts suite (scripts/emoclass_train and the scripts beside it).

Runs without ../shared/data: the datasets here are small generated PNG folders in spectro-dump's
layout (docs/formats.md). ctest runs it with PYTHONPATH=scripts and .venv's python (Debian's
numpy, torch and OpenCV through --system-site-packages; scikit-learn from PyPI, with librosa).
"""
import json
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest

# write_manifest: the tests import it from here.
from emoclass_train.formats import default_spectro, read_manifest_file, write_manifest  # noqa: F401

SOURCE_DIR = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = SOURCE_DIR / "scripts"
LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad"]
SPECTRO = default_spectro(n_mels=32, image={"frames": 32})  # spectro-dump --n-mels 32 --frames 32


def structured_image(rng, size, label_index):
    """A dB-index image with a class-dependent band and a silent (padded) tail, as short clips have."""
    img = rng.integers(0, 120, (size, size)).astype(np.uint8)
    rows = slice(label_index * size // 6, (label_index + 1) * size // 6)
    img[rows, :] = 255 - rng.integers(0, 40, (rows.stop - rows.start, size))
    img[:, size - size // 4:] = 0
    return img


def make_dataset(root, colormap="gray", size=32, per_split=None, seed=0):
    """A spectro-dump-style dataset folder: returns {relative image path: dB-index image}."""
    from emoclass_train.dataset import colormap_lut

    root = pathlib.Path(root)
    per_split = per_split or {"train": 4, "val": 1, "test": 1}  # images per label and corpus
    rng = np.random.default_rng(seed)
    lut = colormap_lut(colormap)
    spectro = json.loads(json.dumps(SPECTRO))
    spectro["n_mels"], spectro["image"]["frames"], spectro["image"]["colormap"] = size, size, colormap
    (root).mkdir(parents=True, exist_ok=True)
    (root / "spectro.json").write_text(json.dumps(spectro, indent=2) + "\n")
    rows, images = [], {}
    for split, n in per_split.items():
        for corpus in ("alpha", "beta"):
            for li, label in enumerate(LABELS):
                for k in range(n):
                    stem = f"{corpus}_{label}_{k}"
                    rel = f"{split}/{label}/{stem}.png"
                    img = structured_image(rng, size, li)
                    (root / split / label).mkdir(parents=True, exist_ok=True)
                    if lut is None:
                        cv2.imwrite(str(root / rel), img)
                    else:
                        cv2.imwrite(str(root / rel), cv2.cvtColor(lut[img], cv2.COLOR_RGB2BGR))
                    images[rel] = img
                    rows.append({"source": f"corpora/{corpus}/{stem}.wav", "corpus": corpus,
                                 "speaker": f"{split}{k % 2}", "label": label, "split": split, "image": rel})
    write_manifest(root / "manifest.csv", rows)
    return images


def read_manifest_rows(path):
    return read_manifest_file(path, ())


def run_script(name, *args, check=True):
    """Runs scripts/NAME as a command, with this interpreter; returns the CompletedProcess."""
    proc = subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def gray_dataset(tmp_path):
    root = tmp_path / "ds"
    return root, make_dataset(root)
