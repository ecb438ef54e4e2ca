#!/usr/bin/env bash
# Installs the Debian packages emoclass needs. Run as root (or with sudo) on Debian 12; safe to
# run again.
#   scripts/setup.sh run    what building and running emoclass needs (the README's main command)
#   scripts/setup.sh all    that plus tests, fuzzing, benches, browser tests and training (default)
set -euo pipefail
profile=${1:-all}

run_packages=(
  # build
  build-essential cmake pkg-config
  # spectro: decoders (libsndfile, FFmpeg's libraries where it cannot read), resamplers, FFT, PNG
  libsndfile1-dev libsamplerate0-dev libsoxr-dev libfftw3-dev libpng-dev
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  # classify: OpenCV DNN only (core, imgproc, dnn); figures for people
  libopencv-dev libcairo2-dev
  # tools
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libasound2-dev libcsv-dev
  # the demo's sample speech
  espeak-ng
)
test_packages=(
  git
  # tests, fixtures, sanitizers and fuzzing, benches
  libgtest-dev libgmock-dev libbenchmark-dev sox ffmpeg curl wrk parallel clang libclang-rt-14-dev
  # Spark (scripts/spark_classify.py and its test): PySpark runs on a Java 17 JVM
  openjdk-17-jre-headless
  # real-browser tests of the web page (driven by npm playwright-core)
  chromium nodejs
  # the Python package, pytest, PyPI references (scripts/setup_python.sh makes the venv)
  python3 python3-venv python3-pip python3-dev
  # training, fixtures, Python peers in the benches
  python3-numpy python3-torch python3-torchaudio python3-torchvision python3-onnx python3-opencv
  python3-matplotlib python3-soundfile
)

case "$profile" in
  run) packages=("${run_packages[@]}") ;;
  all) packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "setup.sh: unknown profile '$profile' (run or all)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's own nodejs ships npm as a separate package; NodeSource's nodejs includes it.
if [ "$profile" = all ] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
