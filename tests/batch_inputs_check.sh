#!/usr/bin/env bash
# --files-from (newlines, CRLF, NUL, stdin), --shard K/N and their bad inputs, in emoclass and
# spectro-dump (one shared implementation, so both must agree). --list-inputs prints the
# selection without reading audio, so the shard checks run over 1,000 made-up paths; the batch
# check at the end classifies a real (sox-made) file beside missing ones.
set -euo pipefail
emoclass=$(realpath "$1"); spectro_dump=$(realpath "$2"); src=$(realpath "$3")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

# Paths as archives have them: folders, spaces, non-ASCII, a leading dash.
for i in $(seq 1 1000); do printf 'calls/2024-%02d/agent %d/récording_%04d.wav\n' $((i % 12 + 1)) $((i % 7)) "$i"; done > list.txt
echo '-leading-dash.wav' >> list.txt
all=$(wc -l < list.txt)

echo "== --files-from: newline, CRLF and blank lines, NUL, stdin, plus positional inputs"
"$emoclass" --files-from list.txt --list-inputs > nl.out
cmp list.txt nl.out || fail "newline list not read back as given"
{ sed 's/$/\r/' list.txt; echo; echo; } > crlf.txt
"$emoclass" --files-from crlf.txt --list-inputs | cmp - list.txt || fail "CRLF or blank lines mishandled"
tr '\n' '\0' < list.txt > nul.txt
"$emoclass" --files-from nul.txt -0 --list-inputs | cmp - list.txt || fail "NUL list not read"
printf 'with\nnewline.wav\0plain.wav\0' | "$emoclass" --files-from - --null --list-inputs > nl2.out
[ "$(sed -n 1,2p nl2.out)" = $'with\nnewline.wav' ] && [ "$(sed -n 3p nl2.out)" = plain.wav ] || fail "NUL list: newline inside a name"
"$emoclass" --files-from - --list-inputs < list.txt | cmp - list.txt || fail "stdin list not read"
"$spectro_dump" --files-from - -0 --list-inputs < nul.txt | cmp - list.txt || fail "spectro-dump: NUL stdin list not read"
[ "$("$emoclass" first.wav --files-from list.txt --list-inputs | head -n 1)" = first.wav ] || fail "positional input not first"
echo "  ok ($all paths)"

echo "== --shard K/N: the union is every input, shards are disjoint, the split ignores list order"
shuf --random-source=<(yes) list.txt > shuffled.txt
for n in 1 2 3 7; do
  : > union.txt
  for k in $(seq 1 "$n"); do
    "$emoclass" --files-from list.txt --shard "$k/$n" --list-inputs > "e$k.txt"
    "$spectro_dump" --files-from list.txt --shard "$k/$n" --list-inputs | cmp - "e$k.txt" || fail "spectro-dump's shard $k/$n differs from emoclass's"
    "$emoclass" --files-from shuffled.txt --shard "$k/$n" --list-inputs | sort > "s$k.txt"
    sort "e$k.txt" | cmp - "s$k.txt" || fail "shard $k/$n changes when the list is shuffled"
    cat "e$k.txt" >> union.txt
    sizes+="$(wc -l < "e$k.txt") "
  done
  sort list.txt > want.txt
  sort union.txt | cmp - want.txt || fail "shards of $n: union is not the list, or shards overlap"
  [ "$(sort union.txt | uniq -d | wc -l)" -eq 0 ] || fail "shards of $n overlap"
  echo "  N=$n: sizes ${sizes}(sum $all)"; sizes=""
done
# Balanced enough to matter: each of 7 shards within 25 % of 1001/7.
for k in $(seq 1 7); do n=$(wc -l < "e$k.txt"); [ "$n" -gt 107 ] && [ "$n" -lt 179 ] || fail "shard $k/7 holds $n of $all"; done
# Stable across runs and machines: the documented hash (docs/scale.md), written out in Python
# from its definition, picks the same paths.
/usr/bin/python3 - list.txt e1.txt e2.txt e3.txt e4.txt e5.txt e6.txt e7.txt <<'PY'
import sys
M = (1 << 64) - 1
def stable_path_hash(path: bytes) -> int:
    h = 0xcbf29ce484222325
    for c in path:
        h = ((h ^ c) * 0x100000001b3) & M
    h ^= h >> 30; h = (h * 0xbf58476d1ce4e5b9) & M
    h ^= h >> 27; h = (h * 0x94d049bb133111eb) & M
    return h ^ (h >> 31)
paths = open(sys.argv[1], "rb").read().splitlines()
for k, name in enumerate(sys.argv[2:], start=1):
    want = [p for p in paths if stable_path_hash(p) % 7 == k - 1]
    assert open(name, "rb").read().splitlines() == want, f"shard {k}/7 differs from the documented hash"
PY
echo "  ok"

echo "== bad inputs: one line naming the problem, non-zero exit, nothing written"
expect() {  # expect CODE PATTERN -- command...
  local code=$1 pattern=$2; shift 3
  local rc=0; "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq "$code" ] || fail "'$*': exit $rc, expected $code ($(cat err.txt))"
  grep -q -- "$pattern" err.txt || fail "'$*': error lacks '$pattern': $(cat err.txt)"
  [ "$(wc -l < err.txt)" -le 2 ] || fail "'$*': more than a line or two on stderr"
  [ ! -s out.txt ] || fail "'$*': wrote to stdout"
  echo "  $(head -n 1 err.txt)"
}
for tool in "$emoclass" "$spectro_dump"; do
  expect 1 "missing.txt: cannot open file list: No such file" -- "$tool" --files-from missing.txt --list-inputs
  expect 1 "is a directory, not a file list" -- "$tool" --files-from . --list-inputs
  for bad in 0/2 3/2 x 1/0 2/ /2 -1/2 1/2/3 "1 /2"; do
    expect 2 "expected K/N with 1 <= K <= N" -- "$tool" --files-from list.txt --shard "$bad" --list-inputs
  done
  expect 2 "goes with --files-from" -- "$tool" -0 a.wav --list-inputs
done
: > empty.txt
expect 1 "no audio files found" -- "$emoclass" --files-from empty.txt --output empty.jsonl
expect 2 "needs --output" -- "$emoclass" --resume a.wav
expect 2 "needs --log" -- "$spectro_dump" --resume a.wav -o img
expect 2 "takes no --format" -- "$emoclass" --format csv --output o.jsonl a.wav
[ ! -e o.jsonl ] || fail "an output was created by a refused command"

echo "== a batch with missing files: the rest is done, each failure is one line, exit 1"
sox -n -r 16000 -c 1 tone.wav synth 3 sine 220 vol 0.5
printf 'missing-1.wav\ntone.wav\nmissing-2.wav\n' > batch.txt
rc=0; "$emoclass" --model "$src/models/default" -q --files-from batch.txt --output batch.jsonl 2> err.txt || rc=$?
[ "$rc" -eq 1 ] || fail "exit $rc with missing files in the batch"
[ "$(grep -c '^error: missing-[12].wav: ' err.txt)" -eq 2 ] || fail "errors not one line per missing file: $(cat err.txt)"
[ "$(wc -l < batch.jsonl)" -eq 1 ] && grep -q '"file":"tone.wav"' batch.jsonl || fail "tone.wav not in the output"
# --resume retries only what failed (still missing: still failing, the output unchanged).
rc=0; "$emoclass" --model "$src/models/default" -q --files-from batch.txt --output batch.jsonl --resume 2> err.txt || rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l < batch.jsonl)" -eq 1 ] || fail "resume over failures"
rc=0; "$spectro_dump" -q --files-from batch.txt -o img --log img.jsonl 2> err.txt || rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l < img.jsonl)" -eq 1 ] && [ -f img/tone.png ] || fail "spectro-dump: batch with missing files"
# An output that cannot be written (a full disk: /dev/full) stops the run with that one error.
rc=0; "$emoclass" --model "$src/models/default" -q tone.wav tone.wav --output /dev/full 2> err.txt || rc=$?
[ "$rc" -eq 1 ] && [ "$(cat err.txt)" = "emoclass: /dev/full: cannot write: No space left on device" ] \
  || fail "full disk: exit $rc, $(cat err.txt)"
rc=0; "$spectro_dump" -q tone.wav -o img --log /dev/full --overwrite 2> err.txt || rc=$?
[ "$rc" -eq 1 ] && grep -q "/dev/full: cannot write: No space left on device" err.txt || fail "spectro-dump full disk: $(cat err.txt)"
expect 1 "cannot open output: No such file or directory" -- "$emoclass" --output no-such-dir/o.jsonl tone.wav
echo "  ok"
echo "PASS"
