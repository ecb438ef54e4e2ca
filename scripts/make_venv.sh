#!/usr/bin/env bash
# One venv beside Debian's packages: VENV made from /usr/bin/python3 with --system-site-packages
# (so Debian's numpy and torch stay the ones in use), REQUIREMENTS installed into it, and a refusal
# when pip would install or replace any of the PROTECTED packages from PyPI. Safe to run again
# (the refusal check is skipped once IMPORTS import); prints the venv's python path last.
# Usage: scripts/make_venv.sh NAME VENV REQUIREMENTS 'IMPORTS' 'PROTECTED|...'
#   (called by setup_ultralytics.sh and setup_teacher.sh; NAME prefixes the error message)
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 venv=$2 req=$3 imports=$4 protected=$5
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
  plan=$("${pip[@]}" install --dry-run -r "$req" 2>&1) || { echo "$plan" >&2; exit 1; }
  if grep -E '^Would install' <<<"$plan" | grep -qE "(^| )($protected)-"; then
    echo "$name: pip would install ${protected//|//} from PyPI; refusing:" >&2
    grep -E '^Would install' <<<"$plan" >&2
    exit 1
  fi
fi
"${pip[@]}" install -q -r "$req"
echo "$venv/bin/python"
