#!/usr/bin/env bash
# The one script for a lent GPU (issue 12): installs what the machine lacks, then runs benchmarks/cuda_check.py
# (CUDA tests; clip3d 16x112^2 and frame-cnn training clips/s and data-wait fraction in fp32/bf16/fp16; extraction
# frames/s of cnn2d:resnet50 at 224^2 against forward-only; an end-to-end bf16 `actionlab train`). Sized for about
# 5 minutes; not yet run on a GPU.
#
#   bash benchmarks/gpu_check.sh [--quick]
#
# The GPU machine has torch, OpenCV, h5py, scikit-learn, safetensors and tensorboard but no PyAV, and no network:
# carry PyAV's wheel in .whl/ (git-ignored), fetched beforehand on a machine with PyPI:
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 -d .whl av==18.1.0
# actionlab itself runs from src/ (no install: nothing may replace the machine's torch).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import av" 2>/dev/null; then
    if ! compgen -G ".whl/av-*.whl" >/dev/null; then
        echo "gpu_check: PyAV is not installed and .whl/ holds no av wheel (see the top of this script)" >&2
        exit 2
    fi
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/actionlab-site .whl/av-*.whl
    export PYTHONPATH=/tmp/actionlab-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$PY" benchmarks/cuda_check.py "$@"
