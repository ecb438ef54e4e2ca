#!/usr/bin/env bash
# The measurements every training recipe ends with, for models/NAME on WORK/dataset's test split:
# emoclass eval through the C++ path on the test speakers' audio (WORK/eval_test.txt and .json,
# WORK/confusion_test.png) and on degraded copies of it (noise, room, telephone: WORK/robustness);
# and, when the bundle has an int8 network, the validation speakers with and without --int8
# (WORK/eval_val.txt, WORK/eval_val_int8.txt: the choice between them is made on val).
# Usage: scripts/measure_bundle.sh NAME WORK   (called by train_default.sh and train_distilled.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=$1
WORK=$2
build/classify/emoclass --model "models/$NAME" eval --manifest "$WORK/dataset/manifest.csv" --split test \
  --confusion-png "$WORK/confusion_test.png" | tee "$WORK/eval_test.txt"
build/classify/emoclass --model "models/$NAME" eval -q --json --manifest "$WORK/dataset/manifest.csv" --split test \
  > "$WORK/eval_test.json"
/usr/bin/python3 scripts/robustness.py --manifest "$WORK/dataset/manifest.csv" --split test --out "$WORK/robustness" \
  --model "models/$NAME"
if grep -q '"int8_model"' "models/$NAME/model.json"; then
  build/classify/emoclass --model "models/$NAME" eval -q --manifest "$WORK/dataset/manifest.csv" --split val \
    > "$WORK/eval_val.txt"
  build/classify/emoclass --int8 --model "models/$NAME" eval -q --manifest "$WORK/dataset/manifest.csv" --split val \
    > "$WORK/eval_val_int8.txt"
fi
