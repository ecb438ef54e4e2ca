#!/usr/bin/env bash
# Configures and builds emoclass into build/ (Release). Used by demo.sh, test.sh and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build ${EMOCLASS_CMAKE_ARGS:-} -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build build -j "$(nproc)"
