#!/usr/bin/python3
"""Would OpenCV 4.6's int8 path make the classifier faster? (issue 15)

    bench/int8_probe.py DATASET [--model DIR] [--images 200] [--calibration 64] [--rounds 5]

DATASET is a `spectro-dump --dataset` folder made with the bundle's settings (its val/ images are
scored, its train/ images calibrate). Four networks are timed on the same images, one thread,
interleaved over --rounds rounds whose order alternates, median ms per forward:
  fp32        the ONNX file as stored (SiLU as Sigmoid + Mul);
  fp32 fused  SiLU rewritten into OpenCV's Swish layer, as emoclass runs it
              (classify/silu_fusion.hpp; here with the onnx package, for this probe only);
  int8 / int8 fused   the same networks after cv::dnn::Net::quantize (per-channel weights,
              activations calibrated on --calibration training images), in memory only;
  model_int8.onnx     the bundle's saved int8 network (scripts/quantize_bundle.py), when
              model.json names one: what `emoclass --int8` runs.
For each: accuracy on the scored images, and how many labels differ from fp32 fused.
Timings mean something only on an otherwise idle machine (the load average is printed).
"""
import argparse
import glob
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np
import onnx

REPO = Path(__file__).resolve().parent.parent


def fuse_silu(model_path):
    """Sigmoid(x) * x -> Swish(x): the rewrite classify/silu_fusion.cpp does before OpenCV loads."""
    model = onnx.load(str(model_path))
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    dropped, fused = set(), 0
    for node in graph.node:
        if node.op_type != "Mul":
            continue
        a, b = node.input
        for x, s in ((a, b), (b, a)):
            sig = producer.get(s)
            if sig is not None and sig.op_type == "Sigmoid" and sig.input[0] == x:
                dropped.add(sig.name)
                node.op_type = "Swish"
                del node.input[:]
                node.input.append(x)
                fused += 1
                break
    kept = [n for n in graph.node if n.name not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    return model.SerializeToString(), fused


def load_images(folder, labels, limit, seed):
    paths = sorted(glob.glob(str(folder / "*" / "*.png")))
    rng = np.random.default_rng(seed)
    if limit and len(paths) > limit:
        paths = [paths[i] for i in sorted(rng.choice(len(paths), limit, replace=False))]
    blobs, truth = [], []
    for p in paths:
        img = cv2.imread(p, cv2.IMREAD_UNCHANGED)
        blobs.append(cv2.dnn.blobFromImage(img, 1 / 255.0))
        truth.append(labels.index(Path(p).parent.name))
    return blobs, np.array(truth)


def forward_all(net, blobs):
    out = []
    for b in blobs:
        net.setInput(b)
        out.append(net.forward().ravel().copy())
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "default")
    ap.add_argument("--images", type=int, default=200, help="validation images scored and timed")
    ap.add_argument("--calibration", type=int, default=64, help="training images that calibrate int8")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    cv2.setNumThreads(1)
    meta = json.loads((args.model / "model.json").read_text())
    labels = meta["labels"]
    onnx_path = args.model / meta.get("model", "model.onnx")
    scored, truth = load_images(args.dataset / "val", labels, args.images, 0)
    calib, _ = load_images(args.dataset / "train", labels, args.calibration, 1)
    calib_batch = [np.concatenate(calib)]

    fused_bytes, n_fused = fuse_silu(onnx_path)
    nets = {"fp32": cv2.dnn.readNetFromONNX(str(onnx_path)),
            "fp32 fused": cv2.dnn.readNetFromONNX(np.frombuffer(fused_bytes, np.uint8))}
    for name in list(nets):
        start = time.perf_counter()
        nets[name.replace("fp32", "int8")] = nets[name].quantize(calib_batch, cv2.CV_32F, cv2.CV_32F)
        print(f"quantize({name}): {time.perf_counter() - start:.2f} s", flush=True)
    if meta.get("int8_model"):
        nets[meta["int8_model"]] = cv2.dnn.readNetFromONNX(str(args.model / meta["int8_model"]))
    outputs = {name: forward_all(net, scored) for name, net in nets.items()}  # also warms up

    times = {name: [] for name in nets}
    order = list(nets)
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            forward_all(nets[name], scored)
            times[name].append((time.perf_counter() - start) / len(scored) * 1000)
    print(f"load average after: {os.getloadavg()[0]:.2f}")

    ref = outputs["fp32 fused"].argmax(1)
    print(f"\n{len(scored)} validation images, {n_fused} SiLU pairs fused, one thread, "
          f"{args.rounds} interleaved rounds\n")
    print("| network | ms per forward (median) | vs fp32 fused | accuracy | labels != fp32 fused | max prob. difference |")
    print("|---|---|---|---|---|---|")
    base = float(np.median(times["fp32 fused"]))
    for name in nets:
        ms = float(np.median(times[name]))
        pred = outputs[name].argmax(1)
        print(f"| {name} | {ms:.3f} | {base / ms:.2f}x | {(pred == truth).mean() * 100:.1f} % | "
              f"{int((pred != ref).sum())} | {np.abs(outputs[name] - outputs['fp32 fused']).max():.4f} |")


if __name__ == "__main__":
    main()
