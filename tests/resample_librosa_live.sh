#!/usr/bin/env bash
# Resampled input against the real librosa, computed now: `spectro-dump --raw` (default soxr_hq)
# vs librosa.load(f, sr=16000) -> melspectrogram -> power_to_db from the project's venv, on the
# committed fixtures and, when ../shared/data is present, on real clips at rates our corpora hold
# (TESS 24,414 Hz and its one 96 kHz original) and on a RAVDESS clip raised to 44.1 kHz with sox.
# Exit 77 (skipped) when the venv has no librosa.
set -euo pipefail
dump=$1; src=$2
py="$src/.venv/bin/python"
if ! "$py" -c "import librosa, soxr" 2>/dev/null; then
  echo "$py has no librosa/soxr (run scripts/setup_python.sh): live librosa check skipped"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
files=("$src"/tests/fixtures/resample/*.flac)
data="$src/../shared/data"
if [ -f "$data/MANIFEST.csv" ]; then
  files+=("$data/tess/OAF_Fear/OAF_food_fear.wav" "$data/tess/YAF_happy/YAF_back_happy.flac")
  sox "$data/ravdess/Actor_05/03-01-05-01-01-01-05.flac" -b 16 "$tmp/ravdess_44k1.wav" rate -v 44100
  files+=("$tmp/ravdess_44k1.wav")
else
  echo "../shared/data is missing: only the committed fixtures are checked"
fi
for f in "${files[@]}"; do
  "$dump" --raw "$tmp/x.npy" "$f"
  "$py" "$src/scripts/make_resample_fixtures.py" --check "$tmp/x.npy" --audio "$f"
done
