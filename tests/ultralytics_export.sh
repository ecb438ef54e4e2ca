#!/usr/bin/env bash
# The real ultralytics (PyPI, in .venv-ultralytics on Debian's torch 1.13) with nothing downloaded:
# spectro-dump --dataset on 66 real RAVDESS clips -> `yolo classify train model=yolov8n-cls.yaml`
# (from scratch, four short epochs) -> `yolo export format=onnx opset=12` -> scripts/make_manifest.py
# -> emoclass gives the probabilities ultralytics' own predictor gives for the same images, and
# classifies a clip with the bundle. Not a quality check (44 training images).
# Every Python process runs with tests/ultralytics/sitecustomize.py, which refuses and records any
# network use: the test fails if ultralytics tried to reach anything.
# Exit 77 (skipped, with the reason) when ../shared/data or the venv is missing.
set -euo pipefail
spectro_dump=$1; emoclass=$2; src=$3
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: real-ultralytics export not checked"; exit 77; }
venv="$src/.venv-ultralytics"
[ -x "$venv/bin/yolo" ] || { echo "$venv is missing (made by scripts/setup_ultralytics.sh, which scripts/test.sh runs): real-ultralytics export not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Six RAVDESS actors: the six emotions, both intensities, one sentence (66 clips).
for a in 01 02 03 04 05 06; do
  mkdir -p "$tmp/corpora/ravdess/Actor_$a"
  ln -s "$data"/ravdess/Actor_$a/03-01-0[134567]-0[12]-01-01-$a.* "$tmp/corpora/ravdess/Actor_$a/"
done
"$spectro_dump" --dataset "$tmp/corpora/ravdess" -o "$tmp/ds" --val-frac 0.2 --test-frac 0.2 -j 1 > "$tmp/dump.log" 2>&1

# Offline: ultralytics' own switch (its is_online() answers False, so nothing is auto-installed or
# synced), its settings and fonts in the scratch folder, not ~/.config; no hub, no telemetry.
export YOLO_OFFLINE=True YOLO_CONFIG_DIR="$tmp/config" YOLO_VERBOSE=True
export NETWORK_AUDIT_LOG="$tmp/network.log" PYTHONPATH="$src/tests/ultralytics"
export OMP_NUM_THREADS=2 MPLBACKEND=Agg
# The guard itself first: a request must be refused and recorded, or an empty log would prove nothing.
if "$venv/bin/python" -c 'import urllib.request; urllib.request.urlopen("http://192.0.2.1/", timeout=1)' 2>/dev/null \
   || [ ! -s "$NETWORK_AUDIT_LOG" ]; then
  echo "tests/ultralytics/sitecustomize.py did not refuse a request: the offline check would prove nothing"; exit 1
fi
: > "$NETWORK_AUDIT_LOG"
"$venv/bin/yolo" settings sync=False hub=False > "$tmp/settings.log" 2>&1 || { cat "$tmp/settings.log"; exit 1; }
cd "$tmp"
# Four short epochs (44 images, batch 4): after one, the network answers the same for every input
# (measured: identical probabilities to 6 decimals for every image, in ultralytics and emoclass
# alike), which would make the agreement check below prove nothing.
"$venv/bin/yolo" classify train data="$tmp/ds" model=yolov8n-cls.yaml pretrained=False epochs=4 imgsz=128 \
  batch=4 workers=0 device=cpu amp=False plots=False val=True project="$tmp/runs" name=train exist_ok=True \
  seed=0 deterministic=True > "$tmp/train.log" 2>&1 || { tail -40 "$tmp/train.log"; exit 1; }
weights="$tmp/runs/train/weights/last.pt"
[ -f "$weights" ] || { echo "training wrote no $weights:"; tail -20 "$tmp/train.log"; exit 1; }
"$venv/bin/yolo" export model="$weights" format=onnx opset=12 imgsz=128 simplify=False dynamic=False \
  > "$tmp/export.log" 2>&1 || { tail -40 "$tmp/export.log"; exit 1; }
onnx="${weights%.pt}.onnx"
[ -f "$onnx" ] || { echo "export wrote no $onnx:"; tail -20 "$tmp/export.log"; exit 1; }
if [ -s "$NETWORK_AUDIT_LOG" ]; then
  echo "ultralytics tried to use the network (refused):"; cat "$NETWORK_AUDIT_LOG"; exit 1
fi
grep -h "Ultralytics YOLOv8" "$tmp/train.log" | head -1
grep -h -A2 "top1_acc" "$tmp/train.log" | tail -2 || true

/usr/bin/python3 "$src/scripts/make_manifest.py" "$onnx" --spectro "$tmp/ds/spectro.json" --name real-ultralytics \
  --out "$tmp/bundle"
# The same images through ultralytics' own predictor (PyTorch, the .pt) and through emoclass (OpenCV
# DNN, the exported ONNX via the manifest): the same probabilities, and not the same for every image.
images=("$tmp"/ds/test/*/*.png)
"$venv/bin/python" - "$weights" "${images[@]:0:8}" > "$tmp/ultralytics.json" 2> "$tmp/predict.log" <<'PY' \
  || { cat "$tmp/predict.log"; exit 1; }
import json, sys
from ultralytics import YOLO
model = YOLO(sys.argv[1])
out = {}
for f in sys.argv[2:]:
    r = model.predict(f, imgsz=128, device="cpu", verbose=False)[0]
    out[f] = {model.names[i]: float(p) for i, p in enumerate(r.probs.data)}
print(json.dumps(out))
PY
[ ! -s "$NETWORK_AUDIT_LOG" ] || { echo "ultralytics' predictor tried to use the network (refused):"; cat "$NETWORK_AUDIT_LOG"; exit 1; }
"$emoclass" --model "$tmp/bundle" --format jsonl -q "${images[@]:0:8}" > "$tmp/emoclass_png.jsonl"
/usr/bin/python3 - "$tmp/ultralytics.json" "$tmp/emoclass_png.jsonl" <<'PY'
import json, sys
ref = json.load(open(sys.argv[1]))
ours = {r["file"]: r["probabilities"] for r in map(json.loads, open(sys.argv[2]))}
assert ours.keys() == ref.keys(), (sorted(ours), sorted(ref))
diff = max(abs(ours[f][k] - ref[f][k]) for f in ref for k in ref[f])
spread = max(max(abs(ref[f][k] - ref[g][k]) for k in ref[f]) for f in ref for g in ref)
print(f"{len(ref)} images: emoclass vs ultralytics' predictor, largest probability difference {diff:.2e}; "
      f"the probabilities differ between images by up to {spread:.2e}")
assert spread > 5e-4, "the trained network answers the same for every input: the comparison would prove nothing"
assert diff < 1e-4, diff
PY

clip=$(ls "$data"/ravdess/Actor_07/03-01-05-02-01-01-07.*)
"$emoclass" --model "$tmp/bundle" --format jsonl "$clip" > "$tmp/out.jsonl"
/usr/bin/python3 - "$tmp/out.jsonl" "$tmp/bundle/model.json" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
m = json.loads(open(sys.argv[2]).read())
probs = r["probabilities"]
assert sorted(probs) == ["angry", "disgust", "fear", "happy", "neutral", "sad"], probs
assert abs(sum(probs.values()) - 1.0) < 1e-4, probs
assert r["emotion"] in probs, r
print("ultralytics export -> make_manifest.py -> emoclass:", json.dumps(r))
print("bundle:", m["name"], m["input"], m.get("output"))
PY
echo "real ultralytics: trained, exported, classified; no network use"
