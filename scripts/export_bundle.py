#!/usr/bin/python3
"""Exports a train.py checkpoint as an emoclass model bundle and verifies it with OpenCV DNN.

    scripts/export_bundle.py runs/emo6-n/best.pt --dataset DATA --name emo6-yolov8n-128
        [--models-dir models] [--verify 32] [--tolerance 1e-4] [--force]
    scripts/export_bundle.py --training-data-only --manifest split.csv --name emo6-yolov8n-128

Writes MODELS_DIR/NAME/model.onnx (ONNX opset 12, static input 1xCxHxW named `images`, output
`output0` = softmax probabilities) and model.json (docs/formats.md; `spectro` is DATA's
spectro.json verbatim; `training_data` lists the corpora and speakers of each split of DATA's
manifest.csv, so that `emoclass eval` can tell new speakers from ones the model heard).
`--training-data-only` rewrites only the `training_data` of an existing bundle's model.json, from
a manifest in spectro-dump's columns (`spectro-dump --dataset ... --list-split` prints one
without rendering anything). Then checks, and fails (exit 1) on any miss:
  - the graph passes onnx.checker; its operator set is printed (OpenCV 4.6 imports Conv, Mul,
    Sigmoid, Split, Add, Concat, GlobalAveragePool, Flatten, Gemm, Softmax);
  - cv2.dnn.readNetFromONNX loads it and, on real images of DATA's val split, its output matches
    PyTorch's within --tolerance (max abs difference printed);
and records the figures in MODELS_DIR/NAME/export_report.json.
"""
import argparse
import collections
import datetime
import hashlib
import json
import os
import pathlib
import sys

import cv2
import numpy as np
import onnx
import torch

from emoclass_train import Error
from emoclass_train.dataset import colormap_lut
from emoclass_train.formats import (model_json, read_manifest, read_manifest_file, read_model_json, read_spectro,
                                    spectro_with_defaults, training_data, write_json)
from emoclass_train.model import CKPT_FORMAT, build_model
from emoclass_train.model_input import stored_image_to_input

REPO = pathlib.Path(__file__).resolve().parent.parent
OPENCV46_OPS = {"Conv", "Mul", "Sigmoid", "Split", "Add", "Concat", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"}


def fail(msg):
    print(f"export_bundle: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def read_split_manifest(path):
    """The manifest rows whose splits training_data records."""
    return read_manifest_file(path, {"corpus", "speaker", "split"}, " (a spectro-dump manifest)")


def record_training_data_only(args):
    json_path = args.models_dir / args.name / "model.json"
    if not json_path.is_file():
        fail(f"{json_path}: missing (--training-data-only updates an existing bundle)")
    record = training_data(read_split_manifest(args.manifest))
    manifest = read_model_json(json_path)
    manifest["training_data"] = record
    write_json(json_path, manifest)
    counts = ", ".join(f"{split} {sum(map(len, c.values()))} speakers"
                       for split, c in manifest["training_data"].items())
    print(f"wrote training_data ({counts}) into {json_path}")


def op_histogram(onnx_model):
    return collections.Counter(n.op_type for n in onnx_model.graph.node)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", type=pathlib.Path, nargs="?", help="best.pt or last.pt from train.py")
    p.add_argument("--dataset", type=pathlib.Path, help="the spectro-dump folder it was trained on")
    p.add_argument("--manifest", type=pathlib.Path,
                   help="the manifest whose splits training_data records [default: DATASET/manifest.csv]")
    p.add_argument("--training-data-only", action="store_true",
                   help="only rewrite training_data in MODELS_DIR/NAME/model.json from --manifest")
    p.add_argument("--name", required=True, help="bundle name (folder under --models-dir, and model.json name)")
    p.add_argument("--models-dir", type=pathlib.Path, default=REPO / "models")
    p.add_argument("--opset", type=int, default=12)
    p.add_argument("--verify", type=int, default=32, help="val images compared between PyTorch and OpenCV")
    p.add_argument("--tolerance", type=float, default=1e-4, help="largest allowed |PyTorch - OpenCV|")
    p.add_argument("--force", action="store_true", help="overwrite an existing bundle folder's files")
    args = p.parse_args()
    if args.manifest is None and args.dataset is not None:
        args.manifest = args.dataset / "manifest.csv"
    if args.training_data_only:
        if args.manifest is None:
            p.error("--training-data-only needs --manifest (or --dataset)")
        return record_training_data_only(args)
    if args.checkpoint is None or args.dataset is None:
        p.error("a checkpoint and --dataset are needed")
    torch.set_num_threads(2)

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    if not isinstance(ck, dict) or ck.get("format") != CKPT_FORMAT:
        fail(f"{args.checkpoint}: not a train.py checkpoint")
    arch, labels, image = ck["arch"], ck["labels"], ck["image"]
    if (ck.get("args") or {}).get("band_norm"):
        # A measured-and-dropped experiment (docs/training.md section 7): model.json's input recipe
        # has no per-band normalisation, so emoclass would feed this network the wrong input.
        fail(f"{args.checkpoint}: trained with --band-norm, an input emoclass does not make (not exportable)")
    spectro = read_spectro(args.dataset)
    settings = spectro_with_defaults(spectro)
    frames, n_mels, colormap = settings["image"]["frames"], settings["n_mels"], settings["image"]["colormap"]
    if (n_mels, frames) != (image["height"], image["width"]) or colormap != image["colormap"]:
        fail(f"{args.dataset / 'spectro.json'} renders {frames}x{n_mels} {colormap} images, "
             f"the checkpoint was trained on {image['width']}x{image['height']} {image['colormap']}")
    if ck.get("spectro") not in (None, spectro):
        print("warning: the dataset's spectro.json differs from the one stored in the checkpoint; using the dataset's")
    C, H, W = arch["in_channels"], image["height"], image["width"]
    if colormap != "gray" and C != 3:
        fail(f"a {colormap} model needs 3 input channels, the checkpoint has {C}")
    colormap_lut(colormap)  # fails early on an unknown colormap

    model = build_model(arch)
    model.load_state_dict(ck["state_dict"])
    model.eval()  # eval: BN uses running stats, Classify ends in softmax

    out_dir = args.models_dir / args.name
    onnx_path, json_path = out_dir / "model.onnx", out_dir / "model.json"
    if not args.force and (onnx_path.exists() or json_path.exists()):
        fail(f"{out_dir} already holds a bundle (use --force to overwrite)")
    out_dir.mkdir(parents=True, exist_ok=True)

    tmp = out_dir / "model.onnx.tmp"
    with torch.no_grad():
        torch.onnx.export(model, torch.zeros(1, C, H, W), str(tmp), opset_version=args.opset,
                          input_names=["images"], output_names=["output0"], do_constant_folding=True)
    om = onnx.load(str(tmp))
    onnx.checker.check_model(om)
    ops = op_histogram(om)
    print("graph ops: " + ", ".join(f"{k} x{v}" for k, v in sorted(ops.items())))
    unknown = sorted(set(ops) - OPENCV46_OPS)
    if unknown:
        print(f"warning: ops outside the set known to import in OpenCV 4.6: {unknown}")
    last = [n for n in om.graph.node if "output0" in n.output]
    if not last or last[0].op_type != "Softmax":
        fail("the exported graph does not end in Softmax")

    # Verification on real val images (evenly spaced over the split, deterministic).
    rows = [r for r in read_manifest(args.dataset) if r["split"] == "val"] or \
           [r for r in read_manifest(args.dataset) if r["split"] == "train"]
    if not rows:
        fail(f"{args.dataset}: no val or train images to verify with")
    pick = np.unique(np.linspace(0, len(rows) - 1, min(args.verify, len(rows))).round().astype(int))
    net = cv2.dnn.readNetFromONNX(str(tmp))
    max_diff, agree = 0.0, 0
    for i in pick:
        x = stored_image_to_input(args.dataset / rows[i]["image"], C)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        net.setInput(x)
        got = net.forward()
        if got.shape != ref.shape:
            fail(f"OpenCV output shape {got.shape} differs from PyTorch's {ref.shape}")
        max_diff = max(max_diff, float(np.abs(got - ref).max()))
        agree += int(got.argmax() == ref.argmax())
    print(f"OpenCV DNN {cv2.__version__} vs PyTorch on {len(pick)} val images: max abs diff {max_diff:.3g}, "
          f"same top class {agree}/{len(pick)}")
    if not max_diff <= args.tolerance:
        fail(f"OpenCV and PyTorch outputs differ by {max_diff:.3g} > {args.tolerance:g}")

    os.replace(tmp, onnx_path)
    manifest = model_json(args.name, labels, C, H, W, colormap, spectro)
    manifest["training_data"] = training_data(read_split_manifest(args.manifest))
    write_json(json_path, manifest)
    report = {
        "checkpoint": str(args.checkpoint.resolve()),
        "checkpoint_epoch": ck.get("epoch"),
        "checkpoint_val": ck.get("val"),
        "arch": arch,
        "dataset": str(args.dataset.resolve()),
        "opset": args.opset,
        "torch": torch.__version__,
        "opencv": cv2.__version__,
        "graph_ops": dict(sorted(ops.items())),
        "verify_images": int(len(pick)),
        "max_abs_diff_opencv_vs_torch": max_diff,
        "same_top_class": int(agree),
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "onnx_bytes": onnx_path.stat().st_size,
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(out_dir / "export_report.json", "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {onnx_path} ({report['onnx_bytes']:,d} bytes), {json_path}, {out_dir / 'export_report.json'}")


if __name__ == "__main__":
    try:
        main()
    except Error as e:
        fail(str(e))
