"""The five steps of the seed's selection process, end to end (pure).

1. requirements analysis -> 2. scheme design (candidates) -> 3. technical evaluation
-> 4. decision -> 5. implementation and monitoring (deployment plan and what to watch).
"""

from __future__ import annotations

import numpy as np

from aidc.catalog.schema import Precision
from aidc.planner.context import PlanContext, check_models_resolved
from aidc.planner.datacenter import assemble_datacenter
from aidc.planner.datacenter_decision import decide_datacenter
from aidc.planner.decision import decide_workload
from aidc.planner.inference import plan_inference
from aidc.planner.result import PlanResult, StepTrace, WorkloadDecision
from aidc.planner.training import plan_training
from aidc.search.prune import accelerator_screen, deprecated_software, residency_screen
from aidc.spec.scenario import Scenario
from aidc.units import fmt_count, fmt_flops

SENSITIVITY_SEED = 0
"""Default seed of the sensitivity Monte Carlo (the plan is reproducible run to run)."""


def plan(scenario: Scenario, ctx: PlanContext, *, seed: int = SENSITIVITY_SEED) -> PlanResult:
    check_models_resolved(scenario, ctx.models)
    rng = np.random.default_rng(seed)
    # prune before evaluating: residency may rule out cloud; record what each rule removed
    constraints, pruned_common = residency_screen(scenario.constraints)
    planned = scenario.model_copy(update={"constraints": constraints})
    decisions: list[WorkloadDecision] = []
    for w in scenario.workloads.training:
        _, pruned = accelerator_screen(ctx.catalog, constraints, Precision(w.precision))
        pruned += deprecated_software(ctx.catalog, ("framework",), ctx.models[w.name].kind)
        wd = plan_training(w, planned, ctx)
        decisions.append(
            decide_workload(wd, planned, ctx, rng, seed=seed, pruned=pruned_common + pruned)
        )
    for s in scenario.workloads.inference:
        _, pruned = accelerator_screen(ctx.catalog, constraints)
        if s.engines == "auto":
            pruned += deprecated_software(
                ctx.catalog,
                ("inference_engine", "serving_server"),
                "encoder" if s.task != "generation" else "decoder",
            )
        wd = plan_inference(s, planned, ctx)
        decisions.append(
            decide_workload(wd, planned, ctx, rng, seed=seed, pruned=pruned_common + pruned)
        )
    dc_decision, decisions = decide_datacenter(decisions, planned, ctx, rng, seed=seed)
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
            "deployment settings and re-planning triggers in the datacenter section",
        ),
    ]
    return PlanResult(
        scenario=scenario.name,
        description=scenario.description,
        steps=steps,
        workloads=decisions,
        datacenter=datacenter,
        decision=dc_decision,
        assumptions=[
            f"{k} = {v.value:g} ({v.provenance}: {v.source})"
            for k, v in ctx.calibration.values.items()
        ],
    )
