"""Steps 2-3 for an inference service: enumerate hardware x engine x precision x TP x
batch, evaluate, size replicas for the peak load, and give each design a verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from aidc.catalog.schema import Accelerator, Precision, SoftwareStack
from aidc.decide.metrics import METRICS
from aidc.model.hardware import hardware_arrays
from aidc.model.inference import InferenceEfficiency, estimate_encoder, estimate_generation
from aidc.model.power_cost import capex_usd, facility_power_w, it_power_w
from aidc.model.transformer import param_counts
from aidc.planner.common import (
    best_per_group,
    explain_winner,
    rank_designs,
    rejection_summary,
    security_score,
)
from aidc.planner.context import PlanContext, candidate_accelerators
from aidc.planner.result import Design, WorkloadDecision
from aidc.spec.scenario import InferenceService, Scenario
from aidc.units import HOUR, MEGA, MILLISECOND, YEAR

TARGET_UTILISATION = 0.7
"""Replicas are sized so that peak load uses at most this share of their capacity."""


@dataclass(frozen=True)
class ServeFormat:
    """How a serving precision maps to compute format and bytes."""

    compute: Precision
    weight_bytes: float
    kv_bytes: float


SERVE_FORMATS: dict[str, ServeFormat] = {
    "fp32": ServeFormat(Precision.FP32, 4.0, 4.0),
    "tf32": ServeFormat(Precision.TF32, 4.0, 4.0),
    "bf16": ServeFormat(Precision.BF16, 2.0, 2.0),
    "fp16": ServeFormat(Precision.FP16, 2.0, 2.0),
    "fp8": ServeFormat(Precision.FP8, 1.0, 1.0),
    "int8": ServeFormat(Precision.INT8, 1.0, 2.0),
    "int8-weight-only": ServeFormat(Precision.BF16, 1.0, 2.0),
    "int4-weight-only": ServeFormat(Precision.BF16, 0.5, 2.0),
    "fp4": ServeFormat(Precision.FP4, 0.5, 1.0),
}

DEFAULT_PRECISIONS = ("bf16", "fp8", "int8", "int4-weight-only")
ENCODER_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)
DECODER_BATCHES = (1, 4, 8, 16, 32, 64, 128, 256)
TP_CHOICES = (1, 2, 4, 8)

VENDOR_TAG = {"NVIDIA": "nvidia", "AMD": "amd", "Google": "tpu", "Intel": "intel"}

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


def engines_for(
    ctx: PlanContext, svc: InferenceService, acc: Accelerator, kind: str
) -> list[SoftwareStack]:
    tag = VENDOR_TAG.get(acc.vendor, acc.vendor.lower())
    wanted = None if svc.engines == "auto" else {e.lower() for e in svc.engines}
    out = []
    for s in ctx.catalog.software:
        if s.kind == "framework" or tag not in s.devices or kind not in s.model_kinds:
            continue
        if wanted is not None:
            if s.id.lower() not in wanted and not ({a.lower() for a in s.aliases} & wanted):
                continue
        elif s.status == "deprecated":
            continue
        out.append(s)
    return out


def _replicas(peak_rps: float, per_replica_rps: float, availability: float) -> int:
    """Replicas to carry the peak at the target utilisation, plus spares for availability.

    One spare covers a replica failure for 99.9%; 99.99% and above keep two.
    """
    if not per_replica_rps > 0:
        return 0
    base = max(1, math.ceil(peak_rps / (per_replica_rps * TARGET_UTILISATION)))
    spares = 0 if availability < 0.999 else (1 if availability < 0.9999 else 2)
    return base + spares


def plan_inference(svc: InferenceService, scenario: Scenario, ctx: PlanContext) -> WorkloadDecision:
    arch = ctx.models[svc.name]
    kind = "encoder" if svc.task != "generation" else "decoder"
    precisions = list(DEFAULT_PRECISIONS) if svc.precisions == "auto" else list(svc.precisions)
    ensemble_k = max([e.k for e in scenario.ensembles if e.service == svc.name], default=1)
    accs = candidate_accelerators(ctx.catalog, scenario.constraints)
    cal = ctx.calibration
    eff = InferenceEfficiency(
        compute=cal.value("inference.compute_efficiency"),
        memory_bw=cal.value("inference.memory_bw_efficiency"),
        step_overhead_s=cal.value("inference.step_overhead_ms") * MILLISECOND,
    )
    links = {lk.id: lk for lk in ctx.catalog.links}
    t = svc.traffic
    in_tok = t.input_tokens.mean
    out_tok = t.output_tokens.mean if t.output_tokens else 0.0
    pc = param_counts(arch)
    requirements = {
        "params": pc.total,
        "peak_rps": t.peak_rps * ensemble_k,
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
    slo = svc.slo
    fac = ctx.facility
    c = scenario.constraints
    designs: list[Design] = []
    n_eval = 0
    for acc in accs:
        for prec in precisions:
            fmt = SERVE_FORMATS[prec]
            if acc.peak_for(fmt.compute) is None:
                continue
            for eng in engines_for(ctx, svc, acc, kind):
                if (
                    fmt.compute not in eng.precisions
                    and Precision(prec.split("-")[0]) not in eng.precisions
                ):
                    continue
                if kind == "encoder":
                    batches = np.array(ENCODER_BATCHES, dtype=float)
                    tps = np.ones_like(batches)
                    hw = hardware_arrays([acc] * len(batches), fmt.compute, links)
                    est = estimate_encoder(
                        arch,
                        hw,
                        weight_bytes_per_param=np.full_like(batches, fmt.weight_bytes),
                        seq_len=in_tok,
                        batch=batches,
                        eff=eff,
                    )
                    # first cut: a request waits for the batch in service, then its own
                    p99 = 2.0 * est.latency_s
                    ok = est.fits & (p99 <= slo.p99_latency_ms * MILLISECOND)
                    per_rep = est.requests_per_s
                    objective = -per_rep
                    i = int(best_per_group(np.zeros(len(batches), int), objective, ok)[0])
                    n_eval += len(batches)
                    latency = {"p99_latency_s": float(p99[i])}
                    fits, meets = bool(est.fits[i]), bool(ok[i])
                    plan_extra = {"batch": int(batches[i])}
                    tp_i = 1
                    per_rep_rps = float(per_rep[i])
                else:
                    tp_grid, b_grid = np.meshgrid(
                        np.array(TP_CHOICES, float), np.array(DECODER_BATCHES, float), indexing="ij"
                    )
                    tps, batches = tp_grid.ravel(), b_grid.ravel()
                    keep = (tps <= max(acc.scaleup_domain_devices, 1)) & (arch.kv_heads % 1 == 0)
                    tps, batches = tps[keep], batches[keep]
                    hw = hardware_arrays([acc] * len(tps), fmt.compute, links)
                    est = estimate_generation(
                        arch,
                        hw,
                        tp=tps,
                        weight_bytes_per_param=np.full_like(tps, fmt.weight_bytes),
                        kv_bytes_per_element=np.full_like(tps, fmt.kv_bytes),
                        input_tokens=in_tok,
                        output_tokens=out_tok,
                        batch=batches,
                        eff=eff,
                        memory_reserve_fraction=cal.value("inference.memory_reserve_fraction"),
                    )
                    # first cut: TTFT waits for one decode step before its prefill runs
                    ttft = est.prefill_s + est.decode_step_s
                    tpot = est.decode_step_s + est.prefill_s / max(out_tok, 1.0)
                    ok = est.fits.copy()
                    if slo.ttft_p99_ms:
                        ok &= ttft <= slo.ttft_p99_ms * MILLISECOND
                    if slo.tpot_p99_ms:
                        ok &= tpot <= slo.tpot_p99_ms * MILLISECOND
                    # fewest devices per unit of throughput
                    objective = tps / est.requests_per_s
                    i = int(best_per_group(np.zeros(len(tps), int), objective, ok)[0])
                    n_eval += len(tps)
                    latency = {"ttft_p99_s": float(ttft[i]), "tpot_p99_s": float(tpot[i])}
                    fits, meets = bool(est.fits[i]), bool(ok[i])
                    plan_extra = {
                        "batch": int(est.batch[i]),
                        "max_concurrency": int(est.max_concurrency[i]),
                    }
                    tp_i = int(tps[i])
                    per_rep_rps = float(est.requests_per_s[i])
                replicas = _replicas(requirements["peak_rps"], per_rep_rps, svc.availability)
                n_dev = replicas * tp_i
                util = requirements["mean_rps"] / max(per_rep_rps * max(replicas, 1), 1e-12)
                it_w = float(
                    it_power_w(
                        np.array(n_dev),
                        np.array(acc.tdp_w or np.nan),
                        util,
                        fac.host_power_fraction,
                    )
                )
                fac_w = float(facility_power_w(np.array(it_w), fac.pue))
                price = ctx.price_usd(acc, scenario.prices)
                capex = float(capex_usd(np.array(n_dev), np.array(price)))
                cloud_hr = ctx.cloud_usd_per_hour(acc, scenario.prices)
                energy_usd_per_s = fac_w / 3.6e6 * fac.electricity_usd_per_kwh
                on_prem_usd_per_s = capex / (fac.amortisation_years * YEAR) + energy_usd_per_s
                cloud_usd_per_s = n_dev * cloud_hr / HOUR
                if c.deployment == "on-prem" or "cloud" not in acc.availability:
                    usd_per_s, where = on_prem_usd_per_s, "on-prem"
                elif c.deployment == "cloud" or "on-prem" not in acc.availability:
                    usd_per_s, where = cloud_usd_per_s, "cloud"
                else:
                    opts = [
                        (v, k)
                        for v, k in ((on_prem_usd_per_s, "on-prem"), (cloud_usd_per_s, "cloud"))
                        if math.isfinite(v)
                    ]
                    usd_per_s, where = min(opts) if opts else (math.nan, "on-prem")
                mean_rps = requirements["mean_rps"]
                sec, missing = security_score(acc, eng, c.security)
                metrics = {
                    **latency,
                    "usd_per_million_tokens": usd_per_s
                    / max(mean_rps * (in_tok + out_tok), 1e-12)
                    * MEGA,
                    "usd_per_1k_requests": usd_per_s / max(mean_rps, 1e-12) * 1e3,
                    "tco_3y_usd": usd_per_s * 3 * YEAR
                    if where == "cloud"
                    else capex + energy_usd_per_s * 3 * YEAR,
                    "capex_usd": capex if where == "on-prem" else 0.0,
                    "facility_power_w": fac_w,
                    "capacity_headroom": per_rep_rps
                    * replicas
                    / max(requirements["peak_rps"], 1e-12),
                    "security_score": sec,
                    "maintainability_score": eng.maturity * (1.0 - 0.05 * (tp_i > 1)),
                    "replicas": float(replicas),
                    "per_replica_rps": per_rep_rps,
                }
                reason = None
                if not fits:
                    reason = "memory: the model does not fit this device at this precision"
                elif not meets:
                    reason = "slo: no batch size meets the latency target"
                elif c.power_kw and fac_w > c.power_kw * 1e3:
                    reason = f"power: {fac_w / 1e3:.0f} kW over the {c.power_kw:.0f} kW envelope"
                elif missing:
                    reason = "security: missing " + ", ".join(missing)
                elif not math.isfinite(usd_per_s):
                    reason = "price: no price for this accelerator in the catalog (give one under prices:)"
                plan = {
                    "engine": eng.id,
                    "precision": prec,
                    "tp": tp_i,
                    "replicas": replicas,
                    "deployment": where,
                    **plan_extra,
                }
                designs.append(
                    Design(
                        svc.name, "inference", acc.id, n_dev, plan, metrics, reason is None, reason
                    )
                )

    names = INFERENCE_METRICS_GEN if kind == "decoder" else INFERENCE_METRICS_ENC
    ranked = rank_designs(designs, names, scenario.preferences)
    feasible = [d for d in ranked if d.feasible]
    rejected = [d for d in ranked if not d.feasible]
    units = {m: METRICS[m].unit for m in names}
    return WorkloadDecision(
        workload=svc.name,
        kind="inference",
        model=arch.id,
        requirements=requirements,
        n_evaluated=n_eval,
        n_feasible=len(feasible),
        designs=feasible[:20] + rejected[:10],
        rejection_summary=rejection_summary(ranked),
        metric_names=names,
        why_winner=explain_winner(ranked, names, units),
        candidates=ranked,
    )
