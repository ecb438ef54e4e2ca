"""emoclass_train.formats: the defaults a spectro.json leaves out, model.json read back, manifest.csv
written and read. (tests/test_formats_python.cpp holds its definitions to the C++ ones.)"""
import json

import pytest

from emoclass_train import Error
from emoclass_train.formats import (MANIFEST_COLUMNS, SPECTRO_DEFAULTS, default_spectro, model_json, read_manifest,
                                    read_manifest_file, read_model_json, spectro_with_defaults, write_json,
                                    write_manifest)


def test_default_spectro_is_a_fresh_copy_with_changes():
    s = default_spectro(n_mels=64, image={"colormap": "magma"})
    assert s["n_mels"] == 64 and s["image"] == {"frames": 128, "clip_policy": "center", "colormap": "magma"}
    assert list(s) == list(SPECTRO_DEFAULTS)
    s["image"]["frames"] = 1
    assert SPECTRO_DEFAULTS["image"]["frames"] == 128 and SPECTRO_DEFAULTS["n_mels"] == 128


def test_spectro_with_defaults_fills_what_emoclass_would():
    full = spectro_with_defaults({"sample_rate": 22050, "n_fft": 2048, "fmax": None, "image": {"frames": 64}})
    assert full["win_length"] == 2048 and full["fmax"] == 11025.0 and full["hop_length"] == 320
    assert full["image"] == {"frames": 64, "clip_policy": "center", "colormap": "gray"}
    assert spectro_with_defaults({"win_length": 800, "fmax": 7000.0})["win_length"] == 800
    assert spectro_with_defaults({"fmax": 0})["fmax"] == 8000.0
    assert spectro_with_defaults({}) == SPECTRO_DEFAULTS


def test_model_json_reads_back(tmp_path):
    m = model_json("m", ["a", "b"], 1, 32, 32, "gray", default_spectro())
    write_json(tmp_path / "model.json", m)
    assert read_model_json(tmp_path / "model.json") == m
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(Error, match=r"other.json: not an emoclass model.json \(format\)"):
        read_model_json(tmp_path / "other.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(Error, match=r"bad.json: not valid JSON"):
        read_model_json(tmp_path / "bad.json")
    with pytest.raises(Error, match=r"absent.json: cannot be read"):
        read_model_json(tmp_path / "absent.json")


def test_manifest_written_and_read_back(tmp_path):
    rows = [{"source": "a, b.wav", "corpus": "c", "speaker": "1", "label": "sad", "split": "train",
             "image": "train/sad/c_a.png", "extra": "left out"},
            {"source": 'say "no".wav', "corpus": "c", "speaker": "2", "label": "angry", "split": "test",
             "image": "test/angry/c_b.png", "extra": ""}]
    write_manifest(tmp_path / "manifest.csv", rows)
    text = (tmp_path / "manifest.csv").read_bytes().decode()
    assert text.startswith(",".join(MANIFEST_COLUMNS) + "\r\n") and '"a, b.wav"' in text and '"say ""no"".wav"' in text
    assert not list(tmp_path.glob("*.tmp"))
    back = read_manifest(tmp_path)
    assert back == [{k: v for k, v in r.items() if k != "extra"} for r in rows]
    with pytest.raises(Error, match=r"needs the columns corpus,path"):
        read_manifest_file(tmp_path / "manifest.csv", {"path", "corpus"})
    assert json.loads(json.dumps(back))  # plain strings only
