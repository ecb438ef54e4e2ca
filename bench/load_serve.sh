#!/usr/bin/env bash
# Load run of `emoclass serve` on loopback with wrk: the same clip POSTed to /v1/classify by
# CONNECTIONS keep-alive connections for SECONDS; prints wrk's requests/s and latency
# percentiles, the non-200 count, and the server's resident memory before and after.
#   bench/load_serve.sh [AUDIO_FILE] [SECONDS=30] [CONNECTIONS=4] [-- extra serve options]
# Needs: the build (build/classify/emoclass), wrk (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
FILE=${1:-}
SECONDS_RUN=${2:-30}
CONNECTIONS=${3:-4}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
EMOCLASS=build/classify/emoclass
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ -z "$FILE" ]; then
  # A 3 s spoken clip made here, so the run needs nothing but the build.
  espeak-ng -w "$WORK/speech.wav" "The quarterly report is late again, and nobody told me why."
  FILE="$WORK/speech.wav"
fi
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$EMOCLASS" serve --port "$PORT" "$@" 2> "$WORK/serve.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
echo "file: $FILE ($(stat -c %s "$FILE") bytes); server: emoclass serve $* (pid $SERVER_PID)"
echo "one answer: $(curl -s --data-binary @"$FILE" "http://127.0.0.1:$PORT/v1/classify")"
echo "RSS after one request: $(rss_kib) KiB"
EMOCLASS_LOAD_FILE="$FILE" wrk -t 2 -c "$CONNECTIONS" -d "${SECONDS_RUN}s" --latency \
  -s bench/serve_post.lua "http://127.0.0.1:$PORT/v1/classify"
echo "RSS after the run: $(rss_kib) KiB (peak $(awk '/^VmHWM/ {print $2}' "/proc/$SERVER_PID/status") KiB)"
