"""Steps 2-3 for an inference service: enumerate accelerator x engine x precision x TP,
size the fleet that meets the SLO at peak, simulate the finalists, give each a verdict.

* The fleet search is analytic (:mod:`aidc.model.serving`): for every candidate the
  fewest replicas whose predicted p99 TTFT/TPOT (generation) or p99 latency (encoders)
  meet the SLO at the peak rate, with queueing (M/G/c over the KV-limited slots for
  continuous batching, M/D/1 on batches for static/dynamic batching).
* The best candidates (``SIM_FINALISTS``) are then simulated
  (:mod:`aidc.model.serving_sim`, Poisson or bursty arrivals at peak as the scenario says,
  seeded; a trace file is not read by the pure planner); when the simulation
  misses the SLO the fleet grows until it meets it, and the simulated tails are what the
  design reports.
* Availability adds spare replicas; power and cost follow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aidc.catalog.inference_calibration import efficiency_columns
from aidc.catalog.schema import Accelerator, ModelArch, Precision, SoftwareStack
from aidc.decide.metrics import METRICS
from aidc.model.inference import build_deployment
from aidc.model.inference_arrays import Deployment
from aidc.model.inference_memory import MemoryEstimate, memory_estimate
from aidc.model.serve_format import ServeFormat, serve_format
from aidc.model.serving import (
    LatencySlo,
    ServiceLevel,
    TrafficShape,
    engine_config,
    step_cost,
    traffic_requests,
)
from aidc.model.serving_fleet import FleetChoice, batch_fleet, continuous_fleet
from aidc.model.serving_sim import simulate
from aidc.model.transformer import param_counts
from aidc.planner.common import explain_winner, rank_designs, rejection_summary, security_score
from aidc.planner.context import PlanContext, candidate_accelerators
from aidc.planner.infra_facts import InfraFacts, infra_facts
from aidc.planner.infrastructure import inference_infrastructure_metrics, inference_spares
from aidc.planner.result import Design, WorkloadDecision
from aidc.spec.scenario import InferenceService, Scenario
from aidc.units import MILLISECOND, GiB

DEFAULT_PRECISIONS = ("bf16", "fp8", "int8", "int4-weight-only")
ENCODER_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
STATIC_DECODER_BATCHES = (1, 4, 16, 64, 256)
TP_CHOICES = (1, 2, 4, 8)
DYNAMIC_QUEUE_DELAY_S = 2 * MILLISECOND
"""Triton / TF Serving dynamic batchers wait a few milliseconds to fill a batch."""

MAINTENANCE_SPARE_AVAILABILITY = 0.999
"""Availability target from which a service keeps at least one spare replica."""

SIM_FINALISTS = 3
SIM_SEED = 20240601
SIM_REQUESTS = 20_000
SIM_MAX_S = 600.0
SIM_EXTRA_REPLICA_STEPS = 6

VENDOR_TAG = {"NVIDIA": "nvidia", "AMD": "amd", "Google": "tpu", "Intel": "intel", "Apple": "apple"}

INFERENCE_METRICS_GEN = [
    "ttft_p99_s",
    "tpot_p99_s",
    "usd_per_million_tokens",
    "tco_3y_usd",
    "capacity_headroom",
    "security_score",
    "maintainability_score",
]
INFERENCE_METRICS_ENC = [
    "p99_latency_s",
    "usd_per_1k_requests",
    "tco_3y_usd",
    "capacity_headroom",
    "security_score",
    "maintainability_score",
]


def device_tag(acc: Accelerator) -> str:
    """The device family an engine lists in its ``devices`` (software.yaml): ``cpu`` for
    CPUs, else the vendor's tag (nvidia, amd, tpu, intel, apple...)."""
    return "cpu" if acc.kind == "cpu" else VENDOR_TAG.get(acc.vendor, acc.vendor.lower())


def engines_for(
    ctx: PlanContext, svc: InferenceService, acc: Accelerator, kind: str
) -> list[SoftwareStack]:
    tag = device_tag(acc)
    wanted = None if svc.engines == "auto" else {e.lower() for e in svc.engines}
    out = []
    for s in ctx.catalog.software:
        if s.kind == "framework" or tag not in s.devices or kind not in s.model_kinds:
            continue
        if kind == "encoder" and svc.task != "generation" and svc.task not in s.encoder_tasks:
            continue
        if wanted is not None:
            if s.id.lower() not in wanted and not ({a.lower() for a in s.aliases} & wanted):
                continue
        elif s.status == "deprecated":
            continue
        out.append(s)
    return out


def auto_precisions(acc: Accelerator) -> list[str]:
    """The formats tried when a service names none: :data:`DEFAULT_PRECISIONS`, with the
    16-bit slot taken by fp16 on parts without bf16 (V100, T4) and by fp32 on parts with
    neither (most CPUs, where fp32 is also the reference the int8 speed-up is judged by)."""
    out = list(DEFAULT_PRECISIONS)
    if acc.peak_for(Precision.BF16) is None:
        half = "fp16" if acc.peak_for(Precision.FP16) is not None else "fp32"
        out[out.index("bf16")] = half
    if acc.kind == "cpu" and "fp32" not in out:
        out.insert(0, "fp32")
    return out


@dataclass(frozen=True)
class _Candidate:
    acc: Accelerator
    prec: str
    fmt: ServeFormat
    eng: SoftwareStack
    tp: int


def _enumerate(
    ctx: PlanContext, svc: InferenceService, scenario: Scenario, arch: ModelArch, kind: str
) -> list[_Candidate]:
    out = []
    for acc in candidate_accelerators(ctx.catalog, scenario.constraints):
        precisions = auto_precisions(acc) if svc.precisions == "auto" else list(svc.precisions)
        for prec in precisions:
            fmt = serve_format(prec)
            if acc.peak_for(fmt.compute) is None:
                continue
            for eng in engines_for(ctx, svc, acc, kind):
                base = (
                    Precision(prec.split("-")[0])
                    if prec.split("-")[0] in Precision.__members__.values()
                    else fmt.compute
                )
                if fmt.compute not in eng.precisions and base not in eng.precisions:
                    continue
                tps = (1,) if kind == "encoder" or not eng.parallelism else TP_CHOICES
                for tp in tps:
                    if tp > max(acc.scaleup_domain_devices, 1) or arch.n_heads % tp:
                        continue
                    out.append(_Candidate(acc, prec, fmt, eng, tp))
    return out


def _deployment(ctx: PlanContext, arch: ModelArch, cands: list[_Candidate]) -> Deployment:
    links = {lk.id: lk for lk in ctx.catalog.links}
    keys = [(c.acc.id, c.eng.id, c.fmt.name, c.acc.kind) for c in cands]
    return build_deployment(
        [arch] * len(cands),
        [c.acc for c in cands],
        [c.eng for c in cands],
        [c.fmt for c in cands],
        tp=np.array([c.tp for c in cands], dtype=float),
        pp=np.ones(len(cands)),
        links=links,
        efficiency=efficiency_columns(ctx.calibration, keys),
        kernel_records=ctx.kernel_efficiency,
    )


def _simulate(
    dep: Deployment,
    traffic: TrafficShape,
    slo: LatencySlo,
    policy: str,
    batch: int,
    replicas: int,
    arrival: str = "poisson",
) -> dict[str, float]:
    """Simulated tails of one design at peak (Poisson or bursty arrivals, seeded)."""
    rng = np.random.default_rng(SIM_SEED)
    duration = min(SIM_MAX_S, SIM_REQUESTS / max(traffic.rate_per_s, 1e-9))
    req = traffic_requests(traffic, rng, duration, bursty=arrival == "bursty")
    cost = step_cost(
        dep,
        ref_batch=max(batch / 2.0, 1.0),
        ref_prompt=traffic.input_mean if policy == "continuous" else 4096.0,
    )
    eng = engine_config(
        dep,
        input_len=traffic.input_mean,
        output_len=max(traffic.output_mean, 1.0),
        policy=policy,
        max_batch=batch,
        max_queue_delay_s=DYNAMIC_QUEUE_DELAY_S if policy == "dynamic" else 0.0,
    )
    res = simulate(req, cost, eng, replicas=replicas)
    return res.summary(
        ttft_slo_s=slo.ttft_s, tpot_slo_s=slo.tpot_s, e2e_slo_s=slo.e2e_s, warmup_s=duration * 0.1
    )


def _sim_meets(s: dict[str, float], slo: LatencySlo) -> bool:
    ok = s["completed"] >= 0.99 * s["requests"]
    for key, lim in (
        ("ttft_p99_s", slo.ttft_s),
        ("tpot_p99_s", slo.tpot_s),
        ("e2e_p99_s", slo.e2e_s),
    ):
        if lim is not None:
            ok &= s[key] <= lim
    return bool(ok)


# --------------------------------------------------------------------- power and cost
# (the infrastructure models will replace this block: keep it self-contained)


# ------------------------------------------------------------------------------ planner


def ensemble_size(svc: InferenceService, scenario: Scenario) -> int:
    """Models voting on each request (an ensemble of k multiplies the offered load)."""
    return max([e.k for e in scenario.ensembles if e.service == svc.name], default=1)


def service_traffic(svc: InferenceService, scenario: Scenario) -> TrafficShape:
    """The peak offered load and token lengths of a service, ensembles included."""
    t = svc.traffic
    return TrafficShape(
        rate_per_s=t.peak_rps * ensemble_size(svc, scenario),
        input_mean=t.input_tokens.mean,
        output_mean=t.output_tokens.mean if t.output_tokens else 0.0,
        input_p99=t.input_tokens.p99,
        output_p99=t.output_tokens.p99 if t.output_tokens else None,
    )


def service_slo(svc: InferenceService) -> LatencySlo:
    """The service's p99 targets in seconds."""
    s = svc.slo
    return LatencySlo(
        ttft_s=s.ttft_p99_ms * MILLISECOND if s.ttft_p99_ms else None,
        tpot_s=s.tpot_p99_ms * MILLISECOND if s.tpot_p99_ms else None,
        e2e_s=s.p99_latency_ms * MILLISECOND if s.p99_latency_ms else None,
    )


def plan_inference(svc: InferenceService, scenario: Scenario, ctx: PlanContext) -> WorkloadDecision:
    arch = ctx.models[svc.name]
    kind = "encoder" if svc.task != "generation" else "decoder"
    ensemble_k = ensemble_size(svc, scenario)
    t = svc.traffic
    in_tok = t.input_tokens.mean
    out_tok = t.output_tokens.mean if t.output_tokens else 0.0
    traffic = service_traffic(svc, scenario)
    slo = service_slo(svc)
    requirements = {
        "params": param_counts(arch).total,
        "peak_rps": traffic.rate_per_s,
        "mean_rps": t.mean_or_peak_rps * ensemble_k,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "ensemble_k": ensemble_k,
        # the service-level objectives, in seconds (None where the scenario sets none)
        "slo_p99_latency_s": svc.slo.p99_latency_ms and svc.slo.p99_latency_ms * MILLISECOND,
        "slo_ttft_p99_s": svc.slo.ttft_p99_ms and svc.slo.ttft_p99_ms * MILLISECOND,
        "slo_tpot_p99_s": svc.slo.tpot_p99_ms and svc.slo.tpot_p99_ms * MILLISECOND,
        "availability": svc.availability,
    }
    cands = _enumerate(ctx, svc, scenario, arch, kind)
    choices: list[FleetChoice | None] = [None] * len(cands)
    dep_all = _deployment(ctx, arch, cands) if cands else None
    policies = [
        "continuous" if (c.eng.batching == "continuous" and kind == "decoder") else "dynamic"
        for c in cands
    ]
    if dep_all is not None:
        cont = np.array([p == "continuous" for p in policies])
        if cont.any():
            idx = np.flatnonzero(cont)
            for i, ch in zip(idx, continuous_fleet(dep_all.take(idx), traffic, slo), strict=True):
                choices[i] = ch
        for nobatch in (False, True):
            sel = np.array(
                [
                    not cont[i] and ((c.eng.batching == "none") == nobatch)
                    for i, c in enumerate(cands)
                ]
            )
            if sel.any():
                idx = np.flatnonzero(sel)
                batches = (
                    (1,)
                    if nobatch
                    else (ENCODER_BATCHES if kind == "encoder" else STATIC_DECODER_BATCHES)
                )
                delay = 0.0 if kind == "decoder" else DYNAMIC_QUEUE_DELAY_S
                found = batch_fleet(
                    dep_all.take(idx), traffic, slo, batches=batches, max_queue_delay_s=delay
                )
                for i, ch in zip(idx, found, strict=True):
                    choices[i] = ch

    # best TP per (accelerator, precision, engine): fewest devices, then lowest tail
    best: dict[tuple[str, str, str], int] = {}
    for i, (c, ch) in enumerate(zip(cands, choices, strict=True)):
        key = (c.acc.id, c.prec, c.eng.id)
        lv = ch.level if ch else None
        score = (0, lv.replicas * c.tp, lv.ttft_p99_s) if lv else (1, c.tp, 0.0)
        j = best.get(key)
        if j is None:
            best[key] = i
        else:
            chj = choices[j]
            lvj = chj.level if chj else None
            sj = (0, lvj.replicas * cands[j].tp, lvj.ttft_p99_s) if lvj else (1, cands[j].tp, 0.0)
            if score < sj:
                best[key] = i

    c_ = scenario.constraints
    facts: InfraFacts = infra_facts(ctx.catalog, scenario.prices)
    simulated: dict[int, tuple[int, dict[str, float]]] = {}

    memory = _memory_at_batch(dep_all, choices, traffic)

    def design(i: int) -> Design:
        cand, ch = cands[i], choices[i]
        lv: ServiceLevel | None = ch.level if ch else None
        reason = None
        if ch is None or lv is None:
            reason = _rejection(dep_all, i, traffic, ch, kind)
        replicas = lv.replicas if lv else 0
        sim = simulated.get(i)
        if sim is not None:
            replicas = sim[0]
            if not _sim_meets(sim[1], slo):
                reason = f"slo: simulated p99 misses the target even at {replicas} replicas"
        weight_bytes = requirements["params"] * cand.fmt.weight_bytes
        spares = (
            inference_spares(
                devices_per_replica=cand.tp,
                replicas_for_load=replicas,
                weight_bytes=weight_bytes,
                availability_target=svc.availability,
                facts=facts,
            )
            if lv
            else 0
        )
        # N+1 at 99.9% and above: rolling upgrades and maintenance take a replica out
        # even when no hardware fails (the reliability model counts failures only)
        if lv and svc.availability >= MAINTENANCE_SPARE_AVAILABILITY:
            spares = max(spares, 1)
        replicas_total = replicas + spares if lv else 0
        n_dev = replicas_total * cand.tp
        per_rep_rps = lv.capacity_rps_per_replica if lv else 0.0
        util = requirements["mean_rps"] / max(per_rep_rps * max(replicas_total, 1), 1e-12)
        infra = inference_infrastructure_metrics(
            acc=cand.acc,
            replicas=replicas_total,
            devices_per_replica=cand.tp,
            replicas_for_load=replicas,
            utilisation=min(util, 1.0),
            mean_rps=requirements["mean_rps"],
            tokens_per_request=in_tok + out_tok,
            weight_bytes=weight_bytes,
            service=svc,
            scenario=scenario,
            ctx=ctx,
            facts=facts,
        )
        where = infra.deployment
        latency: dict[str, float] = {}
        if kind == "decoder":
            latency["ttft_p99_s"] = (
                sim[1]["ttft_p99_s"] if sim else (lv.ttft_p99_s if lv else math.inf)
            )
            latency["tpot_p99_s"] = (
                sim[1]["tpot_p99_s"] if sim else (lv.tpot_p99_s if lv else math.inf)
            )
        else:
            latency["p99_latency_s"] = (
                sim[1]["e2e_p99_s"] if sim else (lv.e2e_p99_s if lv else math.inf)
            )
        if sim:
            latency["simulated"] = 1.0
        sec, missing = security_score(cand.acc, cand.eng, c_.security)
        metrics = {
            **infra.metrics,
            **latency,
            # load growth the fleet absorbs within the SLO (spares count as capacity)
            "capacity_headroom": (ch.headroom if ch else 0.0) * replicas_total / max(replicas, 1),
            "security_score": sec,
            "maintainability_score": cand.eng.maturity * (1.0 - 0.05 * (cand.tp > 1)),
            "replicas": float(replicas_total),
            "per_replica_rps": per_rep_rps,
            "spare_replicas": float(spares),
            **_memory_metrics(memory, i, ch),
        }
        if reason is None:
            if infra.reason:
                reason = infra.reason
            elif missing:
                reason = "security: missing " + ", ".join(missing)
            elif not math.isfinite(infra.metrics["usd_per_million_tokens"]):
                reason = (
                    "price: no price for this accelerator in the catalog (give one under prices:)"
                )
        plan = {
            "engine": cand.eng.id,
            "precision": cand.prec,
            "tp": cand.tp,
            "replicas": replicas_total,
            "batching": policies[i],
            "batch": ch.batch if ch else 0,
            "deployment": where,
            "infrastructure": infra.details,
        }
        if cand.fmt.quality_risk:
            plan["quality_risk"] = cand.fmt.quality_risk
        return Design(
            svc.name, "inference", cand.acc.id, n_dev, plan, metrics, reason is None, reason
        )

    # analytic ranking, then simulate the finalists and rank again with simulated tails
    names = INFERENCE_METRICS_GEN if kind == "decoder" else INFERENCE_METRICS_ENC
    index = list(best.values())
    analytic = {i: design(i) for i in index}
    ranked = rank_designs(list(analytic.values()), names, scenario.preferences)
    order = [i for i in index if choices[i] is not None and choices[i].level is not None]  # type: ignore[union-attr]
    rank_of = {
        (d.accelerator, d.plan["precision"], d.plan["engine"]): k for k, d in enumerate(ranked)
    }
    order.sort(key=lambda i: rank_of[(cands[i].acc.id, cands[i].prec, cands[i].eng.id)])
    for i in order[:SIM_FINALISTS]:
        ch = choices[i]
        assert ch is not None and ch.level is not None and dep_all is not None
        row = dep_all.take(np.array([i]))
        r = ch.level.replicas
        for _ in range(SIM_EXTRA_REPLICA_STEPS):
            summ = _simulate(row, traffic, slo, policies[i], ch.batch, r, t.arrival)
            if _sim_meets(summ, slo):
                break
            r = max(r + 1, math.ceil(r * 1.25))
        simulated[i] = (r, summ)
    # only the simulated designs change (design is a pure function of its index otherwise)
    ranked = rank_designs(
        [design(i) if i in simulated else analytic[i] for i in index], names, scenario.preferences
    )
    feasible_d = [d for d in ranked if d.feasible]
    rejected = [d for d in ranked if not d.feasible]
    units = {m: METRICS[m].unit for m in names}
    return WorkloadDecision(
        workload=svc.name,
        kind="inference",
        model=arch.id,
        requirements=requirements,
        n_evaluated=len(cands),
        n_feasible=len(feasible_d),
        designs=feasible_d[:20] + rejected[:10],
        rejection_summary=rejection_summary(ranked),
        metric_names=names,
        why_winner=explain_winner(ranked, names, units),
        candidates=ranked,
    )


def _memory_at_batch(
    dep: Deployment | None, choices: Sequence[FleetChoice | None], traffic: TrafficShape
) -> MemoryEstimate | None:
    """Memory per device of every design at its chosen batch (or batch cap), one pass."""
    if dep is None:
        return None
    batch = np.array(
        [float(ch.batch) if ch is not None and ch.batch >= 1 else 1.0 for ch in choices]
    )
    return memory_estimate(
        dep, batch=batch, input_len=traffic.input_mean, output_len=traffic.output_mean
    )


def _memory_metrics(mem: MemoryEstimate | None, i: int, ch: FleetChoice | None) -> dict[str, float]:
    """Memory per device of design ``i`` at its batch (or batch cap): weights, KV cache,
    activations, engine overhead, their total and the device's capacity."""
    if mem is None or ch is None or ch.batch < 1:
        return {}
    return {
        "memory_per_device_bytes": float(mem.used_bytes[i]),
        "device_memory_bytes": float(mem.capacity_bytes[i]),
        "memory_weights_bytes": float(mem.weights_bytes[i]),
        "memory_kv_cache_bytes": float(mem.kv_bytes[i]),
        "memory_activations_bytes": float(mem.activation_bytes[i]),
        "memory_overhead_bytes": float(mem.overhead_bytes[i]),
    }


def _rejection(
    dep: Deployment | None, i: int, traffic: TrafficShape, ch: FleetChoice | None, kind: str
) -> str:
    """One line saying why no fleet of this design works (memory shortfall or SLO)."""
    if dep is None:
        return "engine: no candidate"
    if ch is not None and ch.reason == "slo":
        what = "p99 latency" if kind == "encoder" else "p99 TTFT/TPOT"
        return f"slo: no replica count meets the {what} target at peak load"
    row = dep.take(np.array([i]))
    mem = memory_estimate(
        row, batch=1.0, input_len=traffic.input_mean, output_len=traffic.output_mean
    )
    need = float(mem.weights_bytes[0] + mem.activation_bytes[0] + mem.overhead_bytes[0])
    cap = float(mem.capacity_bytes[0])
    short = float(mem.shortfall_bytes[0])
    return (
        f"memory: weights and buffers need {need / GiB:.1f} GiB per device, "
        f"{cap / GiB:.1f} GiB available (short by {max(short, need - cap) / GiB:.1f} GiB)"
    )
