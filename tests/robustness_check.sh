#!/usr/bin/env bash
# scripts/robustness.py on six held-out clips from ../shared/data (one per emotion,
# tests/known_clips.txt): every condition is made and evaluated, the clean copies score
# as the originals do, each degradation is what it says (SNR, 8 kHz telephone, same length), and
# the telephone copies repeat exactly from run to run.
# Exit 77 (skipped) when the data is absent.
set -euo pipefail
emoclass=$1; src=$2
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: robustness script not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "source,corpus,speaker,label,split,image" > "$tmp/manifest.csv"
originals=()
while read -r path label; do
  case "$path" in ''|'#'*) continue ;; esac
  echo "$data/$path,${path%%/*},x,$label,test,unused.png" >> "$tmp/manifest.csv"
  originals+=("$data/$path")
done < "$src/tests/known_clips.txt"
[ ${#originals[@]} -eq 6 ] || { echo "tests/known_clips.txt: expected 6 clips, read ${#originals[@]}"; exit 1; }
/usr/bin/python3 "$src/scripts/robustness.py" --manifest "$tmp/manifest.csv" --split test --out "$tmp/out" \
  --emoclass "$emoclass" --model "$src/models/default" -j 1
"$emoclass" --model "$src/models/default" eval -q --json "${originals[@]}" > "$tmp/originals.json"
# The telephone copies must repeat exactly (no dither in sox).
/usr/bin/python3 "$src/scripts/robustness.py" --manifest "$tmp/manifest.csv" --split test --out "$tmp/again" \
  --emoclass "$emoclass" --model "$src/models/default" --conditions telephone -j 1 > /dev/null
/usr/bin/python3 - "$tmp" "$src" <<'PY'
import json, pathlib, sys
import numpy as np, soundfile as sf
tmp, src = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
sys.path.insert(0, str(src / "scripts"))
import robustness
out = tmp / "out"
for cond in robustness.CONDITIONS:
    r = json.loads((out / f"{cond}.json").read_text())
    assert r["files"] == 6 and r["failed"] == 0, (cond, r["files"], r["failed"])
    assert f"| {cond} |" in (out / "robustness.md").read_text(), cond
orig = json.loads((tmp / "originals.json").read_text())
clean = json.loads((out / "clean.json").read_text())
assert clean["correct"] == orig["correct"], ("clean copies must score as the originals", clean["correct"], orig["correct"])
for wav in sorted((out / "clean").rglob("*.wav")):
    rel = wav.relative_to(out / "clean")
    x, sr = sf.read(str(wav))
    for snr in (20, 10):
        y, sr_y = sf.read(str(out / f"noise{snr}" / rel))
        measured = 10 * np.log10(robustness.speech_power(x, sr) / np.mean((y - x) ** 2))
        assert sr_y == sr and abs(measured - snr) < 0.5, (str(rel), snr, measured)
    r, sr_r = sf.read(str(out / "reverb" / rel))
    assert sr_r == sr and len(r) == len(x) and not np.allclose(r, x), str(rel)
    t1, _ = sf.read(str(out / "telephone" / rel))
    t2, _ = sf.read(str(tmp / "again" / "telephone" / rel))
    assert np.array_equal(t1, t2), ("telephone copy differs between two runs", str(rel))
    t = sf.info(str(out / "telephone" / rel))
    assert t.samplerate == 8000 and abs(t.duration - len(x) / sr) < 0.05, (str(rel), t.samplerate, t.duration)
print(f"robustness: 5 conditions x 6 clips; clean {clean['correct']}/6 = originals {orig['correct']}/6; SNR, rate, length checked, telephone repeatable")
PY
