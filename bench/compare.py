#!/usr/bin/python3
"""End-to-end, side-by-side benchmark of emoclass against its peers (issue 5).

    bench/compare.py [--rounds 5] [--clips 40] [--model DIR] [--out bench/results.md] [--quick]

On the same clips (sampled with a fixed seed across the corpora of ../shared/data) and on
generated voice-like audio, interleaved over --rounds rounds whose order alternates, it measures
and reports medians of:
  (a) `emoclass` (the shipped model, or --model) at 1 thread (`-j 1 --threads 1`) and at all
      threads, one process over the clip list (time per clip = wall / N, start-up included), a
      one-clip process (wall incl. start-up and model load), and a generated hour-long file;
  (b) the Python notebook pipeline from Debian packages: soundfile decode, torchaudio
      MelSpectrogram configured as librosa's (the bundle's spectro settings), power_to_db in
      numpy, a matplotlib figure saved as PNG and read back, the same ONNX model via cv2.dnn;
      1 thread (torch.set_num_threads(1), cv2.setNumThreads(1)) and all threads;
  (c) inference alone on identical input tensors: OpenCV DNN as emoclass runs it (bench/infer_only)
      vs ONNX Runtime from npm (bench/node/ort_infer.js, onnxruntime-node), 1 thread and all;
  (d) the spectrogram stage alone (decode -> mel -> dB): bench/spectro_only vs soundfile +
      torchaudio + numpy at one thread, on the clips already at the model's rate (so both sides
      analyse identical samples), with the max |dB difference| between the two outputs;
plus scaling (wall time and peak RSS of emoclass on 1 s .. 1 h of generated audio) and
`spectro-dump --dataset` files/s at 1 and 2 jobs, and (unless --no-stages) the per-stage Google
Benchmark medians. Prints the tables and writes them as markdown (--out).

Needs: the build (cmake --build build --target emoclass spectro-dump bench_stages spectro_only
infer_only make_signal), Debian's python3-torch, -torchaudio, -soundfile, -matplotlib, -opencv,
and `ONNXRUNTIME_NODE_INSTALL=skip npm install` in bench/node. Timings mean something only on an
otherwise idle machine: the report records the load average seen before and after.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = "/usr/bin/python3"


# --------------------------------------------------------------------------------------------
# Workers: the Python peers, each run in a fresh interpreter (`compare.py --worker CONFIG.json`)
# so thread settings and imports do not leak between measurements.
# --------------------------------------------------------------------------------------------

def _power_to_db(S, top_db):
    """librosa.power_to_db(S, ref=np.max, amin=1e-10, top_db) in numpy."""
    import numpy as np
    log_spec = 10.0 * np.log10(np.maximum(1e-10, S))
    log_spec -= 10.0 * np.log10(np.maximum(1e-10, S.max()))
    return np.maximum(log_spec, log_spec.max() - top_db)


def _load_audio(path, rate):
    """soundfile decode, mean of channels, resample to `rate` (librosa.load(sr=rate) style)."""
    import soundfile as sf
    import torch
    import torchaudio.functional as AF
    y, sr = sf.read(path, dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    t = torch.from_numpy(y)
    if sr != rate:
        t = AF.resample(t, sr, rate)
    return t


def _melspec(sp):
    import torchaudio
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sp["sample_rate"], n_fft=sp["n_fft"], win_length=sp["win_length"], hop_length=sp["hop_length"],
        f_min=float(sp["fmin"]), f_max=float(sp["fmax"]), n_mels=sp["n_mels"], power=float(sp["power"]),
        center=sp["center"], pad_mode=sp["pad_mode"], norm="slaney" if sp["mel_norm"] == "slaney" else None,
        mel_scale=sp["mel_scale"])


def _set_threads(n):
    import cv2
    import torch
    if n > 0:
        torch.set_num_threads(n)
        cv2.setNumThreads(n)
    else:
        torch.set_num_threads(os.cpu_count() or 1)
        cv2.setNumThreads(os.cpu_count() or 1)


def worker_notebook(cfg):
    """The notebook pipeline: per clip decode, mel, dB, matplotlib PNG, read back, cv2.dnn.
    Audio longer than one image is cut into windows every hop_s (the bundle's), each a figure."""
    import cv2
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    _set_threads(cfg["threads"])
    bundle = json.loads((Path(cfg["model"]) / "model.json").read_text())
    sp, inp = bundle["spectro"], bundle["input"]
    frames = sp["image"]["frames"]
    hop_frames = max(1, round(bundle["window"]["hop_s"] * sp["sample_rate"] / sp["hop_length"]))
    cmap = "gray" if inp["color"] == "gray" else inp["color"]
    net = cv2.dnn.readNetFromONNX(str(Path(cfg["model"]) / "model.onnx"))
    mel = _melspec(sp)
    png = str(Path(cfg["tmp"]) / "figure.png")
    t_ready = time.perf_counter()

    def figure(db):
        fig = plt.figure(figsize=(inp["width"] / 100, inp["height"] / 100), dpi=100)
        ax = fig.add_axes([0, 0, 1, 1])
        ax.set_axis_off()
        ax.imshow(db, origin="lower", aspect="auto", cmap=cmap, vmin=db.max() - sp["top_db"], vmax=db.max(),
                  interpolation="nearest")
        fig.savefig(png, dpi=100)
        plt.close(fig)
        if inp["channels"] == 1:
            img = cv2.imread(png, cv2.IMREAD_GRAYSCALE)
        else:
            img = cv2.imread(png, cv2.IMREAD_COLOR)
            if inp.get("channel_order", "RGB") == "RGB":
                img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        blob = cv2.dnn.blobFromImage(img, scalefactor=1.0, size=(inp["width"], inp["height"]))
        blob = blob * inp["scale"]
        blob = (blob - np.array(inp["mean"], np.float32).reshape(1, -1, 1, 1)) / \
            np.array(inp["std"], np.float32).reshape(1, -1, 1, 1)
        net.setInput(blob.astype(np.float32))
        return net.forward()[0]

    def clip(path):
        with torch.no_grad():
            y = _load_audio(path, sp["sample_rate"])
            S = mel(y).numpy()
        db = _power_to_db(S, sp["top_db"])
        n = db.shape[1]
        if n <= frames:  # one window, centred, silence around it
            canvas = np.full((db.shape[0], frames), db.min(), np.float32)
            off = (frames - n) // 2
            canvas[:, off:off + n] = db
            probs = [figure(canvas)]
        else:
            starts = list(range(0, n - frames + 1, hop_frames))
            if starts[-1] != n - frames:
                starts.append(n - frames)
            probs = [figure(db[:, s:s + frames]) for s in starts]
        p = np.mean(probs, axis=0)
        return bundle["labels"][int(np.argmax(p))], len(probs)

    clip(cfg["clips"][0])  # warm-up (first-call initialisation in torch, matplotlib, OpenCV)
    t0 = time.perf_counter()
    windows = 0
    labels = []
    for path in cfg["clips"]:
        label, w = clip(path)
        windows += w
        labels.append(label)
    total = time.perf_counter() - t0
    return {"total_s": total, "n": len(cfg["clips"]), "windows": windows, "setup_s": t_ready - START,
            "labels": labels}


def worker_torchaudio(cfg):
    """The spectrogram stage alone at cfg threads: decode, MelSpectrogram, power_to_db."""
    import numpy as np
    import torch
    _set_threads(cfg["threads"])
    sp = json.loads((Path(cfg["model"]) / "model.json").read_text())["spectro"]
    mel = _melspec(sp)

    def one(path):
        with torch.no_grad():
            y = _load_audio(path, sp["sample_rate"])
            S = mel(y).numpy()
        return _power_to_db(S, sp["top_db"])

    out = {"n": len(cfg["clips"])}
    max_diff, compared = 0.0, 0
    for i, path in enumerate(cfg["clips"]):  # warm-up pass, and the check against emoclass's dB
        db = one(path)
        if cfg.get("check_dir"):
            ref = np.load(Path(cfg["check_dir"]) / f"{i}.npy")
            if ref.shape != db.shape:
                raise SystemExit(f"{path}: emoclass gives {ref.shape}, torchaudio {db.shape}")
            max_diff = max(max_diff, float(np.max(np.abs(ref.astype(np.float64) - db.astype(np.float64)))))
            compared += 1
    if compared:
        out["max_abs_diff_db"], out["compared"] = max_diff, compared
    t0 = time.perf_counter()
    for path in cfg["clips"]:
        one(path)
    out["total_s"] = time.perf_counter() - t0
    return out


def run_worker(config_path):
    cfg = json.loads(Path(config_path).read_text())
    result = {"notebook": worker_notebook, "torchaudio": worker_torchaudio}[cfg["kind"]](cfg)
    print(json.dumps(result))


START = time.perf_counter()


# --------------------------------------------------------------------------------------------
# Measurement helpers
# --------------------------------------------------------------------------------------------

def run_timed(cmd, env=None, stdout=subprocess.DEVNULL, check=True):
    """Runs cmd; returns (wall seconds, peak RSS of the child in MiB, captured stdout or None)."""
    capture = stdout is subprocess.PIPE
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    out = p.stdout.read() if capture else None
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if check and p.returncode != 0:
        raise SystemExit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{err.decode(errors='replace')[-2000:]}")
    return wall, ru.ru_maxrss / 1024.0, (out.decode() if capture else None)


def run_json(cmd, env=None):
    _, _, out = run_timed(cmd, env=env, stdout=subprocess.PIPE)
    return json.loads(out.strip().splitlines()[-1])


def med(values):
    return statistics.median(values) if values else float("nan")


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def machine():
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": platform.release()}


def versions(node_dir):
    v = {}
    try:
        out = subprocess.run([PY, "-c", "import torch, torchaudio, cv2, numpy, matplotlib, soundfile;"
                              "print(torch.__version__, torchaudio.__version__, cv2.__version__, numpy.__version__,"
                              " matplotlib.__version__, soundfile.__version__)"],
                             capture_output=True, text=True).stdout.split()
        v.update(zip(["torch", "torchaudio", "opencv-python", "numpy", "matplotlib", "soundfile"], out))
    except OSError:
        pass
    try:
        v["onnxruntime-node"] = json.loads((node_dir / "node_modules/onnxruntime-node/package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        v["onnxruntime-node"] = "not installed"
    return v


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def pick_clips(data, n, seed):
    """n clips spread evenly over the corpora of data/MANIFEST.csv, fixed seed, sorted by corpus."""
    with open(data / "MANIFEST.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    by_corpus = {}
    for r in rows:
        by_corpus.setdefault(r["corpus"], []).append(r)
    rng = random.Random(seed)
    corpora = sorted(by_corpus)
    picked = []
    for i, c in enumerate(corpora):
        k = n // len(corpora) + (1 if i < n % len(corpora) else 0)
        picked += rng.sample(sorted(by_corpus[c], key=lambda r: r["path"]), min(k, len(by_corpus[c])))
    return [(str(data / r["path"]), r) for r in picked]


def fmt_ms(s):
    return f"{s * 1e3:.2f} ms" if s < 10 else f"{s:.1f} s"


def fmt_s(s):
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (order alternates); medians reported")
    ap.add_argument("--clips", type=int, default=40, help="real clips sampled across the corpora")
    ap.add_argument("--seed", type=int, default=0, help="clip sampling seed")
    ap.add_argument("--model", type=Path, help="model bundle [default: models/default, else the tiny test bundle]")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--build", type=Path, default=REPO / "build")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results.md")
    ap.add_argument("--long-s", type=float, default=3600, help="length of the generated long file, seconds")
    ap.add_argument("--long-rounds", type=int, default=1, help="rounds for the long file (the Python side takes minutes)")
    ap.add_argument("--scaling", default="1,10,60,600,3600", help="generated lengths for the scaling table, seconds")
    ap.add_argument("--dataset-files", type=int, default=1000, help="files for spectro-dump --dataset (0: all)")
    ap.add_argument("--infer-clips", type=int, default=8, help="clips whose images feed the inference comparison")
    ap.add_argument("--infer-reps", type=int, default=25, help="forwards per image per round, inference comparison")
    ap.add_argument("--no-stages", action="store_true", help="skip the Google Benchmark per-stage table")
    ap.add_argument("--hi-rates", default="48000,44100",
                    help="rates for the high-rate table: the clips raised to each with sox (empty: skip)")
    ap.add_argument("--only-hi-rates", action="store_true",
                    help="run only the high-rate table (whole path at 44.1/48 kHz, one-clip process)")
    ap.add_argument("--quick", action="store_true", help="tiny run for smoke testing (numbers meaningless)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return run_worker(args.worker)
    if args.quick:
        args.rounds, args.clips, args.long_s, args.scaling = 1, 6, 20, "1,10,60"
        args.dataset_files, args.infer_clips, args.infer_reps = 24, 2, 3

    b = args.build
    exe = {"emoclass": b / "classify" / "emoclass", "spectro-dump": b / "spectro" / "spectro-dump",
           "bench_stages": b / "bench" / "bench_stages", "spectro_only": b / "bench" / "spectro_only",
           "infer_only": b / "bench" / "infer_only", "make_signal": b / "bench" / "make_signal"}
    missing = [str(p) for p in exe.values() if not p.exists()]
    if missing:
        raise SystemExit("build these first (cmake --build build --target ...): " + ", ".join(missing))
    node_dir = REPO / "bench" / "node"
    have_ort = (node_dir / "node_modules" / "onnxruntime-node").exists() and shutil.which("node")
    if not have_ort:
        print("note: onnxruntime-node missing (cd bench/node && ONNXRUNTIME_NODE_INSTALL=skip npm install); "
              "skipping the ONNX Runtime rows", file=sys.stderr)
    if args.model:
        model = args.model.resolve()
    elif (REPO / "models" / "default" / "model.onnx").exists():
        model = REPO / "models" / "default"
    else:
        model = REPO / "tests" / "fixtures" / "tiny_bundle"
    bundle = json.loads((model / "model.json").read_text())
    sp = bundle["spectro"]
    inp = bundle["input"]
    ncpu = os.cpu_count() or 1

    tmp = Path(tempfile.mkdtemp(prefix="emoclass-compare-"))
    load_before = loadavg()
    busy = subprocess.run(["pgrep", "-f", "scripts/train.py"], capture_output=True, text=True).stdout.strip()
    if busy:
        print("WARNING: a training run is active on this machine; these timings are not representative",
              file=sys.stderr)
    started = datetime.datetime.now(datetime.timezone.utc)
    log = lambda *a: print(*a, file=sys.stderr, flush=True)  # noqa: E731
    env1 = dict(os.environ, OMP_NUM_THREADS="1")

    clips = pick_clips(args.data, args.clips, args.seed)
    clip_paths = [p for p, _ in clips]
    audio_s = sum(float(r["duration_s"]) for _, r in clips)
    native = [p for p, r in clips if int(r["sample_rate"]) == sp["sample_rate"]]
    log(f"{len(clips)} clips ({audio_s:.1f} s of audio), model {model}, {args.rounds} rounds")

    # Generated audio: a 3 s clip, the long file and the scaling lengths (16 kHz 16-bit WAV).
    gen = {}
    for secs in sorted({3.0, args.long_s, *[float(x) for x in args.scaling.split(",")]}):
        path = tmp / f"signal_{secs:g}s.wav"
        subprocess.run([str(exe["make_signal"]), str(path), f"{secs:g}", "16000"], check=True)
        gen[secs] = str(path)
    clip3 = gen[3.0]
    long_file = gen[args.long_s]

    R = {}  # name -> list of per-round values (seconds unless said)

    def add(name, value):
        R.setdefault(name, []).append(value)

    def emoclass_cmd(files, threads, int8=False):
        t = ["-j", "1", "--threads", "1"] if threads == 1 else []
        return [str(exe["emoclass"]), "-q", "-f", "jsonl", "-m", str(model), *(["--int8"] if int8 else []), *t, *files]

    def notebook(files, threads, name):
        cfg = tmp / f"nb_{name}.json"
        work = tmp / f"nb_{name}"
        work.mkdir(exist_ok=True)
        cfg.write_text(json.dumps({"kind": "notebook", "threads": threads, "model": str(model), "clips": files,
                                   "tmp": str(work)}))
        wall, rss, out = run_timed([PY, str(Path(__file__).resolve()), "--worker", str(cfg)],
                                   env=env1 if threads == 1 else None, stdout=subprocess.PIPE)
        res = json.loads(out.strip().splitlines()[-1])
        return res, wall, rss

    hi_rate_md = ""
    if args.hi_rates:
        hi_rate_md = hi_rate_table(args, exe, model, clips, tmp, log, emoclass_cmd, notebook)
        if args.only_hi_rates:
            report = (f"Run {started:%Y-%m-%d %H:%M} UTC; load average {load_before:.2f} before, {loadavg():.2f} after.\n"
                      f"Command: `bench/compare.py {' '.join(sys.argv[1:])}`\n\n" + hi_rate_md)
            print(report)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report)
            log(f"written {args.out}")
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
            return
    # ---------------- (a) + (b): whole path on the clips, interleaved ----------------
    log("(a)/(b) whole path on the clips ...")
    cases = [
        ("emo_1", lambda: run_timed(emoclass_cmd(clip_paths, 1))),
        ("emo_all", lambda: run_timed(emoclass_cmd(clip_paths, 0))),
        ("emo_single", lambda: run_timed(emoclass_cmd([clip3], 1))),
        ("nb_1", lambda: notebook(clip_paths, 1, "clips1")),
        ("nb_all", lambda: notebook(clip_paths, 0, "clipsall")),
    ]
    for r in range(args.rounds):
        order = cases if r % 2 == 0 else cases[::-1]
        for name, fn in order:
            out = fn()
            if name.startswith("emo"):
                wall, rss, _ = out
                add(name, wall)
                add(name + "_rss", rss)
            else:
                res, wall, rss = out
                add(name, res["total_s"])
                add(name + "_setup", res["setup_s"])
                add(name + "_rss", rss)
        log(f"  round {r + 1}/{args.rounds} done")

    # Long file: emoclass both thread counts and the notebook pipeline, fewer rounds.
    log(f"long file ({args.long_s:g} s) ...")
    long_cases = [
        ("long_emo_1", lambda: run_timed(emoclass_cmd([long_file], 1))),
        ("long_emo_all", lambda: run_timed(emoclass_cmd([long_file], 0))),
        ("long_nb_1", lambda: notebook([long_file], 1, "long1")),
        ("long_nb_all", lambda: notebook([long_file], 0, "longall")),
    ]
    for r in range(args.long_rounds):
        for name, fn in (long_cases if r % 2 == 0 else long_cases[::-1]):
            out = fn()
            if name.startswith("long_emo"):
                add(name, out[0])
                add(name + "_rss", out[1])
            else:
                res, wall, rss = out
                add(name, res["total_s"])
                add(name + "_rss", rss)
                add(name + "_windows", res["windows"])
        log(f"  long round {r + 1}/{args.long_rounds} done")

    # ---------------- (c) inference alone, identical tensors ----------------
    infer = None
    if args.infer_clips > 0:
        log("(c) inference: OpenCV DNN vs ONNX Runtime ...")
        pngdir = tmp / "pngs"
        step = max(1, len(clip_paths) // args.infer_clips)
        chosen = clip_paths[::step][:args.infer_clips]
        subprocess.run([str(exe["spectro-dump"]), "-q", "-o", str(pngdir), *spectro_flags(sp), *chosen], check=True)
        pngs = sorted(str(p) for p in pngdir.glob("*.png"))
        tensors, cv_out = tmp / "tensors.f32", tmp / "cv_out.f32"
        run_json([str(exe["infer_only"]), "--model", str(model), "--reps", "1", "--tensors", str(tensors),
                  "--outputs", str(cv_out), *pngs])
        infer = {"n": len(pngs)}
        icases = []
        for t in sorted({1, ncpu}):
            icases.append((f"cv_{t}", [str(exe["infer_only"]), "--model", str(model), "--threads", str(t),
                                       "--reps", str(args.infer_reps), *pngs]))
            if have_ort:
                icases.append((f"ort_{t}", ["node", str(node_dir / "ort_infer.js"), str(model / "model.onnx"),
                                            str(tensors), str(len(pngs)), str(inp["channels"]), str(inp["height"]),
                                            str(inp["width"]), str(t), str(args.infer_reps), str(cv_out)]))
        for r in range(args.rounds):
            for name, cmd in (icases if r % 2 == 0 else icases[::-1]):
                res = run_json(cmd)
                add(name, res["median_ms"] / 1e3)
                if name.startswith("ort"):
                    infer["ort_version"] = res["runtime"]
                    infer["max_diff"] = max(infer.get("max_diff", 0.0), res["max_abs_diff_vs_opencv"] or 0.0)
                else:
                    infer["cv_version"] = res["runtime"]

    # ---------------- (d) spectrogram stage alone vs torchaudio ----------------
    log("(d) spectrogram stage: emoclass vs torchaudio, 1 thread ...")
    spec = {"n": len(native), "audio_s": sum(float(r["duration_s"]) for p, r in clips if p in native)}
    if native:
        # The same samples as float WAV: decoding costs next to nothing, so this row times the
        # spectrogram arithmetic itself (the stored clips include CREMA-D's Opus decoding, which
        # is the same libsndfile call on both sides).
        import numpy as np
        import soundfile as sf
        wav_dir = tmp / "wav16"
        wav_dir.mkdir()
        native_wav = []
        for i, path in enumerate(native):
            y, sr = sf.read(path, dtype="float32", always_2d=True)
            dst = wav_dir / f"{i}.wav"
            sf.write(str(dst), y.mean(axis=1).astype(np.float32), sr, subtype="FLOAT")
            native_wav.append(str(dst))
        dump = tmp / "db"
        dump.mkdir()
        run_json([str(exe["spectro_only"]), "--model", str(model), "--dump", str(dump), *native])
        cfg_check = tmp / "ta_check.json"
        cfg_check.write_text(json.dumps({"kind": "torchaudio", "threads": 1, "model": str(model), "clips": native,
                                         "check_dir": str(dump)}))
        chk = run_json([PY, str(Path(__file__).resolve()), "--worker", str(cfg_check)], env=env1)
        spec["max_diff"], spec["compared"] = chk.get("max_abs_diff_db"), chk.get("compared")
        cases = []
        for tag, files in (("", native), ("_wav", native_wav)):
            cfg_time = tmp / f"ta_time{tag}.json"
            cfg_time.write_text(json.dumps({"kind": "torchaudio", "threads": 1, "model": str(model), "clips": files}))
            cases.append((f"spec_emo{tag}", [str(exe["spectro_only"]), "--model", str(model), *files], "totals_s"))
            cases.append((f"spec_ta{tag}", [PY, str(Path(__file__).resolve()), "--worker", str(cfg_time)], "total_s"))
        cases.append(("spec_decode_wav", [str(exe["spectro_only"]), "--decode-only", *native], "totals_s"))
        for r in range(args.rounds):
            for name, cmd, key in (cases if r % 2 == 0 else cases[::-1]):
                res = run_json(cmd, env=env1 if name.startswith("spec_ta") else None)
                add(name, res[key][0] if isinstance(res[key], list) else res[key])

    # ---------------- scaling ----------------
    log("scaling ...")
    lengths = [float(x) for x in args.scaling.split(",")]
    for r in range(max(1, min(args.rounds, 3))):
        for secs in (lengths if r % 2 == 0 else lengths[::-1]):
            if secs >= 600 and r > 0:
                continue  # long runs once
            wall, rss, _ = run_timed(emoclass_cmd([gen[secs]], 1))
            add(f"scale_{secs:g}", wall)
            add(f"scale_{secs:g}_rss", rss)

    # ---------------- spectro-dump --dataset ----------------
    log("spectro-dump --dataset ...")
    if args.dataset_files > 0:
        sub = tmp / "subset"
        for p, r in pick_clips(args.data, args.dataset_files, args.seed + 1):
            dst = sub / r["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            if not dst.exists():
                os.symlink(p, dst)
        roots = [str(sub / c) for c in sorted(os.listdir(sub))]
    else:
        roots = [str(args.data / c) for c in sorted(os.listdir(args.data)) if (args.data / c).is_dir()]
    n_files = sum(1 for root in roots for _d, _s, fs in os.walk(root, followlinks=True) for _ in fs)
    ds_rounds = max(1, min(args.rounds, 2))
    for r in range(ds_rounds):
        for j in ([1, 2] if r % 2 == 0 else [2, 1]):
            out = tmp / f"dataset_{j}_{r}"
            wall, rss, _ = run_timed([str(exe["spectro-dump"]), "-q", "--dataset", *roots, "-o", str(out),
                                      "-j", str(j), *spectro_flags(sp)])
            add(f"ds_{j}", wall)
            add(f"ds_{j}_rss", rss)
            shutil.rmtree(out, ignore_errors=True)

    # ---------------- per-stage Google Benchmark ----------------
    stages = None
    if not args.no_stages:
        log("per-stage Google Benchmark ...")
        reps = max(1, args.rounds)
        _, _, out = run_timed([str(exe["bench_stages"]), "--benchmark_format=json",
                               f"--benchmark_repetitions={reps}", "--benchmark_report_aggregates_only=true",
                               f"--benchmark_min_time={0.05 if args.quick else 0.5}"],
                              env=dict(os.environ, EMOCLASS_BENCH_MODEL=str(model)), stdout=subprocess.PIPE)
        stages = [bm for bm in json.loads(out)["benchmarks"] if bm.get("aggregate_name") == "median"]

    load_after = loadavg()
    report = render(args, model, bundle, clips, audio_s, R, infer, spec, lengths, n_files, stages,
                    machine(), versions(node_dir), started, load_before, load_after, busy, ncpu)
    report += hi_rate_md
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    log(f"written {args.out}")
    if args.keep:
        log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def spectro_flags(sp):
    """spectro-dump flags reproducing a bundle's spectro settings."""
    f = ["--sample-rate", str(sp["sample_rate"]), "--resample-quality", sp["resample_quality"],
         "--n-fft", str(sp["n_fft"]), "--hop-length", str(sp["hop_length"]), "--win-length", str(sp["win_length"]),
         "--n-mels", str(sp["n_mels"]), "--fmin", str(sp["fmin"]), "--fmax", str(sp["fmax"]),
         "--mel-scale", sp["mel_scale"], "--mel-norm", sp["mel_norm"], "--pad-mode", sp["pad_mode"],
         "--power", str(sp["power"]), "--top-db", str(sp["top_db"]),
         "--frames", str(sp["image"]["frames"]), "--clip-policy", sp["image"]["clip_policy"],
         "--colormap", sp["image"]["colormap"]]
    if not sp["center"]:
        f.append("--no-center")
    return f


def hi_rate_table(args, exe, model, clips, tmp, log, emoclass_cmd, notebook):
    """Whole path on the same real clips raised to 48 / 44.1 kHz (ffmpeg's soxr at 28-bit
    precision, 16-bit WAV; the corpora here store 16 kHz, CREMA-D as Opus, which sox cannot read), 1 thread: emoclass as one process over all clips (wall / N,
    start-up included), a one-clip process (a 3 s clip, start-up and model load included), and
    the notebook pipeline (soundfile, torchaudio resampling, MelSpectrogram, matplotlib PNG,
    cv2.dnn; its in-process loop only). Interleaved over --rounds rounds; medians."""
    rates = [int(r) for r in args.hi_rates.split(",") if r.strip()]
    sets = {}
    stored_one = tmp / "one_3s_stored.wav"  # the reference row: the clips as stored (16 kHz)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", clips[0][0], "-c:a", "pcm_s16le", "-af",
                    "apad=whole_dur=3,atrim=0:3", str(stored_one)], check=True)
    sets["stored"] = ([p for p, _ in clips], str(stored_one))
    for rate in rates:
        d = tmp / f"hi_{rate}"
        d.mkdir(exist_ok=True)
        files = []
        for i, (path, _) in enumerate(clips):
            dst = d / f"{i:03d}_{Path(path).stem}.wav"
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", path, "-af",
                            f"aresample={rate}:resampler=soxr:precision=28", "-c:a", "pcm_s16le", str(dst)], check=True)
            files.append(str(dst))
        one = d / "one_3s.wav"  # the first clip padded or cut to 3.0 s: the one-clip process
        subprocess.run(["sox", "-D", files[0], str(one), "pad", "0", "3", "trim", "0", "3"], check=True)
        sets[rate] = (files, str(one))
    rates = ["stored"] + rates
    # The bundle's int8 network too (`emoclass --int8`), when model.json names one.
    int8 = bool(json.loads((model / "model.json").read_text()).get("int8_model"))
    H = {}
    log(f"high-rate table ({', '.join(map(str, rates))}, {len(clips)} clips) ...")
    for r in range(args.rounds):
        cases = []
        for rate, (files, one) in sets.items():
            cases += [(f"emo_{rate}", lambda f=files: run_timed(emoclass_cmd(f, 1))[0] / len(f)),
                      (f"single_{rate}", lambda o=one: run_timed(emoclass_cmd([o], 1))[0]),
                      (f"nb_{rate}", lambda f=files, rt=rate: (lambda res: res["total_s"] / res["n"])(
                          notebook(f, 1, f"hi{rt}")[0]))]
            if int8:
                cases.append((f"emo8_{rate}", lambda f=files: run_timed(emoclass_cmd(f, 1, True))[0] / len(f)))
        for name, fn in (cases if r % 2 == 0 else cases[::-1]):
            H.setdefault(name, []).append(fn())
        log(f"  high-rate round {r + 1}/{args.rounds} done")
    lines = ["\n## 44.1 / 48 kHz input, whole path, 1 thread\n",
             f"The {len(clips)} clips above raised to each rate (ffmpeg, soxr 28-bit, 16-bit WAV). emoclass resamples "
             "with the bundle's `resample_quality`; the notebook pipeline with torchaudio.\n",
             "| input | emoclass per clip (one process, start-up included) | one-clip process, 3 s clip | "
             "notebook per clip | notebook / emoclass |" + (" emoclass --int8 per clip | notebook / --int8 |" if int8 else ""),
             "|---|---|---|---|---|" + ("---|---|" if int8 else "")]
    for rate in rates:
        e, one, nb = med(H[f"emo_{rate}"]), med(H[f"single_{rate}"]), med(H[f"nb_{rate}"])
        label = "as stored (16 kHz; CREMA-D Opus)" if rate == "stored" else f"{rate / 1000:g} kHz"
        row = f"| {label} | {fmt_ms(e)} | {fmt_ms(one)} | {fmt_ms(nb)} | **{nb / e:.1f}x** |"
        if int8:
            e8 = med(H[f"emo8_{rate}"])
            row += f" {fmt_ms(e8)} | **{nb / e8:.1f}x** |"
        lines.append(row)
    return "\n".join(lines) + "\n"


def render(args, model, bundle, clips, audio_s, R, infer, spec, lengths, n_files, stages, mach, vers,
           started, load_before, load_after, busy, ncpu):
    N = len(clips)
    m = lambda k: med(R.get(k, []))  # noqa: E731
    L = []
    w = L.append
    w("# emoclass benchmark results\n")
    w(f"Run {started:%Y-%m-%d %H:%M} UTC on {mach['nproc']} x {mach['cpu']}, {mach['memory']} RAM, Linux {mach['kernel']}; "
      f"load average {load_before:.2f} before, {load_after:.2f} after"
      + ("; **a training run was active: timings not representative**" if busy else "") + ".")
    w(f"Model `{model.relative_to(REPO) if model.is_relative_to(REPO) else model}` ({bundle['name']}, input "
      f"{bundle['input']['channels']}x{bundle['input']['height']}x{bundle['input']['width']}). "
      f"{N} clips ({audio_s:.1f} s of audio, mean {audio_s / max(N, 1):.2f} s) sampled with seed {args.seed} across "
      f"{', '.join(sorted({r['corpus'] for _, r in clips}))}; {args.rounds} interleaved rounds, alternating order; "
      f"medians. Peers: " + ", ".join(f"{k} {v}" for k, v in vers.items()) + ".")
    w(f"Command: `bench/compare.py {' '.join(sys.argv[1:])}`".replace("` ", "`").rstrip() + "\n")

    w("## Whole path, file -> emotion\n")
    w("| case | emoclass | Python notebook pipeline | notebook / emoclass |")
    w("|---|---|---|---|")
    for t, label in (("1", "per clip, 1 thread"), ("all", f"per clip, all threads ({ncpu})")):
        e, p = m(f"emo_{t}") / N, m(f"nb_{t}") / N
        w(f"| {label} | {fmt_ms(e)} | {fmt_ms(p)} | **{p / e:.1f}x** |")
    long_label = f"{args.long_s / 60:g} min" if args.long_s >= 60 else f"{args.long_s:g} s"
    for t, label in (("1", "1 thread"), ("all", f"all threads ({ncpu})")):
        e, p = m(f"long_emo_{t}"), m(f"long_nb_{t}")
        w(f"| generated {long_label} file, {label} | {fmt_s(e)} ({args.long_s / e:.0f}x real time) | "
          f"{fmt_s(p)} ({args.long_s / p:.0f}x real time) | **{p / e:.1f}x** |")
    w("")
    w(f"- emoclass: one process over all {N} clips (`-f jsonl -q`, `-j 1 --threads 1` for 1 thread, defaults for "
      f"all), wall time / {N}: start-up and model load included. One 3 s clip in its own process, 1 thread, "
      f"start-up included: **{fmt_ms(m('emo_single'))}** wall, peak RSS {m('emo_single_rss'):.0f} MiB "
      f"(the in-process cost is in the per-stage table: BM_AnalyzeFileWav16k).")
    w(f"- Notebook pipeline: soundfile, torchaudio MelSpectrogram (librosa's definition), numpy power_to_db, a "
      f"matplotlib figure saved as PNG and read back with cv2, cv2.dnn on the same ONNX model; the in-process "
      f"loop only (interpreter start, imports and model load, {m('nb_1_setup'):.2f} s, excluded, and one warm-up "
      f"clip). Long file: whole-file mel, then one figure + forward per window every "
      f"{bundle['window']['hop_s']:g} s ({int(m('long_nb_1_windows') or 0)} windows), as emoclass does.")
    w(f"- Peak RSS: emoclass {m('emo_1_rss'):.0f} MiB (1 thread) / {m('emo_all_rss'):.0f} MiB (all) over the clips, "
      f"{m('long_emo_1_rss'):.0f} MiB on the long file; notebook {m('nb_1_rss'):.0f} MiB over the clips, "
      f"{m('long_nb_1_rss'):.0f} MiB on the long file.\n")

    if infer:
        w("## Inference alone, identical input tensors\n")
        w("| threads | OpenCV DNN (emoclass) | ONNX Runtime | OpenCV / ORT |")
        w("|---|---|---|---|")
        for t in sorted({1, ncpu}):
            c, o = m(f"cv_{t}"), m(f"ort_{t}")
            w(f"| {t} | {c * 1e3:.2f} ms | {o * 1e3:.2f} ms | {c / o:.2f}x |" if R.get(f"ort_{t}") else
              f"| {t} | {c * 1e3:.2f} ms | (not installed) | |")
        w("")
        w(f"Median ms per forward over {infer['n']} spectrogram images x {args.infer_reps} forwards per round "
          f"({infer.get('cv_version', '')} via classify::Classifier::classify, tensor fill included; "
          f"{infer.get('ort_version', 'ORT')} via session.run from Node, intraOpNumThreads = threads). "
          f"Max |output difference| {infer.get('max_diff', float('nan')):.2g}.\n")

    if spec.get("n"):
        w("## Spectrogram stage alone (decode -> mel -> dB), 1 thread\n")
        w("| input | emoclass (bench/spectro_only) | soundfile + torchaudio + numpy | torchaudio / emoclass |")
        w("|---|---|---|---|")
        n = spec["n"]
        for tag, what in (("_wav", "same samples as 16 kHz float WAV"), ("", "clips as stored (incl. Opus decoding)")):
            e, t = m(f"spec_emo{tag}") / n, m(f"spec_ta{tag}") / n
            w(f"| {what}, per clip | {e * 1e3:.3f} ms ({spec['audio_s'] / n / e:.0f} audio s/s) | "
              f"{t * 1e3:.3f} ms ({spec['audio_s'] / n / t:.0f} audio s/s) | **{t / e:.1f}x** |")
        w("")
        w(f"{n} clips already at {bundle['spectro']['sample_rate']} Hz (the others would need resamplers "
          f"that differ between the two), {spec['audio_s'] / n:.2f} s on average. Both sides decode with "
          f"libsndfile; decoding the stored clips alone takes {m('spec_decode_wav') / n * 1e3:.3f} ms per clip "
          f"(`spectro_only --decode-only`), the same on both sides. Max |dB difference| between the two "
          f"outputs over {spec.get('compared')} clips: **{spec.get('max_diff', float('nan')):.4f} dB**.\n")

    w("## Scaling: emoclass on generated audio, 1 thread\n")
    w("| audio | wall | real-time factor | ms per audio second | peak RSS |")
    w("|---|---|---|---|---|")
    for secs in lengths:
        t, rss = m(f"scale_{secs:g}"), m(f"scale_{secs:g}_rss")
        name = f"{secs / 3600:g} h" if secs >= 3600 else f"{secs / 60:g} min" if secs >= 60 else f"{secs:g} s"
        w(f"| {name} | {fmt_s(t)} | {secs / t:.0f}x | {t / secs * 1e3:.2f} | {rss:.0f} MiB |")
    w("")
    w("One process per file (`-j 1 --threads 1`), start-up and model load included (they dominate the 1 s row).\n")

    w("## spectro-dump --dataset\n")
    w("| jobs | wall | files/s | peak RSS |")
    w("|---|---|---|---|")
    for j in (1, 2):
        t = m(f"ds_{j}")
        w(f"| {j} | {fmt_s(t)} | {n_files / t:.0f} | {m(f'ds_{j}_rss'):.0f} MiB |")
    w("")
    w(f"{n_files} files ({'all of' if args.dataset_files <= 0 else 'a fixed-seed sample across'} the corpora), "
      f"model-input PNGs + manifest into an empty folder.\n")

    if stages:
        w("## Per-stage (Google Benchmark, bench/bench_stages), 3 s voice-like clip\n")
        w("| benchmark | time | CPU | audio s per s | note |")
        w("|---|---|---|---|---|")
        for bm in stages:
            unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[bm["time_unit"]]
            name = bm["run_name"] if "run_name" in bm else bm["name"].replace("_median", "")
            label = bm.get("label", "")
            if label:
                label = label.split(", model")[0]
            w(f"| {name} | {fmt_ms(bm['real_time'] * unit)} | {fmt_ms(bm['cpu_time'] * unit)} | "
              f"{bm.get('audio_s_per_s', 0):,.0f} | {label} |")
        w("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
