"""model.json as emoclass_train.formats writes it, and the scripts end to end on a generated
dataset: train.py (twice: the same weights), export_bundle.py (checked in OpenCV DNN)."""
import json
import shutil

import pytest
import torch

from conftest import LABELS, SOURCE_DIR, make_dataset, read_manifest_rows, run_script
from emoclass_train import Error
from emoclass_train.formats import model_json, training_data, write_json

FIXTURES = SOURCE_DIR / "tests" / "fixtures"


def test_model_json_is_the_fixture_bundles(tmp_path):
    fixture = FIXTURES / "tiny_bundle" / "model.json"
    spectro = json.loads(fixture.read_text())["spectro"]
    write_json(tmp_path / "model.json", model_json("tiny-test-bundle", LABELS, 1, 128, 128, "gray", spectro))
    assert (tmp_path / "model.json").read_bytes() == fixture.read_bytes()
    assert not list(tmp_path.glob("*.tmp"))
    m = model_json("x", ["a", "b"], 3, 64, 32, "viridis", {}, "logits")
    assert m["input"]["mean"] == [0.0] * 3 and m["input"]["std"] == [1.0] * 3 and m["output"] == "logits"
    assert list(m) == ["format", "format_version", "name", "labels", "output", "input", "spectro", "window"]


def test_training_data():
    rows = [{"split": s, "corpus": c, "speaker": p} for s, c, p in
            [("train", "b", "2"), ("train", "a", "9"), ("train", "a", "1"), ("train", "a", "9"), ("test", "a", "5")]]
    assert training_data(rows) == {"train": {"a": ["1", "9"], "b": ["2"]}, "test": {"a": ["5"]}}
    assert list(training_data(rows)) == ["train", "test"]
    with pytest.raises(Error, match=r"manifest has splits other than train, val, test: \['dev'\]"):
        training_data(rows + [{"split": "dev", "corpus": "a", "speaker": "1"}])


def weights(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state_dict"]


def test_train_then_export(tmp_path):
    ds = tmp_path / "ds"
    make_dataset(ds, per_split={"train": 2, "val": 1, "test": 1})
    flags = ["--epochs", "1", "--batch", "8", "--threads", "1", "--scale", "n", "--seed", "4",
             "--telephone-p", "0.5", "--reverb-p", "0.5", "--corpus-adversary", "0.3"]
    a = run_script("train.py", ds, "--out", tmp_path / "a", *flags)
    run_script("train.py", ds, "--out", tmp_path / "b", *flags)
    assert "epoch   1/1 loss" in a.stdout and "TEST (report only" in a.stdout
    wa, wb = weights(tmp_path / "a" / "best.pt"), weights(tmp_path / "b" / "best.pt")
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    summary = json.loads((tmp_path / "a" / "train.json").read_text())
    assert summary["labels"] == LABELS and summary["best"]["epoch"] == 1

    out = run_script("export_bundle.py", tmp_path / "a" / "best.pt", "--dataset", ds, "--name", "gen",
                     "--models-dir", tmp_path / "models", "--verify", "4")
    assert "same top class 4/4" in out.stdout
    bundle = json.loads((tmp_path / "models" / "gen" / "model.json").read_text())
    spectro = json.loads((ds / "spectro.json").read_text())
    want = model_json("gen", LABELS, 1, 32, 32, "gray", spectro)
    want["training_data"] = training_data(read_manifest_rows(ds / "manifest.csv"))
    assert bundle == want
    # --training-data-only rewrites that key alone, from another manifest.
    shutil.copy(ds / "manifest.csv", tmp_path / "m.csv")
    rows = read_manifest_rows(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("corpus,speaker,split\n" + "".join(
        f"{r['corpus']},{r['speaker']},train\n" for r in rows))
    run_script("export_bundle.py", "--training-data-only", "--manifest", tmp_path / "m.csv", "--name", "gen",
               "--models-dir", tmp_path / "models")
    again = json.loads((tmp_path / "models" / "gen" / "model.json").read_text())
    assert list(again["training_data"]) == ["train"] and {k: v for k, v in again.items() if k != "training_data"} == \
        {k: v for k, v in bundle.items() if k != "training_data"}


def test_scripts_report_bad_input_in_one_line(tmp_path):
    r = run_script("train.py", tmp_path / "none", "--out", tmp_path / "o", check=False)
    assert r.returncode == 2 and r.stderr == (f"train: error: {tmp_path}/none/manifest.csv: missing "
                                              f"(is {tmp_path}/none a spectro-dump dataset folder?)\n")
    (tmp_path / "m.csv").write_text("corpus,split\nx,train\n")
    (tmp_path / "models" / "b").mkdir(parents=True)
    (tmp_path / "models" / "b" / "model.json").write_text("{}")
    r = run_script("export_bundle.py", "--training-data-only", "--manifest", tmp_path / "m.csv", "--name", "b",
                   "--models-dir", tmp_path / "models", check=False)
    assert r.returncode == 1 and r.stderr == (f"export_bundle: error: {tmp_path}/m.csv: needs the columns "
                                              "corpus,speaker,split (a spectro-dump manifest)\n")
    (tmp_path / "bad.json").write_text('{"image": {"frames": 0}}')
    r = run_script("make_manifest.py", FIXTURES / "ultralytics_like" / "model.onnx", "--spectro", tmp_path / "bad.json",
                   "--out", tmp_path / "u", check=False)
    assert r.returncode == 2 and r.stderr.startswith(f"make_manifest: error: {tmp_path}/bad.json: image.frames must be")
    assert len(r.stderr.splitlines()) == 1


def test_stem_stride_4_trains_and_exports(tmp_path):
    """--stem-stride 4 (bench/shape_probe.py): recorded in the checkpoint's arch, rebuilt by
    export_bundle.py, and the exported graph matches PyTorch in OpenCV DNN."""
    ds = tmp_path / "ds"
    make_dataset(ds, per_split={"train": 2, "val": 1, "test": 1})
    run_script("train.py", ds, "--out", tmp_path / "a", "--epochs", "1", "--batch", "8", "--threads", "1",
               "--seed", "4", "--stem-stride", "4")
    ck = torch.load(tmp_path / "a" / "best.pt", map_location="cpu", weights_only=False)
    assert ck["arch"]["stem_stride"] == 4
    first = next(v for k, v in ck["state_dict"].items() if k.endswith("conv.weight"))
    assert first.shape[1] == 1  # the stem reads the gray image
    out = run_script("export_bundle.py", tmp_path / "a" / "best.pt", "--dataset", ds, "--name", "s4",
                     "--models-dir", tmp_path / "models", "--verify", "4")
    assert "same top class 4/4" in out.stdout
    # Without the option the arch stays as earlier checkpoints wrote it.
    run_script("train.py", ds, "--out", tmp_path / "b", "--epochs", "1", "--batch", "8", "--threads", "1", "--seed", "4")
    assert "stem_stride" not in torch.load(tmp_path / "b" / "best.pt", map_location="cpu", weights_only=False)["arch"]
