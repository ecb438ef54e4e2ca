#!/usr/bin/env bash
# The training pipeline end to end on a few real clips (RAVDESS and CREMA-D, six actors of each):
# spectro-dump --dataset -> scripts/train.py (2 epochs, the corpus adversary on) -> the same run
# again, which must give bit-identical weights -> a fine-tuning run from its checkpoint ->
# scripts/export_bundle.py (which checks OpenCV DNN against PyTorch) -> emoclass classifies a clip
# with the new bundle. Also scripts/holdout_corpus.py on the dataset. Not a quality check: the
# model sees 100 images for seconds. Exit 77 (skipped) when ../shared/data is absent.
set -euo pipefail
spectro_dump=$1; emoclass=$2; src=$3
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: training pipeline not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3

# Six RAVDESS actors (neutral, happy, sad, angry, fear, disgust; both intensities, one sentence)
# and six CREMA-D actors (the six emotions, two sentences).
for a in 01 02 03 04 06 07; do
  mkdir -p "$tmp/corpora/ravdess/Actor_$a"
  ln -s "$data"/ravdess/Actor_$a/03-01-0[134567]-0[12]-01-01-$a.* "$tmp/corpora/ravdess/Actor_$a/"
done
mkdir -p "$tmp/corpora/crema-d"
# (../shared/data holds no actor 1001, and a glob that matches nothing would leave a broken link
# named after the pattern, which spectro-dump rightly reports: every pattern must match.)
shopt -s nullglob
for a in 1002 1003 1005 1006 1007 1009; do
  clips=("$data"/crema-d/${a}_{DFA,IEO}_*.*)
  [ ${#clips[@]} -gt 0 ] || { echo "no CREMA-D clips of actor $a in $data/crema-d"; exit 1; }
  ln -s "${clips[@]}" "$tmp/corpora/crema-d/"
done
shopt -u nullglob
"$spectro_dump" --dataset "$tmp/corpora/ravdess" "$tmp/corpora/crema-d" -o "$tmp/ds" \
  --val-frac 0.2 --test-frac 0.2 -j 1 > "$tmp/dump.log" 2>&1

common=(--epochs 2 --batch 8 --threads 1 --seed 3 --corpus-balance 0.5 --telephone-p 0.2 --reverb-p 0.2
        --corpus-adversary 0.5 --no-test)
"$py" "$src/scripts/train.py" "$tmp/ds" --out "$tmp/a" "${common[@]}" > "$tmp/a.log"
"$py" "$src/scripts/train.py" "$tmp/ds" --out "$tmp/b" "${common[@]}" > "$tmp/b.log"
"$py" "$src/scripts/train.py" "$tmp/ds" --out "$tmp/ft" --init "$tmp/a/last.pt" --epochs 1 --batch 8 \
  --threads 1 --no-test > "$tmp/ft.log"
grep -q "tensors loaded, 0 left fresh" "$tmp/ft.log" || { echo "fine-tuning did not load every tensor:"; cat "$tmp/ft.log"; exit 1; }
"$py" - "$tmp" <<'PY'
import json, pathlib, sys
import torch
tmp = pathlib.Path(sys.argv[1])
a = torch.load(tmp / "a/last.pt", weights_only=False)
b = torch.load(tmp / "b/last.pt", weights_only=False)
assert a["state_dict"].keys() == b["state_dict"].keys()
for k in a["state_dict"]:
    assert torch.equal(a["state_dict"][k], b["state_dict"][k]), f"same seed, different weights: {k}"
# The adversary trains beside the network but is not part of it: no extra tensors are saved.
assert not any("advers" in k for k in a["state_dict"]), "adversary weights leaked into the checkpoint"
hist = json.loads((tmp / "a/train.json").read_text())["history"]
assert len(hist) == 2, len(hist)
for h in hist:
    assert 0.0 <= h["corpus_acc"] <= 1.0 and h["corpus_loss"] > 0.0, h
    assert h["loss"] == h["loss"] and h["loss"] > 0.0, h  # finite, not NaN
print("train.py: 2 epochs, identical weights on a rerun, adversary reported, fine-tuning loads all tensors")
PY

"$py" "$src/scripts/export_bundle.py" "$tmp/a/best.pt" --dataset "$tmp/ds" --name tiny --models-dir "$tmp/models" \
  --verify 8 > "$tmp/export.log"
clip=$(ls "$data"/ravdess/Actor_05/03-01-05-02-01-01-05.*)
"$emoclass" --model "$tmp/models/tiny" --format jsonl "$clip" > "$tmp/out.jsonl"
"$py" - "$tmp/out.jsonl" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read())
probs = r["probabilities"]
assert sorted(probs) == ["angry", "disgust", "fear", "happy", "neutral", "sad"], probs
assert abs(sum(probs.values()) - 1.0) < 1e-4, probs
print("export_bundle.py -> emoclass: the new bundle classifies a clip:", r["emotion"])
PY
"$py" - "$tmp/ds/manifest.csv" "$tmp/models/tiny/model.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
record = json.load(open(sys.argv[2]))["training_data"]
want = {}
for r in rows:
    want.setdefault(r["split"], {}).setdefault(r["corpus"], set()).add(r["speaker"])
assert {s: {c: set(v) for c, v in cs.items()} for s, cs in record.items()} == want, (record, want)
print("export_bundle.py: model.json's training_data lists the dataset's speakers per split:",
      {s: sum(map(len, cs.values())) for s, cs in record.items()})
PY

"$py" "$src/scripts/holdout_corpus.py" "$tmp/ds" --corpus ravdess -o "$tmp/view" > /dev/null
"$py" - "$tmp/ds/manifest.csv" "$tmp/view/manifest.csv" <<'PY'
import csv, sys
src = list(csv.DictReader(open(sys.argv[1])))
view = list(csv.DictReader(open(sys.argv[2])))
rav = [r for r in src if r["corpus"] == "ravdess"]
assert {r["split"] for r in view if r["corpus"] == "ravdess"} == {"test"}
assert sum(r["corpus"] == "ravdess" for r in view) == sum(r["split"] != "test" for r in rav)
assert not any(r["split"] == "test" for r in view if r["corpus"] != "ravdess")
assert [r for r in view if r["corpus"] != "ravdess"] == [r for r in src if r["corpus"] != "ravdess" and r["split"] != "test"]
print("holdout_corpus.py: ravdess only in test, its test speakers and the others' test rows left out")
PY
"$py" "$src/scripts/train.py" "$tmp/view" --out "$tmp/loco" --epochs 1 --batch 8 --threads 1 > "$tmp/loco.log"
grep -q "TEST (report only.*ravdess" "$tmp/loco.log" || { echo "the view's test report does not name ravdess:"; tail -3 "$tmp/loco.log"; exit 1; }
echo "training pipeline: ok"
