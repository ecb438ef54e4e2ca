#!/usr/bin/env bash
# Makes .venv-ultralytics (Debian's python3 + --system-site-packages, so Debian's torch and
# torchvision are used) and installs scripts/requirements-ultralytics.txt into it. Refuses to go on
# if pip would install or replace torch, torchvision or numpy. Safe to run again; prints the venv's
# python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/make_venv.sh setup_ultralytics "${EMOCLASS_ULTRALYTICS_VENV:-.venv-ultralytics}" \
  scripts/requirements-ultralytics.txt ultralytics 'torch|torchvision|numpy'
