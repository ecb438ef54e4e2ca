#!/usr/bin/env bash
# Installs every Debian package emoclass needs: build, tests, training, benches.
# Run as root (or with sudo) on Debian 12. Safe to run again.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  # spectro
  libsndfile1-dev libsamplerate0-dev libfftw3-dev libpng-dev libcairo2-dev
  # classify (OpenCV DNN only: core, imgproc, dnn)
  libopencv-dev
  # tools
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev libasound2-dev
  # tests and benches
  libgtest-dev libgmock-dev libbenchmark-dev espeak-ng sox curl wrk
  # the ONNX Runtime peer in bench/ (onnxruntime-node from npm)
  nodejs
  # training, fixtures, Python peers in the benches
  python3 python3-numpy python3-torch python3-torchaudio python3-onnx python3-opencv
  python3-matplotlib python3-soundfile
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Debian's own nodejs ships npm as a separate package; NodeSource's nodejs includes it.
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
