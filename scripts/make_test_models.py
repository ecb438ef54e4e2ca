#!/usr/bin/python3
"""Writes the two small ONNX test fixtures under tests/fixtures/ (committed; rerun to regenerate).

tiny_bundle/       a complete emoclass bundle: a very narrow YOLOv8-cls-style network (the same
                   layer types as the real models: Conv-BN-SiLU, C2f with Split, Classify with
                   softmax) on a 1x128x128 gray input, 6 labels, random fixed-seed weights with
                   randomised BatchNorm statistics (so a runtime that drops or mis-folds BN is
                   caught); model.json with the default spectro settings (resampler sinc_medium); three
                   structured 128x128 gray PNGs ref_0..2.png and reference.json holding
                   PyTorch's probabilities for them (input = pixel / 255).
ultralytics_like/  model.onnx shaped like `yolo export format=onnx opset=12` of a yolov8-cls
                   model (input `images` 1x3x64x64, output `output0` 1x6 probabilities, the
                   metadata_props ultralytics writes) and the spectro.json of its (viridis)
                   training images, plus ref_0.png (64x64 RGB) and reference.json. No model.json:
                   the tests make it with scripts/make_manifest.py.

Both are checked here against OpenCV DNN (max abs difference printed, must be <= 1e-5).
Seeds are fixed, so a rerun reproduces the same bytes on the same torch/onnx/OpenCV versions.
"""
import hashlib
import pathlib
import sys

import cv2
import numpy as np
import onnx
import torch

from emoclass_train.dataset import colormap_lut
from emoclass_train.formats import default_spectro, model_json, write_json
from emoclass_train.model import YOLOv8Cls

REPO = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad"]
TOLERANCE = 1e-5

# The defaults spectro-dump writes, but for the resampler: the fixtures were made when it was
# sinc_medium, and their reference numbers are kept.
FIXTURE_SPECTRO = default_spectro(resample_quality="sinc_medium")

# Tiny backbone with the real model's layer types: stride-2 Conv, C2f (with Split), twice.
TINY_BACKBONE = (
    ("Conv", 1, (8, 3, 2)),
    ("C2f", 1, (8, True)),
    ("Conv", 1, (16, 3, 2)),
    ("C2f", 1, (16, True)),
)


def randomize(model, seed, images):
    """Fixed-seed weights for a test network whose output actually depends on the input.

    A randomly initialised deep net with global pooling gives nearly the same output for every
    image, so a test could not tell a wrong input from the right one. Hence: random convolution
    weights and BN affine parameters; BN running statistics measured on `images` and then
    perturbed (so they shape the output, and a runtime that drops or mis-folds BN is caught);
    the classifier centred on `images` and scaled so the logits vary by about 1.5 between them.
    """
    g = torch.Generator().manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) / m.in_features ** 0.5)
                m.bias.zero_()
        for m in bns:
            n = m.num_features
            m.weight.copy_(0.5 + torch.rand(n, generator=g))
            m.bias.copy_(torch.randn(n, generator=g) * 0.2)
        # Running statistics from the images (cumulative average), then perturbed.
        x = torch.from_numpy(np.concatenate(images))
        for m in bns:
            m.reset_running_stats()
            m.momentum = None
        model.train()
        model(x)
        for m in bns:
            m.momentum = 0.03
            sd = m.running_var.sqrt()
            m.running_mean.add_(torch.randn(m.num_features, generator=g) * 0.3 * sd)
            m.running_var.mul_(0.7 + 0.7 * torch.rand(m.num_features, generator=g))
        model.eval()
        head = model.model[-1]
        feats = []
        hook = head.pool.register_forward_hook(lambda mod, inp, out: feats.append(out.flatten(1)))
        model(x)
        hook.remove()
        f = feats[0]
        mu = f.mean(0)
        w = head.linear.weight
        w *= 1.5 / ((f - mu) @ w.t()).std()
        head.linear.bias.copy_(-(w @ mu))
    return model


def export(model, shape, path):
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(shape), str(path), opset_version=12,
                          input_names=["images"], output_names=["output0"], do_constant_folding=True)
    onnx.checker.check_model(onnx.load(str(path)))


def opencv_max_diff(onnx_path, inputs, expected):
    net = cv2.dnn.readNetFromONNX(str(onnx_path))
    worst = 0.0
    for x, ref in zip(inputs, expected):
        net.setInput(x)
        worst = max(worst, float(np.abs(net.forward() - ref).max()))
    return worst


def gray_refs(size=128):
    """Three structured gray images: gradient + stripes, rings + checker, fixed-seed noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    a = 255 * xx / (size - 1) * 0.6 + 100 * (np.sin(2 * np.pi * yy / 16) > 0)
    r = np.hypot(xx - size * 0.4, yy - size * 0.6)
    b = 127.5 + 127.5 * np.cos(r / 5.0) * np.where(((xx // 16 + yy // 16) % 2) == 0, 1.0, 0.4)
    c = np.random.default_rng(20240501).integers(0, 256, (size, size)).astype(np.float64)
    c[:, : size // 8] = 0  # a silent (padded) start, as short clips have
    return [np.clip(np.round(im), 0, 255).astype(np.uint8) for im in (a, b, c)]


def probabilities(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def tiny_bundle():
    out = FIXTURES / "tiny_bundle"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(7)
    refs = gray_refs()
    calib = [(im.astype(np.float32) / 255)[None, None] for im in refs]
    calib += [np.random.default_rng(i).random((1, 1, 128, 128), dtype=np.float32) for i in range(5)]
    model = randomize(YOLOv8Cls(1, len(LABELS), scale=(1.0, 1.0, 1024), backbone=TINY_BACKBONE,
                                head_channels=32), 7, calib)
    export(model, (1, 1, 128, 128), out / "model.onnx")
    write_json(out / "model.json", model_json("tiny-test-bundle", LABELS, 1, 128, 128, "gray", FIXTURE_SPECTRO))
    inputs, outputs, entries = [], [], []
    for i, img in enumerate(refs):
        cv2.imwrite(str(out / f"ref_{i}.png"), img)
        x = (img.astype(np.float32) * np.float32(1.0 / 255.0))[None, None]
        prob = probabilities(model, x)
        inputs.append(x)
        outputs.append(prob)
        entries.append({"image": f"ref_{i}.png", "top": LABELS[int(prob.argmax())],
                        "probabilities": [float(v) for v in prob[0]]})
    write_json(out / "reference.json", {
        "about": "PyTorch (float32) output of model.onnx for each ref PNG fed directly as the model input "
                 "(1x1x128x128, pixel * 1/255, no spectrogram step). Made by scripts/make_test_models.py.",
        "labels": LABELS,
        "tolerance": TOLERANCE,
        "images": entries,
    })
    diff = opencv_max_diff(out / "model.onnx", inputs, outputs)
    report("tiny_bundle", out, diff, outputs)


def ultralytics_like():
    out = FIXTURES / "ultralytics_like"
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(11)
    # The full yolov8-cls layout (10 layers) at a tiny width; a narrow head keeps the file small.
    # One RGB reference: a viridis-coloured pattern, fed as RGB * 1/255.
    yy, xx = np.mgrid[0:64, 0:64]
    index = np.clip(np.round(255 * (0.5 + 0.5 * np.sin(xx / 5.0) * np.cos(yy / 9.0))), 0, 255).astype(np.uint8)
    rgb = colormap_lut("viridis")[index]
    x = (rgb.astype(np.float32) * np.float32(1.0 / 255.0)).transpose(2, 0, 1)[None].copy()
    calib = [x, x[:, ::-1].copy(), x[:, :, ::-1].copy()]
    calib += [np.random.default_rng(i).random((1, 3, 64, 64), dtype=np.float32) for i in range(5)]
    model = randomize(YOLOv8Cls(3, len(LABELS), scale=(0.33, 0.0625, 512), head_channels=128), 11, calib)
    path = out / "model.onnx"
    export(model, (1, 3, 64, 64), path)
    m = onnx.load(str(path))
    # What ultralytics' exporter writes (every value str()-ed), with a fixed date for stable bytes.
    meta = {
        "description": "Ultralytics YOLOv8n-cls model trained on emotion spectrograms",
        "author": "Ultralytics",
        "date": "2024-05-01T12:00:00.000000",
        "version": "8.2.0",
        "license": "AGPL-3.0 License (https://ultralytics.com/license)",
        "docs": "https://docs.ultralytics.com",
        "stride": "1",
        "task": "classify",
        "batch": "1",
        "imgsz": "[64, 64]",
        "names": str(dict(enumerate(LABELS))),
    }
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, str(path))
    # 128x128 viridis images, resized to 64x64 for the model.
    spectro = default_spectro(resample_quality="sinc_medium", image={"colormap": "viridis"})
    write_json(out / "spectro.json", spectro)

    cv2.imwrite(str(out / "ref_0.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    prob = probabilities(model, x)
    write_json(out / "reference.json", {
        "about": "PyTorch (float32) output of model.onnx for ref_0.png fed directly as the model input "
                 "(1x3x64x64, RGB order, pixel * 1/255). Made by scripts/make_test_models.py.",
        "labels": LABELS,
        "tolerance": TOLERANCE,
        "images": [{"image": "ref_0.png", "top": LABELS[int(prob.argmax())],
                    "probabilities": [float(v) for v in prob[0]]}],
    })
    # Channel order matters for this fixture: BGR input must give a different answer.
    prob_bgr = probabilities(model, x[:, ::-1].copy())
    diff = opencv_max_diff(path, [x], [prob])
    report("ultralytics_like", out, diff, [prob])
    print(f"  RGB vs BGR input: max prob change {np.abs(prob - prob_bgr).max():.3f}")


def report(name, out, diff, outputs):
    sizes = ", ".join(f"{p.name} {p.stat().st_size:,d} B" for p in sorted(out.iterdir()))
    digest = hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()[:16]
    print(f"{name}: OpenCV DNN {cv2.__version__} vs PyTorch max abs diff {diff:.3g} (limit {TOLERANCE:g})")
    for o in outputs:
        print("  probabilities " + " ".join(f"{v:.4f}" for v in o[0]))
    print(f"  {sizes}; model.onnx sha256 {digest}...")
    if not diff <= TOLERANCE:
        sys.exit(f"make_test_models: {name}: OpenCV and PyTorch differ by {diff:.3g}")


def main():
    torch.set_num_threads(1)  # single-threaded kernels: the reference numbers do not depend on the machine
    tiny_bundle()
    ultralytics_like()


if __name__ == "__main__":
    main()
