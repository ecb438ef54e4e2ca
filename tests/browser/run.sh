#!/usr/bin/env bash
# ctest entry for the browser tests (page.test.mjs): makes the clips from ../shared/data with sox
# and runs node's test runner. Screenshots land in ARTEFACTS (the build folder).
#   run.sh EMOCLASS_BIN SOURCE_DIR ARTEFACTS
# Exit 77 (skipped, with the reason) when ../shared/data, chromium or `npm ci` is missing.
set -euo pipefail
emoclass=$1; src=$2; artefacts=$3
here="$src/tests/browser"
data="$src/../shared/data"
[ -f "$data/MANIFEST.csv" ] || { echo "../shared/data is missing: browser tests not run"; exit 77; }
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is missing (scripts/setup.sh all installs it): browser tests not run"; exit 77; }
[ -d "$here/node_modules/playwright-core" ] || { echo "tests/browser/node_modules is missing (scripts/test.sh runs npm ci there): browser tests not run"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$artefacts"

# A held-out RAVDESS clip (angry, actor 13) for the upload; four clips of actor 14 joined into one
# recording of ~14 s (several windows) for the timeline; the fake microphone plays a CREMA-D clip
# as a 48 kHz 16-bit WAV (what chromium's fake capture device reads).
clip=$(ls "$data"/ravdess/Actor_13/03-01-05-01-01-02-13.*)
long=("$data"/ravdess/Actor_14/03-01-0{5,4,3,2}-02-01-01-14.*)
sox "${long[@]}" -r 16000 -c 1 "$tmp/long.flac"
mic=$(ls "$data"/crema-d/1089_IEO_ANG_HI.* 2>/dev/null || ls "$data"/crema-d/*_ANG_HI.* | head -1)
ffmpeg -nostdin -loglevel error -i "$mic" -ar 48000 -ac 1 -c:a pcm_s16le "$tmp/mic.wav"

cd "$here"
EMOCLASS_BIN="$emoclass" ARTEFACTS="$artefacts" CLIP="$clip" LONG_CLIP="$tmp/long.flac" MIC_WAV="$tmp/mic.wav" \
  node --test --test-reporter=spec page.test.mjs
