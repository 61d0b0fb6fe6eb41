"""Analytic p99 TPOT/TTFT (fast path, :func:`aidc.model.serving.generation_level`) against
the discrete-event simulation (:mod:`aidc.model.serving_sim`) over loads and calibrations.

For one deployment (Llama-3.3-70B, H100-SXM, vLLM, FP8, TP2) the script varies the
calibration (step overhead, per-sequence overhead, memory-bandwidth efficiency: the
memory-bound share of a decode step), the traffic shape and the load (fraction of one
replica's capacity), simulates each point and prints analytic / simulated ratios of p50 and
p99 TPOT and of p99 TTFT.

    PYTHONPATH=src python benchmarks/serving_tail_agreement.py [--duration 300] [--quick]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.model.inference import build_deployment, continuous_generation
from aidc.model.serve_format import serve_format
from aidc.model.serving import (
    LatencySlo,
    TrafficShape,
    engine_config,
    generation_level,
    step_cost,
    traffic_requests,
)
from aidc.model.serving_sim import simulate


def deployment(model: str = "llama-3.3-70b", acc: str = "H100-SXM", tp: int = 2):
    cat = load_catalog()
    a, h, eng, fmt = (
        cat.models.get(model),
        cat.accelerators.get(acc),
        cat.software.get("vllm"),
        serve_format("fp8"),
    )
    return build_deployment(
        [a],
        [h],
        [eng],
        [fmt],
        tp=np.array([float(tp)]),
        pp=np.array([1.0]),
        links={lk.id: lk for lk in cat.links},
        efficiency=efficiency_columns(load_default_calibration(), [(h.id, eng.id, fmt.name)]),
    )


def with_eff(dep, **scale):  # type: ignore[no-untyped-def]
    """``dep`` with efficiency columns multiplied by the given factors."""
    eff = dataclasses.replace(dep.eff, **{k: getattr(dep.eff, k) * v for k, v in scale.items()})
    return dataclasses.replace(dep, eff=eff)


def compare(dep, traffic: TrafficShape, *, replicas: int, duration_s: float, seed: int = 0):  # type: ignore[no-untyped-def]
    lv = generation_level(dep, traffic, LatencySlo(), replicas=replicas)
    rng = np.random.default_rng(seed)
    req = traffic_requests(traffic, rng, duration_s)
    s = simulate(
        req,
        step_cost(
            dep, ref_batch=max(lv.concurrency_per_replica, 1.0), ref_prompt=traffic.input_mean
        ),
        engine_config(
            dep, input_len=traffic.input_mean, output_len=traffic.output_mean, policy="continuous"
        ),
        replicas=replicas,
    ).summary(warmup_s=0.1 * duration_s)
    return lv, s


CALIBRATIONS = {
    "as fitted": {},
    "step_overhead x4": {"step_overhead_s": 4.0},
    "seq_overhead x4": {"seq_overhead_s": 4.0},
    "overheads x0.1": {"step_overhead_s": 0.1, "seq_overhead_s": 0.1},
    "memory_bw x0.5": {"memory_bw": 0.5},
    "compute x0.5": {"compute": 0.5},
}
TRAFFIC = {
    "1000/250 p99 3000/800": (1000, 250, 3000, 800),
    "200/500 p99 600/1500": (200, 500, 600, 1500),
    "3000/100 fixed": (3000, 100, None, None),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--quick", action="store_true", help="first calibration and traffic only")
    ap.add_argument("--replicas", type=int, default=2)
    args = ap.parse_args()
    base = deployment()
    cals = list(CALIBRATIONS.items())[: 1 if args.quick else None]
    traffics = list(TRAFFIC.items())[: 1 if args.quick else None]
    print(
        f"{'calibration':18s} {'traffic':22s} {'load':>5s} {'n':>6s} "
        f"{'mean/p50 TPOT':>12s} {'p99 TPOT a/s':>12s} {'p99 TTFT a/s':>12s} {'sim p99 TPOT ms':>15s}"
    )
    worst, tpot_log, ttft_log = [], [], []
    for cname, scale in cals:
        dep = with_eff(base, **scale)
        for tname, (i, o, ip, op) in traffics:
            probe = generation_level(dep, TrafficShape(1.0, i, o, ip, op), LatencySlo(), replicas=1)
            cap = probe.capacity_rps_per_replica * args.replicas
            for load in (0.2, 0.5, 0.8, 0.95):
                tr = TrafficShape(load * cap, i, o, ip, op)
                lv, s = compare(dep, tr, replicas=args.replicas, duration_s=args.duration)
                mean_tpot = continuous_generation(
                    dep, input_len=i, output_len=o, concurrency=max(lv.concurrency_per_replica, 1.0)
                ).tpot_s[0]
                r50 = float(mean_tpot) / s["tpot_p50_s"]
                r99 = lv.tpot_p99_s / s["tpot_p99_s"]
                rt = lv.ttft_p99_s / s["ttft_p99_s"]
                worst.append(abs(np.log(r99)))
                tpot_log.append(np.log(r99))
                ttft_log.append(np.log(rt))
                print(
                    f"{cname:18s} {tname:22s} {load:5.2f} {lv.concurrency_per_replica:6.1f} "
                    f"{r50:12.3f} {r99:12.3f} {rt:12.3f} {1e3 * s['tpot_p99_s']:15.2f}",
                    flush=True,
                )
    print(f"worst |log(p99 TPOT ratio)|: {max(worst):.3f} (ratio {np.exp(max(worst)):.3f})")
    for name, logs in (("p99 TPOT", tpot_log), ("p99 TTFT", ttft_log)):
        a = np.abs(np.array(logs))
        ok = np.isfinite(a)
        print(
            f"{name}: within ±15% at {int((a[ok] <= np.log(1.15)).sum())} of {len(a)} points, "
            f"within ±25% at {int((a[ok] <= np.log(1.25)).sum())}; mean |log ratio| "
            f"{a[ok].mean():.3f} over {int(ok.sum())} finite; ratios "
            f"{np.exp(np.array(logs)[ok]).min():.3f}-"
            f"{np.exp(np.array(logs)[ok]).max():.3f}"
        )


if __name__ == "__main__":
    main()
