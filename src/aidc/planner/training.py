"""Steps 2-3 for a training workload: enumerate, evaluate, reduce to designs, verdicts."""

from __future__ import annotations

import math

from aidc.catalog.efficiency import select_kernel_efficiency
from aidc.catalog.schema import BYTES_PER_ELEMENT, Precision
from aidc.decide.metrics import METRICS
from aidc.model.training import (
    TrainingCalibration,
    TrainingSettings,
    estimate_training,
    optimizer_state_bytes_per_param,
    training_devices,
)
from aidc.model.transformer import param_counts, training_flops_per_token
from aidc.planner.common import (
    best_per_group,
    explain_winner,
    rank_designs,
    rejection_summary,
    security_score,
)
from aidc.planner.context import PlanContext, candidate_accelerators
from aidc.planner.infra_facts import infra_facts
from aidc.planner.infrastructure import training_infrastructure_metrics
from aidc.planner.result import Design, WorkloadDecision
from aidc.search.training_space import enumerate_training_space, global_batch_rule
from aidc.spec.scenario import Scenario, TrainingWorkload
from aidc.units import DAY, GiB

TRAINING_METRICS = [
    "time_to_train_s",
    "run_cost_usd",
    "energy_kwh",
    "capex_usd",
    "scaling_headroom",
    "deadline_slack",
    "security_score",
    "maintainability_score",
]


def plan_training(w: TrainingWorkload, scenario: Scenario, ctx: PlanContext) -> WorkloadDecision:
    arch = ctx.models[w.name]
    precision = Precision(w.precision)
    accs = candidate_accelerators(ctx.catalog, scenario.constraints, precision, "training")
    total_tokens = w.total_tokens()
    # a workload without a stated batch trains with one that grows with the cluster
    gbt, min_tokens_per_device = global_batch_rule(w.global_batch_tokens)
    gbs = max(1, round(gbt / w.seq_len))
    pc = param_counts(arch)
    requirements = {
        "params": pc.total,
        "active_params": pc.active,
        "tokens": total_tokens,
        "training_flops": training_flops_per_token(arch, w.seq_len) * total_tokens,
        "global_batch_seqs": gbs,
        "seq_len": w.seq_len,
        "deadline_s": w.deadline_days * DAY if w.deadline_days else None,
    }
    if not accs:
        return WorkloadDecision(
            w.name,
            "training",
            arch.id,
            requirements,
            0,
            0,
            [],
            {"no accelerator allowed": 1},
            TRAINING_METRICS,
        )

    space = enumerate_training_space(
        n_layers=arch.n_layers,
        n_heads=arch.n_heads,
        seq_len=w.seq_len,
        global_batch_seqs=gbs,
        accel_domain=[a.scaleup_domain_devices for a in accs],
        accel_devices_per_node=[a.devices_per_node for a in accs],
        max_devices=scenario.constraints.max_devices,
        recompute=w.recompute,
        n_experts=arch.n_experts,
        min_batch_tokens_per_device=min_tokens_per_device,
    )
    links = {lk.id: lk for lk in ctx.catalog.links}
    kernels = [select_kernel_efficiency(ctx.kernel_efficiency, a) for a in accs]
    devices = training_devices(accs, kernels, precision, links).take(space.accel_index)
    settings = TrainingSettings(seq_len=w.seq_len, optimizer=w.optimizer, precision=precision)
    est = estimate_training(
        arch, devices, space.plan, settings, TrainingCalibration.from_calibration(ctx.calibration)
    )
    time_to_train = total_tokens / est.tokens_per_s
    group = space.accel_index * 10_000_000 + space.plan.n_devices
    best = best_per_group(group, est.step_time_s, est.fits)

    # largest device count that fits per accelerator (scalability headroom)
    max_fit: dict[int, int] = {}
    for i in best:
        if est.fits[i]:
            ai = int(space.accel_index[i])
            max_fit[ai] = max(max_fit.get(ai, 0), int(space.plan.n_devices[i]))

    facts = infra_facts(ctx.catalog, scenario.prices)
    state_bytes = BYTES_PER_ELEMENT[precision] + optimizer_state_bytes_per_param(
        w.optimizer, BYTES_PER_ELEMENT[precision]
    )
    deadline_s = requirements["deadline_s"]
    c = scenario.constraints
    pytorch = ctx.catalog.software.find("pytorch")
    jax = ctx.catalog.software.find("jax")
    designs: list[Design] = []
    for i in best:
        ai = int(space.accel_index[i])
        acc = accs[ai]
        n = int(space.plan.n_devices[i])
        t = float(time_to_train[i])
        infra = training_infrastructure_metrics(
            acc=acc,
            n_devices=n,
            time_to_train_s=t,
            tokens_per_s=float(est.tokens_per_s[i]),
            params=pc.total,
            state_bytes_per_param=state_bytes,
            workload=w,
            scenario=scenario,
            ctx=ctx,
            facts=facts,
        )
        run_cost, where = infra.metrics["run_cost_usd"], infra.deployment
        capex = infra.metrics["capex_total_usd"]
        software = jax if acc.kind == "tpu" else pytorch
        sec, missing = security_score(acc, software, c.security)
        parallel_dims = sum(
            int(x > 1)
            for x in (space.plan.tp[i], space.plan.pp[i], space.plan.dp[i], space.plan.cp[i])
        )
        maint = (software.maturity if software else 0.5) * (1.0 - 0.1 * parallel_dims)
        metrics = {
            **infra.metrics,
            "time_to_train_s": t,
            "tokens_per_s": float(est.tokens_per_s[i]),
            "mfu": float(est.mfu[i]),
            "hfu": float(est.hfu[i]),
            "scaling_headroom": max_fit.get(ai, 0) / n,
            "deadline_slack": (1.0 - t / deadline_s) if deadline_s else 1.0,
            "security_score": sec,
            "maintainability_score": maint,
            "memory_per_device_bytes": float(est.memory_total_bytes[i]),
            "memory_weights_bytes": float(est.memory_weights_bytes[i]),
            "memory_gradients_bytes": float(est.memory_grads_bytes[i]),
            "memory_optimizer_bytes": float(est.memory_optimizer_bytes[i]),
            "memory_activations_bytes": float(est.memory_activations_bytes[i]),
            "memory_buffers_bytes": float(est.memory_buffers_bytes[i]),
            "device_memory_bytes": acc.memory_bytes,
            "step_time_s": float(est.step_time_s[i]),
        }
        reason = None
        if not est.fits[i]:
            short = est.memory_total_bytes[i] - acc.memory_bytes
            reason = (
                f"memory: needs {est.memory_total_bytes[i] / GiB:.0f} GiB per device, "
                f"{short / GiB:.0f} GiB more than the {acc.memory_bytes / GiB:.0f} GiB it has"
            )
        elif deadline_s and t > deadline_s:
            reason = f"deadline: {t / DAY:.1f} days, {t / DAY - deadline_s / DAY:.1f} days over the {deadline_s / DAY:.0f}-day deadline"
        elif infra.reason:
            reason = infra.reason
        elif c.capex_usd and where == "on-prem" and capex > c.capex_usd:
            reason = f"budget: capex ${capex / 1e6:.1f} M over the ${c.capex_usd / 1e6:.1f} M limit"
        elif missing:
            reason = "security: missing " + ", ".join(missing)
        elif not math.isfinite(run_cost):
            reason = "price: no price for this accelerator in the catalog (give one under prices:)"
        settings = space.plan.settings(i)
        del settings["sequence_parallel"]  # implied by tp > 1 in the planner's plans
        plan = {
            **settings,
            "framework": software.id if software else "pytorch",
            "precision": precision.value,
            "optimizer": w.optimizer,
            "deployment": where,
            "infrastructure": infra.details,
        }
        designs.append(Design(w.name, "training", acc.id, n, plan, metrics, reason is None, reason))

    ranked = rank_designs(designs, TRAINING_METRICS, scenario.preferences)
    feasible = [d for d in ranked if d.feasible]
    rejected = sorted(
        (d for d in ranked if not d.feasible), key=lambda d: d.metrics["time_to_train_s"]
    )
    shown = feasible[:20] + rejected[:10]
    units = {m: METRICS[m].unit for m in TRAINING_METRICS}
    return WorkloadDecision(
        workload=w.name,
        kind="training",
        model=arch.id,
        requirements=requirements,
        n_evaluated=len(space),
        n_feasible=len(feasible),
        designs=shown,
        rejection_summary=rejection_summary(ranked),
        metric_names=TRAINING_METRICS,
        why_winner=explain_winner(ranked, TRAINING_METRICS, units),
        candidates=ranked,
    )
