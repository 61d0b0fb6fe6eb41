"""Summarise a results store: INT8 vs FP32 speed-ups, INT8 accuracy, storage, training.

    python benchmarks/bench_report.py --db benchmarks/results/cpu-sweep.sqlite \
        [--other benchmarks/results/cpu-other.sqlite] [--statistic cpu_p50]

Speed-up of a candidate over a baseline at one shape (model, batch, sequence length) is
``t_baseline / t_candidate`` (above 1: the candidate is faster); the median and range
over the shapes both engines ran are printed per model. The seed document claims
compression and quantization make inference about 30% faster: a speed-up of 1.3.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aidc.bench.store import measurements, open_store
from aidc.calibrate.bench_calibration import STATISTICS, _value

PAIRS = (
    (("onnxruntime", "int8"), ("onnxruntime", "fp32")),
    (("onnxruntime", "int8"), ("pytorch", "fp32")),
    (("onnxruntime", "fp32"), ("pytorch", "fp32")),
)


def speedups(rows: list[dict], col: str) -> None:
    times: dict[tuple, float] = {}
    for r in rows:
        if r["kind"] == "inference" and r["phase"] == "forward":
            key = (r["model"], r["engine"], r["precision"], r["batch"], r["seq_len"])
            times[key] = _value(r, col)  # type: ignore[assignment]
    models = sorted({k[0] for k in times})
    print(f"\nspeed-up t_baseline / t_candidate on encoder forward passes ({col}):")
    for cand, base in PAIRS:
        for m in models:
            ratios = []
            for (mm, e, p, b, s), t in times.items():
                if mm == m and (e, p) == cand and (m, *base, b, s) in times:
                    ratios.append((b, s, times[(m, *base, b, s)] / t))
            if not ratios:
                continue
            r = np.array([x[2] for x in ratios])
            detail = ", ".join(f"b{b}s{s}:{x:.2f}" for b, s, x in sorted(ratios))
            print(
                f"  {m:18s} {cand[0]}:{cand[1]} vs {base[0]}:{base[1]}: median {np.median(r):.2f}x "
                f"(min {r.min():.2f}, max {r.max():.2f}, {len(r)} shapes) [{detail}]"
            )


def footprint(rows: list[dict]) -> None:
    """ONNX file bytes and peak resident memory of ONNX Runtime FP32 vs INT8, per model."""
    size: dict[tuple, int] = {}
    peak: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if r["kind"] == "inference" and r["engine"] == "onnxruntime":
            key = (r["model"], r["precision"])
            size[key] = r["extra"]["engine_settings"].get("onnx_bytes")
            peak[key].append(r["peak_memory_bytes"])
    models = sorted({m for m, _ in size})
    if models:
        print(
            "\nONNX Runtime FP32 -> INT8 footprint (model file; peak process RSS over the sweep):"
        )
    for m in models:
        if (m, "fp32") in size and (m, "int8") in size:
            f32, i8 = size[(m, "fp32")], size[(m, "int8")]
            p32, p8 = max(peak[(m, "fp32")]), max(peak[(m, "int8")])
            print(
                f"  {m:18s} file {f32 / 1e6:.0f} MB -> {i8 / 1e6:.0f} MB ({i8 / f32:.2f}x); "
                f"peak RSS {p32 / 1e6:.0f} MB -> {p8 / 1e6:.0f} MB (process-wide, includes PyTorch's copy)"
            )


def accuracy(rows: list[dict]) -> None:
    acc = [r for r in rows if r["kind"] == "accuracy"]
    if not acc:
        return
    print("\nINT8 / FP32 fidelity on the 48-sentence sample (vs PyTorch FP32):")
    for r in acc:
        x = r["extra"]
        print(
            f"  {r['model']:18s} {r['engine']}:{r['precision']:5s} cosine mean {x['cosine_mean']:.5f} "
            f"min {x['cosine_min']:.5f}; max |delta similarity| {x['pairwise_sim_max_abs_diff']:.4f}; "
            f"paraphrase top-1 {x['paraphrase_top1_reference']:.3f} -> {x['paraphrase_top1_candidate']:.3f} "
            f"({x['weights']})"
        )


def storage_and_training(rows: list[dict]) -> None:
    st = defaultdict(list)
    for r in rows:
        if r["kind"] == "storage":
            st[(r["extra"]["dir"], r["phase"])].append(r["throughput_per_s"])
    if st:
        print(
            "\nstorage probe (sequential, 4 MiB blocks; write fsync'd; page cache dropped before read):"
        )
        for (d, ph), v in sorted(st.items()):
            v = np.array(v) / 1e6
            print(
                f"  {d} {ph:5s}: median {np.median(v):.0f} MB/s (min {v.min():.0f}, max {v.max():.0f}, {len(v)} runs)"
            )
    tr = [r for r in rows if r["kind"] == "training"]
    if tr:
        print("\ntraining step (fp32): optimizer-state bytes measured vs predicted")
        for r in tr:
            x = r["extra"]
            cpu = x.get("cpu_time_p50_s")
            print(
                f"  {r['model']} b{r['batch']}x{r['seq_len']} {x['optimizer']:9s} step wall p50 "
                f"{r['latency_p50_s'] * 1e3:.0f} ms, CPU p50 {cpu * 1e3 if cpu else float('nan'):.0f} ms; "
                f"state {x['state_bytes_measured']:,} B vs {x['state_bytes_predicted']:,.0f} B "
                f"-> {'equal' if x['state_bytes_agree'] else 'DIFFERENT'}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--other", type=Path, action="append", default=[])
    ap.add_argument("--statistic", default="cpu_p50", choices=list(STATISTICS))
    args = ap.parse_args()
    rows = measurements(open_store(args.db, create=False))
    for extra in args.other:
        rows += measurements(open_store(extra, create=False))
    speedups(rows, STATISTICS[args.statistic])
    if args.statistic.startswith("cpu"):
        speedups(rows, "latency_p50_s")
    footprint(rows)
    accuracy(rows)
    storage_and_training(rows)


if __name__ == "__main__":
    main()
