#!/usr/bin/env bash
# scripts/spark_classify.py on Spark local[2] (PySpark from the venv, offline) over 30 real clips
# from ../shared/data, given as a list plus a folder tree: every file's JSON line and Parquet row
# must equal what `emoclass --format jsonl` prints for it. Exit 77 (skipped) when the data is absent.
set -euo pipefail
emoclass=$(realpath "$1"); src=$(realpath "$2")
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: Spark job not checked"; exit 77; }
data=$(cd "$data" && pwd)
python="$src/.venv/bin/python"
"$python" -c 'import pyspark' || { echo "FAIL: pyspark is not in $src/.venv (run scripts/setup_python.sh)"; exit 1; }
command -v java > /dev/null || { echo "FAIL: no java on PATH (scripts/setup.sh installs openjdk-17-jre-headless)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$tmp/spark-local"

# 24 clips by list (spread over the corpora), 6 more copied into a folder tree, one missing file.
awk -F, -v d="$data" 'NR > 1 && NR % 571 == 0 { print d "/" $1 }' "$data/MANIFEST.csv" | head -n 24 > "$tmp/list.txt"
echo "$tmp/no-such-clip.wav" >> "$tmp/list.txt"
mkdir -p "$tmp/tree/a/b" "$tmp/tree/c"
awk -F, -v d="$data" 'NR > 1 && NR % 997 == 0 { print d "/" $1 }' "$data/MANIFEST.csv" | head -n 6 > "$tmp/tree.txt"
i=0; while read -r f; do case $((i % 3)) in 0) dst=tree ;; 1) dst=tree/a/b ;; 2) dst=tree/c ;; esac
  cp "$f" "$tmp/$dst/"; i=$((i + 1)); done < "$tmp/tree.txt"

"$emoclass" --model "$src/models/default" -q -j 2 --format jsonl --files-from "$tmp/list.txt" "$tmp/tree" > "$tmp/cli.jsonl" || true

# One Spark start for the job and the Parquet read-back: the job's own command line, run by main()
# on a local[2] session that stays up afterwards.
"$python" - "$tmp" "$src" "$emoclass" <<'PY'
import glob, json, os, sys
tmp, src, emoclass = sys.argv[1:4]
sys.path.insert(0, f"{src}/scripts")
import spark_classify
# --shard K/N picks what emoclass --shard picks; the shards split the list.
halves = [spark_classify.list_inputs(emoclass, None, [], f"{tmp}/list.txt", f"{k}/2") for k in (1, 2)]
assert sorted(halves[0] + halves[1]) == sorted(open(f"{tmp}/list.txt").read().split()), "shards do not split the list"
assert halves[0] and halves[1] and not set(halves[0]) & set(halves[1])
spark = spark_classify.start_spark("local[2]")
rc = spark_classify.main(["--emoclass", emoclass, "--model", f"{src}/models/default",
                          "--files-from", f"{tmp}/list.txt", "--out", f"{tmp}/out",
                          "--parquet", f"{tmp}/parquet", f"{tmp}/tree"], spark=spark)
assert rc == 1, f"expected exit 1 (one missing file), got {rc}"
cli = {}
for line in open(f"{tmp}/cli.jsonl"):
    r = json.loads(line)
    cli[r["file"]] = r
spark_lines = [l for f in sorted(glob.glob(f"{tmp}/out/part-*")) for l in open(f) if l.strip()]
found = {}
for line in spark_lines:
    r = json.loads(line)
    assert r["file"] not in found, f"{r['file']}: twice in Spark's output"
    found[r["file"]] = r
assert len(cli) == 30, f"the CLI classified {len(cli)} files, expected 30"
assert set(found) == set(cli), f"files differ: {sorted(set(found) ^ set(cli))}"
for f, r in cli.items():
    assert found[f] == r, f"{f}: Spark {found[f]} != CLI {r}"
failed = open(f"{tmp}/out/failed.txt").read().split()
assert failed == [f"{tmp}/no-such-clip.wav"], failed
print(f"  JSON lines: {len(found)} files, every line equal to the CLI's; failed.txt names the missing file")

# Parquet, read back: the same rows (numbers as the JSON holds them).
rows = [json.loads(j) for j in spark.read.parquet(f"{tmp}/parquet").toJSON().collect()]
spark.stop()
assert len(rows) == len(cli), (len(rows), len(cli))
for row in rows:
    want = cli[row["file"]]
    for key in ("emotion", "confidence", "duration_s", "voiced_windows", "windows", "probabilities"):
        assert row.get(key) == want[key], (row["file"], key, row.get(key), want[key])
    assert [seg.get("confidence") for seg in row["segments"]] == [seg["confidence"] for seg in want["segments"]]
print(f"  Parquet: {len(rows)} rows equal to the CLI's results")
PY
echo PASS
