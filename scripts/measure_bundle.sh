#!/usr/bin/env bash
# The measurements every training recipe ends with, for models/NAME on WORK/dataset's test split:
# emoclass eval through the C++ path on the test speakers' audio (WORK/eval_test.txt and .json,
# WORK/confusion_test.png) and on degraded copies of it (noise, room, telephone: WORK/robustness).
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
