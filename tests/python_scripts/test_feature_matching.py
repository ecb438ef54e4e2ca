"""Feature-matching distillation (train.py --teacher-features/--feature-weight): the loss, the
teacher features' lookup and standardisation, that a held-out corpus's features are never used,
and that the projector stays out of checkpoints and exports."""
import math

import numpy as np
import pytest
import torch

from conftest import make_dataset, read_manifest_rows, run_script, write_manifest
from emoclass_train import Error
from emoclass_train.dataset import load_teacher_features
from emoclass_train.model import YOLOv8Cls, build_model
from emoclass_train.training import FeatureMatcher, feature_matching_loss

TINY_BACKBONE = (("Conv", 1, (16, 3, 2)), ("Conv", 1, (32, 3, 2)))


def test_loss_is_the_mean_cosine_distance_over_valid_rows():
    predicted = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [3.0, 4.0]])
    target = torch.tensor([[2.0, 0.0], [1.0, 0.0], [5.0, 5.0], [-3.0, -4.0]])
    valid = torch.tensor([True, True, False, True])
    # cos: 1 (same direction, other norm), 1/sqrt(2), row 3 skipped, -1 (opposite).
    want = ((1 - 1) + (1 - 1 / math.sqrt(2)) + (1 - -1)) / 3
    assert feature_matching_loss(predicted, target, valid).item() == pytest.approx(want, abs=1e-6)
    none = feature_matching_loss(predicted.requires_grad_(), target, torch.zeros(4, dtype=torch.bool))
    assert none.item() == 0.0
    none.backward()  # no valid row: a zero that still backpropagates (a batch without teacher features)
    assert torch.equal(predicted.grad, torch.zeros_like(predicted))


def test_matcher_reads_the_pooled_features_before_dropout_and_adds_no_weights():
    torch.manual_seed(0)
    model = YOLOv8Cls(1, 6, "n", dropout=0.9, backbone=TINY_BACKBONE, head_channels=24).train()
    keys = list(model.state_dict())
    matcher = FeatureMatcher(24, 5)
    matcher.attach(model)
    x = torch.rand(4, 1, 16, 16)
    head = model.model[-1]
    with torch.no_grad():
        want = head.pool(head.conv(model.model[:-1](x))).flatten(1)
    model(x)
    assert torch.equal(matcher.features, want)  # dropout (p=0.9) zeroes most of what the classifier sees
    assert list(model.state_dict()) == keys
    loss = matcher.loss(torch.randn(4, 5), torch.ones(4, dtype=torch.bool))
    loss.backward()
    assert matcher.proj.weight.grad.abs().sum() > 0 and model.model[0].conv.weight.grad.abs().sum() > 0


def write_npz(path, rows, value):
    """Teacher features for manifest rows: value(row, index) -> an 8-vector."""
    feats = np.array([value(r, i) for i, r in enumerate(rows)], np.float32)
    np.savez(path, features=feats, source=np.array([r["source"] for r in rows]),
             corpus=np.array([r["corpus"] for r in rows]), split=np.array([r["split"] for r in rows]))


def test_standardised_with_the_training_files_only(tmp_path):
    rows = [{"source": f"{c}{i}", "corpus": c, "split": "train"} for c in ("a", "b", "held") for i in range(4)]
    rng = np.random.default_rng(3)
    # The held-out corpus's features are huge: taken into the statistics, they would show.
    write_npz(tmp_path / "t.npz", rows, lambda r, i: rng.normal(1e6 if r["corpus"] == "held" else i, 1 + i, 8))
    with np.load(tmp_path / "t.npz") as z:
        raw = z["features"].astype(np.float64)
    sources = ["b1", "a0", "missing", "a2", "b3"]
    feats, has, used, unused = load_teacher_features(tmp_path / "t.npz", sources)
    assert has.tolist() == [True, True, False, True, True]
    picked = raw[[5, 0, 2, 7]]
    want = (picked - picked.mean(0)) / picked.std(0)
    np.testing.assert_allclose(feats[has], want, rtol=1e-5, atol=1e-5)
    assert feats.dtype == np.float32 and not feats[2].any()
    assert used == {"a": 2, "b": 2} and unused == {"a": 2, "b": 2, "held": 4}


def test_refusals(tmp_path):
    rows = [{"source": f"s{i}", "corpus": "a", "split": "train"} for i in range(3)]
    write_npz(tmp_path / "t.npz", rows, lambda r, i: [float("nan") if i == 1 else i] * 8)
    with pytest.raises(Error, match="none of the 1 training files has teacher features"):
        load_teacher_features(tmp_path / "t.npz", ["other"])
    with pytest.raises(Error, match="teacher features of training files must be finite"):
        load_teacher_features(tmp_path / "t.npz", ["s0", "s1"])
    load_teacher_features(tmp_path / "t.npz", ["s0", "s2"])  # a bad row no training file uses is fine
    np.savez(tmp_path / "dup.npz", features=np.zeros((2, 8), np.float32), source=np.array(["s", "s"]))
    with pytest.raises(Error, match="source s appears twice"):
        load_teacher_features(tmp_path / "dup.npz", ["s"])
    np.savez(tmp_path / "nofeat.npz", source=np.array(["s"]))
    with pytest.raises(Error, match="needs the arrays features and source"):
        load_teacher_features(tmp_path / "nofeat.npz", ["s"])
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(Error, match="cannot be read as an .npz file"):
        load_teacher_features(tmp_path / "junk.npz", ["s"])


def test_held_out_corpus_unused_and_projector_not_exported(tmp_path):
    make_dataset(tmp_path / "ds")
    rows = read_manifest_rows(tmp_path / "ds" / "manifest.csv")
    for r in rows:  # one source per image, as in a real dataset (the generator reuses names across splits)
        r["source"] = f"{r['split']}/{r['source']}"
    write_manifest(tmp_path / "ds" / "manifest.csv", rows)
    run_script("holdout_corpus.py", tmp_path / "ds", "--corpus", "alpha", "-o", tmp_path / "view")
    # Every file but beta's training files gets NaN features: train.py stops with an error if it
    # reads any of them (held-out alpha, now all in the view's test split, or beta's val/test).
    rng = np.random.default_rng(5)
    write_npz(tmp_path / "t.npz", rows, lambda r, i: rng.normal(0, 1, 8) if (r["corpus"], r["split"]) == (
        "beta", "train") else np.full(8, np.nan))
    flags = ["--epochs", "1", "--batch", "8", "--threads", "1", "--scale", "n", "--seed", "2"]
    fm = run_script("train.py", tmp_path / "view", "--out", tmp_path / "fm", *flags,
                    "--teacher-features", tmp_path / "t.npz", "--feature-weight", "1")
    assert ("8 per file, for 24 of 24 training images, weight 1; rows used beta:24; "
            "never used alpha:36 beta:12") in fm.stdout
    assert "TEST (report only" in fm.stdout
    feature_loss = float(fm.stdout.split("| feature loss ")[1].split()[0])
    assert 0.0 < feature_loss < 2.0  # finite: no NaN row reached a target or the statistics
    ck = torch.load(tmp_path / "fm" / "best.pt", map_location="cpu", weights_only=False)
    plain = build_model(ck["arch"]).state_dict()  # the network alone, as a run without the flags saves it
    assert list(ck["state_dict"]) == list(plain)
    assert all(ck["state_dict"][k].shape == plain[k].shape for k in plain)
    assert all(torch.isfinite(v).all() for v in ck["state_dict"].values() if v.dtype.is_floating_point)
    out = run_script("export_bundle.py", tmp_path / "fm" / "best.pt", "--dataset", tmp_path / "view", "--name", "fm",
                     "--models-dir", tmp_path / "models", "--verify", "4")
    assert "same top class 4/4" in out.stdout
    import onnx
    graph = onnx.load(str(next((tmp_path / "models" / "fm").glob("*.onnx")))).graph
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim][1:] == [6]
    assert not any("proj" in t.name for t in graph.initializer)
    bad = run_script("train.py", tmp_path / "view", "--out", tmp_path / "x", *flags, "--feature-weight", "1",
                     check=False)
    assert bad.returncode == 2 and bad.stderr == "train: error: --feature-weight needs --teacher-features FILE\n"


def test_band_norm_removes_a_fixed_offset_per_band_and_is_not_exportable(tmp_path):
    from emoclass_train.model import CKPT_FORMAT, InputMaker, band_normalise
    g = torch.Generator().manual_seed(0)
    base = torch.zeros(2, 1, 16, 12)
    base[..., :8] = 100 + 100 * torch.rand(2, 1, 16, 8, generator=g)  # voiced columns; 4 silent ones
    offset = torch.linspace(-5, 5, 16).view(1, 1, 16, 1)                 # a microphone's colouring
    shifted = base + offset * (base > 0)
    # The voiced columns come out the same; the silent ones (left at 0) move by minus the offset.
    assert torch.allclose(band_normalise(shifted)[..., :8], band_normalise(base)[..., :8], atol=1e-4)
    assert torch.allclose(band_normalise(shifted)[..., 8:] - band_normalise(base)[..., 8:], -offset.expand(2, 1, 16, 4),
                          atol=1e-4)
    # Voiced columns average to 128 in every band; the silent ones are only shifted, not counted.
    assert torch.allclose(band_normalise(base)[..., :8].mean(3), torch.full((2, 1, 16), 128.0), atol=1e-3)
    assert torch.allclose(InputMaker(None, 1)(base), base / 255.0)  # off unless asked for
    ck = tmp_path / "bn.pt"
    torch.save({"format": CKPT_FORMAT, "arch": {}, "labels": [], "image": {}, "args": {"band_norm": True}}, ck)
    r = run_script("export_bundle.py", ck, "--dataset", tmp_path, "--name", "x", "--models-dir", tmp_path, check=False)
    assert r.returncode == 1 and r.stderr == (f"export_bundle: error: {ck}: trained with --band-norm, an input "
                                              "emoclass does not make (not exportable)\n")
