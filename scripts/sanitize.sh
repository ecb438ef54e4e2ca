#!/usr/bin/env bash
# The whole ctest suite built with clang under AddressSanitizer + UndefinedBehaviorSanitizer
# (float-cast-overflow included), in its own build folder (build-sanitize/). Any report fails the
# run. Leak reports are suppressed only for the caches named in tests/lsan.supp (FFTW's plans,
# fontconfig's configuration), which live until exit by design.
# Usage: scripts/sanitize.sh [ctest arguments...]   (CC/CXX default to clang-14)
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX:-clang++-14}
start=$(date +%s)
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CXX" \
  -DPython3_EXECUTABLE=/usr/bin/python3 -DEMOCLASS_BUILD_BENCH=OFF -DEMOCLASS_BUILD_PYTHON=OFF ${EMOCLASS_CMAKE_ARGS:-} \
  -DCMAKE_CXX_FLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-sanitize -j "$(nproc)"
built=$(date +%s)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd build-sanitize
# Left out by default, each for a reason (pass your own ctest arguments to run them too): the
# Python package (an instrumented module cannot load into an uninstrumented interpreter, so it is
# not built here), the browser, Spark, ultralytics, training and detector-rate checks (their time goes to
# Chromium, the JVM and torch, not to our code), and the two walks over all of ../shared/data
# (the same code paths as the small dataset tests, at 20x the cost under ASan).
default_exclude="SharedDataDumpsCompletely|SharedDataSplit|BrowserPage|SparkClassify|RealUltralyticsExport|TrainingPipeline|RobustnessScript|SpeechDetectorRates"
if [ $# -eq 0 ]; then set -- -E "$default_exclude"; fi
ctest --output-on-failure -j "$(nproc)" "$@"
echo "sanitised run: build $((built - start)) s, ctest $(( $(date +%s) - built )) s"
