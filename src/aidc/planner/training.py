"""Steps 2-3 for a training workload: enumerate, evaluate, reduce to designs, verdicts."""

from __future__ import annotations

import math

import numpy as np

from aidc.catalog.schema import BYTES_PER_ELEMENT, Precision
from aidc.decide.metrics import METRICS
from aidc.model.hardware import hardware_arrays
from aidc.model.power_cost import (
    capex_usd,
    cloud_cost_usd,
    energy_kwh,
    facility_power_w,
    it_power_w,
    on_prem_cost_of_use_usd,
)
from aidc.model.training import estimate_training
from aidc.model.transformer import param_counts, training_flops_per_token
from aidc.planner.common import (
    best_per_group,
    explain_winner,
    rank_designs,
    rejection_summary,
    security_score,
)
from aidc.planner.context import PlanContext, candidate_accelerators
from aidc.planner.result import Design, WorkloadDecision
from aidc.search.training_space import enumerate_training_space
from aidc.spec.scenario import Scenario, TrainingWorkload
from aidc.units import DAY, GIGA, YEAR, GiB

DEFAULT_GLOBAL_BATCH_TOKENS = 4e6
"""Global batch when the workload names none: ~4 M tokens, as Llama 2/3 and GPT-3 used."""

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

RECOMPUTE_NAMES = {0: "none", 1: "selective", 2: "full"}


def plan_training(w: TrainingWorkload, scenario: Scenario, ctx: PlanContext) -> WorkloadDecision:
    arch = ctx.models[w.name]
    precision = Precision(w.precision)
    accs = candidate_accelerators(ctx.catalog, scenario.constraints, precision)
    total_tokens = w.total_tokens()
    gbt = w.global_batch_tokens or DEFAULT_GLOBAL_BATCH_TOKENS
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
    )
    links = {lk.id: lk for lk in ctx.catalog.links}
    hw = hardware_arrays(accs, precision, links).take(space.accel_index)
    cal = ctx.calibration
    est = estimate_training(
        arch,
        hw,
        space.plan,
        seq_len=w.seq_len,
        optimizer=w.optimizer,
        precision_bytes=BYTES_PER_ELEMENT[precision],
        efficiency=cal.value("training.matmul_efficiency"),
        framework_overhead_bytes=cal.value("training.framework_overhead_gb") * GIGA,
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

    fac = ctx.facility
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
        # accelerators in a training job stay busy: draw is taken at full utilisation
        it_w = it_power_w(np.array(n), np.array(acc.tdp_w or np.nan), 1.0, fac.host_power_fraction)
        fac_w = float(facility_power_w(it_w, fac.pue))
        e_kwh = float(energy_kwh(np.array(fac_w), np.array(t)))
        price = ctx.price_usd(acc, scenario.prices)
        capex = float(capex_usd(np.array(n), np.array(price)))
        cloud_hr = ctx.cloud_usd_per_hour(acc, scenario.prices)
        energy_usd = e_kwh * fac.electricity_usd_per_kwh
        on_prem = float(
            on_prem_cost_of_use_usd(
                np.array(capex), np.array(t), np.array(energy_usd), fac.amortisation_years
            )
        )
        cloud = float(cloud_cost_usd(np.array(n), np.array(t), np.array(cloud_hr)))
        if c.deployment == "on-prem" or "cloud" not in acc.availability:
            run_cost, where = on_prem, "on-prem"
        elif c.deployment == "cloud" or "on-prem" not in acc.availability:
            run_cost, where = cloud, "cloud"
        else:
            options = [
                (v, k) for v, k in ((on_prem, "on-prem"), (cloud, "cloud")) if math.isfinite(v)
            ]
            run_cost, where = min(options) if options else (math.nan, "on-prem")
        software = jax if acc.kind == "tpu" else pytorch
        sec, missing = security_score(acc, software, c.security)
        parallel_dims = sum(
            int(x > 1) for x in (space.plan.tp[i], space.plan.pp[i], space.plan.dp[i])
        )
        maint = (software.maturity if software else 0.5) * (1.0 - 0.1 * parallel_dims)
        runs_3y = min(w.runs_per_year * 3, 3 * YEAR / t)
        tco_3y = capex + energy_usd * runs_3y if where == "on-prem" else run_cost * runs_3y
        metrics = {
            "time_to_train_s": t,
            "tokens_per_s": float(est.tokens_per_s[i]),
            "mfu": float(est.mfu[i]),
            "run_cost_usd": run_cost,
            "energy_kwh": e_kwh,
            "capex_usd": capex if where == "on-prem" else 0.0,
            "facility_power_w": fac_w,
            "tco_3y_usd": tco_3y,
            "scaling_headroom": max_fit.get(ai, 0) / n,
            "deadline_slack": (1.0 - t / deadline_s) if deadline_s else 1.0,
            "security_score": sec,
            "maintainability_score": maint,
            "memory_per_device_bytes": float(est.memory_total_bytes[i]),
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
        elif c.power_kw and fac_w > c.power_kw * 1e3:
            reason = f"power: {fac_w / 1e3:.0f} kW facility power, {fac_w / 1e3 - c.power_kw:.0f} kW over the {c.power_kw:.0f} kW envelope"
        elif c.capex_usd and where == "on-prem" and capex > c.capex_usd:
            reason = f"budget: capex ${capex / 1e6:.1f} M over the ${c.capex_usd / 1e6:.1f} M limit"
        elif missing:
            reason = "security: missing " + ", ".join(missing)
        elif not math.isfinite(run_cost):
            reason = "price: no price for this accelerator in the catalog (give one under prices:)"
        plan = {
            "tp": int(space.plan.tp[i]),
            "pp": int(space.plan.pp[i]),
            "dp": int(space.plan.dp[i]),
            "micro_batch": int(space.plan.micro_batch[i]),
            "grad_accum": int(space.plan.grad_accum[i]),
            "zero_stage": int(space.plan.zero_stage[i]),
            "recompute": RECOMPUTE_NAMES[int(space.plan.recompute[i])],
            "framework": software.id if software else "pytorch",
            "precision": precision.value,
            "optimizer": w.optimizer,
            "deployment": where,
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
