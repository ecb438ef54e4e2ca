"""holdout_corpus.py's view and teacher_features.py's speaker folds, encoder lengths and model.bin walk."""
import os

import numpy as np

from conftest import make_dataset, read_manifest_rows, run_script
from holdout_corpus import holdout_rows
from teacher_features import N_SAMPLES, STATE_SAMPLES, encoder_frames, speaker_folds


def row(corpus, split, name):
    return {"source": name, "corpus": corpus, "split": split, "image": f"{split}/{name}.png"}


def test_holdout_rows():
    rows = [row("a", "train", "a1"), row("a", "val", "a2"), row("a", "test", "a3"),
            row("b", "train", "b1"), row("b", "val", "b2"), row("b", "test", "b3")]
    view = holdout_rows(rows, "a")
    # a: train and val rows become test (images stay where they are), its own test speakers go;
    # b: train and val as they were, its test rows go.
    assert view == [dict(row("a", "train", "a1"), split="test"), dict(row("a", "val", "a2"), split="test"),
                    row("b", "train", "b1"), row("b", "val", "b2")]
    assert rows[0]["split"] == "train"  # the input is not changed
    assert holdout_rows(rows, "c") == [r for r in rows if r["split"] != "test"]


def test_holdout_corpus_command(tmp_path):
    make_dataset(tmp_path / "ds")
    out = run_script("holdout_corpus.py", tmp_path / "ds", "--corpus", "alpha", "-o", tmp_path / "view")
    assert out.stdout.splitlines() == ["train beta 24", "val   beta 6", "test  alpha 30",
                                       "held out: alpha (30 images as test; its 6 test-split images left out)"]
    view = read_manifest_rows(tmp_path / "view" / "manifest.csv")
    assert view == holdout_rows(read_manifest_rows(tmp_path / "ds" / "manifest.csv"), "alpha")
    for split in ("train", "val", "test"):
        assert os.readlink(tmp_path / "view" / split) == str((tmp_path / "ds" / split).resolve())
    assert all((tmp_path / "view" / r["image"]).is_file() for r in view)
    bad = run_script("holdout_corpus.py", tmp_path / "ds", "--corpus", "gamma", "-o", tmp_path / "v2", check=False)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("manifest.csv: no corpus 'gamma' (it has alpha, beta)")
    assert not (tmp_path / "v2").exists()


def test_speaker_folds():
    corpus = np.array(["x", "x", "x", "x", "y", "y", "y", "x"])
    speaker = np.array(["s3", "s1", "s2", "s1", "s9", "s8", "s9", "s4"])
    fold = speaker_folds(corpus, speaker, 2)
    # Sorted speakers dealt round-robin per corpus: x: s1 0, s2 1, s3 0, s4 1; y: s8 0, s9 1.
    assert fold.tolist() == [0, 0, 1, 0, 1, 0, 1, 1]
    rng = np.random.default_rng(1)
    corpus = rng.choice(["a", "b", "c"], 500)
    speaker = np.array([f"p{i}" for i in rng.integers(0, 12, 500)])
    fold = speaker_folds(corpus, speaker, 5)
    for c in "abc":
        for s in set(speaker[corpus == c]):  # one fold per speaker
            assert len(set(fold[(corpus == c) & (speaker == s)])) == 1
        assert set(fold[corpus == c]) == set(range(5))  # every fold has speakers of every corpus


def test_encoder_frames():
    assert encoder_frames(16000, True) == 3000  # Whisper's 30 s window
    assert encoder_frames(0, False) == 2
    assert encoder_frames(1, False) == 2
    assert encoder_frames(STATE_SAMPLES, False) == 2  # one 20 ms state = two 10 ms mel frames
    assert encoder_frames(STATE_SAMPLES + 1, False) == 4
    assert encoder_frames(3 * 16000, False) == 300
    assert encoder_frames(N_SAMPLES, False) == 3000
    assert encoder_frames(10 * N_SAMPLES, False) == 3000  # never past the window


def test_bad_manifests_are_one_line(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.csv").write_text("source,corpus,split\na.wav,x,train\n")
    r = run_script("holdout_corpus.py", tmp_path / "ds", "--corpus", "x", "-o", tmp_path / "v", check=False)
    assert r.returncode == 2 and r.stderr == (f"holdout_corpus: error: {tmp_path}/ds/manifest.csv: needs the columns "
                                              "corpus,image,split (a spectro-dump manifest)\n")
    (tmp_path / "ds" / "manifest.csv").write_text("source,corpus,speaker,label,split\na.wav,x,s1,angry,train\n")
    r = run_script("robustness.py", "--manifest", tmp_path / "ds" / "manifest.csv", "--out", tmp_path / "r",
                   "--emoclass", "/bin/true", "--split", "val", "--conditions", "clean", check=False)
    assert r.returncode == 2 and r.stderr == f"robustness: error: {tmp_path}/ds/manifest.csv: no rows in split 'val'\n"
    (tmp_path / "ds" / "manifest.csv").write_text("file,split\na.wav,test\n")
    r = run_script("robustness.py", "--manifest", tmp_path / "ds" / "manifest.csv", "--out", tmp_path / "r",
                   "--emoclass", "/bin/true", "--conditions", "clean", check=False)
    assert r.returncode == 2 and r.stderr == (f"robustness: error: {tmp_path}/ds/manifest.csv: needs the columns "
                                              "corpus,label,source,speaker,split (a spectro-dump manifest)\n")


def ct2_model_bin(variables):
    """A CTranslate2 model.bin (binary version 6) holding the given (name, float32 array) pairs."""
    import struct

    def text(s):
        b = s.encode() + b"\0"
        return struct.pack("<H", len(b)) + b

    out = struct.pack("<I", 6) + text("WhisperSpec") + struct.pack("<II", 3, len(variables))
    for name, a in variables:
        a = np.asarray(a, np.float32)
        out += text(name) + struct.pack("<B", a.ndim) + struct.pack("<" + "I" * a.ndim, *a.shape)
        out += struct.pack("<BI", 0, a.nbytes) + a.tobytes()
    return out


def test_pieces_says_what_a_split_model_bin_holds(tmp_path):
    blob = ct2_model_bin([("decoder/w", np.ones((4, 4))), ("encoder/conv", np.ones((8, 8))),
                          ("encoder/ln", np.ones(8))])
    whole = tmp_path / "model.bin"
    whole.write_bytes(blob)
    r = run_script("teacher_features.py", "pieces", whole)
    assert r.stdout.splitlines()[1] == "whole: 3 of 3 (decoder: 1, encoder: 2)"
    assert len(r.stdout.splitlines()) == 2
    # Cut inside encoder/conv's data, in two pieces: joined, they hold the decoder variable only.
    cut = blob.index(b"encoder/conv") + 40
    (tmp_path / "p1").write_bytes(blob[:cut // 2])
    (tmp_path / "p2").write_bytes(blob[cut // 2:cut])
    r = run_script("teacher_features.py", "pieces", tmp_path / "p1", tmp_path / "p2")
    assert r.stdout.splitlines()[1:] == ["whole: 1 of 3 (decoder: 1)",
                                         "the pieces end inside variable 2: encoder/conv; 2 variables are missing"]
    (tmp_path / "short").write_bytes(blob[:5])
    r = run_script("teacher_features.py", "pieces", tmp_path / "short", check=False)
    assert r.returncode == 1 and r.stderr == (f"teacher_features: error: {tmp_path}/short: too short for a "
                                              "CTranslate2 model.bin header\n")


def test_voiced_windows_of_speech_embedding():
    from teacher_features import voiced_windows
    audio = np.zeros(16000, np.float32)
    audio[8000:12000] = 0.5                          # loud in the middle, silent around it
    spans = [(0, 4000), (4000, 8000), (7000, 11000), (12000, 16000), (16000, 20000)]  # the last is past the end
    assert voiced_windows(audio, spans, 35.0).tolist() == [2]
    audio[:4000] = 0.5 * 10 ** (-30 / 20)            # 30 dB below: voiced at 35, not at 20
    assert voiced_windows(audio, spans, 35.0).tolist() == [0, 2]
    assert voiced_windows(audio, spans, 20.0).tolist() == [2]
    assert voiced_windows(np.zeros(100, np.float32), [(0, 50), (50, 100)], 35.0).tolist() == [0, 1]
