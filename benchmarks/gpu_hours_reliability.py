"""Whole-run GPU-hours of published training runs: with and without the reliability model.

    .venv/bin/python benchmarks/gpu_hours_reliability.py [--days 60]

Rows: data/reference/training.csv rows that state a whole run's GPU-hours (model cards:
Llama 2/3/3.1/3.2/3.3/4, TinyLlama) or its wall-clock on a stated GPU count (MPT-7B,
llm.c GPT-2), with a token count and a model the catalog knows. Rows without a token
count (nanoGPT, MLPerf) or without a catalog model (Pythia, MPT-1.3B) are listed as
skipped.

The global batch is the row's when stated (Llama 2: 4 M tokens); otherwise the planner's
default rule (:func:`aidc.search.training_space.default_global_batch_tokens`): 4 M tokens,
growing to 1024 tokens per GPU on large clusters (Llama 3 405B trained with 16 M tokens on
16k H100s). MoE models search expert parallelism as the planner does.

For each row the repository's training-time model (aidc.model.training.estimate_training
with the shipped calibration; the planner's plan search) gives the fastest feasible plan.
This is the first-cut model on main when this script was written (flat 50% matmul
efficiency); the calibrated model of the training work replaces it when merged, and
this script then measures that one:

* at the stated GPU count (per-device speed at the nearest enumerated count), or
* when the card does not state a count, at the smallest count that finishes within
  ``--days`` (an assumption: the run was sized to a deadline; reported for 30/60/90).

without reliability: GPU-hours = devices x tokens / tokens_per_s;
with reliability:    the same divided by the goodput of aidc.planner.infrastructure's
checkpoint design (failure rates from Meta's Llama 3 report, Daly-optimal checkpoints
on a flash tier sized for the scenario default 5% stall budget, restart overhead).

Prints per-row figures and the median absolute % error of both, plus the median signed
error (a model that is fast-biased is helped by any overhead).
"""

from __future__ import annotations

import argparse
import csv
import math
import re
from pathlib import Path

import numpy as np

from aidc.catalog import BYTES_PER_ELEMENT, Precision, load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.efficiency import load_kernel_efficiency, select_kernel_efficiency
from aidc.model.training import (
    TrainingCalibration,
    TrainingSettings,
    estimate_training,
    optimizer_state_bytes_per_param,
    training_devices,
)
from aidc.model.transformer import param_counts
from aidc.planner.common import best_per_group
from aidc.planner.infra_facts import BYTES_PER_TOKEN_TEXT, infra_facts
from aidc.planner.infrastructure import checkpoint_design
from aidc.search.training_space import enumerate_training_space, global_batch_rule
from aidc.spec.scenario import CheckpointPolicy, PriceOverrides, TrainingWorkload
from aidc.units import DAY, GIGA, HOUR, TERA

ROOT = Path(__file__).resolve().parents[1]
TRAINING_CSV = ROOT / "data" / "reference" / "training.csv"
DEFAULTS = TrainingWorkload(name="x", model="gpt2", tokens=1.0)
MAX_DEVICES = 16384


def parse_amount(text: str) -> float | None:
    """'15T+', '~15T', 'up to 9T', '300000000000', '~4M (as stated)' -> float."""
    m = re.search(r"([\d.]+)\s*([TBMk]?)", text or "")
    if not m:
        return None
    scale = {"T": TERA, "B": GIGA, "M": 1e6, "k": 1e3, "": 1.0}[m.group(2)]
    return float(m.group(1)) * scale


def measured_gpu_hours(r: dict[str, str]) -> float | None:
    if r["gpu_hours"]:
        return float(r["gpu_hours"])
    if r["wall_clock_days"] and r["n_accel"]:
        return float(r["n_accel"]) * float(r["wall_clock_days"]) * DAY / HOUR
    return None


def fastest_per_count(
    arch, acc, seq_len: int, gbs: int, min_batch_tokens_per_device: float
) -> dict[int, float]:
    """Device count -> tokens/s of the fastest feasible plan (the planner's search)."""
    cat = load_catalog()
    cal = load_default_calibration()
    space = enumerate_training_space(
        n_layers=arch.n_layers,
        n_heads=arch.n_heads,
        seq_len=seq_len,
        global_batch_seqs=gbs,
        accel_domain=[acc.scaleup_domain_devices],
        accel_devices_per_node=[acc.devices_per_node],
        max_devices=MAX_DEVICES,
        recompute="auto",
        n_experts=arch.n_experts,
        min_batch_tokens_per_device=min_batch_tokens_per_device,
    )
    links = {lk.id: lk for lk in cat.links}
    kernels = [select_kernel_efficiency(load_kernel_efficiency(), acc)]
    devices = training_devices([acc], kernels, Precision.BF16, links).take(space.accel_index)
    settings = TrainingSettings(seq_len=seq_len, optimizer="adamw", precision=Precision.BF16)
    est = estimate_training(
        arch, devices, space.plan, settings, TrainingCalibration.from_calibration(cal)
    )
    best = best_per_group(space.plan.n_devices, est.step_time_s, est.fits)
    return {int(space.plan.n_devices[i]): float(est.tokens_per_s[i]) for i in best if est.fits[i]}


def evaluate(
    days: float, verbose: bool
) -> tuple[list[float], list[float], list[float], list[float]]:
    cat = load_catalog()
    facts = infra_facts(cat, PriceOverrides())
    policy = CheckpointPolicy()
    rows = list(csv.DictReader(TRAINING_CSV.open(encoding="utf-8")))
    e_without, e_with, s_without, s_with = [], [], [], []
    if verbose:
        print(
            f"{'row':6s} {'model':28s} {'GPUs':>6s} {'goodput':>8s} {'measured':>11s} "
            f"{'no-rel':>11s} {'err':>7s} {'with-rel':>11s} {'err':>7s}"
        )
    for r in rows:
        meas = measured_gpu_hours(r)
        if meas is None:
            continue
        name = r["model"]
        arch = cat.models.find(name) or cat.models.find(re.sub(r"\s*\(.*\)", "", name))
        acc = cat.accelerators.find(r["hardware"]) or cat.accelerators.find(
            r["hardware"].split()[0]
        )
        tokens = parse_amount(r["train_tokens"])
        if arch is None or acc is None or tokens is None:
            if verbose:
                why = "no token count" if tokens is None else "model or hardware not in catalog"
                print(f"{r['row_id']:6s} {name[:28]:28s} skipped: {why}")
            continue
        seq = int(r["seq_len"]) if r["seq_len"] else DEFAULTS.seq_len
        # a stated batch is used as is; otherwise the planner's rule, growing with the cluster
        gbt, floor = global_batch_rule(parse_amount(r["global_batch_tokens"]))
        speeds = fastest_per_count(arch, acc, seq, max(1, round(gbt / seq)), floor)
        if not speeds:
            print(f"{r['row_id']:6s} {name[:28]:28s} skipped: no feasible plan")
            continue
        if r["n_accel"]:
            n = int(float(r["n_accel"]))
            near = max((c for c in speeds if c <= n), default=min(speeds))
            per_dev = speeds[near] / near
        else:
            ok = [c for c in sorted(speeds) if tokens / speeds[c] <= days * DAY]
            n = ok[0] if ok else max(speeds, key=lambda c: speeds[c])
            per_dev = speeds[n] / n
        hours_ideal = tokens / per_dev / HOUR
        pc = param_counts(arch)
        state = BYTES_PER_ELEMENT[Precision.BF16] + optimizer_state_bytes_per_param(
            "adamw", BYTES_PER_ELEMENT[Precision.BF16]
        )
        ck = checkpoint_design(
            n_devices=n,
            params=pc.total,
            state_bytes_per_param=state,
            dataset_bytes=tokens * BYTES_PER_TOKEN_TEXT,
            dataset_read_bw_bytes_per_s=per_dev * n * BYTES_PER_TOKEN_TEXT,
            keep_last=policy.keep_last,
            max_stall_fraction=policy.max_stall_fraction,
            facts=facts,
        )
        hours_rel = hours_ideal / ck.goodput if ck.goodput > 0 else math.inf
        ew, er = hours_ideal / meas - 1.0, hours_rel / meas - 1.0
        e_without.append(abs(ew))
        e_with.append(abs(er))
        s_without.append(ew)
        s_with.append(er)
        if verbose:
            print(
                f"{r['row_id']:6s} {name[:28]:28s} {n:6d} {ck.goodput:8.3f} {meas:11.4g} "
                f"{hours_ideal:11.4g} {100 * ew:+6.1f}% {hours_rel:11.4g} {100 * er:+6.1f}%"
            )
    return e_without, e_with, s_without, s_with


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--days", type=float, default=60.0, help="assumed run length when the GPU count is unknown"
    )
    args = ap.parse_args()
    ew, er, sw, sr = evaluate(args.days, verbose=True)
    print(
        f"\n{len(ew)} rows, unknown GPU counts sized for {args.days:g} days: median APE "
        f"without reliability {100 * np.median(ew):.1f}%, with reliability {100 * np.median(er):.1f}% "
        f"(median signed error {100 * np.median(sw):+.1f}% -> {100 * np.median(sr):+.1f}%)"
    )
    print("\nsensitivity to the assumed run length (rows with an unknown GPU count):")
    for days in (30.0, 60.0, 90.0):
        ew, er, _, _ = evaluate(days, verbose=False)
        print(
            f"  {days:4.0f} days: without {100 * np.median(ew):5.1f}%   with {100 * np.median(er):5.1f}%"
        )


if __name__ == "__main__":
    main()
