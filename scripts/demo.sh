#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, build, then classify speech with the shipped
# model. With no arguments it makes its own sample speech with espeak-ng (plus held-out clips
# from ../shared/data when present); otherwise it classifies the files or folders given.
set -euo pipefail
# Paths given relative to where the script was started from stay valid after the cd below.
args=()
for a in "$@"; do
  case "$a" in /*) args+=("$a") ;; *) args+=("$PWD/$a") ;; esac
done
set -- ${args[@]+"${args[@]}"}
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
bash scripts/build.sh
if [ $# -eq 0 ]; then
  out=$(mktemp -d)
  espeak-ng -v en-us -s 150 -w "$out/calm_sentence.wav" "Kids are talking by the door. Dogs are sitting by the door."
  espeak-ng -v en-us -s 210 -a 200 -p 80 -w "$out/excited_sentence.wav" "I can't believe it! We won! This is the best day ever!"
  set -- "$out/calm_sentence.wav" "$out/excited_sentence.wav"
  # Real acted speech, when the corpora are beside the checkout: one clip per emotion from
  # speakers the shipped model never trained on, picked among those it gets right
  # (tests/known_clips.txt); its accuracy over all of them is in models/default/MODEL_CARD.md.
  data=../shared/data
  if [ -d "$data" ]; then
    while read -r f _; do
      case "$f" in ''|'#'*) continue ;; esac
      if [ -f "$data/$f" ]; then set -- "$@" "$data/$f"; fi
    done < tests/known_clips.txt
  fi
  echo "sample speech: $*" >&2
  echo "(the corpus clips are examples the model gets right; held-out accuracy: models/default/MODEL_CARD.md)" >&2
fi
build/spectro/spectro-dump --inspect "$@" -o spectrograms
echo "inspection figures in spectrograms/" >&2
build/classify/emoclass --segments "$@"
