#!/usr/bin/python3
"""A view of a spectro-dump dataset in which one corpus is never trained on (leave one corpus out).

    scripts/holdout_corpus.py DATASET --corpus ravdess -o VIEW
    scripts/train.py VIEW --out run ...    # its TEST line is then the corpus it never heard

Speakers held out of one corpus say how a model does on new voices recorded the way its training
data was; a whole corpus held out says how it does on a new recording set-up, text, language or
acting style, which is what a user's own recordings are. VIEW gets:

  manifest.csv  the other corpora's train and val rows as they were; every row of the held-out
                corpus moved to the `test` split, except the dataset's own test speakers of that
                corpus, which are dropped (so a choice made with the view never sees them); the
                other corpora's test rows dropped (the trainer's test report is then the
                held-out corpus alone)
  spectro.json  copied
  train/ val/ test/  links to DATASET's image folders (manifest image paths are relative)

No image is copied or recomputed.
"""
import argparse
import os
import pathlib
import shutil
import sys
from collections import Counter

from emoclass_train import Error
from emoclass_train.formats import SPLITS, read_manifest_file, write_manifest


def fail(msg):
    print(f"holdout_corpus: error: {msg}", file=sys.stderr)
    sys.exit(2)


def holdout_rows(rows, corpus):
    """The view's rows: see the module docstring."""
    out = []
    for r in rows:
        if r["corpus"] == corpus:
            if r["split"] != "test":
                out.append(dict(r, split="test"))
        elif r["split"] != "test":
            out.append(r)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", type=pathlib.Path, help="spectro-dump --dataset output folder")
    p.add_argument("--corpus", required=True, help="the corpus to hold out (as in the manifest's corpus column)")
    p.add_argument("-o", "--out", type=pathlib.Path, required=True, help="the view folder to write")
    args = p.parse_args(argv)

    src = args.dataset.resolve()
    manifest = src / "manifest.csv"
    if not manifest.is_file():
        fail(f"{manifest}: missing (expected a spectro-dump dataset folder)")
    try:
        rows = read_manifest_file(manifest, {"corpus", "split", "image"}, " (a spectro-dump manifest)")
    except Error as e:
        fail(str(e))
    fields = list(rows[0])
    corpora = sorted({r["corpus"] for r in rows})
    if args.corpus not in corpora:
        fail(f"{manifest}: no corpus '{args.corpus}' (it has {', '.join(corpora)})")
    view = holdout_rows(rows, args.corpus)
    if not any(r["split"] == "train" for r in view):
        fail(f"holding out '{args.corpus}' leaves nothing to train on")

    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "spectro.json", args.out / "spectro.json")
    for split in SPLITS:
        link = args.out / split
        if link.is_symlink() or link.exists():
            if not link.is_symlink():
                fail(f"{link}: exists and is not a link; choose an empty --out")
            link.unlink()
        os.symlink(src / split, link)
    write_manifest(args.out / "manifest.csv", view, fields)

    counts = Counter((r["split"], r["corpus"]) for r in view)
    for split in SPLITS:
        parts = [f"{c} {n}" for (s, c), n in sorted(counts.items()) if s == split]
        print(f"{split:5s} " + (", ".join(parts) if parts else "-"))
    dropped = sum(1 for r in rows if r["corpus"] == args.corpus and r["split"] == "test")
    print(f"held out: {args.corpus} ({sum(n for (s, c), n in counts.items() if c == args.corpus)} images as test; "
          f"its {dropped} test-split images left out)")


if __name__ == "__main__":
    main()
