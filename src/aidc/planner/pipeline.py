"""The five steps of the seed's selection process, end to end (pure).

1. requirements analysis -> 2. scheme design (candidates) -> 3. technical evaluation
-> 4. decision -> 5. implementation and monitoring (deployment plan and what to watch).
"""

from __future__ import annotations

from collections.abc import Callable

from aidc.planner.context import PlanContext, check_models_resolved
from aidc.planner.datacenter import assemble_datacenter
from aidc.planner.inference import plan_inference
from aidc.planner.result import PlanResult, StepTrace, WorkloadDecision
from aidc.planner.training import plan_training
from aidc.spec.scenario import Scenario
from aidc.units import fmt_count, fmt_flops

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(what, done, total)`` before each workload is planned and at the end."""


def plan(
    scenario: Scenario, ctx: PlanContext, progress: ProgressCallback | None = None
) -> PlanResult:
    check_models_resolved(scenario, ctx.models)
    decisions: list[WorkloadDecision] = []
    total = len(scenario.workloads.training) + len(scenario.workloads.inference)
    for w in scenario.workloads.training:
        if progress:
            progress(w.name, len(decisions), total)
        decisions.append(plan_training(w, scenario, ctx))
    for s in scenario.workloads.inference:
        if progress:
            progress(s.name, len(decisions), total)
        decisions.append(plan_inference(s, scenario, ctx))
    if progress:
        progress("data center", total, total)
    datacenter = assemble_datacenter(scenario, decisions, ctx)

    req_lines = []
    for d in decisions:
        r = d.requirements
        if d.kind == "training":
            req_lines.append(
                f"{d.workload}: {fmt_count(r['params'])} params, {fmt_count(r['tokens'])} tokens, {fmt_flops(r['training_flops'])}"
            )
        else:
            req_lines.append(
                f"{d.workload}: {fmt_count(r['params'])} params, peak {r['peak_rps']:g} req/s"
            )
    n_eval = sum(d.n_evaluated for d in decisions)
    n_designs = sum(len(d.designs) for d in decisions)
    steps = [
        StepTrace(1, "requirements analysis", "; ".join(req_lines)),
        StepTrace(
            2,
            "scheme design",
            f"{n_eval} candidate configurations enumerated across {len(decisions)} workloads",
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
        assumptions=[
            f"{k} = {v.value:g} ({v.provenance}: {v.source})"
            for k, v in ctx.calibration.values.items()
        ],
    )
