"""Step 4 for the whole data center: combine the workloads' designs into compositions
(dedicated or shared pools, on-prem and cloud mixed as the designs say), check the
data-center limits, rank, explain and test stability; then mark each workload's design
that the chosen composition uses.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from aidc.decide.constraints import fail_counts, order_key
from aidc.decide.datacenter import (
    Evaluated,
    Limits,
    WorkloadOptions,
    check,
    composition_key,
    evaluate,
    pools_of,
)
from aidc.decide.explain import compare_metric, criteria, lost_on
from aidc.decide.metrics import PRINCIPLES, RANKING_METRICS
from aidc.decide.rank import pareto_mask, principle_matrix, rank_candidates
from aidc.decide.sensitivity import Sensitivity, flip_analysis, summarise, weight_stability
from aidc.planner.common import has_isolation
from aidc.planner.context import PlanContext
from aidc.planner.decision import label, platform, ranking_info
from aidc.planner.result import (
    Composition,
    CriterionVerdict,
    DataCenterDecision,
    Pool,
    WorkloadDecision,
)
from aidc.search.datacenter_space import enumerate_compositions, trim_options
from aidc.spec.scenario import Scenario
from aidc.units import KILO

MAX_COMPOSITIONS = 50_000
"""Per pool mode; the lowest-ranked options of the workload with most options go first."""
SHOWN_ALTERNATIVES = 5
SHOWN_REJECTED = 5
DC_WEIGHT_SAMPLES = 500
DC_NORMALISATION = (
    "min-max over the Pareto-optimal feasible compositions (dominated ones are not ranked), "
    "1 = best, NaN = 0; workload principle scores keep their value"
)


def spare_devices(wd: WorkloadDecision, plan: dict, scenario: Scenario) -> int:
    """Devices a serving design holds for availability (0 for training).

    Read from the design (``plan['spare_replicas']``) when the planner gives it;
    otherwise from the availability target with the serving planner's rule (one spare
    replica at 99.9%, two from 99.99%).
    """
    if wd.kind != "inference":
        return 0
    tp = int(plan.get("tp", 1))
    if "spare_replicas" in plan:
        return int(plan["spare_replicas"]) * tp
    svc = next((s for s in scenario.workloads.inference if s.name == wd.workload), None)
    avail = svc.availability if svc else 0.0
    spares = 0 if avail < 0.999 else (1 if avail < 0.9999 else 2)
    return min(spares, max(int(plan.get("replicas", 1)) - 1, 0)) * tp


def workload_options(
    wd: WorkloadDecision, scenario: Scenario, ctx: PlanContext
) -> tuple[WorkloadOptions, list[int]]:
    """The feasible shortlisted designs of a workload as option arrays (best first), and
    their indices in ``wd.designs``."""
    rows = [i for i, d in enumerate(wd.designs) if d.feasible]
    ds = [wd.designs[i] for i in rows]
    accs = [ctx.catalog.accelerators.find(d.accelerator) for d in ds]
    return (
        WorkloadOptions(
            workload=wd.workload,
            design_ids=[d.id for d in ds],
            labels=[label(d) for d in ds],
            accelerator=[d.accelerator for d in ds],
            deployment=[platform(d)[1] for d in ds],
            software=[str(d.plan.get("framework") or d.plan.get("engine") or "") for d in ds],
            n_devices=np.array([d.n_devices for d in ds], dtype=float),
            spare_devices=np.array([spare_devices(wd, d.plan, scenario) for d in ds], dtype=float),
            facility_power_w=np.array([d.metrics.get("facility_power_w", math.nan) for d in ds]),
            capex_usd=np.array([d.metrics.get("capex_usd", 0.0) for d in ds]),
            tco_3y_usd=np.array([d.metrics.get("tco_3y_usd", math.nan) for d in ds]),
            principle_scores=np.array(
                [[d.principle_scores.get(p, math.nan) for p in PRINCIPLES] for d in ds]
            ).reshape(len(ds), len(PRINCIPLES)),
            security_score=np.array([d.metrics.get("security_score", 1.0) for d in ds]),
            isolation=np.array([bool(a and has_isolation(a)) for a in accs], dtype=bool),
        ),
        rows,
    )


def limits_of(scenario: Scenario, ctx: PlanContext) -> Limits:
    c = scenario.constraints
    return Limits(
        power_w=c.power_kw * KILO if c.power_kw else None,
        rack_power_w=c.rack_power_kw * KILO if c.rack_power_kw else None,
        racks=c.racks,
        capex_usd=c.capex_usd,
        tco_3y_usd=c.tco_3y_usd,
        cloud_usd_per_month=c.cloud_usd_per_month,
        isolation_required=c.security.multi_tenant_isolation,
        pue=ctx.facility.pue,
    )


def _stack(evs: list[Evaluated]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[str]]:
    """Concatenate the modes: columns, option indices, row-in-mode, mode per row."""
    names = evs[0].columns.keys()
    cols = {m: np.concatenate([e.columns[m] for e in evs]) for m in names}
    idx = np.concatenate([e.idx for e in evs])
    row = np.concatenate([np.arange(len(e.idx)) for e in evs])
    modes = [e.mode for e in evs for _ in range(len(e.idx))]
    return cols, idx, row, modes


def _composition(
    i: int,
    evs: dict[str, Evaluated],
    row: np.ndarray,
    modes: list[str],
    options: list[WorkloadOptions],
    cols: dict[str, np.ndarray],
    **extra,
) -> Composition:
    ev = evs[modes[i]]
    r = int(row[i])
    idx_row = ev.idx[r]
    return Composition(
        id=composition_key(modes[i], idx_row, options),
        pool_mode=modes[i],  # type: ignore[arg-type]
        designs={o.workload: o.design_ids[int(k)] for o, k in zip(options, idx_row, strict=True)},
        labels={o.workload: o.labels[int(k)] for o, k in zip(options, idx_row, strict=True)},
        pools=[Pool(**p) for p in pools_of(ev, r, options)],
        metrics={m: float(v[i]) for m, v in cols.items()},
        **extra,
    )


def describe(c: Composition) -> str:
    """One line: pool mode and each workload's design."""
    return f"{c.pool_mode} pools: " + "; ".join(f"{w} on {lab}" for w, lab in c.labels.items())


def unchecked(scenario: Scenario) -> list[str]:
    """Limits the scenario sets that aidc could not check, said plainly."""
    c = scenario.constraints
    out = []
    if c.racks and not c.rack_power_kw:
        out.append(
            f"the limit of {c.racks} racks is not checked: give constraints.rack_power_kw "
            "(power per rack) so that racks can be counted"
        )
    return out


def departures(
    chosen_row: int,
    idx: np.ndarray,
    modes: list[str],
    cols: dict[str, np.ndarray],
    names: tuple[str, ...],
    chosen: Composition,
    decisions: list[WorkloadDecision],
    feasible: np.ndarray,
) -> list[str]:
    """Workloads where the data center picks another design than the workload's own first
    choice, with the data-center metrics that change if that first choice is swapped in."""
    lines = []
    mode_arr = np.array(modes)
    for j, wd in enumerate(decisions):
        first = next((d for d in wd.designs if d.feasible), None)
        pick = next((d for d in wd.designs if d.id == chosen.designs.get(wd.workload)), None)
        if first is None or pick is None or first.id == pick.id:
            continue
        swapped = idx[chosen_row].copy()
        swapped[j] = 0  # option 0 is the workload's first choice
        same = np.flatnonzero(np.all(idx == swapped, axis=1))
        pool_modes = [k for k in same if mode_arr[k] == chosen.pool_mode] or list(same)
        head = (
            f"{wd.workload}: {label(pick)} (rank {pick.rank} for the workload) instead of its "
            f"first choice {label(first)}"
        )
        if not pool_modes:
            lines.append(head)
            continue
        k = pool_modes[0]
        if not feasible[k]:
            lines.append(head + ": with the first choice the data center breaks a limit")
            continue
        diffs = [
            compare_metric(m, float(cols[m][chosen_row]), float(cols[m][k]))
            for m in names
            if not np.isclose(cols[m][chosen_row], cols[m][k], rtol=1e-3, atol=1e-9)
        ]
        lines.append(head + (": " + ", ".join(diffs) + " (chosen vs swapped)" if diffs else ""))
    return lines


def _why(
    chosen: Composition, n_feasible: int, crit: list[dict], runner: Composition | None
) -> list[str]:
    lines = [
        f"ranks first of {n_feasible} feasible data-center compositions"
        " (those on the Pareto front ranked)"
    ]
    shared = [p for p in chosen.pools if len(p.workloads) > 1]
    for p in shared:
        lines.append(
            f"{' and '.join(p.workloads)} share one {p.accelerator} {p.deployment} pool "
            f"({p.devices} devices, {p.spare_devices_pooled} spare devices saved)"
        )
    if runner is not None:
        wins = [
            c["principle"].replace("_", "-")
            for c in crit
            if c["verdict"] == "wins" and c["weight"] > 0
        ]
        loses = [
            c["principle"].replace("_", "-")
            for c in crit
            if c["verdict"] == "loses" and c["weight"] > 0
        ]
        if wins:
            lines.append("beats the runner-up composition on " + ", ".join(wins))
        if loses:
            lines.append("gives up " + ", ".join(loses) + " to it")
    return lines


def decide_datacenter(
    decisions: list[WorkloadDecision],
    scenario: Scenario,
    ctx: PlanContext,
    rng: np.random.Generator,
    *,
    seed: int,
) -> tuple[DataCenterDecision, list[WorkloadDecision]]:
    """Rank compositions of the workloads' feasible designs; return the decision and the
    workload decisions with ``selected`` pointing at the chosen composition's designs."""
    built = [workload_options(wd, scenario, ctx) for wd in decisions]
    options = [o for o, _ in built]
    empty = [o.workload for o in options if len(o) == 0]
    counts = trim_options([len(o) for o in options], MAX_COMPOSITIONS)
    per_workload = {o.workload: c for o, c in zip(options, counts, strict=True)}
    if empty:
        return (
            DataCenterDecision(
                n_evaluated=0,
                n_feasible=0,
                options_per_workload=per_workload,
                chosen=None,
                alternatives=[],
                rejected=[],
                rejection_summary={"no feasible design for a workload": len(empty)},
                ranking=None,
                n_pareto=0,
                why=[f"no data-center design: no feasible design for {', '.join(empty)}"],
                criteria=[],
                sensitivity=None,
                deployment_mix={},
            ),
            decisions,
        )
    idx = enumerate_compositions(counts)
    limits = limits_of(scenario, ctx)
    dedicated = evaluate(options, idx, "dedicated", limits)
    evs = {"dedicated": dedicated}
    shared = evaluate(options, idx, "shared", limits)
    keep = shared.columns["spare_devices_pooled"] > 0  # otherwise identical to dedicated
    if keep.any():
        evs["shared"] = Evaluated(
            mode="shared",
            idx=shared.idx[keep],
            columns={m: v[keep] for m, v in shared.columns.items()},
            sharing=replace(
                shared.sharing,
                pool_of=shared.sharing.pool_of[keep],
                n_pools=shared.sharing.n_pools[keep],
                keeps_spares=shared.sharing.keeps_spares[keep],
            )
            if shared.sharing is not None
            else None,
            shares_hardware=shared.shares_hardware[keep],
        )
    verdicts = [v for e in evs.values() for v in check(e, options, limits)]
    cols, idx_all, row, modes = _stack(list(evs.values()))
    n = len(modes)
    feas = np.array([v is None for v in verdicts])
    names = tuple(
        m for m in RANKING_METRICS["datacenter"] if m in cols and np.isfinite(cols[m][feas]).any()
    )
    summary = fail_counts(verdicts)
    rej_rows = sorted(
        np.flatnonzero(~feas).tolist(),
        key=lambda i: (
            -order_key(verdicts[i].constraint),
            verdicts[i].excess_fraction or math.inf,
            i,
        ),
    )
    rejected = [
        _composition(
            i,
            evs,
            row,
            modes,
            options,
            cols,
            feasible=False,
            rejection=verdicts[i],
            reason=str(verdicts[i]),
        )
        for i in rej_rows[:SHOWN_REJECTED]
    ]
    common = {"n_evaluated": n, "options_per_workload": per_workload, "rejection_summary": summary}
    if not feas.any():
        return (
            DataCenterDecision(
                n_feasible=0,
                chosen=None,
                alternatives=[],
                rejected=rejected,
                ranking=None,
                n_pareto=0,
                why=["no composition of the workloads' designs meets the data-center limits"],
                criteria=[],
                sensitivity=None,
                deployment_mix={},
                **common,
            ),
            decisions,
        )
    # Rank the Pareto-optimal feasible compositions: a dominated composition is worse on
    # some metric and no better on any, so no weighting makes it the better choice; this
    # also keeps the ranking and its sensitivity small.
    all_feasible = np.flatnonzero(feas)
    front = pareto_mask({m: cols[m][all_feasible] for m in names}, names)
    f_rows = all_feasible[front]
    fcols = {m: cols[m][f_rows] for m in names}
    keys = f_rows  # enumeration order is deterministic: options are ranked, ids break ties
    method = scenario.preferences.method
    r = rank_candidates(fcols, names, scenario.preferences.normalised(), method, keys)
    p_mat = principle_matrix(r.principle_scores)
    w = np.array(list(r.weights.values()))
    str_keys = [str(k) for k in keys]

    def text(i: int) -> str:
        c = _composition(i, evs, row, modes, options, cols, feasible=True)
        return describe(c)

    weights_st = weight_stability(p_mat, w, method, keys, rng, samples=DC_WEIGHT_SAMPLES)
    share_text = {str(s.design): text(int(s.design)) for s in weights_st.shares}
    weights_st = replace(
        weights_st,
        shares=[replace(s, design=share_text[str(s.design)]) for s in weights_st.shares],
    )
    flip = flip_analysis(fcols, names, p_mat, w, method, str_keys, r.order)
    top = [int(i) for i in r.order[: 1 + SHOWN_ALTERNATIVES]]
    runner = str_keys.index(flip.runner_up) if flip.runner_up else None

    def build(k: int) -> Composition:
        i = int(f_rows[k])
        expl = (
            None if k == top[0] else lost_on(fcols, names, r.principle_scores, r.weights, k, top[0])
        )
        return _composition(
            i,
            evs,
            row,
            modes,
            options,
            cols,
            feasible=True,
            score=float(r.score[k]),
            rank=int(r.rank[k]),
            principle_scores={p: float(v[k]) for p, v in r.principle_scores.items()},
            pareto=bool(r.pareto[k]),
            explanation=expl,
        )

    chosen = build(top[0])
    runner_c = build(runner) if runner is not None else None
    flip = replace(
        flip,
        winner=describe(chosen),
        runner_up=describe(runner_c) if runner_c else None,
        equivalent_designs=[],
        sentences=[
            s.replace(str_keys[runner], "the runner-up composition") if runner is not None else s
            for s in flip.sentences
        ],
    )
    crit = criteria(fcols, names, r.principle_scores, r.weights, top[0], runner)
    sens = Sensitivity(
        seed=seed,
        weights=weights_st,
        uncertainty=None,
        flip=flip,
        summary=summarise(weights_st, None, flip, subject="the chosen composition"),
    )
    mix: dict[str, int] = {}
    for p in chosen.pools:
        mix[p.deployment] = mix.get(p.deployment, 0) + p.devices
    decision = DataCenterDecision(
        n_feasible=int(feas.sum()),
        chosen=chosen,
        alternatives=[build(k) for k in top[1:]],
        rejected=rejected,
        ranking=replace(ranking_info(names, r.weights, scenario), normalisation=DC_NORMALISATION),
        n_pareto=len(f_rows),
        why=_why(chosen, int(feas.sum()), crit, runner_c)
        + unchecked(scenario)
        + departures(int(f_rows[top[0]]), idx_all, modes, cols, names, chosen, decisions, feas),
        criteria=[CriterionVerdict(**c) for c in crit],
        sensitivity=sens,
        deployment_mix=mix,
        **common,
    )
    departed = {line.split(":", 1)[0]: line for line in decision.why if ":" in line}
    selected = []
    for wd, (opts, rows) in zip(decisions, built, strict=True):
        k = int(opts.design_ids.index(chosen.designs[wd.workload]))
        if k == 0 or wd.workload not in departed:
            why = list(wd.why_winner)
        else:
            why = ["chosen by the data-center decision: " + departed[wd.workload].split(": ", 1)[1]]
        selected.append(replace(wd, selected=rows[k], why_chosen=why))
    return decision, selected
