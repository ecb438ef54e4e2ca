#!/usr/bin/env bash
# `pip install .` as a user does it: a fresh venv (Debian's python3, --system-site-packages for
# numpy), pip fetching scikit-build-core and nanobind from PyPI and compiling the C++ libraries
# into the wheel (several minutes on two cores); then the whole pytest suite against the
# installed copy, from outside the source tree.
#   pip_install_check.sh SOURCE_DIR EMOCLASS_BIN SPECTRO_DUMP_BIN
set -euo pipefail
src=$1; emoclass_bin=$2; dump_bin=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
/usr/bin/python3 -m venv --system-site-packages venv
venv/bin/python -m pip install --disable-pip-version-check --no-cache-dir -q "$src"
site=$(venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
venv/bin/python -c 'import emoclass; print(emoclass.__file__); print(emoclass.Model())'
# pytest and librosa are in the project's venv (the same interpreter): the installed package
# goes first on its path, and conftest.py checks that it is the one imported.
PYTHONPATH="$site" EMOCLASS_EXPECT_PACKAGE_DIR="$site/emoclass" EMOCLASS_BIN="$emoclass_bin" \
  SPECTRO_DUMP_BIN="$dump_bin" "$src/.venv/bin/python" -m pytest -c "$src/pyproject.toml" --rootdir "$src" "$src/tests/python"
