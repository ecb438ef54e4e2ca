#!/usr/bin/python3
"""Writes a bundle's int8 network for OpenCV DNN: model_int8.onnx, named by model.json's int8_model.

    .venv-quantize/bin/python scripts/quantize_bundle.py models/emo6-yolov8n-128 --dataset DATA
        [--calibration 256] [--check 400] [--out-name model_int8.onnx]

(scripts/setup_quantize.sh makes .venv-quantize.) DATA is a `spectro-dump --dataset` folder made
with the bundle's spectrogram settings: --calibration images of its train split (seeded choice)
calibrate the activations, --check images of its val split compare the result with model.onnx.

How, and why this way:
  1. ONNX Runtime's static quantiser writes the QOperator form OpenCV 4.6 imports (QLinearConv,
     QLinearSigmoid, QLinearMul, QLinearAdd, QLinearConcat, QLinearGlobalAveragePool,
     QuantizeLinear, DequantizeLinear): int8 weights per output channel, int8 activations with
     MinMax ranges. The last Gemm and the Softmax stay float: OpenCV 4.6 cannot import QGemm.
  2. Each SiLU, quantised as QLinearSigmoid(x) followed by QLinearMul(x, .), becomes one node of
     OpenCV's own int8 Swish layer (op_type `SwishInt8`, its 256-entry lookup table computed from
     the pair's scales and zero points). Left as a pair, they are two more int8 passes over memory
     and eat the whole gain (docs/benchmarks.md); as one table, OpenCV fuses it into the
     convolution before it. So the file is for OpenCV DNN only: SwishInt8 is not an ONNX operator.
     The bundle's model.onnx stays the standard file; `emoclass --int8` runs this one.
  3. OpenCV loads the result and runs the --check images; agreement with model.onnx is printed
     (and the script fails if OpenCV cannot load it). Then model.json gets `int8_model`.
"""
import argparse
import pathlib
import sys
import tempfile

import cv2
import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                      quantize_static)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from emoclass_train import Error
from emoclass_train.formats import read_model_json, read_spectro, spectro_with_defaults, with_int8_model, write_json
from emoclass_train.model_input import stored_image_to_input

# Every operator the shipped networks use but Gemm and Softmax (OpenCV 4.6 has no QGemm importer).
QUANTISED_OPS = ["Conv", "Sigmoid", "Mul", "Add", "Concat", "Split", "MaxPool", "GlobalAveragePool"]


def fail(msg):
    print(f"quantize_bundle: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def images(folder, labels, count, seed, channels):
    """`count` dataset PNGs (seeded choice, sorted paths) as NCHW float inputs, and their labels."""
    paths = sorted(p for p in folder.glob("*/*.png") if p.parent.name in labels)
    if not paths:
        fail(f"{folder}: no images")
    rng = np.random.default_rng(seed)
    if count and len(paths) > count:
        paths = [paths[i] for i in sorted(rng.choice(len(paths), count, replace=False))]
    out, truth = [], []
    for p in paths:
        out.append(stored_image_to_input(p, channels))
        truth.append(labels.index(p.parent.name))
    return out, np.array(truth)


class Batches(CalibrationDataReader):
    def __init__(self, input_name, blobs):
        self.input_name, self.it = input_name, iter(blobs)

    def get_next(self):
        b = next(self.it, None)
        return None if b is None else {self.input_name: b}


def fuse_swish_int8(model):
    """QLinearSigmoid(x) + QLinearMul(x, sigmoid) -> one SwishInt8 node (OpenCV's int8 Swish layer)."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    readers = {}
    for n in graph.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    dropped, tables = set(), []
    for n in graph.node:
        if n.op_type != "QLinearMul":
            continue
        a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = n.input
        for x, x_scale, x_zero, s in ((a, a_scale, a_zero, b), (b, b_scale, b_zero, a)):
            sig = producer.get(s)
            if sig is None or sig.op_type != "QLinearSigmoid" or sig.input[0] != x or readers.get(s) != 1:
                continue
            sx, zx = float(consts[x_scale]), int(consts[x_zero])
            sy, zy = float(consts[y_scale]), int(consts[y_zero])
            q = np.arange(-128, 128, dtype=np.float64)
            v = sx * (q - zx)
            # What OpenCV's Swish layer computes, quantised as the Mul's output is.
            table = np.clip(zy + np.round(v / (1.0 + np.exp(-v)) / sy), -128, 127).astype(np.int8)
            name = n.output[0] + "_swish_table"
            tables.append(numpy_helper.from_array(table.reshape(1, 256), name))
            dropped.add(sig.output[0])
            del n.input[:]
            n.input.extend([x, name])
            del n.attribute[:]
            # The attributes become the layer's parameters in OpenCV's importer ("depth" 1 = CV_8S).
            n.attribute.extend([helper.make_attribute("depth", 1), helper.make_attribute("input_scale", sx),
                                helper.make_attribute("input_zeropoint", zx), helper.make_attribute("scales", sy),
                                helper.make_attribute("zeropoints", zy)])
            n.op_type, n.domain = "SwishInt8", ""
            break
    kept = [n for n in graph.node if n.output[0] not in dropped]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(tables)
    return len(tables)


def forward(net, blobs):
    out = []
    for b in blobs:
        net.setInput(b)
        out.append(net.forward().ravel().copy())
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", type=pathlib.Path)
    ap.add_argument("--dataset", type=pathlib.Path, required=True)
    ap.add_argument("--calibration", type=int, default=256, help="training images that calibrate the activations")
    ap.add_argument("--check", type=int, default=400, help="validation images compared with model.onnx (0 = all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-name", default="model_int8.onnx")
    args = ap.parse_args()

    manifest = read_model_json(args.bundle / "model.json")
    if spectro_with_defaults(read_spectro(args.dataset)) != spectro_with_defaults(manifest["spectro"]):
        fail(f"{args.dataset}: its spectro.json differs from the bundle's spectrogram settings")
    labels, channels = manifest["labels"], manifest["input"]["channels"]
    fp32_path = args.bundle / "model.onnx"
    input_name = onnx.load(str(fp32_path)).graph.input[0].name
    calibration, _ = images(args.dataset / "train", labels, args.calibration, args.seed, channels)
    check, truth = images(args.dataset / "val", labels, args.check, 0, channels)

    with tempfile.TemporaryDirectory() as tmp:
        quantised = pathlib.Path(tmp) / "q.onnx"
        quantize_static(str(fp32_path), str(quantised), Batches(input_name, calibration),
                        quant_format=QuantFormat.QOperator, per_channel=True, activation_type=QuantType.QInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=QUANTISED_OPS)
        model = onnx.load(str(quantised))
    fused = fuse_swish_int8(model)
    out_path = args.bundle / args.out_name
    tmp_path = out_path.with_name(out_path.name + ".tmp")
    onnx.save(model, str(tmp_path))

    cv2.setNumThreads(1)
    try:
        int8 = cv2.dnn.readNetFromONNX(str(tmp_path))
    except cv2.error as e:
        tmp_path.unlink()
        fail(f"OpenCV {cv2.__version__} cannot load the int8 network: {e}")
    fp32 = cv2.dnn.readNetFromONNX(str(fp32_path))
    p32, p8 = forward(fp32, check), forward(int8, check)
    l32, l8 = p32.argmax(1), p8.argmax(1)
    tmp_path.replace(out_path)
    write_json(args.bundle / "model.json", with_int8_model(manifest, args.out_name))
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"wrote {out_path} ({out_path.stat().st_size:,} bytes): {fused} SiLU pairs as SwishInt8, "
          f"{len(calibration)} calibration images; operators: {', '.join(ops)}")
    print(f"{len(check)} val images: top class as model.onnx's on {(l8 == l32).mean() * 100:.1f} %; "
          f"accuracy {(l32 == truth).mean() * 100:.1f} % (fp32) vs {(l8 == truth).mean() * 100:.1f} % (int8); "
          f"max probability difference {np.abs(p8 - p32).max():.4f}")


if __name__ == "__main__":
    try:
        main()
    except Error as e:
        fail(str(e))
