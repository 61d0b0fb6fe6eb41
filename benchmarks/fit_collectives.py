"""Fit the collective-time curves of aidc.model.network to measured NCCL latencies.

Prints the fitted records in the shape of ``src/aidc/catalog/data/collectives.yaml``
(the NVLink/PCIe part of that file is this script's output, pasted):

    .venv/bin/python benchmarks/fit_collectives.py > /tmp/fitted.yaml

One curve per (scale-up link, collective), fitted on every measured system that uses
the link (data/reference/nccl/aiconfigurator_nccl.csv, from aiconfigurator-core 0.12.0).
Then one all-reduce curve per (scale-up link, engine custom kernel) from
data/reference/nccl/aiconfigurator_custom_allreduce.csv (TensorRT-LLM's one-/two-shot
kernels, vLLM's CustomAllreduce under CUDA graphs), fitted on the messages the engines
give the custom kernel (up to ``CUSTOM_MAX_BYTES``; NCCL takes larger ones).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aidc.model.network import OPS, CurveParams
from aidc.units import MEGA, MICROSECOND
from nccl_reference import CUSTOM_CSV_PATH, fit_curve, load

CUSTOM_MAX_BYTES = 8 * 1024 * 1024 * 1.0  # vLLM's 8 MiB; TensorRT-LLM's 8 MB workspace
CUSTOM_IMPLEMENTATION = {"trtllm": "trtllm-custom", "vllm": "vllm-custom"}


def print_curve(c: CurveParams, fitted_on: str) -> None:
    """The fitted fields of one collectives.yaml record, in its key units."""
    print(f"  base_latency_us: {c.base_latency_s / MICROSECOND:.3f}")
    print(f"  step_latency_us: {c.step_latency_s / MICROSECOND:.3f}")
    print(f"  bus_efficiency: {c.bus_efficiency:.4f}")
    print(f"  rank_exponent: {c.rank_exponent:.4f}")
    print(f"  ramp_mb: {c.ramp_bytes / MEGA:.4f}")
    print(f"  ramp_exponent: {c.ramp_exponent:.4f}")
    print(f"  fitted_on: {fitted_on}")


def main() -> None:
    d = load()
    print("collectives:")
    for link in sorted(set(d.link)):
        systems = sorted(set(d.system[d.link == link]))
        for op in OPS:
            sub = d.select((d.link == link) & (d.op == op))
            c = fit_curve(sub, op)
            ranks = ", ".join(str(int(r)) for r in np.unique(sub.n_ranks))
            print(f"- id: {link}-{op.replace('_', '-')}")
            print(f"  link: {link}")
            print(f"  op: {op}")
            print_curve(c, f"{', '.join(systems)} ({ranks} ranks, {len(sub)} points)")
            print(
                "  source: data/reference/nccl/aiconfigurator_nccl.csv (NCCL latencies "
                "measured with nccl-tests, shipped in aiconfigurator-core 0.12.0, Apache-2.0); "
                "fitted by benchmarks/fit_collectives.py"
            )
            print("  provenance: measured")
    custom = load(CUSTOM_CSV_PATH)
    for framework in sorted(set(custom.framework)):
        impl = CUSTOM_IMPLEMENTATION[framework]
        for link in sorted(set(custom.link)):
            sub = custom.select(
                (custom.framework == framework)
                & (custom.link == link)
                & (custom.n_bytes <= CUSTOM_MAX_BYTES)
            )
            c = fit_curve(sub, "all_reduce")
            systems = sorted(set(sub.system))
            ranks = ", ".join(str(int(r)) for r in np.unique(sub.n_ranks))
            print(f"- id: {link}-{impl}-all-reduce")
            print(f"  link: {link}")
            print("  op: all_reduce")
            print(f"  implementation: {impl}")
            print_curve(c, f"{', '.join(systems)} ({ranks} ranks, {len(sub)} points)")
            print(
                "  source: data/reference/nccl/aiconfigurator_custom_allreduce.csv (custom "
                f"all-reduce latencies of {framework} measured by aiconfigurator's collector, "
                "shipped in aiconfigurator-core 0.12.0, Apache-2.0); fitted by "
                "benchmarks/fit_collectives.py"
            )
            print("  provenance: measured")


if __name__ == "__main__":
    main()
