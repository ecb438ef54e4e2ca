"""emoclass_train.dataset and .formats: manifest.csv, spectro.json, image decoding and colour inversion,
the teacher CSV; good files and bad ones (each bad one is one Error naming the file)."""
import csv
import json

import cv2
import numpy as np
import pytest

from conftest import LABELS, make_dataset, read_manifest_rows, write_manifest
from emoclass_train import Error
from emoclass_train.dataset import colormap_lut, load_dataset, load_teacher, rgb_to_index
from emoclass_train.formats import check_spectro, read_manifest, read_manifest_file, read_spectro


@pytest.mark.parametrize("colormap", ["gray", "viridis", "magma"])
def test_load_dataset_recovers_the_db_index(tmp_path, colormap):
    images = make_dataset(tmp_path, colormap)
    lines = []
    data = load_dataset(tmp_path, log=lines.append)
    assert data["labels"] == LABELS and data["corpora"] == ["alpha", "beta"] and data["shape"] == (32, 32)
    assert data["colormap"] == colormap and (data["lut"] is None) == (colormap == "gray")
    assert data["spectro"] == json.loads((tmp_path / "spectro.json").read_text())
    rows = read_manifest_rows(tmp_path / "manifest.csv")
    for split in ("train", "val", "test"):
        srows = [r for r in rows if r["split"] == split]
        got = data[split]
        assert got["x"].dtype == np.uint8 and got["x"].shape == (len(srows), 32, 32)
        for i, r in enumerate(srows):  # the index each pixel was rendered from
            want = images[r["image"]]
            if colormap == "viridis":  # two pairs of its 8-bit entries are one colour each
                want = np.where(want == 112, 113, np.where(want == 130, 129, want))
            assert np.array_equal(got["x"][i], want), r["image"]
        assert got["y"].tolist() == [LABELS.index(r["label"]) for r in srows]
        assert got["corpus"].tolist() == [["alpha", "beta"].index(r["corpus"]) for r in srows]
        assert got["source"] == [r["source"] for r in srows]
        assert got["speakers"] == len({(r["corpus"], r["speaker"]) for r in srows})
    assert len(lines) == 1 and lines[0].startswith(f"decoded {len(rows)} images of 32x32 ({colormap}) in ")


def test_label_order_and_unknown_labels(tmp_path):
    make_dataset(tmp_path)
    order = list(reversed(LABELS))
    assert load_dataset(tmp_path, order)["labels"] == order
    with pytest.raises(Error, match=r"split 'train' has labels outside \['angry', 'sad'\]"):
        load_dataset(tmp_path, ["angry", "sad"])


def test_colormap_tables_are_the_cpp_ones():
    assert colormap_lut("gray") is None
    for name in ("viridis", "magma"):
        lut = colormap_lut(name)
        assert lut.shape == (256, 3) and lut.dtype == np.uint8
        idx, missed = rgb_to_index(lut[None], lut)
        assert missed == 0 and np.array_equal(lut[idx[0]], lut)  # every colour inverts to itself
        # Inversion is exact but where the 8-bit table repeats a colour (viridis 112 = 113 and
        # 129 = 130, as spectro/colormap_tables.inc has them): there one of the two indices is taken.
        moved = [(i, int(j)) for i, j in enumerate(idx[0]) if i != j]
        assert moved == ([(112, 113), (130, 129)] if name == "viridis" else [])
    assert colormap_lut("viridis")[0].tolist() == [68, 1, 84]  # matplotlib's first viridis colour
    with pytest.raises(Error, match="colormap_tables.inc: no table for colormap 'jet'"):
        colormap_lut("jet")


def test_rgb_to_index_takes_the_nearest_colour_for_strangers():
    lut = colormap_lut("viridis")
    img = lut[np.array([[0, 17, 255]], np.uint8)].copy()
    img[0, 1] = np.clip(img[0, 1].astype(int) + [1, -1, 1], 0, 255)  # a colour not in the table
    idx, missed = rgb_to_index(img, lut)
    assert idx.tolist() == [[0, 17, 255]] and missed == 1


def test_manifest_reader(tmp_path):
    make_dataset(tmp_path)
    assert len(read_manifest(tmp_path)) == 2 * 6 * 6
    with pytest.raises(Error, match=r"nowhere/manifest.csv: missing \(is .*nowhere a spectro-dump dataset folder\?\)"):
        read_manifest(tmp_path / "nowhere")
    bad = tmp_path / "bad.csv"
    bad.write_text("source,corpus,label\na.wav,x,sad\n")
    with pytest.raises(Error, match="bad.csv: needs the columns corpus,image,label,source,speaker,split$"):
        read_manifest_file(bad)
    assert read_manifest_file(bad, {"source", "label"}) == [{"source": "a.wav", "corpus": "x", "label": "sad"}]
    bad.write_text("source,corpus,speaker,label,split,image\n")  # a header and no rows
    with pytest.raises(Error, match=r"bad.csv: needs the columns split \(a hint\)$"):
        read_manifest_file(bad, {"split"}, " (a hint)")


def test_spectro_json(tmp_path):
    make_dataset(tmp_path, "viridis")
    spectro, colormap = check_spectro(tmp_path / "spectro.json")
    assert spectro == read_spectro(tmp_path) and colormap == "viridis"
    with pytest.raises(Error, match="nowhere/spectro.json: missing"):
        read_spectro(tmp_path / "nowhere")
    path = tmp_path / "s.json"
    for text, reason in (
            ("{", r"not valid JSON \(Expecting property name enclosed in double quotes, line 1\)"),
            ("[1]", "must be a JSON object"),
            ('{"n_mels": 128, "hop": 1}', "unknown key 'hop'"),
            ('{"n_mels": 128}', "has no 'image' object"),
            ('{"image": {"colormap": "jet"}}', "image.colormap must be one of gray, viridis, magma, got 'jet'"),
            ('{"image": {"frames": 0}}', "image.frames must be a positive integer"),
            ('{"image": {"frames": true}}', "image.frames must be a positive integer")):
        path.write_text(text)
        with pytest.raises(Error, match=f"s.json: {reason}"):
            check_spectro(path)
    with pytest.raises(Error, match=r"absent.json: cannot be read \(No such file or directory\)"):
        check_spectro(tmp_path / "absent.json")


def replace_image(root, rel, img):
    (root / rel).unlink()
    assert cv2.imwrite(str(root / rel), img)


def test_bad_images_are_named(tmp_path):
    make_dataset(tmp_path)
    rel = read_manifest_rows(tmp_path / "manifest.csv")[3]["image"]
    (tmp_path / rel).write_bytes(b"not a png")
    with pytest.raises(Error, match=f"{rel}: cannot be read as an image"):
        load_dataset(tmp_path)
    replace_image(tmp_path, rel, np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(Error, match=f"{rel}: colour image but spectro.json says gray"):
        load_dataset(tmp_path)
    replace_image(tmp_path, rel, np.zeros((32, 32), np.uint16))
    with pytest.raises(Error, match=f"{rel}: expected 8-bit pixels, found uint16"):
        load_dataset(tmp_path)
    replace_image(tmp_path, rel, np.zeros((32, 40), np.uint8))
    with pytest.raises(Error, match=f"{rel}: size 40x32 differs from 32x32 .*image.frames > 0"):
        load_dataset(tmp_path)


def test_gray_image_in_a_colormap_dataset(tmp_path):
    make_dataset(tmp_path, "magma")
    rel = read_manifest_rows(tmp_path / "manifest.csv")[0]["image"]
    replace_image(tmp_path, rel, np.zeros((32, 32), np.uint8))
    with pytest.raises(Error, match=f"{rel}: gray image but spectro.json says a colormap"):
        load_dataset(tmp_path)


def test_empty_manifest_rows(tmp_path):
    make_dataset(tmp_path)
    write_manifest(tmp_path / "manifest.csv", [])
    with pytest.raises(Error, match="manifest.csv: needs the columns"):
        load_dataset(tmp_path)


def write_teacher(path, rows, labels=LABELS):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source"] + labels)
        w.writerows(rows)


def test_load_teacher(tmp_path):
    path = tmp_path / "t.csv"
    write_teacher(path, [["a.wav", 0.5, 0.1, 0.1, 0.1, 0.1, 0.1], ["b.wav", 0, 0, 0, 0, 0, 1],
                         ["unused.wav", 1, 0, 0, 0, 0, 0]])
    probs = load_teacher(path, ["b.wav", "a.wav", "b.wav"], LABELS)
    assert probs.dtype == np.float32 and np.array_equal(probs, np.array(
        [[0, 0, 0, 0, 0, 1], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1], [0, 0, 0, 0, 0, 1]], np.float32))
    # Columns are taken by name, whatever their order in the file.
    write_teacher(path, [["a.wav", 0.2, 0.1, 0.1, 0.1, 0.1, 0.4]], labels=list(reversed(LABELS)))
    assert np.array_equal(load_teacher(path, ["a.wav"], LABELS),
                          np.array([[0.4, 0.1, 0.1, 0.1, 0.1, 0.2]], np.float32))


def test_load_teacher_refuses(tmp_path):
    path = tmp_path / "t.csv"
    write_teacher(path, [["a.wav", 0.5, 0.1, 0.1, 0.1, 0.1, 0.1]])
    with pytest.raises(Error, match=r"t.csv: no teacher probabilities for 2 training files, e.g. b.wav"):
        load_teacher(path, ["a.wav", "b.wav", "c.wav"], LABELS)
    write_teacher(path, [["a.wav", 0.5, 0.1, 0.1, 0.1, 0.1, 0.2]])
    with pytest.raises(Error, match="t.csv: teacher probabilities must be finite and sum to 1 per file"):
        load_teacher(path, ["a.wav"], LABELS)
    write_teacher(path, [["a.wav", "nan", 0.1, 0.1, 0.1, 0.1, 0.6]])
    with pytest.raises(Error, match="must be finite and sum to 1"):
        load_teacher(path, ["a.wav"], LABELS)
    write_teacher(path, [["a.wav", 0.5, 0.5]], labels=["angry", "sad"])
    with pytest.raises(Error, match=r"t.csv: needs the columns source,angry,disgust,fear,happy,neutral,sad"):
        load_teacher(path, ["a.wav"], LABELS)
    path.write_text("")
    with pytest.raises(Error, match="t.csv: needs the columns source,"):
        load_teacher(path, ["a.wav"], LABELS)
