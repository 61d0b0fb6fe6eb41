#!/usr/bin/env bash
# The CPU measurements behind the bench/calibrate figures, on the machine at hand
# (about 20 minutes on 2 cores; longer when other programs share them).
#
#   bash benchmarks/cpu_bench.sh [OUT_DIR]
#
# One thread (--threads 1): on a machine shared with other work, a single-threaded
# call's process CPU time is the latency it would have alone, so the calibration uses
# --statistic cpu_p50; the wall-clock figures are stored beside it (see bench.timing).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${1:-benchmarks/results}"
mkdir -p "$OUT_DIR"
AIDC="${AIDC:-.venv/bin/aidc}"
PY="${PY:-.venv/bin/python}"
DB="$OUT_DIR/cpu-sweep.sqlite"
OTHER="$OUT_DIR/cpu-other.sqlite"

"$AIDC" bench inference --threads 1 --max-gflop-per-call 100 --db "$DB" 2>&1 | tee "$OUT_DIR/cpu-sweep.log"
"$AIDC" bench training --model gpt2 --batch 2 --seq-len 64 --threads 1 --db "$OTHER"
"$AIDC" bench storage --dir "$OUT_DIR" --size-mib 1024 --repeats 3 --db "$OTHER"
"$AIDC" calibrate --db "$DB" --statistic cpu_p50 --rows --out "$OUT_DIR/cpu-calibration.yaml" --force \
  | tee "$OUT_DIR/calibrate-cpu_p50.txt"
"$AIDC" calibrate --db "$DB" --statistic p50 | tail -1
"$PY" benchmarks/bench_report.py --db "$DB" --other "$OTHER" | tee "$OUT_DIR/report.txt"
