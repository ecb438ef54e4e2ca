#!/usr/bin/python3
"""How much faster would another network shape run in OpenCV DNN? (issue 15, "model shape")

    bench/shape_probe.py [--rounds 5] [--forwards 100]

Builds variants of the shipped yolov8n-cls (scripts/emoclass_train/model.py, seeded random
weights: speed does not depend on the weights), exports each as export_bundle.py does (ONNX
opset 12, 1x1x128x128), rewrites SiLU into OpenCV's Swish as emoclass does, and times one
forward in OpenCV DNN at one thread, interleaved over --rounds rounds (median ms). Also counts
each variant's multiply-accumulates and parameters. Accuracy is not measured here: each shape
needs its own training run (scripts/train.py --stem-stride 4 for the stem), so this says only
what a shape could buy.
"""
import argparse
import io
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "bench"))
from emoclass_train.model import YOLOv8Cls, backbone_with_stem_stride  # noqa: E402
from int8_probe import fuse_silu  # noqa: E402


VARIANTS = {
    "n (shipped)": dict(scale="n"),
    "n, head 640": dict(scale="n", head_channels=640),
    "width 0.1875 (3/4 of n)": dict(scale=(0.33, 0.1875, 1024)),
    "width 0.125 (1/2 of n)": dict(scale=(0.33, 0.125, 1024)),
    "n, stem stride 4": dict(scale="n", backbone=backbone_with_stem_stride(4)),
    "n, depth 0.17 (one block per C2f)": dict(scale=(0.17, 0.25, 1024)),
}


def macs_and_params(net):
    macs = 0

    def hook(m, inp, out):
        nonlocal macs
        if isinstance(m, torch.nn.Conv2d):
            macs += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, torch.nn.Linear):
            macs += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        net(torch.zeros(1, 1, 128, 128))
    for h in hs:
        h.remove()
    return macs, sum(p.numel() for p in net.parameters())


def randomise_batchnorm(net):
    """Fresh BatchNorms are all ones and zeros; the exporter would share those identical tensors
    through Identity nodes, which a trained network never has (and OpenCV 4.6 refuses)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)


def export(net, path):
    """As export_bundle.py does."""
    with torch.no_grad():
        torch.onnx.export(net, torch.zeros(1, 1, 128, 128), str(path), opset_version=12,
                          input_names=["images"], output_names=["output0"], do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--forwards", type=int, default=100)
    args = ap.parse_args()
    torch.manual_seed(0)
    cv2.setNumThreads(1)
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"shape_probe_{os.getpid()}"
    tmp.mkdir()
    nets, info = {}, {}
    for name, kw in VARIANTS.items():
        net = YOLOv8Cls(1, 6, **kw).eval()
        randomise_batchnorm(net)
        info[name] = macs_and_params(net)
        path = tmp / "m.onnx"
        export(net, path)
        fused, _ = fuse_silu(path)
        nets[name] = cv2.dnn.readNetFromONNX(np.frombuffer(fused, np.uint8))
    x = np.random.default_rng(0).random((1, 1, 128, 128), dtype=np.float32)
    for net in nets.values():  # warm-up
        net.setInput(x)
        net.forward()
    times = {k: [] for k in nets}
    order = list(nets)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            net = nets[name]
            start = time.perf_counter()
            for _ in range(args.forwards):
                net.setInput(x)
                net.forward()
            times[name].append((time.perf_counter() - start) / args.forwards * 1000)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    base = float(np.median(times["n (shipped)"]))
    print("| network | MMAC | parameters | ms per forward (median) | vs shipped |")
    print("|---|---|---|---|---|")
    for name in nets:
        ms = float(np.median(times[name]))
        macs, params = info[name]
        print(f"| {name} | {macs / 1e6:.1f} | {params:,} | {ms:.3f} | {base / ms:.2f}x |")
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
