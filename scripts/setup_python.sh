#!/usr/bin/env bash
# Makes .venv (Debian's python3 + --system-site-packages) and installs scripts/requirements-dev.txt.
# Safe to run again; prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${EMOCLASS_VENV:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r scripts/requirements-dev.txt
echo "$venv/bin/python"
