"""model.json, the emoclass bundle manifest (docs/formats.md), as the scripts write it:
export_bundle.py for train.py's models, make_manifest.py for ultralytics exports,
make_test_models.py for the test fixtures."""
import json
import os

from emoclass_train import Error

WINDOW = {"hop_s": 1.0, "min_voiced_fraction": 0.1}


def model_json(name, labels, channels, height, width, colormap, spectro, output="probabilities"):
    """The bundle manifest (model.json), keys in docs/formats.md's order."""
    return {
        "format": "emoclass-model",
        "format_version": 1,
        "name": name,
        "labels": list(labels),
        "output": output,
        "input": {
            "channels": channels,
            "height": height,
            "width": width,
            "color": colormap,
            "channel_order": "RGB",
            "scale": 1.0 / 255.0,
            "mean": [0.0] * channels,
            "std": [1.0] * channels,
        },
        "spectro": spectro,
        "window": dict(WINDOW),
    }


def training_data(rows):
    """split -> corpus -> sorted speaker codes, from manifest rows (docs/formats.md, `training_data`)."""
    splits = {}
    for r in rows:
        splits.setdefault(r["split"], {}).setdefault(r["corpus"], set()).add(r["speaker"])
    unknown = set(splits) - {"train", "val", "test"}
    if unknown:
        raise Error(f"manifest has splits other than train, val, test: {sorted(unknown)}")
    return {split: {corpus: sorted(speakers) for corpus, speakers in sorted(splits[split].items())}
            for split in ("train", "val", "test") if split in splits}


def write_json(path, obj):
    """model.json's layout (indent 2, final newline), written to a .tmp file and renamed, so a
    reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
