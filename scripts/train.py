#!/usr/bin/python3
"""Trains a YOLOv8-cls speech-emotion classifier on a spectro-dump dataset folder, on the CPU.

    scripts/train.py DATASET --out runs/emo6-n [--epochs 30] [--batch 32] [--scale n|s] ...

DATASET is what `spectro-dump --dataset ... -o DATASET` writes (docs/formats.md): manifest.csv,
spectro.json and PNGs under train/ val/ test/. Every image is decoded once into memory as uint8.

Model choice uses the `val` split only (its speakers are held out from training): the checkpoint
with the best val macro-F1 (ties: accuracy) is kept as best.pt. The `test` split is never used
for a choice; at the end it is evaluated once with best.pt and reported, per corpus, labelled
as a report.

Output folder: best.pt, last.pt (the evaluated weights plus what export needs: architecture,
labels, image size, spectro settings) and train.json (arguments, label and corpus counts,
per-epoch history, best epoch, test report). One progress line per epoch, flushed, so the run
can go to a log in the background:
    nohup scripts/train.py DATA --out runs/x > runs/x.log 2>&1 &

Reproducibility: --seed fixes the weights' initialisation, the data order and every
augmentation draw. The same seed, data and --threads give the same run (oneDNN's reductions
depend on the thread count).
"""
import argparse
import csv
import json
import math
import os
import pathlib
import random
import re
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from yolov8_cls import SCALES, build_model  # noqa: E402

SPLITS = ("train", "val", "test")
REPO = pathlib.Path(__file__).resolve().parent.parent
CKPT_FORMAT = "emoclass-train-checkpoint"


def log(msg):
    print(msg, flush=True)


def fail(msg):
    print(f"train: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


# ----------------------------------------------------------------------------------------------
# Dataset
# ----------------------------------------------------------------------------------------------

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
        fail(f"{inc}: no table for colormap '{name}'")
    rgb = np.array(re.findall(r"\{(\d+),(\d+),(\d+)\}", m.group(1)), dtype=np.uint8)
    if rgb.shape != (256, 3):
        fail(f"{inc}: table '{name}' is not 256 x 3")
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


def read_manifest(root):
    path = root / "manifest.csv"
    if not path.is_file():
        fail(f"{path}: missing (is {root} a spectro-dump dataset folder?)")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"source", "corpus", "speaker", "label", "split", "image"}
    if not rows or not need <= set(rows[0]):
        fail(f"{path}: needs the columns {','.join(sorted(need))}")
    return rows


def read_spectro(root):
    path = root / "spectro.json"
    if not path.is_file():
        fail(f"{path}: missing")
    with open(path) as f:
        return json.load(f)


def decode_image(path, lut):
    """One stored PNG -> (H, W) uint8 in the dB-index domain (gray value or colormap index)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        fail(f"{path}: cannot be read as an image")
    if img.dtype != np.uint8:
        fail(f"{path}: expected 8-bit pixels, found {img.dtype}")
    if img.ndim == 2:
        if lut is not None:
            fail(f"{path}: gray image but spectro.json says a colormap")
        return img, 0
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if lut is None:
        fail(f"{path}: colour image but spectro.json says gray")
    return rgb_to_index(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), lut)


def load_dataset(root, labels_arg=None):
    """Decodes every image of every split once. Returns a dict with per-split arrays."""
    rows = read_manifest(root)
    spectro = read_spectro(root)
    colormap = spectro.get("image", {}).get("colormap", "gray")
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
            fail(f"split '{split}' has labels outside {labels}: {unknown}")
        imgs = None
        for i, r in enumerate(srows):
            img, m = decode_image(root / r["image"], lut)
            misses += m
            if shape is None:
                shape = img.shape
            elif img.shape != shape:
                fail(f"{root / r['image']}: size {img.shape[1]}x{img.shape[0]} differs from "
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
        fail(f"{root / 'manifest.csv'}: no images")
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
        fail(f"{path}: needs the columns source,{','.join(labels)} (teacher_features.py soft)")
    by_source = {r["source"]: [float(r[l]) for l in labels] for r in rows}
    missing = [s for s in sources if s not in by_source]
    if missing:
        fail(f"{path}: no teacher probabilities for {len(missing)} training files, e.g. {missing[0]}")
    probs = np.array([by_source[s] for s in sources], np.float32)
    if not np.all(np.isfinite(probs)) or np.abs(probs.sum(1) - 1).max() > 1e-3:
        fail(f"{path}: teacher probabilities must be finite and sum to 1 per file")
    return probs


# ----------------------------------------------------------------------------------------------
# Model input: dB-index images -> the tensor model.json describes
# ----------------------------------------------------------------------------------------------

class InputMaker:
    """Turns (B, 1, H, W) float dB-index images (0..255) into the model input.

    model.json's recipe is pixel * scale with mean 0, std 1 (scale 1/255). For a colormapped
    dataset the index is rendered back through the colormap table (linear between entries,
    since augmentation makes fractional levels); 3-channel gray replicates the plane."""

    def __init__(self, lut, channels):
        self.channels = channels
        self.lut = None if lut is None else torch.from_numpy(lut.astype(np.float32))  # (256, 3)

    def __call__(self, x):
        if self.lut is not None:
            x = x[:, 0].clamp(0, 255)
            lo = x.floor().long().clamp(max=254)
            frac = (x - lo).unsqueeze(-1)
            rgb = self.lut[lo] * (1 - frac) + self.lut[lo + 1] * frac  # (B, H, W, 3)
            x = rgb.permute(0, 3, 1, 2)
        elif self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        return (x * (1.0 / 255.0)).contiguous(memory_format=torch.channels_last)


# ----------------------------------------------------------------------------------------------
# Augmentation, on the batch, in torch, in the dB-index domain
# ----------------------------------------------------------------------------------------------
# Pixel p in 0..255 stands for a level of (p / 255 - 1) * top_db dB relative to the image's own
# maximum (spectro-dump's ref = max); 0 is silence or anything below max - top_db. Row 0 is the
# highest mel band. Each image is renormalised to max 255 after level changes, as the real
# renderer would do, and padded silence (all-zero columns) stays silence.

def mel_of_hz(hz, scale):
    """librosa.hz_to_mel: slaney (linear to 1 kHz, then logarithmic) or htk."""
    if scale == "htk":
        return 2595.0 * math.log10(1.0 + hz / 700.0)
    if hz < 1000.0:
        return hz * 3.0 / 200.0
    return 15.0 + math.log(hz / 1000.0) / (math.log(6.4) / 27.0)


class Augmenter:
    def __init__(self, args, spectro, gen):
        self.a = args
        self.top_db = float(spectro.get("top_db", 80.0))
        self.px_per_db = 255.0 / self.top_db
        self.g = gen  # torch.Generator: every draw comes from it, so --seed reproduces the run
        hop = float(spectro.get("hop_length", 320))
        self.frame_s = hop / float(spectro.get("sample_rate", 16000))
        # Frames overlap (window / hop): each sample's energy is in that many frames, so a tail
        # summed over past frames is scaled down by it to keep its energy what the ratio says.
        self.overlap = max(1.0, float(spectro.get("win_length") or spectro.get("n_fft", 1024)) / hop)
        scale = spectro.get("mel_scale", "slaney")
        fmin = float(spectro.get("fmin", 0.0))
        fmax = float(spectro.get("fmax") or spectro.get("sample_rate", 16000) / 2)
        lo, hi = mel_of_hz(fmin, scale), mel_of_hz(fmax, scale)
        # Where a frequency sits on the image's vertical axis: 0 = lowest band, 1 = highest.
        self.axis_pos = lambda hz: min(max((mel_of_hz(hz, scale) - lo) / (hi - lo), 0.0), 1.0)

    def _u(self, n, lo, hi):
        return torch.rand(n, generator=self.g) * (hi - lo) + lo

    def _pick(self, n, p):
        return torch.rand(n, generator=self.g) < p

    def _chosen(self, x, p):
        """Indices of the batch images drawn (each with probability p) for one augmentation."""
        return self._pick(x.shape[0], p).nonzero().flatten()

    @staticmethod
    def _renorm(x, keep):
        """Shifts each image so that its maximum is 255 again (ref = max), clips, keeps masks."""
        peak = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - peak + 255.0).clamp(0, 255)
        return x * keep

    def geometry(self, x):
        """One grid_sample for: time shift (whole frames; vacated frames are silence), time
        stretch (speaking rate), and a warp plus shift along the mel axis anchored at the lowest
        band (vocal-tract length / pitch differences between speakers)."""
        a = self.a
        B, _, H, W = x.shape
        shift = torch.round(self._u(B, -a.time_shift, a.time_shift) * W)
        stretch = torch.where(self._pick(B, 0.5), self._u(B, 1 - a.time_stretch, 1 + a.time_stretch), torch.ones(B))
        warp = self._u(B, 1 - a.freq_warp, 1 + a.freq_warp)
        fshift = self._u(B, -a.freq_shift, a.freq_shift)
        theta = torch.zeros(B, 2, 3)
        # Output (col c, row r) samples the input at c' = (c - centre) / stretch + centre - shift
        # and r' = (H-1) - ((H-1) - r) / warp + fshift, written in align_corners=True coordinates.
        theta[:, 0, 0] = 1.0 / stretch
        theta[:, 0, 2] = -2.0 * shift / max(W - 1, 1)
        theta[:, 1, 1] = 1.0 / warp
        theta[:, 1, 2] = 1.0 - 1.0 / warp + 2.0 * fshift / max(H - 1, 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

    def level(self, x, keep):
        """Microphone/channel colouring: a smooth random curve in dB across the mel rows (tilt +
        a few broad EQ bumps), sometimes a band limit at the top (narrow-band or lossy codecs),
        then a random level offset of the whole image (moves more or less of the quiet detail
        under the top_db floor, or saturates the peaks). Only the drawn images are touched."""
        a = self.a
        B, _, H, W = x.shape
        v = torch.linspace(1.0, 0.0, H).view(1, H)  # 0 at the lowest band, 1 at the highest
        curve = self._u(B, -a.tilt_db, a.tilt_db).view(B, 1) * (v - 0.5)
        for k in (1, 2, 3):
            amp = self._u(B, -a.eq_db, a.eq_db).view(B, 1) / k
            phase = self._u(B, 0, math.pi).view(B, 1)
            curve = curve + amp * torch.cos(math.pi * k * v + phase)
        band = self._pick(B, a.bandlimit_p).float().view(B, 1)
        cut = self._u(B, 0.7, 0.95).view(B, 1)
        curve = curve - band * 400.0 * (v - cut).clamp(min=0)  # -40 dB per 10 % of the axis
        eq_on = self._pick(B, a.eq_p)
        offset = self._u(B, -a.gain_db, a.gain_db * 0.5)
        gain_on = self._pick(B, a.gain_p)
        x = x.clone()
        sel = eq_on.nonzero().flatten()
        if len(sel):
            xs = x[sel]
            c = (curve[sel] * self.px_per_db).view(-1, 1, H, 1)
            x[sel] = self._renorm(xs + c * (xs > 0).float(), keep[sel])
        sel = gain_on.nonzero().flatten()
        if len(sel):
            xs = x[sel]
            o = (offset[sel] * self.px_per_db).view(-1, 1, 1, 1)
            x[sel] = (xs + o * (xs > 0).float()).clamp(0, 255)
        return x

    def telephone(self, x, keep):
        """A telephone channel: the bands above a 3.0-3.7 kHz cut fall to silence (steeply, as
        an 8 kHz codec's anti-alias filter does) and those below a 200-400 Hz cut lose ~25 dB."""
        H = x.shape[2]
        sel = self._chosen(x, self.a.telephone_p)
        n = len(sel)
        if n == 0:
            return x
        hi = [self.axis_pos(f) for f in self._u(n, 3000.0, 3700.0).tolist()]
        lo = [self.axis_pos(f) for f in self._u(n, 200.0, 400.0).tolist()]
        v = torch.linspace(1.0, 0.0, H).view(1, H)
        hi_t, lo_t = torch.tensor(hi).view(n, 1), torch.tensor(lo).view(n, 1)
        curve = -(v - hi_t).clamp(min=0) * 2000.0 - (lo_t - v).clamp(min=0) / lo_t.clamp(min=1e-3) * 25.0
        curve = curve.clamp(min=-self.top_db)
        xs = x[sel]
        x = x.clone()
        x[sel] = self._renorm(xs + (curve * self.px_per_db).view(n, 1, H, 1) * (xs > 0).float(), keep[sel])
        return x

    def reverb(self, x, keep):
        """A room: each band's power gets a tail, the power smeared forward in time by an
        exponential decay of RT60 0.2-0.8 s, at a direct-to-reverberant ratio of -2..+8 dB."""
        W = x.shape[3]
        sel = self._chosen(x, self.a.reverb_p)
        n = len(sel)
        if n == 0:
            return x
        rt60 = self._u(n, 0.2, 0.8).view(n, 1)
        drr_db = self._u(n, -2.0, 8.0).view(n, 1)
        frames = max(2, min(W, int(round(0.8 / self.frame_s))))  # the longest tail drawn
        t = torch.arange(1, frames + 1, dtype=torch.float32).view(1, frames) * self.frame_s
        k = torch.exp(-6.9078 * t / rt60)  # (n, frames): -60 dB at each image's rt60
        k = k * (10.0 ** (-drr_db / 10.0) / (k.sum(1, keepdim=True) * self.overlap))
        xs = x[sel, 0]  # (n, H, W)
        db = xs / self.px_per_db - self.top_db  # relative to the peak
        power = torch.where(xs > 0, torch.pow(10.0, db / 10.0), torch.zeros_like(db))
        # Causal smear, one kernel per image (groups): tail[t] = sum_j k[j] * power[t - 1 - j].
        padded = F.pad(power.permute(1, 0, 2), (frames, 0))  # (H, n, W + frames)
        tail = F.conv1d(padded, k.flip(1).unsqueeze(1), groups=n)[:, :, :W].permute(1, 0, 2)
        out = (10.0 * torch.log10((power + tail).clamp(min=1e-12)) + self.top_db) * self.px_per_db
        x = x.clone()
        x[sel] = self._renorm(out.unsqueeze(1), keep[sel])
        return x

    def noise(self, x, keep):
        """A light additive noise floor: coloured noise power-summed with the signal in dB,
        a random --noise-min-db .. --noise-max-db below the image's peak."""
        a = self.a
        H, W = x.shape[2:]
        sel = self._chosen(x, a.noise_p)
        n = len(sel)
        if n == 0:
            return x
        below = self._u(n, a.noise_min_db, a.noise_max_db).view(n, 1, 1, 1)
        tilt = self._u(n, -6, 6).view(n, 1, 1, 1) * torch.linspace(0.5, -0.5, H).view(1, 1, H, 1)
        jitter = torch.randn((n, 1, H, W), generator=self.g) * 5.6  # dB spread of a noise periodogram
        noise_db = jitter + tilt - below  # relative to the peak (0 dB)
        sig_db = x[sel] / self.px_per_db - self.top_db  # relative to the peak
        to_nat = math.log(10) / 10
        mixed = torch.logaddexp(sig_db * to_nat, noise_db * to_nat) / to_nat
        x = x.clone()
        x[sel] = self._renorm((mixed + self.top_db) * self.px_per_db, keep[sel])
        return x

    def masks(self, x):
        """SpecAugment: time and frequency bands set to silence."""
        a = self.a
        B, _, H, W = x.shape
        cols = torch.arange(W).view(1, W)
        rows = torch.arange(H).view(1, H)
        keep_t = torch.ones(B, W)
        keep_f = torch.ones(B, H)
        for _ in range(a.time_masks):
            w = (self._u(B, 0, a.time_mask * W)).long().view(B, 1)
            s = (torch.rand(B, 1, generator=self.g) * (W - w + 1)).long()
            keep_t = keep_t * ~((cols >= s) & (cols < s + w))
        for _ in range(a.freq_masks):
            w = (self._u(B, 0, a.freq_mask * H)).long().view(B, 1)
            s = (torch.rand(B, 1, generator=self.g) * (H - w + 1)).long()
            keep_f = keep_f * ~((rows >= s) & (rows < s + w))
        return x * keep_t.view(B, 1, 1, W) * keep_f.view(B, 1, H, 1)

    def mixup(self, x, y):
        """Mixup of images and soft labels; the first image keeps the larger share."""
        a = self.a
        B = x.shape[0]
        if a.mixup_p <= 0 or torch.rand(1, generator=self.g).item() >= a.mixup_p:
            return x, y
        # torch's Beta sampler takes no generator: draw with numpy, seeded from ours.
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.g).item())
        lam = np.random.default_rng(seed).beta(a.mixup_alpha, a.mixup_alpha, size=B).astype(np.float32)
        lam = torch.from_numpy(np.maximum(lam, 1 - lam))
        perm = torch.randperm(B, generator=self.g)
        lx = lam.view(B, 1, 1, 1)
        return x * lx + x[perm] * (1 - lx), y * lam.view(B, 1) + y[perm] * (1 - lam.view(B, 1))

    def __call__(self, x, y):
        x = self.geometry(x)
        # Columns that are silent after the time shift/stretch (padding) must stay silent.
        keep = (x.amax(dim=2, keepdim=True) > 0).float()
        # Off by default, and then no draws are made, so older recipes' runs stay bit-identical.
        if self.a.reverb_p > 0:
            x = self.reverb(x, keep)
        x = self.level(x, keep)
        if self.a.telephone_p > 0:
            x = self.telephone(x, keep)
        x = self.noise(x, keep)
        x, y = self.mixup(x, y)
        x = self.masks(x)
        return x, y


# ----------------------------------------------------------------------------------------------
# Training helpers
# ----------------------------------------------------------------------------------------------

class EMA:
    """Exponential moving average of the weights and BN statistics, used for evaluation and
    saved in the checkpoints; its decay ramps up over the first updates (as ultralytics)."""

    def __init__(self, model, decay, tau=500):
        self.model = build_model(model.arch).to(memory_format=torch.channels_last)
        self.model.load_state_dict(model.state_dict())
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


class _ReverseGrad(torch.autograd.Function):
    """Identity forward; the gradient comes back negated and scaled (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


class CorpusAdversary(torch.nn.Module):
    """A small corpus classifier on the pooled features the emotion classifier sees, trained
    through a gradient reversal: it learns to tell the corpora apart while the network is pushed
    towards features it cannot use for that. What it removes is whatever marks a recording as
    one corpus's (microphone, room, codec, text, the actors' shared style), which a voice from
    another corpus would not share. It lives in train.py only: checkpoints and exports do not
    contain it. The reversal weight ramps from 0 to --corpus-adversary over the run, as in the
    paper, so the emotion features form before they are pushed."""

    def __init__(self, features, corpora, hidden=256):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(inplace=True),
                                       torch.nn.Linear(hidden, corpora))
        self.features = None

    def capture(self, module, inputs):
        self.features = inputs[0]  # forward pre-hook on the classifier's linear layer

    def loss(self, corpus_target, weight):
        """Cross-entropy against (mixed) one-hot corpus labels; returns (loss, correct count)."""
        logits = self.net(_ReverseGrad.apply(self.features, weight))
        loss = -(corpus_target * F.log_softmax(logits, 1)).sum(1).mean()
        correct = (logits.argmax(1) == corpus_target.argmax(1)).sum().item()
        return loss, correct


def adversary_weight(step, total_steps, peak):
    return peak * (2.0 / (1.0 + math.exp(-10.0 * min(step / max(total_steps, 1), 1.0))) - 1.0)


def lr_at(step, total_steps, warmup_steps, base_lr, final_frac):
    """Linear warm-up, then cosine decay to base_lr * final_frac."""
    if step < warmup_steps:
        return base_lr * (0.05 + 0.95 * step / max(warmup_steps, 1))
    t = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    t = min(max(t, 0.0), 1.0)
    return base_lr * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model, args):
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)  # no weight decay on BN and biases
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if args.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999))


@torch.no_grad()
def predict(model, imgs, make_input, batch=256):
    """Probabilities for (N, H, W) uint8 dB-index images (model in eval mode = softmax)."""
    model.eval()
    out = []
    for i in range(0, len(imgs), batch):
        x = torch.from_numpy(imgs[i:i + batch]).unsqueeze(1).float()
        out.append(model(make_input(x)))
    return torch.cat(out).numpy() if out else np.zeros((0, model.num_classes), np.float32)


def metrics(y_true, y_pred, n_classes):
    """Accuracy, macro-F1 over the classes present in y_true, confusion matrix."""
    cm = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    acc = float(np.trace(cm) / max(cm.sum(), 1))
    f1s = []
    for c in range(n_classes):
        if cm[c].sum() == 0:
            continue
        tp = cm[c, c]
        prec = tp / max(cm[:, c].sum(), 1)
        rec = tp / cm[c].sum()
        f1s.append(0.0 if tp == 0 else 2 * prec * rec / (prec + rec))
    return {"acc": acc, "macro_f1": float(np.mean(f1s)) if f1s else 0.0, "confusion": cm.tolist()}


def evaluate(model, split, data, make_input):
    if len(split["y"]) == 0:
        return None
    pred = predict(model, split["x"], make_input).argmax(1)
    m = metrics(split["y"], pred, len(data["labels"]))
    m["per_corpus"] = {}
    for ci, name in enumerate(data["corpora"]):
        sel = split["corpus"] == ci
        if sel.any():
            m["per_corpus"][name] = {"n": int(sel.sum()), "acc": float((pred[sel] == split["y"][sel]).mean()),
                                     "macro_f1": metrics(split["y"][sel], pred[sel], len(data["labels"]))["macro_f1"]}
    return m


def load_init(model, path, labels):
    """Fine-tuning start: copies every tensor whose name and shape match. A first conv that
    differs only in input channels is adapted (3 -> 1: summed; 1 -> 3: spread). The classifier
    rows follow the label names when the checkpoint records them (labels it lacks start fresh).
    Accepts our checkpoints or a bare state_dict (ultralytics-style `model.model.N` names too)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    sd = {k[len("model."):] if k.startswith("model.model.") else k: v for k, v in sd.items()}
    own = model.state_dict()
    head = f"model.{len(model.model) - 1}.linear."
    src_labels = ck.get("labels") if isinstance(ck, dict) else None
    if src_labels and list(src_labels) != list(labels):
        for name in ("weight", "bias"):
            k = head + name
            if k in sd and sd[k].shape[1:] == own[k].shape[1:]:
                rows = own[k].clone()
                for i, l in enumerate(labels):
                    if l in src_labels:
                        rows[i] = sd[k][src_labels.index(l)]
                sd[k] = rows
        log(f"init: classifier rows mapped by label name ({len(set(labels) & set(src_labels))} of {len(labels)} known)")
    loaded, skipped = 0, []
    for k, v in own.items():
        src = sd.get(k)
        if src is None:
            skipped.append(k)
        elif src.shape == v.shape:
            own[k] = src.to(v.dtype)
            loaded += 1
        elif k == "model.0.conv.weight" and src.shape[0] == v.shape[0] and src.shape[2:] == v.shape[2:]:
            own[k] = src.sum(1, keepdim=True) if v.shape[1] == 1 else src.expand_as(v) / v.shape[1]
            loaded += 1
        else:
            skipped.append(k)
    model.load_state_dict(own)
    log(f"init from {path}: {loaded} tensors loaded, {len(skipped)} left fresh"
        + (f" ({', '.join(skipped[:6])}{' ...' if len(skipped) > 6 else ''})" if skipped else ""))


def save_checkpoint(path, model_sd, data, args, arch, epoch, val):
    ck = {
        "format": CKPT_FORMAT,
        "arch": arch,
        "labels": data["labels"],
        "image": {"height": int(data["shape"][0]), "width": int(data["shape"][1]), "colormap": data["colormap"]},
        "spectro": data["spectro"],
        "epoch": epoch,
        "val": val,
        "args": vars(args),
        "state_dict": {k: v.detach().clone() for k, v in model_sd.items()},
    }
    tmp = str(path) + ".tmp"
    torch.save(ck, tmp)
    os.replace(tmp, path)


def write_json(path, obj):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def fmt_time(s):
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# ----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=pathlib.Path, help="spectro-dump dataset folder")
    p.add_argument("--out", type=pathlib.Path, required=True, help="output folder (checkpoints, train.json)")
    p.add_argument("--epochs", type=int, default=30, help="epochs (the most, with --time-budget-min)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3 adamw, 1e-2 sgd)")
    p.add_argument("--weight-decay", type=float, default=None, help="default 0.05 adamw, 5e-4 sgd")
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--final-lr-frac", type=float, default=0.01, help="cosine ends at lr * this")
    p.add_argument("--scale", choices=sorted(SCALES), default=None, help="model scale (default n, or --init's)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="model input channels (default 1 for gray, 3 for colormaps; 3 with gray = replicated)")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout before the classifier")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--balance", type=float, default=1.0,
                   help="class-weighted loss: weight = (N / (K * n_class)) ** this (0 = off)")
    p.add_argument("--corpus-balance", type=float, default=0.0,
                   help="extra per-sample weight (N / (C * n_corpus)) ** this, so small corpora count more (0 = off)")
    p.add_argument("--corpus-adversary", type=float, default=0.0,
                   help="peak weight of the reversed gradient from a corpus classifier on the pooled features (0 = off)")
    p.add_argument("--teacher", type=pathlib.Path,
                   help="teacher probabilities per source file (scripts/teacher_features.py soft)")
    p.add_argument("--teacher-weight", type=float, default=0.0,
                   help="share of the target given to the teacher's probabilities (0 = no distillation)")
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay for evaluated/saved weights (0 = off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", type=pathlib.Path, help="checkpoint to fine-tune from")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--time-budget-min", type=float, default=0.0,
                   help="stop cleanly (best kept) when this is spent; the cosine schedule is fitted to it")
    p.add_argument("--no-test", action="store_true", help="skip the final test-split report")
    p.add_argument("--labels", nargs="+", help="label order (default: sorted labels of the manifest)")
    g = p.add_argument_group("augmentation (dB-domain, on the batch)")
    g.add_argument("--no-aug", action="store_true", help="switch every augmentation off")
    g.add_argument("--time-shift", type=float, default=0.15, help="max shift, fraction of the width")
    g.add_argument("--time-stretch", type=float, default=0.08, help="max rate change (half of the images)")
    g.add_argument("--freq-warp", type=float, default=0.05, help="max mel-axis scale change, anchored at the bottom")
    g.add_argument("--freq-shift", type=float, default=2.0, help="max mel-axis shift in rows")
    g.add_argument("--eq-p", type=float, default=0.6, help="share of images with a random spectral tilt/EQ")
    g.add_argument("--tilt-db", type=float, default=10.0, help="max tilt, dB from lowest to highest band")
    g.add_argument("--eq-db", type=float, default=4.0, help="max EQ bump amplitude in dB")
    g.add_argument("--bandlimit-p", type=float, default=0.15, help="share with the top bands cut off")
    g.add_argument("--gain-p", type=float, default=0.5, help="share with a level offset")
    g.add_argument("--gain-db", type=float, default=8.0, help="offset range: -gain_db .. +gain_db/2")
    g.add_argument("--telephone-p", type=float, default=0.0,
                   help="share with a telephone band (3.0-3.7 kHz and 200-400 Hz cuts)")
    g.add_argument("--reverb-p", type=float, default=0.0, help="share with a room tail (RT60 0.2-0.8 s)")
    g.add_argument("--noise-p", type=float, default=0.3, help="share with an added noise floor")
    g.add_argument("--noise-min-db", type=float, default=50.0, help="noise floor, dB below the peak (closest)")
    g.add_argument("--noise-max-db", type=float, default=75.0, help="noise floor, dB below the peak (farthest)")
    g.add_argument("--time-masks", type=int, default=2)
    g.add_argument("--time-mask", type=float, default=0.10, help="max width of a time mask, fraction")
    g.add_argument("--freq-masks", type=int, default=2)
    g.add_argument("--freq-mask", type=float, default=0.10, help="max height of a frequency mask, fraction")
    g.add_argument("--mixup-p", type=float, default=0.3, help="share of batches mixed")
    g.add_argument("--mixup-alpha", type=float, default=0.4)
    a = p.parse_args(argv)
    if a.lr is None:
        a.lr = 1e-2 if a.optimizer == "sgd" else 1e-3
    if a.weight_decay is None:
        a.weight_decay = 5e-4 if a.optimizer == "sgd" else 0.05
    if a.epochs < 1 or a.batch < 2:
        p.error("--epochs must be >= 1 and --batch >= 2")
    return a


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    data = load_dataset(args.dataset, args.labels)
    labels, K = data["labels"], len(data["labels"])
    tr, va, te = data["train"], data["val"], data["test"]
    if len(tr["y"]) < args.batch:
        fail(f"only {len(tr['y'])} training images (fewer than one batch of {args.batch})")
    if len(va["y"]) == 0:
        fail("the val split is empty: model choice needs held-out speakers")
    for name, s in (("train", tr), ("val", va), ("test", te)):
        counts = np.bincount(s["y"], minlength=K)
        log(f"{name:5s} {len(s['y']):6d} images, {s['speakers']:3d} speakers | "
            + " ".join(f"{l}:{c}" for l, c in zip(labels, counts)))

    scale = args.scale
    if args.init:
        peek = torch.load(args.init, map_location="cpu", weights_only=False)
        if scale is None and isinstance(peek, dict) and "arch" in peek:
            scale = peek["arch"]["scale"]
        del peek
    scale = scale or "n"
    lut = data["lut"]
    channels = args.channels or (1 if lut is None else 3)
    if lut is not None and channels != 3:
        fail(f"a {data['colormap']} dataset needs --channels 3")
    arch = {"in_channels": channels, "num_classes": K, "scale": scale, "dropout": args.dropout}
    model = build_model(arch)
    model.arch = arch
    if args.init:
        load_init(model, args.init, labels)
    model = model.to(memory_format=torch.channels_last)
    ema = EMA(model, args.ema) if args.ema > 0 else None
    make_input = InputMaker(lut, channels)
    n_par = sum(p.numel() for p in model.parameters())
    log(f"model yolov8{scale}-cls, {channels}x{data['shape'][0]}x{data['shape'][1]} -> {K} classes, "
        f"{n_par:,d} parameters, threads {torch.get_num_threads()}")

    # Loss weights: classes (and optionally corpora) by inverse frequency in the training split.
    n_c = np.bincount(tr["y"], minlength=K).astype(np.float64)
    class_w = np.where(n_c > 0, (len(tr["y"]) / (K * np.maximum(n_c, 1))) ** args.balance, 0.0)
    C = len(data["corpora"])
    n_k = np.bincount(tr["corpus"], minlength=C).astype(np.float64)
    n_present = max(int((n_k > 0).sum()), 1)
    corpus_w = np.where(n_k > 0, (len(tr["y"]) / (n_present * np.maximum(n_k, 1))) ** args.corpus_balance, 0.0)
    corpus_w = torch.from_numpy(corpus_w[tr["corpus"]].astype(np.float32))  # per training image
    class_w_t = torch.from_numpy(class_w.astype(np.float32))
    teacher = None
    if args.teacher_weight > 0:
        if not args.teacher:
            fail("--teacher-weight needs --teacher FILE")
        teacher = load_teacher(args.teacher, tr["source"], labels)
        hits = float(np.mean(teacher.argmax(1) == tr["y"]))
        log(f"teacher: {args.teacher} on {len(tr['y'])} training images (agrees with the label on "
            f"{hits:.1%}), weight {args.teacher_weight:g}")
    log("class weights " + " ".join(f"{l}:{w:.2f}" for l, w in zip(labels, class_w)))

    opt = make_optimizer(model, args)
    adversary, adv_opt = None, None
    if args.corpus_adversary > 0:  # off: nothing built, no random draws, older runs unchanged
        adversary = CorpusAdversary(model.model[-1].linear.in_features, C)
        model.model[-1].linear.register_forward_pre_hook(adversary.capture)
        adv_opt = torch.optim.AdamW(adversary.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(tr["y"]) // args.batch  # the last partial batch is dropped (BN)
    sched_epochs = args.epochs
    warmup_steps = int(args.warmup_epochs * steps_per_epoch)
    order_gen = torch.Generator().manual_seed(args.seed)
    aug_gen = torch.Generator().manual_seed(args.seed + 1)
    augment = None if args.no_aug else Augmenter(args, data["spectro"], aug_gen)
    budget_s = args.time_budget_min * 60.0

    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "dataset": str(args.dataset.resolve()),
        "args": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "labels": labels, "corpora": data["corpora"], "arch": arch, "image": list(map(int, data["shape"])),
        "colormap": data["colormap"], "parameters": n_par,
        "counts": {s: {"images": int(len(data[s]["y"])), "speakers": data[s]["speakers"],
                       "labels": dict(zip(labels, np.bincount(data[s]["y"], minlength=K).tolist()))} for s in SPLITS},
        "history": [], "best": None,
    }
    best_key, best = None, None
    step = 0
    epoch_times = []
    stop_reason = None
    t_train0 = time.time()
    log(f"training: {steps_per_epoch} steps/epoch of {args.batch}, up to {args.epochs} epochs"
        + (f", time budget {args.time_budget_min:g} min" if budget_s else ""))
    epoch = 0
    while epoch < sched_epochs:
        epoch += 1
        t_ep = time.time()
        model.train()
        perm = torch.randperm(len(tr["y"]), generator=order_gen).numpy()
        loss_sum, seen, t_compute = 0.0, 0, 0.0
        adv_sum, adv_hits = 0.0, 0
        for b in range(steps_per_epoch):
            idx = np.sort(perm[b * args.batch:(b + 1) * args.batch])
            x = torch.from_numpy(tr["x"][idx]).unsqueeze(1).float()
            y = F.one_hot(torch.from_numpy(tr["y"][idx]), K).float()
            # Extra columns ride along with the labels, so mixup mixes them the same way.
            if teacher is not None:
                y = torch.cat([y, torch.from_numpy(teacher[idx])], 1)
            if adversary is not None:  # corpus labels ride along as extra columns, so mixup mixes them too
                y = torch.cat([y, F.one_hot(torch.from_numpy(tr["corpus"][idx]), C).float()], 1)
            if augment is not None:
                x, y = augment(x, y)
            n_t = K if teacher is not None else 0
            y, teacher_y, corpus_y = y[:, :K], y[:, K:K + n_t], y[:, K + n_t:]
            lr = lr_at(step, sched_epochs * steps_per_epoch, warmup_steps, args.lr, args.final_lr_frac)
            for g in opt.param_groups + (adv_opt.param_groups if adv_opt is not None else []):
                g["lr"] = lr
            t_c = time.time()
            logits = model(make_input(x))
            target = y * (1 - args.label_smoothing) + args.label_smoothing / K
            if teacher is not None:  # distillation: cross-entropy to a blend of label and teacher
                target = target * (1 - args.teacher_weight) + teacher_y * args.teacher_weight
            per_sample = -(target * F.log_softmax(logits, 1)).sum(1)
            # Weighted mean: a (mixed) label weighs as its classes' weights, times the corpus weight.
            sw = (y * class_w_t).sum(1) * corpus_w[idx]
            loss = (per_sample * sw).sum() / sw.sum()
            opt.zero_grad(set_to_none=True)
            total = loss
            if adversary is not None:
                adv_w = adversary_weight(step, sched_epochs * steps_per_epoch, args.corpus_adversary)
                adv_loss, adv_correct = adversary.loss(corpus_y, adv_w)
                total = loss + adv_loss
                adv_opt.zero_grad(set_to_none=True)
                adv_sum += adv_loss.item() * len(idx)
                adv_hits += adv_correct
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            if adversary is not None:
                adv_opt.step()
            if ema is not None:
                ema.update(model)
            t_compute += time.time() - t_c
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if budget_s and time.time() - t_start > budget_s:
                stop_reason = f"time budget of {args.time_budget_min:g} min spent during epoch {epoch}"
                break
        t_train = time.time() - t_ep
        eval_model = ema.model if ema is not None else model
        val = evaluate(eval_model, va, data, make_input)
        t_epoch = time.time() - t_ep
        epoch_times.append(t_epoch)
        key = (val["macro_f1"], val["acc"])
        improved = best_key is None or key > best_key
        if improved:
            best_key = key
            best = {"epoch": epoch, "val_acc": val["acc"], "val_macro_f1": val["macro_f1"]}
            save_checkpoint(args.out / "best.pt", eval_model.state_dict(), data, args, arch, epoch, best)
        save_checkpoint(args.out / "last.pt", eval_model.state_dict(), data, args, arch, epoch,
                        {"val_acc": val["acc"], "val_macro_f1": val["macro_f1"]})
        elapsed = time.time() - t_start
        # After the first epoch, fit the schedule to the time budget so the cosine completes.
        if epoch == 1 and budget_s and stop_reason is None:
            fit = 1 + int(max(budget_s - elapsed, 0) // t_epoch)
            if fit < sched_epochs:
                sched_epochs = max(fit, 1)
                log(f"time budget: schedule fitted to {sched_epochs} epochs")
        eta = (sched_epochs - epoch) * float(np.mean(epoch_times[-3:]))
        ips = seen / max(t_train, 1e-9)
        rec = {"epoch": epoch, "loss": loss_sum / max(seen, 1), "val_acc": val["acc"], "val_macro_f1": val["macro_f1"],
               "val_per_corpus": {k: round(v["acc"], 4) for k, v in val["per_corpus"].items()},
               "lr": opt.param_groups[0]["lr"], "train_images_per_s": ips,
               "train_compute_images_per_s": seen / max(t_compute, 1e-9), "epoch_s": t_epoch, "elapsed_s": elapsed}
        if adversary is not None:
            rec["corpus_loss"] = adv_sum / max(seen, 1)
            rec["corpus_acc"] = adv_hits / max(seen, 1)  # how well the adversary still tells corpora apart
        summary["history"].append(rec)
        summary["best"] = best
        write_json(args.out / "train.json", summary)
        corp = " ".join(f"{k}:{v:.2f}" for k, v in rec["val_per_corpus"].items())
        log(f"epoch {epoch:3d}/{sched_epochs} loss {rec['loss']:.4f} val_acc {val['acc']:.4f} "
            f"val_f1 {val['macro_f1']:.4f}{' *' if improved else '  '} lr {rec['lr']:.2e} "
            f"{ips:.0f} img/s elapsed {fmt_time(elapsed)} eta {fmt_time(eta)} | {corp}"
            + (f" | corpus adversary loss {rec['corpus_loss']:.3f} acc {rec['corpus_acc']:.2f}" if adversary else ""))
        if stop_reason:
            break
        if budget_s and elapsed + t_epoch > budget_s and epoch < sched_epochs:
            stop_reason = f"time budget of {args.time_budget_min:g} min would be exceeded by another epoch"
            break
    if stop_reason:
        log(f"stopped: {stop_reason}")
    train_s = time.time() - t_train0
    log(f"best: epoch {best['epoch']} val_acc {best['val_acc']:.4f} val_macro_f1 {best['val_macro_f1']:.4f}; "
        f"training took {fmt_time(train_s)}")

    # Final reports with best.pt: val per corpus and confusion; test only as a report.
    ck = torch.load(args.out / "best.pt", map_location="cpu", weights_only=False)
    final = build_model(arch).to(memory_format=torch.channels_last)
    final.load_state_dict(ck["state_dict"])
    val = evaluate(final, va, data, make_input)
    log("val (best.pt) per corpus: " + ", ".join(f"{k} {v['acc']:.3f} (n={v['n']})" for k, v in val["per_corpus"].items()))
    log("val confusion (rows true, cols predicted: " + " ".join(labels) + ")")
    for l, row in zip(labels, val["confusion"]):
        log(f"  {l:>8s} " + " ".join(f"{c:5d}" for c in row))
    summary["best"]["val_final"] = val
    if not args.no_test and len(te["y"]):
        test = evaluate(final, te, data, make_input)
        log(f"TEST (report only, never used for choices): acc {test['acc']:.4f} macro_f1 {test['macro_f1']:.4f}; "
            + ", ".join(f"{k} {v['acc']:.3f} (n={v['n']})" for k, v in test["per_corpus"].items()))
        summary["test_report"] = test
    summary["stop_reason"] = stop_reason
    summary["train_seconds"] = train_s
    write_json(args.out / "train.json", summary)


if __name__ == "__main__":
    main()
