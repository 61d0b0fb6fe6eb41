"""Out-of-sample check of the serving model on published results it was never fitted on.

Every CSV in ``data/reference/external/`` (or the one ``--csv`` names) is scored with the
*shipped* calibration (the one ``aidc validate inference`` uses); errors only, no pass/fail:

- ``trtllm-perf-v0.6.csv``: every row of NVIDIA TensorRT-LLM ``docs/source/performance.md``
  (commit 138f96d): peak static-batch throughput on H100 FP8, L40S FP8 and A100 FP16, and
  batch-1 first-token latency on the same GPUs;
- ``trtllm-perf-overview-v1-llama31-8b.csv``: the Llama 3.1 8B table (H100 and H200, TP1,
  FP8) of the TensorRT-LLM ~v1.0 perf overview whose other tables are calibration rows.

For each file:

- per measured field: n, median and p90 absolute percentage error (APE);
- per row: measured, predicted, signed error ``(predicted - measured) / measured``;
- signed bias (median and mean of the signed error) by hardware and by regime
  (``throughput`` = output tokens/s of a static batch or a throughput run, ``first-token`` = TTFT);
- the A100 TP>1 throughput rows under the other reading of the column (total, not per
  GPU; see the rows' notes), as a sensitivity, not a score.

    PYTHONPATH=src python benchmarks/external_check.py [--csv PATH] [--worst N]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from aidc.catalog.calibration import Calibration, load_default_calibration
from aidc.catalog.loader import Catalog, load_catalog
from aidc.validation.inference_score import Entry, score_rows

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "data" / "reference" / "external"
REGIME = {
    "ttft_ms": "first-token",
    "output_tokens_per_s_per_gpu": "throughput",
    "output_tokens_per_s": "throughput",
}


def signed(e: Entry) -> float:
    """(predicted - measured) / measured: > 0 means the model is optimistic for a rate and
    pessimistic for a latency."""
    return (float(e.predicted) - e.measured) / e.measured  # type: ignore[arg-type]


def pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def stats_line(name: str, errs: list[float]) -> str:
    a = np.asarray(errs, dtype=float)
    return (
        f"  {name:<34} n={a.size:>3}  median {pct(float(np.median(a)))}  "
        f"mean {pct(float(a.mean()))}  min {pct(float(a.min()))}  max {pct(float(a.max()))}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, default=None, help="one file (default: every CSV)")
    ap.add_argument("--worst", type=int, default=5, help="rows listed as worst by APE")
    args = ap.parse_args()
    paths = [args.csv] if args.csv else sorted(EXTERNAL.glob("*.csv"))
    catalog, calibration = load_catalog(), load_default_calibration()
    for i, path in enumerate(paths):
        if i:
            print("\n" + "=" * 100 + "\n")
        report(path, catalog, calibration, args.worst)


def report(path: Path, catalog: Catalog, calibration: Calibration, worst: int) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["row_id"]: r for r in rows}
    entries, summary = score_rows(rows, catalog, calibration)
    scored = [e for e in entries if e.ape is not None]
    print(
        f"{path.name}: {summary['scored']} of {summary['scorable']} rows predicted "
        f"(coverage {100 * float(summary['coverage']):.1f}%); shipped calibration, never fitted here"
    )
    for reason, n in summary["skipped"].items():  # type: ignore[union-attr]
        print(f"  skipped {n}: {reason}")

    print("\nAPE by field")
    for field in sorted({e.metric for e in scored}):
        a = np.array([e.ape for e in scored if e.metric == field], dtype=float)
        print(
            f"  {field:<30} n={a.size:>3}  median {100 * np.median(a):.1f}%  "
            f"p90 {100 * np.percentile(a, 90):.1f}%"
        )
    a = np.array([e.ape for e in scored], dtype=float)
    print(
        f"  {'all':<30} n={a.size:>3}  median {100 * np.median(a):.1f}%  p90 {100 * np.percentile(a, 90):.1f}%"
    )

    print("\nsigned error (predicted - measured) / measured")
    groups: dict[str, list[float]] = defaultdict(list)
    for e in scored:
        groups[f"{e.hardware} / {REGIME.get(e.metric, e.metric)}"].append(signed(e))
        groups[f"{e.hardware} (all)"].append(signed(e))
        groups[f"regime {REGIME.get(e.metric, e.metric)}"].append(signed(e))
    for name in sorted(groups):
        print(stats_line(name, groups[name]))

    print("\nper row")
    print(
        f"  {'row':<6}{'model':<13}{'hardware':<15}{'TP':>3}{'batch':>6}{'in':>6}{'out':>6}  "
        f"{'field':<28}{'measured':>10}{'predicted':>11}{'error':>9}"
    )
    for e in scored:
        r = by_id[e.row_id]
        print(
            f"  {e.row_id:<6}{r['model']:<13}{e.hardware:<15}{r['tp']:>3}{r['batch_size']:>6}"
            f"{r['input_len']:>6}{r['output_len']:>6}  {e.metric:<28}{e.measured:>10.1f}"
            f"{float(e.predicted):>11.1f}{pct(signed(e)):>9}"  # type: ignore[arg-type]
        )

    print(f"\n{worst} worst rows by APE")
    for e in sorted(scored, key=lambda x: -float(x.ape))[:worst]:  # type: ignore[arg-type]
        r = by_id[e.row_id]
        print(
            f"  {e.row_id} {r['model']} {e.hardware} TP{r['tp']} batch {r['batch_size']} "
            f"in {r['input_len']} out {r['output_len']}: {e.metric} measured {e.measured:g}, "
            f"predicted {float(e.predicted):.4g} ({pct(signed(e))})"  # type: ignore[arg-type]
        )

    alt = [
        e
        for e in scored
        if e.metric == "output_tokens_per_s_per_gpu"
        and e.hardware.startswith("A100")
        and int(by_id[e.row_id]["tp"]) > 1
    ]
    if alt:
        print("\nsensitivity: A100 TP>1 throughput read as total (measured / TP per GPU)")
        errs = []
        for e in alt:
            m = e.measured / int(by_id[e.row_id]["tp"])
            errs.append((float(e.predicted) - m) / m)  # type: ignore[arg-type]
        print(stats_line("per-GPU reading (scored)", [signed(e) for e in alt]))
        print(stats_line("total reading (not scored)", errs))


if __name__ == "__main__":
    main()
