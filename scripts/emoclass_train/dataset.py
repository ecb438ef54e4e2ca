"""A spectro-dump dataset folder (docs/formats.md; manifest.csv and spectro.json are read by
emoclass_train.formats): the PNGs decoded once into memory in the dB-index domain (gray value or
colormap index), and the teacher probabilities and pooled features train.py distils from.

Every problem is raised as emoclass_train.Error("FILE: reason"); the scripts print it.
"""
import csv
import pathlib
import re
import time

import cv2
import numpy as np

from emoclass_train import Error
from emoclass_train.formats import SPLITS, read_manifest, read_spectro, spectro_with_defaults

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


def colormap_lut(name):
    """The 256 x RGB table spectro-dump renders `name` with (spectro/colormap_tables.inc), or
    None for gray. Training on a colormapped dataset inverts the colours to the dB index through
    it, augments in dB, and renders back, so augmentation acts on sound levels, not on colours."""
    if name == "gray":
        return None
    inc = REPO / "spectro" / "colormap_tables.inc"
    text = inc.read_text()
    m = re.search(r"k_%s\[256\]\[3\]\s*=\s*\{(.*?)\};" % re.escape(name), text, re.S)
    if not m:
        raise Error(f"{inc}: no table for colormap '{name}'")
    rgb = np.array(re.findall(r"\{(\d+),(\d+),(\d+)\}", m.group(1)), dtype=np.uint8)
    if rgb.shape != (256, 3):
        raise Error(f"{inc}: table '{name}' is not 256 x 3")
    return rgb


def rgb_to_index(img_rgb, lut):
    """Maps every RGB pixel to its colormap index (exact for spectro-dump's lossless PNGs; a
    pixel missing from the table takes the nearest entry)."""
    keys = (lut[:, 0].astype(np.int64) << 16) | (lut[:, 1].astype(np.int64) << 8) | lut[:, 2]
    order = np.argsort(keys)
    skeys = keys[order]
    px = img_rgb.reshape(-1, 3).astype(np.int64)
    pk = (px[:, 0] << 16) | (px[:, 1] << 8) | px[:, 2]
    pos = np.clip(np.searchsorted(skeys, pk), 0, 255)
    idx = order[pos]
    miss = skeys[pos] != pk
    if miss.any():
        d = ((px[miss, None, :] - lut[None].astype(np.int64)) ** 2).sum(-1)
        idx[miss] = d.argmin(1)
    return idx.reshape(img_rgb.shape[:2]).astype(np.uint8), int(miss.sum())


def decode_image(path, lut):
    """One stored PNG -> (H, W) uint8 in the dB-index domain (gray value or colormap index)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise Error(f"{path}: cannot be read as an image")
    if img.dtype != np.uint8:
        raise Error(f"{path}: expected 8-bit pixels, found {img.dtype}")
    if img.ndim == 2:
        if lut is not None:
            raise Error(f"{path}: gray image but spectro.json says a colormap")
        return img, 0
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if lut is None:
        raise Error(f"{path}: colour image but spectro.json says gray")
    return rgb_to_index(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), lut)


def load_dataset(root, labels_arg=None, log=lambda msg: None):
    """Decodes every image of every split once. Returns a dict with per-split arrays; `log`
    gets the progress lines."""
    rows = read_manifest(root)
    spectro = read_spectro(root)
    colormap = spectro_with_defaults(spectro)["image"]["colormap"]
    lut = colormap_lut(colormap)
    labels = labels_arg or sorted({r["label"] for r in rows})
    lab_id = {l: i for i, l in enumerate(labels)}
    corpora = sorted({r["corpus"] for r in rows})
    data = {"labels": labels, "corpora": corpora, "spectro": spectro, "colormap": colormap, "lut": lut}
    shape = None
    misses = 0
    t0 = time.time()
    for split in SPLITS:
        srows = [r for r in rows if r["split"] == split]
        unknown = sorted({r["label"] for r in srows} - set(labels))
        if unknown:
            raise Error(f"split '{split}' has labels outside {labels}: {unknown}")
        imgs = None
        for i, r in enumerate(srows):
            img, m = decode_image(root / r["image"], lut)
            misses += m
            if shape is None:
                shape = img.shape
            elif img.shape != shape:
                raise Error(f"{root / r['image']}: size {img.shape[1]}x{img.shape[0]} differs from "
                     f"{shape[1]}x{shape[0]} (training needs fixed-size images: spectro.json image.frames > 0)")
            if imgs is None:
                imgs = np.empty((len(srows),) + shape, np.uint8)
            imgs[i] = img
        if imgs is None:
            imgs = np.empty((0,) + (shape or (1, 1)), np.uint8)
        data[split] = {
            "x": imgs,
            "y": np.array([lab_id[r["label"]] for r in srows], np.int64),
            "corpus": np.array([corpora.index(r["corpus"]) for r in srows], np.int64),
            "speakers": len({(r["corpus"], r["speaker"]) for r in srows}),
            "source": [r["source"] for r in srows],
        }
    if shape is None:
        raise Error(f"{root / 'manifest.csv'}: no images")
    if misses:
        log(f"warning: {misses} pixels were not exact {colormap} colours (mapped to the nearest)")
    data["shape"] = shape
    log(f"decoded {sum(len(data[s]['y']) for s in SPLITS)} images of {shape[0]}x{shape[1]} "
        f"({colormap}) in {time.time() - t0:.1f}s")
    return data


def load_teacher(path, sources, labels):
    """Teacher probabilities (scripts/teacher_features.py soft: source + one column per label)
    for each of `sources`, in `labels` order."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "source" not in rows[0] or not set(labels) <= set(rows[0]):
        raise Error(f"{path}: needs the columns source,{','.join(labels)} (teacher_features.py soft)")
    by_source = {r["source"]: [float(r[l]) for l in labels] for r in rows}
    missing = [s for s in sources if s not in by_source]
    if missing:
        raise Error(f"{path}: no teacher probabilities for {len(missing)} training files, e.g. {missing[0]}")
    probs = np.array([by_source[s] for s in sources], np.float32)
    if not np.all(np.isfinite(probs)) or np.abs(probs.sum(1) - 1).max() > 1e-3:
        raise Error(f"{path}: teacher probabilities must be finite and sum to 1 per file")
    return probs


def load_teacher_features(path, sources):
    """The teacher's pooled encoder features (scripts/teacher_features.py extract: arrays
    `features` and `source`) for each of `sources`, standardised with the mean and standard
    deviation of exactly those rows. Returns (features (N, D) float32, has (N,) bool, used
    {corpus: rows}, unused {corpus: rows}).

    `sources` are the training split's files only: rows of any other file (a corpus held out by
    scripts/holdout_corpus.py, whose files are all in the test split, or the val and test
    speakers) are never returned and never enter the statistics. A training file missing from
    the file gets zeros and has=False (no feature loss for it)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "features" not in z.files or "source" not in z.files:
                raise Error(f"{path}: needs the arrays features and source (teacher_features.py extract)")
            feats, srcs = z["features"], z["source"]
            corpus = z["corpus"] if "corpus" in z.files else np.full(len(srcs), "?")
    except (OSError, ValueError) as e:
        raise Error(f"{path}: cannot be read as an .npz file ({e})")
    if feats.ndim != 2 or len(feats) != len(srcs) or len(corpus) != len(srcs):
        raise Error(f"{path}: features must be (files, D) with one source and corpus per row")
    row_of = {}
    for i, s in enumerate(srcs.tolist()):
        if s in row_of:
            raise Error(f"{path}: source {s} appears twice")
        row_of[s] = i
    rows = np.array([row_of.get(s, -1) for s in sources], np.int64)
    has = rows >= 0
    if not has.any():
        raise Error(f"{path}: none of the {len(sources)} training files has teacher features")
    picked = feats[rows[has]].astype(np.float64)
    if not np.all(np.isfinite(picked)):
        raise Error(f"{path}: teacher features of training files must be finite")
    mean, std = picked.mean(0), picked.std(0)
    std = np.where(std > 0, std, 1.0)
    out = np.zeros((len(sources), feats.shape[1]), np.float32)
    out[has] = ((picked - mean) / std).astype(np.float32)
    taken = np.zeros(len(srcs), bool)
    taken[rows[has]] = True
    count = lambda sel: {c: int(n) for c, n in zip(*np.unique(corpus[sel], return_counts=True))}
    return out, has, count(taken), count(~taken)
