#!/usr/bin/env bash
# Makes .venv-quantize (Debian's python3 + --system-site-packages) and installs
# scripts/requirements-quantize.txt into it: ONNX Runtime's quantiser, which
# scripts/quantize_bundle.py uses to write a bundle's int8 network. Refuses to go on if pip would
# install or replace numpy. Safe to run again; prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/make_venv.sh setup_quantize "${EMOCLASS_QUANTIZE_VENV:-.venv-quantize}" \
  scripts/requirements-quantize.txt 'onnxruntime.quantization, onnx.reference' 'numpy|torch'
