#!/usr/bin/python3
"""How a model holds up under recording conditions it was not trained on.

    scripts/robustness.py --manifest dataset/manifest.csv --split test --out /tmp/robust \
        [--model models/default] [--conditions clean noise20 noise10 reverb telephone] [-j 2]

Takes the split's source files from a spectro-dump manifest (speakers the model never trained
on), makes a degraded copy of each file per condition, runs `emoclass eval` on every condition's
folder and prints one markdown table (also written to OUT/robustness.md, with the raw reports
as OUT/<condition>.json). Conditions, all deterministic (seeded per file name):

  clean      the decoded file, unchanged, as 32-bit float WAV (the control: it must match
             `emoclass eval` on the originals)
  noise20    pink noise added at 20 dB SNR (speech power measured over the frames within 30 dB
  noise10    of the loudest 20 ms frame, so pauses do not lower the signal level), and at 10 dB
  reverb     a synthetic room: exponentially decaying noise impulse response, RT60 0.5 s,
             direct-to-reverberant ratio about 0 dB
  telephone  sox: 8 kHz, 300-3400 Hz band, GSM 06.10 full-rate codec round trip (what a
             mobile call does to a voice); emoclass resamples it back to 16 kHz itself

Decoding uses python3-soundfile (libsndfile, as emoclass), the telephone chain the `sox` tool.
The degraded copies keep the corpus file names, so eval reads the labels from them as usual.
Use --split val when a result is to guide a choice: the test split is for reporting only.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import zlib

import numpy as np
import soundfile as sf

from emoclass_train import Error
from emoclass_train.formats import CORPUS_MANIFEST_COLUMNS, read_manifest_file, write_manifest

REPO = pathlib.Path(__file__).resolve().parent.parent
CONDITIONS = ("clean", "noise20", "noise10", "reverb", "telephone")


def fail(msg):
    print(f"robustness: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def speech_power(x, sr):
    """Mean power over the 20 ms frames within 30 dB of the loudest one (active speech)."""
    hop = max(1, int(0.02 * sr))
    n = len(x) // hop
    if n == 0:
        return float(np.mean(x ** 2)) if len(x) else 0.0
    p = np.mean(x[:n * hop].reshape(n, hop) ** 2, axis=1)
    active = p[p >= p.max() * 1e-3]
    return float(active.mean())


def pink_noise(n, rng):
    """1/f power spectrum noise, unit power."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    noise = np.fft.irfft(spec / np.sqrt(f), n)
    return noise / np.sqrt(np.mean(noise ** 2))


def add_noise(x, sr, snr_db, rng):
    ps = speech_power(x, sr)
    if ps <= 0:
        return x
    return x + pink_noise(len(x), rng) * np.sqrt(ps / 10 ** (snr_db / 10))


def reverb(x, sr, rng, rt60=0.5):
    """Convolution with a synthetic room response: a direct path, then decaying noise whose
    energy roughly equals the direct path's (DRR about 0 dB). Output rescaled to the input's peak."""
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # -60 dB at rt60
    tail[: int(0.002 * sr)] = 0.0  # the first reflections arrive after ~2 ms
    tail *= 1.0 / np.sqrt(np.sum(tail ** 2))
    h = tail
    h[0] = 1.0
    m = len(x) + n - 1
    size = 1 << (m - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: len(x)]
    peak = np.max(np.abs(y))
    return y * (np.max(np.abs(x)) / peak) if peak > 0 else y


def telephone(src_wav, dst_wav):
    gsm = dst_wav.with_suffix(".gsm")
    # -D: no dither. sox dithers with fresh random noise on each run, and the GSM coder turns
    # that into different (equally degraded) output, so the condition would not repeat.
    subprocess.run(["sox", "-V1", "-D", str(src_wav), "-r", "8000", "-c", "1", str(gsm), "sinc", "300-3400"], check=True)
    subprocess.run(["sox", "-V1", "-D", str(gsm), "-e", "signed-integer", "-b", "16", str(dst_wav)], check=True)
    gsm.unlink()


def read_sources(manifest, split):
    try:
        rows = read_manifest_file(manifest, {"source", "split", "label", "speaker", "corpus"}, " (a spectro-dump manifest)")
    except Error as e:
        fail(str(e))
    rows = [r for r in rows if r["split"] == split]
    if not rows:
        fail(f"{manifest}: no rows in split '{split}'")
    return rows


def make_conditions(conds, rows, out):
    """Writes OUT/<condition>/<corpus>/<file name>.wav for every condition and row, decoding each
    source once, and OUT/<condition>/manifest.csv naming each copy's label, speaker and corpus (so
    every corpus is scored, whether or not its file names carry the speaker); returns the
    manifests by condition."""
    folders = {cond: out / cond for cond in conds}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    for r in rows:
        src = pathlib.Path(r["source"])
        x, sr = sf.read(str(src), dtype="float64", always_2d=True)
        x = x.mean(axis=1)
        for cond, folder in folders.items():
            dst = folder / r["corpus"] / (src.stem + ".wav")
            dst.parent.mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng(zlib.crc32(f"{cond}/{src.name}".encode()))
            if cond == "telephone":
                tmp = dst.with_name(dst.stem + ".src.wav")
                sf.write(str(tmp), np.clip(x, -1, 1), sr, subtype="FLOAT")
                telephone(tmp, dst)
                tmp.unlink()
                continue
            if cond in ("noise20", "noise10"):
                y = add_noise(x, sr, float(cond[5:]), rng)
            elif cond == "reverb":
                y = reverb(x, sr, rng)
            else:  # clean
                y = x
            sf.write(str(dst), y, sr, subtype="FLOAT")
    manifests = {}
    for cond, folder in folders.items():
        manifests[cond] = folder / "manifest.csv"
        write_manifest(manifests[cond], [dict(r, path=f"{r['corpus']}/{pathlib.Path(r['source']).stem}.wav")
                                         for r in rows], CORPUS_MANIFEST_COLUMNS)
    return manifests


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", type=pathlib.Path, required=True, help="spectro-dump manifest.csv")
    p.add_argument("--split", default="test")
    p.add_argument("--out", type=pathlib.Path, required=True, help="work folder (degraded copies, reports)")
    p.add_argument("--model", default=str(REPO / "models" / "default"))
    p.add_argument("--emoclass", default=str(REPO / "build" / "classify" / "emoclass"))
    p.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    p.add_argument("-j", "--jobs", type=int, default=2, help="emoclass eval -j")
    a = p.parse_args()
    if not pathlib.Path(a.emoclass).is_file():
        fail(f"{a.emoclass}: not built (bash scripts/build.sh)")
    if "telephone" in a.conditions and shutil.which("sox") is None:
        fail("the telephone condition needs the sox tool (apt install sox)")
    rows = read_sources(a.manifest, a.split)
    a.out.mkdir(parents=True, exist_ok=True)
    print(f"making {len(rows)} files x {len(a.conditions)} conditions", file=sys.stderr, flush=True)
    manifests = make_conditions(a.conditions, rows, a.out)
    results = {}
    for cond, manifest in manifests.items():
        print(f"{cond}: emoclass eval", file=sys.stderr, flush=True)
        cmd = [a.emoclass, "--model", a.model, "eval", "-q", "--json", "-j", str(a.jobs), "--manifest", str(manifest)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            fail(f"{' '.join(cmd)} failed: {run.stderr.strip()}")
        report = json.loads(run.stdout)
        (a.out / f"{cond}.json").write_text(run.stdout)
        results[cond] = report
    corpora = sorted({c for r in results.values() for c in r.get("corpora", {})})
    lines = [f"Model `{a.model}`, split `{a.split}` of `{a.manifest}` ({len(rows)} files); accuracy (macro-F1).", "",
             "| condition | all | " + " | ".join(corpora) + " |",
             "|---|---|" + "---|" * len(corpora)]
    for cond, r in results.items():
        cells = [f"{100 * r['accuracy']:.1f} % ({100 * r['macro_f1']:.1f})"]
        for c in corpora:
            pc = r.get("corpora", {}).get(c)
            cells.append(f"{100 * pc['accuracy']:.1f} % ({100 * pc['macro_f1']:.1f})" if pc else "-")
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    (a.out / "robustness.md").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
