#!/usr/bin/env bash
# Reproduces the shipped default model from ../shared/data, end to end, on the CPU:
#   spectro-dump --dataset -> scripts/train.py -> scripts/export_bundle.py -> emoclass eval.
# Usage: scripts/train_default.sh [WORKDIR]   (default: ../emoclass-work beside the checkout)
# The bundle lands in models/$NAME; held-out figures in WORKDIR/eval_test.{txt,json}.
# Runs in the background happily: nohup scripts/train_default.sh > train.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${NAME:-emo6-yolov8n-128}
WORK=${1:-../emoclass-work}
DATA=${DATA:-../shared/data}
mkdir -p "$WORK"
bash scripts/build.sh
# The shipped model was trained on the four original corpora; ../shared/data now holds seven, so
# they are named (the same split: spectro-dump --list-split checks it against model.json).
build/spectro/spectro-dump --dataset "$DATA/ravdess" "$DATA/crema-d" "$DATA/tess" "$DATA/emodb" -o "$WORK/dataset"
# The settings the shipped model was trained with (bit-reproducible from the seed at 2 threads).
/usr/bin/python3 scripts/train.py "$WORK/dataset" --out "$WORK/run" --scale n --epochs 130 --seed 0 \
  --threads 2 --corpus-balance 0.5 --mixup-p 0.5 --freq-warp 0.08 --dropout 0.3 \
  --telephone-p 0.15 --reverb-p 0.2 --noise-p 0.4 --noise-min-db 25 --time-budget-min 55
/usr/bin/python3 scripts/export_bundle.py "$WORK/run/best.pt" --dataset "$WORK/dataset" --name "$NAME" --force
# The int8 network `emoclass --int8` runs (ONNX Runtime's quantiser, in a venv of its own),
# calibrated on this dataset's training images.
QUANTIZE_PY=$(bash scripts/setup_quantize.sh | tail -n 1)
"$QUANTIZE_PY" scripts/quantize_bundle.py "models/$NAME" --dataset "$WORK/dataset"
# Measured through the C++ path on the test speakers' audio, clean and degraded.
bash scripts/measure_bundle.sh "$NAME" "$WORK"
