"""Fit the collective-time curves of aidc.model.network to measured NCCL latencies.

Prints the fitted records in the shape of ``src/aidc/catalog/data/collectives.yaml``
(the NVLink/PCIe part of that file is this script's output, pasted):

    .venv/bin/python benchmarks/fit_collectives.py > /tmp/fitted.yaml

One curve per (scale-up link, collective), fitted on every measured system that uses
the link (data/reference/nccl/aiconfigurator_nccl.csv, from aiconfigurator-core 0.12.0).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aidc.model.network import OPS
from aidc.units import MEGA, MICROSECOND
from nccl_reference import fit_curve, load


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
            print(f"  base_latency_us: {c.base_latency_s / MICROSECOND:.3f}")
            print(f"  step_latency_us: {c.step_latency_s / MICROSECOND:.3f}")
            print(f"  bus_efficiency: {c.bus_efficiency:.4f}")
            print(f"  rank_exponent: {c.rank_exponent:.4f}")
            print(f"  ramp_mb: {c.ramp_bytes / MEGA:.4f}")
            print(f"  ramp_exponent: {c.ramp_exponent:.4f}")
            print(f"  fitted_on: {', '.join(systems)} ({ranks} ranks, {len(sub)} points)")
            print(
                "  source: data/reference/nccl/aiconfigurator_nccl.csv (NCCL latencies "
                "measured with nccl-tests, shipped in aiconfigurator-core 0.12.0, Apache-2.0); "
                "fitted by benchmarks/fit_collectives.py"
            )
            print("  provenance: measured")


if __name__ == "__main__":
    main()
