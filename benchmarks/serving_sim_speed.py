"""Speed of the serving simulator: one simulated hour at 100 requests/s (target < 10 s).

A chat-like workload (prompt mean 1,000 / p99 3,000 tokens, output mean 250 / p99 800)
on Llama-3.3-70B, FP8, TP=2 on H100 with vLLM's engine profile, continuous batching,
replicas behind a least-outstanding balancer (and round-robin); the fleet size is what
aidc's analytic search picks for TTFT p99 <= 1 s and TPOT p99 <= 50 ms. Reported as the
ratio of wall time to the 10 s target, with the simulated tails.

    .venv/bin/python benchmarks/serving_sim_speed.py
"""

from __future__ import annotations

import time

import numpy as np

from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.catalog.loader import load_catalog
from aidc.model.inference import build_deployment
from aidc.model.serve_format import serve_format
from aidc.model.serving import LatencySlo, TrafficShape, engine_config, step_cost
from aidc.model.serving_fleet import continuous_fleet
from aidc.model.serving_sim import make_requests, poisson_arrivals, simulate

TARGET_S = 10.0


def main() -> None:
    cat = load_catalog()
    arch, acc, eng, fmt = (
        cat.models.get("llama-3.3-70b"),
        cat.accelerators.get("H100-SXM"),
        cat.software.get("vllm"),
        serve_format("fp8"),
    )
    dep = build_deployment(
        [arch],
        [acc],
        [eng],
        [fmt],
        tp=np.array([2.0]),
        pp=np.array([1.0]),
        links={lk.id: lk for lk in cat.links},
        efficiency=efficiency_columns(load_default_calibration(), [(acc.id, eng.id, fmt.name)]),
    )
    traffic = TrafficShape(100.0, 1000.0, 250.0, 3000.0, 800.0)
    slo = LatencySlo(ttft_s=1.0, tpot_s=0.05)
    (choice,) = continuous_fleet(dep, traffic, slo)
    assert choice.level is not None
    replicas = choice.level.replicas
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    req = make_requests(
        poisson_arrivals(rng, 100.0, 3600.0),
        rng,
        input_mean=1000,
        output_mean=250,
        input_p99=3000,
        output_p99=800,
    )
    gen_s = time.perf_counter() - t0
    cost = step_cost(dep, ref_batch=choice.level.concurrency_per_replica)
    cfg = engine_config(dep, input_len=1000, output_len=250, policy="continuous")
    print(f"{len(req)} requests over 3600 s; {replicas} replicas (analytic search)")
    for balancer in ("least_outstanding", "round_robin"):
        t0 = time.perf_counter()
        res = simulate(req, cost, cfg, replicas=replicas, balancer=balancer)
        wall = time.perf_counter() - t0
        s = res.summary(ttft_slo_s=1.0, tpot_slo_s=0.05, warmup_s=60.0)
        print(
            f"{balancer:18s} wall {wall:5.2f} s (+{gen_s:.2f} s arrivals) = {wall / TARGET_S:.2f} x the {TARGET_S:.0f} s target | "
            f"TTFT p50/p99 {s['ttft_p50_s'] * 1e3:.0f}/{s['ttft_p99_s'] * 1e3:.0f} ms, "
            f"TPOT p99 {s['tpot_p99_s'] * 1e3:.1f} ms, goodput {s['goodput_rps']:.1f} req/s, "
            f"SLO attainment {100 * s['slo_attainment']:.2f}%"
        )


if __name__ == "__main__":
    main()
