"""One inference configuration, estimated: what ``aidc estimate inference`` reports.

Pure: takes catalog records and a calibration, returns plain values (SI units). The mode
follows the options given: an encoder pass (encoders), a static batch (``batch``), a
closed loop of ``concurrency`` clients with continuous batching, an open-loop ``rate``
(analytic tails plus a short seeded simulation), or a single stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from aidc.catalog.calibration import Calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.catalog.schema import Accelerator, Link, ModelArch, SoftwareStack, version_key
from aidc.errors import AidcInputError
from aidc.model.inference import (
    build_deployment,
    continuous_generation,
    encoder_pass,
    static_generation,
)
from aidc.model.inference_arrays import KV_EXACT, Deployment
from aidc.model.serve_format import UNSTRUCTURED_PRUNING_NOTE, serve_format
from aidc.model.serving import LatencySlo, TrafficShape, engine_config, generation_level, step_cost
from aidc.model.serving_sim import (
    Requests,
    bursty_arrivals,
    make_requests,
    poisson_arrivals,
    simulate,
)
from aidc.planner.inference import device_tag

SIM_SEED = 7
SPARSITY = ("none", "2:4", "unstructured")
SIM_REQUESTS = 5000


@dataclass(frozen=True)
class InferenceEstimate:
    mode: str
    model: str
    accelerator: str
    engine: str
    precision: str
    tp: int
    pp: int
    replicas: int
    fits: bool
    memory: dict[str, float]  # bytes per device
    shortfall_bytes: float
    metrics: dict[str, float] = field(default_factory=dict)  # SI units
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "model": self.model,
            "accelerator": self.accelerator,
            "engine": self.engine,
            "precision": self.precision,
            "tp": self.tp,
            "pp": self.pp,
            "replicas": self.replicas,
            "fits": self.fits,
            "shortfall_bytes": self.shortfall_bytes,
            "memory_bytes": {k: (v if math.isfinite(v) else None) for k, v in self.memory.items()},
            "metrics": {k: (v if math.isfinite(v) else None) for k, v in self.metrics.items()},
            "notes": list(self.notes),
        }


def _split(devices: int, tp: int | None, pp: int | None, acc: Accelerator) -> tuple[int, int, int]:
    if devices < 1:
        raise AidcInputError("must be at least 1", field="--devices")
    if tp is None and pp is None:
        tp = min(devices, max(acc.scaleup_domain_devices, 1))
        while devices % tp:
            tp -= 1
        pp = 1
    tp = tp or 1
    pp = pp or 1
    if tp < 1 or pp < 1 or devices % (tp * pp):
        raise AidcInputError(
            f"tp x pp = {tp} x {pp} must divide the {devices} devices", field="--tp/--pp"
        )
    return tp, pp, devices // (tp * pp)


def estimate_inference(
    *,
    arch: ModelArch,
    accelerator: Accelerator,
    engine: SoftwareStack,
    precision: str,
    devices: int,
    links: dict[str, Link],
    calibration: Calibration,
    tp: int | None = None,
    pp: int | None = None,
    batch: int | None = None,
    concurrency: int | None = None,
    rate: float | None = None,
    input_len: float = 512.0,
    output_len: float = 128.0,
    seq_len: float = 128.0,
    kv_precision: str | None = None,
    sparsity: str = "none",
    arrival: str = "poisson",
    trace: Requests | None = None,
    engine_version: str | None = None,
) -> InferenceEstimate:
    notes: list[str] = []
    if engine_version is not None:
        if version_key(engine_version) is None:
            raise AidcInputError(
                f"{engine_version!r} is not a version number (like 0.6.1)", field="--engine-version"
            )
        notes += engine.release_notes(engine_version) or [
            f"{engine.id} {engine_version}: no recorded difference from the current release"
        ]
        engine = engine.at_version(engine_version)
    tag = device_tag(accelerator)
    if tag not in engine.devices:
        raise AidcInputError(
            f"{engine.id} does not run on {accelerator.id} ({tag}); it runs on: "
            f"{', '.join(engine.devices) or 'nothing recorded'}",
            field="--engine",
        )
    if arch.kind not in engine.model_kinds:
        raise AidcInputError(
            f"{engine.id} does not serve {arch.kind} models; it serves: "
            f"{', '.join(engine.model_kinds)}",
            field="--engine",
        )
    if sparsity not in SPARSITY:
        raise AidcInputError(
            f"unknown sparsity {sparsity!r}; allowed: {', '.join(SPARSITY)}", field="--sparsity"
        )
    sparse = False
    if sparsity == "2:4":
        if "sparsity_2_4" in accelerator.features and engine.sparse_2_4_kernels:
            sparse = True
        else:
            where = accelerator.id if "sparsity_2_4" not in accelerator.features else engine.id
            notes.append(f"2:4 sparsity: no speed-up counted ({where} has no 2:4 sparse kernels)")
    elif sparsity == "unstructured":
        notes.append(UNSTRUCTURED_PRUNING_NOTE)
    fmt = serve_format(precision, kv=kv_precision, sparse_2_4=sparse)
    if accelerator.peak_for(fmt.compute) is None:
        raise AidcInputError(
            f"{accelerator.id} has no {fmt.compute.value} compute; choose another precision "
            f"(it has: {', '.join(p.value for p in accelerator.peak_flops_per_s)})",
            field="--precision",
        )
    tp_, pp_, replicas = _split(devices, tp, pp, accelerator)
    dep: Deployment = build_deployment(
        [arch],
        [accelerator],
        [engine],
        [fmt],
        tp=np.array([tp_], float),
        pp=np.array([pp_], float),
        links=links,
        efficiency=efficiency_columns(
            calibration, [(accelerator.id, engine.id, fmt.name, accelerator.kind)]
        ),
    )
    if fmt.quality_risk:
        notes.append(f"quality risk of {fmt.name}: {fmt.quality_risk}")
    if engine.status in ("deprecated", "maintenance"):
        notes.append(f"{engine.id} is {engine.status}: {engine.status_note}")

    def one(x: np.ndarray) -> float:
        return float(np.ravel(x)[0])

    if arch.kind == "encoder":
        b = batch or 1
        e = encoder_pass(dep, batch=b, seq_len=seq_len)
        mem = e.memory
        metrics = {
            "latency_s": one(e.latency_s),
            "sequences_per_s": one(e.sequences_per_s) * replicas,
        }
        mode = "encoder"
    elif rate is not None or trace is not None:
        if trace is not None:
            span = float(trace.arrival_s.max() - trace.arrival_s.min()) if len(trace) > 1 else 1.0
            rate = len(trace) / max(span, 1e-9)
            input_len = float(trace.input_tokens.mean())
            output_len = max(float(trace.output_tokens.mean()), 1.0)
        assert rate is not None
        traffic = TrafficShape(rate, input_len, output_len)
        lv = generation_level(dep, traffic, LatencySlo(), replicas=replicas)
        metrics = {
            "ttft_p99_s": lv.ttft_p99_s,
            "tpot_p99_s": lv.tpot_p99_s,
            "e2e_p99_s": lv.e2e_p99_s,
            "utilisation": lv.utilisation,
            "capacity_rps": lv.capacity_rps_per_replica * replicas,
        }
        policy = "continuous" if engine.batching == "continuous" else "dynamic"
        rng = np.random.default_rng(SIM_SEED)
        duration = SIM_REQUESTS / rate
        if trace is not None:
            req = Requests(
                trace.arrival_s - trace.arrival_s.min(), trace.input_tokens, trace.output_tokens
            )
            duration = float(req.arrival_s.max()) if len(req) > 1 else 1.0
            source = f"trace of {len(req)} requests"
        else:
            times = (
                bursty_arrivals(rng, rate, duration)
                if arrival == "bursty"
                else poisson_arrivals(rng, rate, duration)
            )
            req = make_requests(times, rng, input_mean=input_len, output_mean=output_len)
            source = f"{arrival} arrivals at {rate:g} req/s"
        cap = lv.slots_per_replica if policy == "continuous" else float(batch or 8)
        sim = simulate(
            req,
            step_cost(
                dep,
                ref_batch=max(lv.concurrency_per_replica, 1.0),
                ref_prompt=input_len if policy == "continuous" else 4096.0,
            ),
            engine_config(
                dep, input_len=input_len, output_len=output_len, policy=policy, max_batch=cap
            ),
            replicas=replicas,
        ).summary(warmup_s=0.1 * duration)
        for k in ("ttft", "tpot", "e2e"):
            for q in (50, 90, 99):
                metrics[f"sim_{k}_p{q}_s"] = sim[f"{k}_p{q}_s"]
        metrics["sim_output_tokens_per_s"] = sim["output_tokens_per_s"]
        mem = continuous_generation(dep, input_len=input_len, output_len=output_len).memory
        mode = f"open loop, {source} ({policy} batching)"
    elif concurrency is not None or (batch is None and engine.batching == "continuous"):
        conc = float(concurrency) if concurrency is not None else 1.0
        g = continuous_generation(
            dep, input_len=input_len, output_len=output_len, concurrency=conc / replicas
        )
        mem = g.memory
        metrics = {
            "ttft_s": one(g.ttft_s),
            "tpot_s": one(g.tpot_s),
            "e2e_s": one(g.e2e_s),
            "queue_s": one(g.queue_s),
            "batch": one(g.batch),
            "output_tokens_per_s": one(g.output_tokens_per_s) * replicas,
            "requests_per_s": one(g.requests_per_s) * replicas,
        }
        mode = f"continuous batching, {conc:g} concurrent requests"
    else:
        b = batch or 1
        g = static_generation(dep, batch=b, input_len=input_len, output_len=output_len)
        mem = g.memory
        metrics = {
            "ttft_s": one(g.ttft_s),
            "tpot_s": one(g.tpot_s),
            "e2e_s": one(g.e2e_s),
            "output_tokens_per_s": one(g.output_tokens_per_s) * replicas,
            "requests_per_s": one(g.requests_per_s) * replicas,
        }
        mode = f"static batch of {b}"
    pooled = float(dep.engine.kv_policy[0]) != KV_EXACT
    memory = {
        "weights": one(mem.weights_bytes),
        "kv_per_token": one(mem.kv_bytes_per_token),
        "kv_cache": one(mem.kv_bytes),
        "activations": one(mem.activation_bytes),
        "overhead": one(mem.overhead_bytes),
        "used": one(mem.used_bytes),
        "capacity": one(mem.capacity_bytes),
        "max_concurrency": one(mem.max_concurrency),
    }
    if pooled and float(mem.kv_bytes[0]) > 0:
        notes.append("KV cache is a reserved pool: 'used' counts the whole pool")
    return InferenceEstimate(
        mode=mode,
        model=arch.id,
        accelerator=accelerator.id,
        engine=engine.id,
        precision=fmt.name,
        tp=tp_,
        pp=pp_,
        replicas=replicas,
        fits=bool(np.ravel(mem.fits)[0]),
        memory=memory,
        shortfall_bytes=one(mem.shortfall_bytes),
        metrics=metrics,
        notes=tuple(notes),
    )
