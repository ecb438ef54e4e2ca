"""emoclass_train.augment.Augmenter with train.py's own flags: reproducible from the seed, shape
and range kept, and silence (padded columns) stays silence through every level augmentation."""
import numpy as np
import pytest
import torch

import train
from conftest import SPECTRO, structured_image
from emoclass_train.augment import Augmenter, mel_of_hz

ALL_ON = ["--telephone-p", "1", "--reverb-p", "1", "--noise-p", "1", "--eq-p", "1", "--gain-p", "1",
          "--bandlimit-p", "1", "--mixup-p", "1"]


def args(*flags):
    return train.parse_args(["unused-dataset", "--out", "unused-out", *flags])


def batch(n=8, size=32, seed=3):
    rng = np.random.default_rng(seed)
    x = np.stack([structured_image(rng, size, i % 6) for i in range(n)])[:, None].astype(np.float32)
    y = np.eye(6, dtype=np.float32)[np.arange(n) % 6]
    return torch.from_numpy(x), torch.from_numpy(y)


def run(a, seed, x, y):
    return Augmenter(a, SPECTRO, torch.Generator().manual_seed(seed))(x.clone(), y.clone())


def test_same_seed_same_batch_other_seed_other_batch():
    a = args(*ALL_ON)
    x, y = batch()
    x1, y1 = run(a, 5, x, y)
    x2, y2 = run(a, 5, x, y)
    x3, _ = run(a, 6, x, y)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, x3)
    assert not torch.equal(x1, x)  # it did something


@pytest.mark.parametrize("flags", [[], ALL_ON])
def test_shape_range_and_labels(flags):
    x, y = batch()
    out_x, out_y = run(args(*flags), 0, x, y)
    assert out_x.shape == x.shape and out_x.dtype == torch.float32
    assert torch.isfinite(out_x).all() and out_x.min() >= 0 and out_x.max() <= 255
    assert out_y.shape == y.shape and torch.allclose(out_y.sum(1), torch.ones(len(y)))  # mixup keeps sums
    assert (out_y.max(1).values >= 0.5).all()  # the first image keeps the larger share


def test_silence_stays_silence():
    # No geometry (it moves the padding), every level augmentation on: the silent last quarter
    # of each image (all zero) must come out all zero, reverb tails and noise floors included.
    a = args(*ALL_ON, "--time-shift", "0", "--time-stretch", "0", "--freq-warp", "0", "--freq-shift", "0",
             "--time-masks", "0", "--freq-masks", "0")
    x, y = batch()
    for seed in range(5):
        out, _ = run(a, seed, x, y)
        assert torch.equal(out[..., 24:], torch.zeros_like(out[..., 24:])), seed
        assert (out[..., :24] > 0).float().mean() > 0.5, seed  # and the sound is still there


def test_all_off_changes_nothing():
    a = args("--time-shift", "0", "--time-stretch", "0", "--freq-warp", "0", "--freq-shift", "0", "--eq-p", "0",
             "--gain-p", "0", "--noise-p", "0", "--time-masks", "0", "--freq-masks", "0", "--mixup-p", "0")
    x, y = batch()
    out_x, out_y = run(a, 0, x, y)
    assert torch.allclose(out_x, x, atol=1e-3) and torch.equal(out_y, y)


def test_mel_of_hz_is_librosas():
    librosa = pytest.importorskip("librosa")
    for hz in (0.0, 200.0, 999.0, 1000.0, 3400.0, 8000.0):
        assert mel_of_hz(hz, "slaney") == pytest.approx(float(librosa.hz_to_mel(hz)), rel=1e-12, abs=1e-12)
        assert mel_of_hz(hz, "htk") == pytest.approx(float(librosa.hz_to_mel(hz, htk=True)), rel=1e-12, abs=1e-12)
