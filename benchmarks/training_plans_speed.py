"""How fast aidc searches training plans: the whole plan space of one cluster, and the
planner's space (every accelerator x device count) for one model.

Reports plans/s and wall time (target: one cluster's whole plan space well under 1 s).

    python benchmarks/training_plans_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from aidc.catalog import Precision, load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.efficiency import kernel_efficiency_for
from aidc.model.training import (
    TrainingCalibration,
    TrainingSettings,
    estimate_training,
    training_devices,
)
from aidc.search.training_space import enumerate_plans, enumerate_training_space

CLUSTERS = [
    ("llama-3-70b", "H100-SXM", 1024, 8192),
    ("gpt3-175b", "A100-SXM-80GB", 4096, 2048),
    ("mixtral-8x22b", "H200-SXM", 512, 4096),
    ("llama-3.1-405b", "GB200", 8192, 8192),
]
TARGET_S = 1.0


def one_cluster(
    model: str, accel: str, n: int, seq: int, cal: TrainingCalibration
) -> tuple[int, float]:
    cat = load_catalog()
    arch, acc = cat.models.get(model), cat.accelerators.get(accel)
    links = {lk.id: lk for lk in cat.links}
    t0 = time.perf_counter()
    plans = enumerate_plans(
        n,
        n_layers=arch.n_layers,
        n_heads=arch.n_heads,
        seq_len=seq,
        global_batch_seqs=max(1, round(4e6 / seq)),
        scaleup_domain=acc.scaleup_domain_devices,
        n_experts=arch.n_experts,
    )
    dev = training_devices([acc], [kernel_efficiency_for(acc)], Precision.BF16, links).take(
        np.zeros(len(plans), dtype=np.int64)
    )
    est = estimate_training(arch, dev, plans, TrainingSettings(seq_len=seq), cal)
    best = int(np.argmax(np.where(est.fits, est.tokens_per_s, -np.inf)))
    assert est.fits[best]
    return len(plans), time.perf_counter() - t0


def planner_space(model: str, seq: int, cal: TrainingCalibration) -> tuple[int, float]:
    cat = load_catalog()
    arch = cat.models.get(model)
    accs = [a for a in cat.accelerators if a.peak_for(Precision.BF16)]
    links = {lk.id: lk for lk in cat.links}
    t0 = time.perf_counter()
    space = enumerate_training_space(
        n_layers=arch.n_layers,
        n_heads=arch.n_heads,
        seq_len=seq,
        global_batch_seqs=max(1, round(4e6 / seq)),
        accel_domain=[a.scaleup_domain_devices for a in accs],
        accel_devices_per_node=[a.devices_per_node for a in accs],
        max_devices=4096,
        recompute="auto",
        n_experts=arch.n_experts,
    )
    dev = training_devices(
        accs, [kernel_efficiency_for(a) for a in accs], Precision.BF16, links
    ).take(space.accel_index)
    estimate_training(arch, dev, space.plan, TrainingSettings(seq_len=seq), cal)
    return len(space), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cal = TrainingCalibration.from_calibration(load_default_calibration())
    one_cluster(*CLUSTERS[0], cal)  # warm caches (catalog, kernel data)
    for model, accel, n, seq in CLUSTERS:
        runs = [one_cluster(model, accel, n, seq, cal) for _ in range(args.repeats)]
        k, t = runs[0][0], statistics.median(r[1] for r in runs)
        print(
            f"{model:15s} on {n:5d} x {accel:14s}: {k:6d} plans in {t * 1e3:7.1f} ms = {k / t:10,.0f} plans/s  ({t / TARGET_S:.3f} x the {TARGET_S:.0f} s target)"
        )
    runs = [planner_space("glm-130b", 2048, cal) for _ in range(args.repeats)]
    k, t = runs[0][0], statistics.median(r[1] for r in runs)
    print(
        f"planner space glm-130b, every accelerator x device count up to 4096: {k:,} plans in {t:.2f} s = {k / t:,.0f} plans/s"
    )


if __name__ == "__main__":
    main()
