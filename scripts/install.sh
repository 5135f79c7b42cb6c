#!/usr/bin/env bash
# Install embodied into the active Python environment, with the right PyTorch build:
#  - a machine with an NVIDIA GPU gets PyPI's default torch (a CUDA build);
#  - a CPU-only machine gets the CPU build first (~200 MB instead of several GB of CUDA
#    packages), so the project's `torch>=2.3` requirement is already met.
# Usage: bash scripts/install.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  echo "GPU found: installing the CUDA build of torch from PyPI"
else
  echo "no GPU: installing the CPU build of torch"
  # A local wheel or mirror that carries the +cpu build first (offline-friendly); else
  # PyTorch's own CPU index.
  pip install "torch==2.13.0+cpu" ||
    pip install "torch==2.13.0+cpu" --extra-index-url https://download.pytorch.org/whl/cpu
fi
pip install -e ".[dev]"
# Compile the default encoder and skills to ONNX once (~30 s), so commands start fast.
HF_HUB_OFFLINE=1 python scripts/warm_cache.py || echo "warning: the ONNX cache was not built; the first command will build it"
