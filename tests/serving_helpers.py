"""Shared builders for the serving-model tests: a one-row deployment from catalog names,
and the simulator's summary for a traffic shape (the analytic fast path's reference)."""

from __future__ import annotations

import numpy as np

from aidc.catalog import load_catalog
from aidc.catalog.calibration import Calibration, load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.model.inference import build_deployment
from aidc.model.inference_arrays import Deployment
from aidc.model.serve_format import serve_format
from aidc.model.serving import (
    LatencySlo,
    ServiceLevel,
    TrafficShape,
    engine_config,
    generation_level,
    step_cost,
    traffic_requests,
)
from aidc.model.serving_sim import simulate

CAT = load_catalog()
CAL = load_default_calibration()
LINKS = {lk.id: lk for lk in CAT.links}


def deployment(
    model: str,
    acc: str,
    eng: str = "tensorrt-llm",
    fmt: str = "bf16",
    tp: int = 1,
    cal: Calibration = CAL,
) -> Deployment:
    """One row: catalog model, accelerator and engine at a serving format and TP width."""
    a = CAT.accelerators.get(acc)
    f = serve_format(fmt)
    return build_deployment(
        [CAT.models.get(model)],
        [a],
        [CAT.software.get(eng)],
        [f],
        tp=np.array([tp], float),
        pp=np.ones(1),
        links=LINKS,
        efficiency=efficiency_columns(cal, [(a.id, eng, f.name, a.kind)]),
    )


def simulated_summary(
    d: Deployment,
    traffic: TrafficShape,
    *,
    concurrency: float,
    replicas: int,
    duration_s: float,
    warmup_s: float,
    seed: int,
) -> dict[str, float]:
    """Poisson arrivals of ``traffic`` for ``duration_s`` through the continuous-batching
    simulator, linearised at the fast path's per-replica ``concurrency`` and mean prompt."""
    rng = np.random.default_rng(seed)
    req = traffic_requests(traffic, rng, duration_s)
    n_in = traffic.input_mean
    return simulate(
        req,
        step_cost(d, ref_batch=max(concurrency, 1.0), ref_prompt=n_in),
        engine_config(d, input_len=n_in, output_len=traffic.output_mean, policy="continuous"),
        replicas=replicas,
    ).summary(warmup_s=warmup_s)


def fast_and_simulated(
    d: Deployment,
    shape: tuple[float, float, float | None, float | None],
    load: float,
    *,
    replicas: int,
    duration_s: float,
    warmup_s: float,
    seed: int,
) -> tuple[ServiceLevel, dict[str, float]]:
    """The analytic fast path and the simulator on the same traffic: ``shape`` (prompt mean,
    output mean, prompt p99, output p99) offered at ``load`` x the fleet's capacity."""
    n_in, n_out, in99, out99 = shape
    one = generation_level(d, TrafficShape(1.0, n_in, n_out, in99, out99), LatencySlo(), replicas=1)
    rate = replicas * load * one.capacity_rps_per_replica
    traffic = TrafficShape(rate, n_in, n_out, in99, out99)
    lv = generation_level(d, traffic, LatencySlo(), replicas=replicas)
    sim = simulated_summary(
        d,
        traffic,
        concurrency=lv.concurrency_per_replica,
        replicas=replicas,
        duration_s=duration_s,
        warmup_s=warmup_s,
        seed=seed,
    )
    return lv, sim
