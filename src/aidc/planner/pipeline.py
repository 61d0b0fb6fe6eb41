"""The five steps of the seed's selection process, end to end (pure).

1. requirements analysis -> 2. scheme design (candidates) -> 3. technical evaluation
-> 4. decision -> 5. implementation and monitoring (deployment plan and what to watch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from aidc.catalog.schema import Precision
from aidc.planner.context import PlanContext, check_models_resolved
from aidc.planner.datacenter import assemble_datacenter
from aidc.planner.datacenter_decision import decide_datacenter
from aidc.planner.decision import decide_workload
from aidc.planner.inference import plan_inference
from aidc.planner.latency_curves import latency_curve
from aidc.planner.result import PlanResult, StepTrace, WorkloadDecision
from aidc.planner.training import plan_training
from aidc.search.prune import (
    accelerator_screen,
    deprecated_software,
    residency_screen,
    task_screen,
)
from aidc.spec.scenario import InferenceService, Scenario
from aidc.units import MILLISECOND, fmt_count, fmt_flops, fmt_seconds


def workload_summary(d: WorkloadDecision, scenario: Scenario) -> str:
    """Step 1 in one line: size of the model and the work, and the targets."""
    r = d.requirements
    if d.kind == "training":
        parts = [
            f"{fmt_count(r['params'])} params",
            f"{fmt_count(r['tokens'])} tokens",
            f"{fmt_flops(r['training_flops'])} to train",
        ]
        if r.get("deadline_s"):
            parts.append(f"deadline {fmt_seconds(r['deadline_s'])}")
        return ", ".join(parts)
    svc = next(s for s in scenario.workloads.inference if s.name == d.workload)
    parts = [
        f"{fmt_count(r['params'])} params",
        f"peak {r['peak_rps']:g} req/s (mean {r['mean_rps']:g})",
        f"{r['input_tokens']:g} input tokens"
        + (f" + {r['output_tokens']:g} output" if r.get("output_tokens") else ""),
    ]
    slo = svc.slo
    for label_, ms in (
        ("p99", slo.p99_latency_ms),
        ("TTFT p99", slo.ttft_p99_ms),
        ("TPOT p99", slo.tpot_p99_ms),
    ):
        if ms:
            parts.append(f"{label_} <= {fmt_seconds(ms * MILLISECOND)}")
    parts.append(f"availability {svc.availability:.2%}")
    if r.get("ensemble_k", 1) > 1:
        parts.append(f"ensemble of {r['ensemble_k']}")
    return ", ".join(parts)


def scenario_summary(scenario: Scenario) -> list[str]:
    """The data-center-wide requirements: limits, security, preferences, data."""
    c = scenario.constraints
    limits = [f"deployment {c.deployment}"]
    for name, value, unit in (
        ("power", c.power_kw, "kW"),
        ("capex", c.capex_usd, "USD"),
        ("3-year TCO", c.tco_3y_usd, "USD"),
        ("cloud spend", c.cloud_usd_per_month, "USD/month"),
        ("racks", c.racks, ""),
        ("rack power", c.rack_power_kw, "kW"),
    ):
        if value:
            limits.append(f"{name} <= {value:g} {unit}".rstrip())
    if c.allowed_vendors:
        limits.append("vendors " + ", ".join(c.allowed_vendors))
    if c.data_residency:
        limits.append(f"data stays in {c.data_residency}")
    needs = [k.replace("_", " ") for k, v in c.security.model_dump().items() if v]
    prefs = scenario.preferences
    weights = ", ".join(f"{k.replace('_', '-')} {v:.2f}" for k, v in prefs.normalised().items())
    lines = [
        "limits: " + "; ".join(limits),
        "security: " + (", ".join(needs) if needs else "no specific requirement"),
        f"preferences: {prefs.method} with weights {weights}",
    ]
    if scenario.data.datasets:
        tb = sum(ds.size_tb for ds in scenario.data.datasets)
        lines.append(f"data: {len(scenario.data.datasets)} datasets, {tb:g} TB stored")
    return lines


def _curves(
    d: WorkloadDecision, svc: InferenceService, scenario: Scenario, ctx: PlanContext
) -> list[dict[str, Any]]:
    """The chosen design's latency-load curve (and the workload's first choice's, when the
    data-center decision picked another)."""
    picks = [d.chosen] + ([d.designs[0]] if d.designs and d.designs[0] is not d.chosen else [])
    curves = [latency_curve(p, svc, scenario, ctx) for p in picks if p is not None and p.feasible]
    return [c for c in curves if c is not None]


RECORD_BOOKKEEPING = {"aliases", "source", "provenance", "field_provenance", "notes"}
"""Catalog record fields a plan's validation entries leave out (``command`` says where
each figure comes from)."""


def validation_records(scenario: Scenario, ctx: PlanContext) -> list[dict[str, Any]]:
    """The measured error of each model this plan used (training, serving, collectives)."""
    used = {"collectives"}
    if scenario.workloads.training:
        used |= {"training", "gpu-hours"}
    if scenario.workloads.inference:
        used.add("inference")
    return [
        v.model_dump(exclude=RECORD_BOOKKEEPING) for v in ctx.catalog.validation if v.model in used
    ]


SENSITIVITY_SEED = 0
"""Default seed of the sensitivity Monte Carlo (the plan is reproducible run to run)."""


ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(what, done, total)`` before each workload is planned and before the
data-center decision."""


def plan(
    scenario: Scenario,
    ctx: PlanContext,
    progress: ProgressCallback | None = None,
    *,
    seed: int = SENSITIVITY_SEED,
) -> PlanResult:
    """The five steps on one scenario. ``seed`` seeds the sensitivity Monte Carlo."""
    check_models_resolved(scenario, ctx.models)
    rng = np.random.default_rng(seed)
    total = len(scenario.workloads.training) + len(scenario.workloads.inference)
    # prune before evaluating: residency may rule out cloud; record what each rule removed
    constraints, pruned_common = residency_screen(scenario.constraints)
    planned = scenario.model_copy(update={"constraints": constraints})
    decisions: list[WorkloadDecision] = []
    for w in scenario.workloads.training:
        if progress:
            progress(w.name, len(decisions), total)
        _, pruned = accelerator_screen(ctx.catalog, constraints, Precision(w.precision), "training")
        pruned += deprecated_software(ctx.catalog, ("framework",), ctx.models[w.name].kind)
        wd = plan_training(w, planned, ctx)
        decisions.append(
            decide_workload(wd, planned, ctx, rng, seed=seed, pruned=pruned_common + pruned)
        )
    for s in scenario.workloads.inference:
        if progress:
            progress(s.name, len(decisions), total)
        _, pruned = accelerator_screen(ctx.catalog, constraints)
        if s.engines == "auto":
            pruned += deprecated_software(
                ctx.catalog,
                ("inference_engine", "serving_server"),
                "encoder" if s.task != "generation" else "decoder",
            )
        pruned += task_screen(ctx.catalog, s.task, s.engines)
        wd = plan_inference(s, planned, ctx)
        decisions.append(
            decide_workload(wd, planned, ctx, rng, seed=seed, pruned=pruned_common + pruned)
        )
    if progress:
        progress("data center", total, total)
    dc_decision, decisions = decide_datacenter(decisions, planned, ctx, rng, seed=seed)
    services = {s.name: s for s in scenario.workloads.inference}
    decisions = [
        replace(d, latency_curves=_curves(d, services[d.workload], planned, ctx))
        if d.kind == "inference" and d.chosen is not None
        else d
        for d in decisions
    ]
    datacenter = assemble_datacenter(scenario, decisions, ctx)

    decisions = [replace(d, requirements_summary=workload_summary(d, scenario)) for d in decisions]
    req_lines = [f"{d.workload}: {d.requirements_summary}" for d in decisions]
    n_eval = sum(d.n_evaluated for d in decisions)
    n_designs = sum(len(d.designs) for d in decisions)
    steps = [
        StepTrace(1, "requirements analysis", "; ".join(req_lines)),
        StepTrace(
            2,
            "scheme design",
            f"{n_eval} candidate configurations enumerated across {len(decisions)} workloads; "
            f"{dc_decision.n_evaluated} data-center compositions of their feasible designs",
        ),
        StepTrace(
            3,
            "technical evaluation",
            f"{sum(d.n_feasible for d in decisions)} feasible designs; {n_designs} kept for the decision",
        ),
        StepTrace(
            4,
            "decision",
            "; ".join(
                f"{d.workload}: {d.chosen.accelerator} x {d.chosen.n_devices}"
                if d.chosen
                else f"{d.workload}: no feasible design"
                for d in decisions
            )
            + (
                f" ({dc_decision.chosen.pool_mode} pools, {len(dc_decision.chosen.pools)} pool(s))"
                if dc_decision.chosen
                else "; no data-center composition meets the limits"
            ),
        ),
        StepTrace(
            5,
            "implementation and monitoring",
            "launch and serving settings, replicas and re-planning triggers for the chosen designs (the reports' deployment section)",
        ),
    ]
    return PlanResult(
        scenario=scenario.name,
        description=scenario.description,
        steps=steps,
        workloads=decisions,
        datacenter=datacenter,
        decision=dc_decision,
        requirements_summary=scenario_summary(scenario) + req_lines,
        validation=validation_records(scenario, ctx),
        assumptions=[
            f"{k} = {v.value:g} ({v.provenance}: {v.source})"
            for k, v in ctx.calibration.values.items()
        ],
    )
