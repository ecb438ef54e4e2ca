#!/usr/bin/env bash
# The GNU parallel recipes of docs/scale.md on 40 real clips from ../shared/data, with the local
# machine standing in for the hosts (--sshlogin 2/: is two job slots on ":", this machine, so no
# ssh is needed; a cluster lists its hosts instead):
#   A  one shard per job: --shard {}/4 --output shard-{}.jsonl --resume; re-running the same
#      command is a no-op that leaves the outputs as they are;
#   B  the list split over the jobs on stdin: parallel --pipe ... --files-from -.
# Merged results must equal one emoclass run over the whole list, line for line once sorted
# (the order across jobs depends on timing). Exit 77 (skipped) when the data is absent.
set -euo pipefail
emoclass=$(realpath "$1"); src=$(realpath "$2")
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: GNU parallel recipes not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }
awk -F, -v d="$data" 'NR > 1 && NR % 347 == 0 { print d "/" $1 }' "$data/MANIFEST.csv" | head -n 40 > list.txt
[ "$(wc -l < list.txt)" -eq 40 ] || fail "expected 40 clips"
model=(--model "$src/models/default")

"$emoclass" "${model[@]}" -q -j 2 --files-from list.txt --output single.jsonl
"$emoclass" "${model[@]}" -q -j 2 --files-from list.txt --format jsonl > single-stdout.jsonl

echo "== A: parallel -S 2/: ... --shard {}/4 --output shard-{}.jsonl --resume ::: 1 2 3 4"
recipe_a() {
  parallel --will-cite -S 2/: --retries 2 --halt soon,fail=1 \
    "$emoclass" "${model[@]}" -q -j 1 --files-from list.txt --shard {}/4 --output out/shard-{}.jsonl --resume ::: 1 2 3 4
}
mkdir out; recipe_a
sort out/shard-*.jsonl > merged.jsonl
sort single.jsonl | cmp - merged.jsonl || fail "recipe A: merged shards differ from a single run"
for k in 1 2 3 4; do echo "  shard $k/4: $(wc -l < out/shard-$k.jsonl) files"; done
sha256sum out/*.jsonl > sums.txt
recipe_a
sha256sum -c --quiet sums.txt || fail "recipe A: a re-run changed finished outputs"
echo "  merged = single run (40 lines); the re-run found every shard done and changed nothing"

echo "== B: parallel -S 2/: --pipe -N 10 ... --files-from - < list.txt"
parallel --will-cite -S 2/: --pipe -N 10 \
  "$emoclass" "${model[@]}" -q -j 1 --files-from - --format jsonl < list.txt > piped.jsonl
sort piped.jsonl | cmp - <(sort single-stdout.jsonl) || fail "recipe B: piped results differ from a single run"
echo "  merged = single run ($(wc -l < piped.jsonl) lines)"
echo PASS
