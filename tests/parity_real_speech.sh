#!/usr/bin/env bash
# Parity with librosa on real recordings from ../shared/data (one per corpus at its native rate,
# Opus included): spectro-dump --raw against the numpy re-derivation of librosa 0.10, for the
# default settings and for the other option families. Exit 77 (skipped) when the data is absent.
set -euo pipefail
dump=$1; src=$2
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: real-speech parity not checked"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
files=("ravdess/Actor_03/03-01-06-02-02-01-03.flac" "crema-d/1085_IOM_ANG_XX.opus" "emodb/16b03Fa.flac")
options=("" "--pad-mode reflect --power 1" "--mel-scale htk --mel-norm none --n-fft 400 --hop-length 160 --n-mels 40"
         "--no-center --n-fft 512 --win-length 400 --fmin 60 --fmax 7600 --n-mels 64")
for f in "${files[@]}"; do
  for o in "${options[@]}"; do
    "$dump" $o --sample-rate 16000 --raw "$tmp/x.npy" "$data/$f"
    # shellcheck disable=SC2086
    /usr/bin/python3 "$src/scripts/make_parity_fixtures.py" --audio "$data/$f" --sr 16000 $o --check "$tmp/x.npy" \
      | grep -v "^reference" | sed "s|^|$f [${o:-defaults}]: |"
  done
done
