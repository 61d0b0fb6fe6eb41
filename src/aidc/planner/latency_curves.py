"""Latency against load for the chosen serving designs (the reports' latency-throughput
curves, with the SLO line drawn from the requirements).

For one design (accelerator, engine, format, tensor parallelism, batch) on one replica, the
predicted p99 tails at offered loads from 5% of its capacity to 95%, from the same analytic
service levels the fleet search uses (:func:`aidc.model.serving.generation_level` for
continuous batching, :func:`aidc.model.serving.batch_level` for static and dynamic
batching). Past capacity the queue grows without bound, so the curve stops short of it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from aidc.model.serve_format import serve_format
from aidc.model.serving import ServiceLevel, batch_level, generation_level
from aidc.planner.context import PlanContext
from aidc.planner.inference import (
    DYNAMIC_QUEUE_DELAY_S,
    _Candidate,
    _deployment,
    service_slo,
    service_traffic,
)
from aidc.planner.result import Design
from aidc.spec.scenario import InferenceService, Scenario

LOAD_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
"""Offered load per replica, as a fraction of the replica's capacity."""


def latency_curve(
    design: Design, svc: InferenceService, scenario: Scenario, ctx: PlanContext
) -> dict[str, Any] | None:
    """p99 TTFT/TPOT (generation) or p99 latency (encoders) against requests/s per replica
    for ``design``; None when the design has no working batch (an infeasible design)."""
    plan = design.plan
    batch = int(plan.get("batch") or 0)
    if batch < 1:
        return None
    arch = ctx.models[svc.name]
    acc = ctx.catalog.accelerators.get(design.accelerator)
    eng = ctx.catalog.software.get(str(plan["engine"]))
    prec = str(plan["precision"])
    cand = _Candidate(acc, prec, serve_format(prec), eng, int(plan.get("tp", 1)))
    dep = _deployment(ctx, arch, [cand])
    traffic, slo = service_traffic(svc, scenario), service_slo(svc)
    encoder = svc.task != "generation"
    continuous = plan.get("batching") == "continuous"
    delay = DYNAMIC_QUEUE_DELAY_S if encoder else 0.0

    def level(rate_per_s: float) -> ServiceLevel:
        t = replace(traffic, rate_per_s=rate_per_s)
        if continuous:
            return generation_level(dep, t, slo, replicas=1, max_batch=float(batch))
        return batch_level(dep, t, slo, replicas=1, batch=batch, max_queue_delay_s=delay)

    capacity = level(1e-6).capacity_rps_per_replica
    if not (math.isfinite(capacity) and capacity > 0):
        return None
    keys = ("p99_latency_s",) if encoder else ("ttft_p99_s", "tpot_p99_s")
    curve: dict[str, Any] = {
        "label": f"{design.accelerator} {plan['engine']} {prec} TP{cand.tp} batch {batch}, "
        "one replica",
        "accelerator": design.accelerator,
        "throughput_rps": [],
        "load_fraction": [],
        **{k: [] for k in keys},
    }
    for f in LOAD_FRACTIONS:
        lv = level(f * capacity)
        values = {
            "p99_latency_s": lv.e2e_p99_s,
            "ttft_p99_s": lv.ttft_p99_s,
            "tpot_p99_s": lv.tpot_p99_s,
        }
        if not all(math.isfinite(values[k]) for k in keys):
            continue
        curve["throughput_rps"].append(f * capacity)
        curve["load_fraction"].append(f)
        for k in keys:
            curve[k].append(values[k])
    return curve if curve["throughput_rps"] else None
