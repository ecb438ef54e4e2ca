#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan + UBSan (float-cast-overflow included)
# into build-fuzz/, makes their seed corpora (scripts/make_fuzz_seeds.py) and runs each for
# FUZZ_SECONDS (default 30). Any crash, sanitizer report, leak or timeout fails the run; the
# input that caused it is kept as build-fuzz/findings/<target>/crash-* (or leak-*, timeout-*).
# A longer run (docs/fuzzing.md): FUZZ_SECONDS=3600 scripts/fuzz.sh fuzz_http_request
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX:-clang++-14}
seconds=${FUZZ_SECONDS:-30}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_audio_image fuzz_model_json fuzz_onnx_handover fuzz_png fuzz_http_request)
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined,float-cast-overflow -fno-sanitize-recover=all"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CXX" -DPython3_EXECUTABLE=/usr/bin/python3 \
  -DEMOCLASS_BUILD_TESTS=OFF -DEMOCLASS_BUILD_BENCH=OFF -DEMOCLASS_BUILD_FUZZERS=ON ${EMOCLASS_CMAKE_ARGS:-} \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"
rm -rf build-fuzz/seeds && /usr/bin/python3 scripts/make_fuzz_seeds.py build-fuzz/seeds
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$t findings=build-fuzz/findings/$t
  mkdir -p "$corpus" "$findings"
  echo "== $t: ${seconds} s"
  if ! build-fuzz/fuzz/$t -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$corpus" "build-fuzz/seeds/$t" \
       > "build-fuzz/$t.log" 2>&1; then
    echo "FINDING in $t (see build-fuzz/$t.log, input in $findings/):"
    grep -E "ERROR|SUMMARY|runtime error" "build-fuzz/$t.log" | head -5
    failed=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "build-fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
exit $failed
