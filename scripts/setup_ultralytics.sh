#!/usr/bin/env bash
# Makes .venv-ultralytics (Debian's python3 + --system-site-packages, so Debian's torch and
# torchvision are used) and installs scripts/requirements-ultralytics.txt into it. Refuses to go on
# if pip would install or replace torch, torchvision or numpy. Safe to run again; prints the venv's
# python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${EMOCLASS_ULTRALYTICS_VENV:-.venv-ultralytics}
req=scripts/requirements-ultralytics.txt
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if ! "$venv/bin/python" -c 'import ultralytics' 2>/dev/null; then
  plan=$("${pip[@]}" install --dry-run -r "$req" 2>&1) || { echo "$plan" >&2; exit 1; }
  if grep -E '^Would install' <<<"$plan" | grep -qE '(^| )(torch|torchvision|numpy)-'; then
    echo "setup_ultralytics: pip would install torch/torchvision/numpy from PyPI; refusing:" >&2
    grep -E '^Would install' <<<"$plan" >&2
    exit 1
  fi
fi
"${pip[@]}" install -q -r "$req"
echo "$venv/bin/python"
