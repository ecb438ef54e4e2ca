#!/usr/bin/env bash
# Installs, builds and runs every test (ctest). ../shared/data is used when present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
bash scripts/setup_python.sh >/dev/null
bash scripts/setup_ultralytics.sh >/dev/null
bash scripts/setup_quantize.sh >/dev/null
(cd tests/browser && npm ci --no-audit --no-fund >/dev/null)
bash scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)"
cd ..
# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (clang), own build folder.
bash scripts/sanitize.sh
# Each fuzz target for 30 s (docs/fuzzing.md); any finding fails.
FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash scripts/fuzz.sh
