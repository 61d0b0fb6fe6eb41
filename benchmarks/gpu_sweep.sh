#!/usr/bin/env bash
# aidc bench on one NVIDIA GPU: the inference sweep, the training-step bench, a calibration
# fitted to them, and a CSV export. Prepared for an H200 (about five minutes there); the
# same commands as on a CPU, with --device cuda: CUDA-event timing, the CUDA allocator's
# peak memory and NVML board power are recorded by the bench code itself.
#
#   bash benchmarks/gpu_sweep.sh [OUT_DIR]      # on the GPU machine, from the repo root
#   bash benchmarks/gpu_sweep.sh --fetch-wheels # where pip works: wheels aidc needs that a
#                                               # bare PyTorch image may lack (into .whl/)
#
# It uses the machine's own python3 with its CUDA build of PyTorch (the bench extra pins
# the CPU wheel torch==2.13.0 for this project's CPU machines; a GPU image brings its own),
# and runs aidc from src/ without installing it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  "$PY" -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl \
    pydantic pydantic-core annotated-types typing-inspection
  exit 0
fi

OUT_DIR="${1:-${OUT:-benchmarks/results/gpu}}"
mkdir -p "$OUT_DIR"
if ! "$PY" -c "import pydantic" 2>/dev/null; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/aidc-site .whl/*.whl
    export PYTHONPATH="/tmp/aidc-site${PYTHONPATH:+:$PYTHONPATH}"
  else
    echo "pydantic is missing: run 'bash benchmarks/gpu_sweep.sh --fetch-wheels' where pip works and bring .whl/" >&2
    exit 2
  fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1

"$PY" - <<'PYEOF'
import torch
assert torch.cuda.is_available(), "no CUDA device visible to PyTorch"
print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))
try:
    import onnxruntime
    print("onnxruntime providers:", onnxruntime.get_available_providers())
except ImportError:
    print("onnxruntime: not installed")
PYEOF

DB="$OUT_DIR/gpu-sweep.sqlite"
ENGINES="pytorch:fp32,pytorch:bf16,pytorch:fp16"
if "$PY" -c "import onnxruntime, sys; sys.exit('CUDAExecutionProvider' not in onnxruntime.get_available_providers())" 2>/dev/null; then
  ENGINES="$ENGINES,onnxruntime:fp32"
fi
aidc() { "$PY" -m aidc "$@"; }

set -o pipefail
time aidc bench inference --device cuda --db "$DB" --engines "$ENGINES" \
  --models bert-base,bert-large,gpt2,gpt2-medium,tinyllama-1.1b \
  --batches 1,8,32 --seq-lens 128,512 --gen-lens 32 \
  --max-gflop-per-call 100000 --budget-s 1 2>&1 | tee "$OUT_DIR/inference.log"
aidc bench training --device cuda --model gpt2 --batch 8 --seq-len 512 --db "$DB" 2>&1 | tee "$OUT_DIR/training.txt"
aidc calibrate --db "$DB" --out "$OUT_DIR/calibration-gpu.yaml" --force --rows 2>&1 | tee "$OUT_DIR/calibrate.txt"
aidc bench export --db "$DB" --out "$OUT_DIR/gpu-sweep.csv" --force
