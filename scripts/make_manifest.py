#!/usr/bin/python3
"""Writes the emoclass model.json for a user's own ultralytics YOLOv8-cls ONNX export.

    scripts/make_manifest.py path/to/model.onnx --spectro DATA/spectro.json [--name NAME]
    scripts/make_manifest.py runs/best.onnx --spectro DATA/spectro.json --out models/mine

Expected input: `yolo export format=onnx opset=12` of a yolov8*-cls model trained on the PNGs
spectro-dump wrote: input `images` 1x3xHxW RGB 0..1, output `output0` 1xN probabilities, and
ultralytics' metadata_props `names` (e.g. "{0: 'angry', 1: 'disgust'}") and `imgsz`
(e.g. "[224, 224]"). spectro.json is the one of those training images: it becomes the bundle's
`spectro` object, so emoclass renders exactly the images the model learned from.

The manifest says: labels in output order from `names`; input channels/height/width from the
graph (checked against `imgsz`); color = spectro.json's image colormap (gray: gray replicated to
3 channels), RGB, scale 1/255, mean 0, std 1; output probabilities when the graph ends in Softmax
(ultralytics' exports do). A bundle's network must be DIR/model.onnx: without --out the ONNX
must already be named model.onnx; with --out DIR it is copied there.

Every problem is reported as one line, `make_manifest: error: FILE: reason`, exit status 2.
"""
import argparse
import ast
import pathlib
import shutil
import sys

from emoclass_train import Error
from emoclass_train.formats import check_spectro, model_json, spectro_with_defaults, write_json

EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "sad")


class Problem(Error):
    def __init__(self, where, reason):
        super().__init__(f"{where}: {reason}")


def read_metadata(model):
    return {p.key: p.value for p in model.metadata_props}


def parse_names(text, where):
    """ultralytics writes str(dict): "{0: 'angry', 1: 'disgust'}". A list is accepted too."""
    try:
        names = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise Problem(where, f"metadata 'names' is not a Python literal: {text[:60]!r}")
    if isinstance(names, (list, tuple)):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise Problem(where, "metadata 'names' must be a non-empty {index: name} dict")
    try:
        keys = sorted(int(k) for k in names)
    except (TypeError, ValueError):
        raise Problem(where, "metadata 'names' keys must be class indices")
    if keys != list(range(len(keys))):
        raise Problem(where, f"metadata 'names' indices must be 0..{len(keys) - 1} without gaps")
    labels = [names[k] if k in names else names[str(k)] for k in keys]
    if not all(isinstance(l, str) and l.strip() for l in labels):
        raise Problem(where, "metadata 'names' values must be non-empty strings")
    labels = [l.strip() for l in labels]
    if len(set(labels)) != len(labels):
        raise Problem(where, "metadata 'names' has duplicate class names")
    if len(labels) < 2:
        raise Problem(where, "a classifier needs at least 2 classes")
    return labels


def parse_imgsz(text, where):
    try:
        v = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise Problem(where, f"metadata 'imgsz' is not a size: {text!r}")
    v = [v] if isinstance(v, int) else list(v) if isinstance(v, (list, tuple)) else None
    if not v or len(v) not in (1, 2) or not all(isinstance(x, int) and x > 0 for x in v):
        raise Problem(where, f"metadata 'imgsz' must be [height, width] or a single size, got {text!r}")
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def dims(value_info):
    """Static dims as ints, symbolic or unknown ones as None."""
    return [d.dim_value if d.HasField("dim_value") else None for d in value_info.type.tensor_type.shape.dim]


def opencv_check(onnx_path, channels, height, width, n_out):
    """Loads the network the way emoclass does (OpenCV DNN) and runs one forward pass."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        print("note: python3-opencv not installed; skipped the OpenCV load check")
        return
    try:
        net = cv2.dnn.readNetFromONNX(str(onnx_path))
        net.setInput(np.zeros((1, channels, height, width), np.float32))
        out = net.forward()
    except cv2.error as e:
        msg = " ".join(str(e).split())
        raise Problem(onnx_path, f"OpenCV {cv2.__version__} DNN cannot run it (export with opset=12): {msg[-160:]}")
    if out.size != n_out:
        raise Problem(onnx_path, f"OpenCV DNN gives {out.size} outputs, the metadata names {n_out} classes")


def make_manifest(args):
    try:
        import onnx
    except ImportError:
        raise Problem("python3-onnx", "not installed (apt-get install python3-onnx)")
    src = args.onnx
    if not src.is_file():
        raise Problem(src, "no such file")
    out_dir = args.out or src.parent
    if args.out is None and src.name != "model.onnx":
        raise Problem(src, "a bundle's network must be named model.onnx: rename it, "
                           "or pass --out DIR to copy it into a bundle folder")
    json_path = out_dir / "model.json"
    if json_path.exists() and not args.force:
        raise Problem(json_path, "already exists (use --force to overwrite)")
    spectro, colormap = check_spectro(args.spectro)

    try:
        model = onnx.load(str(src))
    except Exception as e:  # onnx raises DecodeError and friends
        raise Problem(src, f"not a readable ONNX model ({type(e).__name__})")
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1:
        raise Problem(src, f"expected one input image, found {len(inputs)} inputs")
    if len(graph.output) != 1:
        raise Problem(src, f"expected one output, found {len(graph.output)} (a detection or segmentation export?)")
    meta = read_metadata(model)
    if "names" not in meta:
        raise Problem(src, "no 'names' metadata: not an ultralytics export (write model.json by hand, see docs/formats.md)")
    task = meta.get("task", "classify")
    if task != "classify":
        raise Problem(src, f"is an ultralytics '{task}' model; emoclass needs a classification (-cls) model")
    labels = parse_names(meta["names"], src)

    shape = dims(inputs[0])
    if len(shape) != 4:
        raise Problem(src, f"input '{inputs[0].name}' has rank {len(shape)}, expected 1xCxHxW")
    if shape[0] not in (None, 1):
        raise Problem(src, f"input batch is {shape[0]}; export with batch=1")
    channels = shape[1] if shape[1] is not None else int(meta.get("channels", 3))
    if channels not in (1, 3):
        raise Problem(src, f"input has {channels} channels, expected 3 (or 1)")
    if channels == 1 and colormap != "gray":
        raise Problem(src, f"a 1-channel model cannot take {colormap} images (spectro.json says {colormap})")
    if "imgsz" in meta:
        height, width = parse_imgsz(meta["imgsz"], src)
        if shape[2] is not None and shape[3] is not None and (shape[2], shape[3]) != (height, width):
            raise Problem(src, f"input is {shape[2]}x{shape[3]} but metadata imgsz says {height}x{width}")
    elif shape[2] is not None and shape[3] is not None:
        height, width = shape[2], shape[3]
    else:
        raise Problem(src, "input size is dynamic and there is no 'imgsz' metadata")
    if not (8 <= height <= 4096 and 8 <= width <= 4096):
        raise Problem(src, f"input size {height}x{width} is outside 8..4096")

    out_shape = dims(graph.output[0])
    if out_shape and out_shape[-1] is not None and out_shape[-1] != len(labels):
        raise Problem(src, f"output has {out_shape[-1]} classes but metadata 'names' lists {len(labels)}")
    producer = [n for n in graph.node if graph.output[0].name in n.output]
    ends_in_softmax = bool(producer) and producer[0].op_type == "Softmax"
    output = args.output if args.output != "auto" else ("probabilities" if ends_in_softmax else "logits")
    if args.output == "probabilities" and not ends_in_softmax:
        print("warning: the graph does not end in Softmax, yet --output probabilities was given")
    if inputs[0].name != "images" or graph.output[0].name != "output0":
        print(f"note: tensor names are '{inputs[0].name}' -> '{graph.output[0].name}' "
              "(ultralytics uses images -> output0); emoclass uses the only input and output")
    if not args.no_opencv_check:
        opencv_check(src, channels, height, width, len(labels))

    name = args.name or (out_dir.resolve().name if args.out else src.resolve().parent.name) or "model"
    manifest = model_json(name, labels, channels, height, width, colormap, spectro, output)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.out is not None:
        dst = out_dir / "model.onnx"
        if dst.resolve() != src.resolve():
            if dst.exists() and not args.force:
                raise Problem(dst, "already exists (use --force to overwrite)")
            shutil.copyfile(src, dst)
    write_json(json_path, manifest)
    extra = sorted(set(labels) - set(EMOTIONS))
    print(f"wrote {json_path}: {name}, {len(labels)} labels ({', '.join(labels)}), "
          f"input {channels}x{height}x{width} {colormap}, output {output}")
    if extra:
        print(f"note: labels outside emoclass's six emotions: {', '.join(extra)}")
    settings = spectro_with_defaults(spectro)
    frames, n_mels = settings["image"]["frames"], settings["n_mels"]
    if frames != n_mels:
        print(f"warning: spectrogram images are {frames}x{n_mels} (frames x mels), not square: emoclass resizes "
              f"the whole image to {width}x{height}, while ultralytics' classify transforms resize the short side "
              "and centre-crop; train on square images (frames = n_mels) so both see the same picture")
    elif (n_mels, frames) != (height, width):
        print(f"note: emoclass resizes the {frames}x{n_mels} spectrogram images to {width}x{height} (bilinear)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("onnx", type=pathlib.Path, help="the ultralytics ONNX export")
    p.add_argument("--spectro", type=pathlib.Path, required=True, help="spectro.json of the training images")
    p.add_argument("--out", type=pathlib.Path, help="bundle folder to create (the ONNX is copied in as model.onnx)")
    p.add_argument("--name", help="model name in the manifest (default: the bundle folder's name)")
    p.add_argument("--output", choices=("auto", "probabilities", "logits"), default="auto",
                   help="what the network outputs (auto: probabilities when the graph ends in Softmax)")
    p.add_argument("--force", action="store_true", help="overwrite an existing model.json")
    p.add_argument("--no-opencv-check", action="store_true", help="skip loading the network in OpenCV DNN")
    args = p.parse_args()
    try:
        make_manifest(args)
    except Error as e:
        print(f"make_manifest: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
