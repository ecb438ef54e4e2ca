#!/usr/bin/env bash
# --output/--log with --resume after SIGKILL at random points, on real clips from ../shared/data:
# each tool is killed several times (at a random moment during start-up, then each time the
# output has reached a random number of lines), resumed each time, and its final output must
# equal an unbroken run's line for line (lines are in input order for any -j; images are
# compared byte for byte). Also: a torn last line is cut off and redone, a file changed since it
# was done is redone once, damage in the middle of the output is refused, not overwritten.
# Exit 77 (skipped) when the data is absent.
set -euo pipefail
emoclass=$(realpath "$1"); spectro_dump=$(realpath "$2"); src=$(realpath "$3")
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: resume after SIGKILL not checked"; exit 77; }
data=$(cd "$data" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
model=(--model "$src/models/default")
echo "seed for the kill points: ${RESUME_SEED:=$RANDOM}"; RANDOM=$RESUME_SEED

# 120 clips spread over every corpus in the manifest (every 115th row).
awk -F, -v d="$data" 'NR > 1 && NR % 115 == 0 { print d "/" $1 }' "$data/MANIFEST.csv" > "$tmp/list.txt"
total=$(wc -l < "$tmp/list.txt")
[ "$total" -ge 100 ] || { echo "expected >= 100 clips in the list, got $total"; exit 1; }

fail() { echo "FAIL: $*"; exit 1; }
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
whole_lines_only() { [ ! -s "$1" ] || [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || fail "$1 ends in half a line"; }

# Starts CMD in the background and SIGKILLs it once OUT has >= TARGET lines (TARGET 0: after a
# random 0-0.4 s, which lands in start-up). Prints the line count at the kill.
kill_at() {
  local out=$1 target=$2; shift 2
  "$@" 2>/dev/null & local pid=$!
  if [ "$target" -eq 0 ]; then sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
  else while kill -0 "$pid" 2>/dev/null && [ "$(lines "$out")" -lt "$target" ]; do sleep 0.01; done; fi
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  whole_lines_only "$out"
  lines "$out"
}

# kill series for one command line: start-up kill, then three kills at growing random line counts.
kill_series() {
  local out=$1; shift
  local mid=0 t1=$((5 + RANDOM % 30)) t2=$((45 + RANDOM % 25)) t3=$((80 + RANDOM % 25)) n
  for target in 0 "$t1" "$t2" "$t3"; do
    n=$(kill_at "$out" "$target" "$@")
    echo "  killed at $n of $total lines (target $target)"
    if [ "$n" -gt 0 ] && [ "$n" -lt "$total" ]; then mid=$((mid + 1)); fi
  done
  [ "$mid" -ge 2 ] || fail "fewer than two kills landed mid-run (machine too slow or too fast?)"
  "$@" 2>/dev/null || fail "the final --resume run failed"
}

echo "== emoclass -j 1, reference run"
"$emoclass" "${model[@]}" -q -j 1 --files-from "$tmp/list.txt" --output "$tmp/ref.jsonl"
[ "$(lines "$tmp/ref.jsonl")" -eq "$total" ] || fail "reference run: $(lines "$tmp/ref.jsonl") lines for $total files"
# Same fields and values as --format jsonl (plus file_size, file_mtime_ns).
"$emoclass" "${model[@]}" -q -j 2 --format jsonl --files-from "$tmp/list.txt" > "$tmp/stdout.jsonl"
/usr/bin/python3 - "$tmp/ref.jsonl" "$tmp/stdout.jsonl" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
std = [json.loads(l) for l in open(sys.argv[2])]
assert len(out) == len(std)
for o, s in zip(out, std):
    assert o.pop("file_size") > 0 and o.pop("file_mtime_ns") > 0
    assert o == s, (o, s)
print(f"  --output lines = --format jsonl objects + file_size, file_mtime_ns ({len(out)} files)")
PY

for jobs in 1 2; do
  echo "== emoclass -j $jobs: SIGKILL and --resume"
  rm -f "$tmp/out.jsonl"
  kill_series "$tmp/out.jsonl" "$emoclass" "${model[@]}" -q -j "$jobs" --files-from "$tmp/list.txt" --output "$tmp/out.jsonl" --resume
  cmp "$tmp/ref.jsonl" "$tmp/out.jsonl" || fail "emoclass -j $jobs: resumed output differs from the unbroken run"
  echo "  resumed output equals the unbroken run, line for line"
done

echo "== emoclass: a torn last line (as a power loss can leave) is cut off and redone"
head -c "$(( $(head -n 40 "$tmp/ref.jsonl" | wc -c) + 57 ))" "$tmp/ref.jsonl" > "$tmp/torn.jsonl"
"$emoclass" "${model[@]}" -q --files-from "$tmp/list.txt" --output "$tmp/torn.jsonl" --resume
cmp "$tmp/ref.jsonl" "$tmp/torn.jsonl" || fail "torn tail: resumed output differs"
head -n 10 "$tmp/ref.jsonl" > "$tmp/zeros.jsonl"; head -c 300 /dev/zero >> "$tmp/zeros.jsonl"
"$emoclass" "${model[@]}" -q --files-from "$tmp/list.txt" --output "$tmp/zeros.jsonl" --resume
cmp "$tmp/ref.jsonl" "$tmp/zeros.jsonl" || fail "NUL tail: resumed output differs"
echo "  ok (half a line; a tail of NUL bytes)"

echo "== emoclass: damage in the middle is refused and left as it is"
{ head -n 5 "$tmp/ref.jsonl"; echo 'not json'; sed -n 6,9p "$tmp/ref.jsonl"; } > "$tmp/bad.jsonl"
cp "$tmp/bad.jsonl" "$tmp/bad.orig"
if "$emoclass" "${model[@]}" -q --files-from "$tmp/list.txt" --output "$tmp/bad.jsonl" --resume 2> "$tmp/err"; then
  fail "a damaged output was resumed over"; fi
grep -q "line 6 is not a result line" "$tmp/err" || fail "no clear error: $(cat "$tmp/err")"
cmp "$tmp/bad.jsonl" "$tmp/bad.orig" || fail "the damaged output was modified"
echo "  $(cat "$tmp/err")"
if "$emoclass" "${model[@]}" -q --files-from "$tmp/list.txt" --output "$tmp/ref.jsonl" 2> "$tmp/err"; then
  fail "an existing output was overwritten without --resume"; fi
echo "  $(cat "$tmp/err")"

echo "== emoclass: a file changed after it was done is done again, once"
mkdir "$tmp/mine"; head -n 3 "$tmp/list.txt" | xargs -I{} cp {} "$tmp/mine/"
"$emoclass" "${model[@]}" -q --output "$tmp/mine.jsonl" "$tmp/mine"
victim=$(ls "$tmp/mine" | head -n 1)
touch -d '2001-01-01' "$tmp/mine/$victim"
"$emoclass" "${model[@]}" -q --output "$tmp/mine.jsonl" --resume "$tmp/mine" 2> "$tmp/err"
grep -q "1 lines dropped" "$tmp/err" || fail "changed file not reported: $(cat "$tmp/err")"
[ "$(lines "$tmp/mine.jsonl")" -eq 3 ] || fail "expected 3 lines after redoing a changed file"
[ "$(grep -c "\"file\":\"$tmp/mine/$victim\"" "$tmp/mine.jsonl")" -eq 1 ] || fail "changed file not exactly once"
tail -n 1 "$tmp/mine.jsonl" | grep -q "\"file_mtime_ns\":978307200000000000}" || fail "changed file's new line lacks its new mtime"
echo "  ok"

echo "== spectro-dump -j 2: SIGKILL and --resume with --log"
mkdir "$tmp/sref" "$tmp/srun"
(cd "$tmp/sref" && "$spectro_dump" -q -j 2 --files-from "$tmp/list.txt" -o img --log log.jsonl)
[ "$(lines "$tmp/sref/log.jsonl")" -eq "$total" ] || fail "spectro-dump reference: $(lines "$tmp/sref/log.jsonl") lines"
cd "$tmp/srun"
kill_series log.jsonl "$spectro_dump" -q -j 2 --files-from "$tmp/list.txt" -o img --log log.jsonl --resume
cd "$tmp"
cmp "$tmp/sref/log.jsonl" "$tmp/srun/log.jsonl" || fail "spectro-dump: resumed log differs"
diff -r "$tmp/sref/img" "$tmp/srun/img" || fail "spectro-dump: resumed images differ"
[ -z "$(find "$tmp/srun/img" -name '*.tmp.*')" ] || fail "spectro-dump left temporary files"
echo "  resumed log equals the unbroken run's, and all $total images are byte-identical"
echo "PASS"
