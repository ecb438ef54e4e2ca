#!/usr/bin/env bash
# scripts/quantize_bundle.py (ONNX Runtime's quantiser from .venv-quantize) on a copy of the shipped
# bundle, calibrated on EMO-DB images from ../shared/data: it writes model_int8.onnx with every
# SiLU as OpenCV's SwishInt8, model.json names it, the same run twice gives the same bytes, and
# `emoclass --int8` runs it on the six known held-out clips with the answers tests/known_clips.txt
# gives. Exit 77 (skipped) when the data or the venv (scripts/setup_quantize.sh) is absent.
set -euo pipefail
spectro_dump=$1; emoclass=$2; src=$3
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: quantize_bundle.py not checked"; exit 77; }
py="$src/.venv-quantize/bin/python"
[ -x "$py" ] || { echo ".venv-quantize is missing (scripts/setup_quantize.sh): quantize_bundle.py not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$spectro_dump" --dataset "$data/emodb" -o "$tmp/dataset" -q
for run in a b; do
  mkdir -p "$tmp/$run"
  cp "$src/models/default/model.onnx" "$src/models/default/model.json" "$tmp/$run/"
  # The copy starts without an int8 network: the script must add one.
  "$py" - "$tmp/$run/model.json" <<'PY'
import json, sys
p = sys.argv[1]; m = json.load(open(p)); m.pop("int8_model", None); json.dump(m, open(p, "w"), indent=2)
PY
  "$py" "$src/scripts/quantize_bundle.py" "$tmp/$run" --dataset "$tmp/dataset" --calibration 64 --check 50 \
    2>&1 | grep -v '^WARNING' | tee "$tmp/$run.log"
done
cmp "$tmp/a/model_int8.onnx" "$tmp/b/model_int8.onnx" || { echo "two runs wrote different int8 networks"; exit 1; }
grep -q '26 SiLU pairs as SwishInt8' "$tmp/a.log" || { echo "expected the 26 SiLU pairs of yolov8n-cls fused"; exit 1; }
grep -q '"int8_model": "model_int8.onnx"' "$tmp/a/model.json" || { echo "model.json does not name model_int8.onnx"; exit 1; }
files=(); want=()
while read -r path label; do
  case "$path" in ''|'#'*) continue ;; esac
  files+=("$data/$path"); want+=("$label")
done < "$src/tests/known_clips.txt"
got=$("$emoclass" --int8 --model "$tmp/a" -q -j 1 --format csv "${files[@]}" | tail -n +2 | cut -d, -f2)
[ "$got" = "$(printf '%s\n' "${want[@]}")" ] || { echo "emoclass --int8 answered:"; echo "$got"; exit 1; }
echo "quantize_bundle.py: int8 network written, reproducible, and right on the ${#files[@]} known clips"
