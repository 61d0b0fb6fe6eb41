"""Step 4 for one workload: screen, rank, Pareto front, explanations and sensitivity.

The planners (steps 2-3) enumerate and evaluate; this module takes every design they
evaluated and decides: the constraint screen gives each design its first failing
constraint, the feasible ones are ranked over the five principles with the scenario's
method and weights, the Pareto front is marked, the winner is explained criterion by
criterion against the runner-up, every lower design says what it lost on, and the
sensitivity analysis says how stable the choice is.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from aidc.decide.constraints import fail_counts, order_key
from aidc.decide.explain import criteria, lost_on, why_winner
from aidc.decide.metrics import METRICS, RANKING_METRICS, principle_metrics
from aidc.decide.rank import key_ranks, principle_matrix, rank_candidates
from aidc.decide.sensitivity import (
    Sensitivity,
    flip_analysis,
    summarise,
    uncertainty_stability,
    weight_stability,
)
from aidc.planner.context import PlanContext
from aidc.planner.result import CriterionVerdict, Design, Pruned, RankingInfo, WorkloadDecision
from aidc.planner.screen import derive_submetrics, screen, workload_kind
from aidc.search.prune import PrunedOption
from aidc.spec.scenario import Scenario

SHORTLIST_FEASIBLE = 20
SHORTLIST_REJECTED = 10
NORMALISATION = "min-max over the feasible designs of this workload, 1 = best, NaN = 0"
MODEL_ERROR_KEYS = {
    "training": "uncertainty.training_time_rel_error",
    "generation": "uncertainty.inference_latency_rel_error",
    "encoder": "uncertainty.inference_latency_rel_error",
}
"""Calibration values giving each model's relative error (1 sigma); absent = not sampled."""


def label(d: Design) -> str:
    """Short human label: 'H100-SXM x 8 (vllm int8 TP4 x2, on-prem)'."""
    p = d.plan
    if d.kind == "training":
        plan = f"TP{p.get('tp')} PP{p.get('pp')} DP{p.get('dp')}"
    else:
        plan = f"{p.get('engine')} {p.get('precision')} TP{p.get('tp')} x{p.get('replicas')}"
    return f"{d.accelerator} x {d.n_devices} ({plan}, {p.get('deployment', 'on-prem')})"


def detailed_label(d: Design) -> str:
    """:func:`label` with the settings that tell two designs of one plan shape apart."""
    p = d.plan
    if d.kind == "training":
        extra = (
            f"mb{p.get('micro_batch')}x{p.get('grad_accum')} ZeRO-{p.get('zero_stage')} "
            f"recompute {p.get('recompute')} {p.get('optimizer')}"
        )
    else:
        extra = f"batch {p.get('batch')} {p.get('batching')}"
    return f"{label(d)[:-1]}; {extra})"


def distinct_labels(designs: list[Design]) -> list[str]:
    """Labels for a list of designs; those that would read alike get their details."""
    short = [label(d) for d in designs]
    counts: dict[str, int] = {}
    for s in short:
        counts[s] = counts.get(s, 0) + 1
    return [detailed_label(d) if counts[s] > 1 else s for d, s in zip(designs, short, strict=True)]


def ranking_info(
    names: tuple[str, ...], weights: dict[str, float], scenario: Scenario
) -> RankingInfo:
    prefs = scenario.preferences
    cr = None
    if prefs.method == "ahp" and prefs.ahp_pairwise:
        from aidc.decide.ahp import ahp_weights

        cr = ahp_weights(prefs.ahp_pairwise).consistency_ratio
    return RankingInfo(
        method=prefs.method,
        normalisation=NORMALISATION,
        weights=weights,
        principle_metrics=principle_metrics(names),
        metric_units={m: METRICS[m].unit for m in names},
        metric_directions={m: METRICS[m].direction for m in names},
        ahp_consistency_ratio=cr,
    )


def price_bands(
    designs: list[Design], ctx: PlanContext, scenario: Scenario
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Price range per design relative to the price used: the spread of the catalog's
    cloud prices for its accelerator (on-prem list prices carry no range in the catalog,
    nor do prices the scenario overrides)."""
    low = np.ones(len(designs))
    high = np.ones(len(designs))
    known: dict[str, float] = {}
    for i, d in enumerate(designs):
        if d.plan.get("deployment") != "cloud":
            continue
        if d.accelerator in scenario.prices.cloud_usd_per_device_hour:
            continue
        acc = ctx.catalog.accelerators.find(d.accelerator)
        if acc is None:
            continue
        used = ctx.cloud_usd_per_hour(acc, scenario.prices)
        prices = [p.usd_per_device_hour for p in ctx.catalog.prices if p.item == acc.id]
        if acc.cloud_usd_per_device_hour:
            prices.append(acc.cloud_usd_per_device_hour)
        if used and math.isfinite(used) and len(prices) > 1 and max(prices) > min(prices):
            low[i], high[i] = min(prices) / used, max(prices) / used
            known[f"{acc.id} cloud price range x{low[i]:.2f}..x{high[i]:.2f}"] = float(high[i])
    return low, high, known


def _sensitivity(
    cols: dict[str, np.ndarray],
    names: tuple[str, ...],
    p_mat: np.ndarray,
    w: np.ndarray,
    method: str,
    keys: list[str],
    order: np.ndarray,
    pareto: np.ndarray,
    feas: list[Design],
    kind: str,
    ctx: PlanContext,
    scenario: Scenario,
    rng: np.random.Generator,
    seed: int,
) -> Sensitivity:
    weights = weight_stability(p_mat, w, method, keys, rng)
    perf_group = key_ranks([d.accelerator for d in feas])
    price_group = key_ranks([f"{d.accelerator}|{d.plan.get('deployment')}" for d in feas])
    band_key = MODEL_ERROR_KEYS[kind]
    band = ctx.calibration.values.get(band_key)
    perf_band = np.full(len(feas), band.value if band else 0.0)
    low, high, ranges = price_bands(feas, ctx, scenario)
    inputs = {f"model error band ({band_key})": band.value} if band else {}
    inputs.update(ranges)
    if not band and not ranges:
        unc = None
    else:
        unc = uncertainty_stability(
            cols,
            names,
            w,
            method,
            keys,
            rng,
            perf_group=perf_group,
            perf_band=perf_band,
            price_group=price_group,
            price_low=low,
            price_high=high,
            inputs=inputs,
        )
    labels = distinct_labels(feas)
    args = (cols, names, p_mat, w, method, keys, order, labels)
    flip = flip_analysis(*args, perf_group=perf_group, price_group=price_group, pareto=pareto)
    winner = feas[int(order[0])]
    platform = next(
        (
            int(i)
            for i in order[1:]
            if (feas[int(i)].accelerator, feas[int(i)].plan.get("deployment"))
            != (winner.accelerator, winner.plan.get("deployment"))
        ),
        None,
    )
    platform_flip = None
    if platform is not None and keys[platform] != flip.runner_up:
        platform_flip = flip_analysis(
            *args, perf_group=perf_group, price_group=price_group, rival=platform, pareto=pareto
        )
    return Sensitivity(
        seed=seed,
        weights=weights,
        uncertainty=unc,
        flip=flip,
        summary=summarise(weights, unc, flip, dict(zip(keys, labels, strict=True)), platform_flip),
        platform_flip=platform_flip,
    )


def platform(d: Design) -> tuple[str, str]:
    return d.accelerator, str(d.plan.get("deployment", "on-prem"))


def shortlist(ranked: list[Design]) -> list[Design]:
    """The best :data:`SHORTLIST_FEASIBLE` designs plus the best design of every other
    platform (accelerator and deployment), in rank order: the options the data-center
    decision combines (a shared pool needs the same platform across workloads)."""
    seen: set[tuple[str, str]] = set()
    keep = []
    for k, d in enumerate(ranked):
        if k < SHORTLIST_FEASIBLE or platform(d) not in seen:
            keep.append(d)
        seen.add(platform(d))
    return keep


def decide_workload(
    wd: WorkloadDecision,
    scenario: Scenario,
    ctx: PlanContext,
    rng: np.random.Generator,
    *,
    seed: int,
    pruned: list[PrunedOption] | None = None,
) -> WorkloadDecision:
    """Re-decide a planner's workload: screen, rank, explain, test stability."""
    designs = list(wd.candidates or wd.designs)
    kind = workload_kind(wd.kind, wd.metric_names)
    metrics = derive_submetrics(designs, kind, wd.requirements, scenario, ctx)
    verdicts = screen(designs, metrics, kind, wd.workload, wd.requirements, scenario, ctx)
    checked = [
        replace(
            d,
            metrics=m,
            feasible=r is None,
            rejection=r,
            reason=str(r) if r else None,
            score=None,
            rank=None,
            principle_scores={},
            pareto=False,
        )
        for d, m, r in zip(designs, metrics, verdicts, strict=True)
    ]
    feas = [d for d in checked if d.feasible]
    rejected = sorted(
        (d for d in checked if not d.feasible),
        key=lambda d: (
            -order_key(d.rejection.constraint) if d.rejection else 0,
            d.rejection.excess_fraction
            if d.rejection and d.rejection.excess_fraction is not None
            else math.inf,
            d.id,
        ),
    )
    weights_in = scenario.preferences.normalised()
    names = tuple(
        m
        for m in RANKING_METRICS[kind]
        if any(math.isfinite(d.metrics.get(m, math.nan)) for d in feas)
    )
    pruned_out = [Pruned(p.subject, p.constraint, p.message) for p in (pruned or [])]
    base = replace(
        wd,
        n_feasible=len(feas),
        rejection_summary=fail_counts(verdicts),
        pruned=pruned_out,
        selected=None,
    )
    if not feas or not names:
        return replace(
            base,
            designs=rejected[:SHORTLIST_REJECTED],
            candidates=checked,
            why_winner=[],
            criteria=[],
            sensitivity=None,
            ranking=None,
            metric_names=list(names) or wd.metric_names,
        )
    cols = {m: np.array([d.metrics.get(m, math.nan) for d in feas], dtype=float) for m in names}
    keys = [d.id for d in feas]
    method = scenario.preferences.method
    r = rank_candidates(cols, names, weights_in, method, keys)
    ranked = []
    for i in r.order:
        d = feas[int(i)]
        ranked.append(
            replace(
                d,
                score=float(r.score[i]),
                rank=int(r.rank[i]),
                principle_scores={p: float(s[i]) for p, s in r.principle_scores.items()},
                metric_scores={m: float(s[i]) for m, s in r.metric_scores.items()},
                pareto=bool(r.pareto[i]),
            )
        )
    p_mat = principle_matrix(r.principle_scores)
    w = np.array(list(r.weights.values()))
    sens = _sensitivity(
        cols, names, p_mat, w, method, keys, r.order, r.pareto, feas, kind, ctx, scenario, rng, seed
    )
    winner = int(r.order[0])
    runner = keys.index(sens.flip.runner_up) if sens.flip.runner_up else None
    crit = criteria(cols, names, r.principle_scores, r.weights, winner, runner)
    why = why_winner(
        label(feas[winner]),
        label(feas[runner]) if runner is not None else None,
        len(feas),
        crit,
        bool(r.pareto[winner]),
    )
    for k, d in enumerate(ranked[1:], start=1):
        i = int(r.order[k])
        ranked[k] = replace(
            d, explanation=lost_on(cols, names, r.principle_scores, r.weights, i, winner)
        )
    return replace(
        base,
        designs=shortlist(ranked) + rejected[:SHORTLIST_REJECTED],
        candidates=ranked + rejected,
        metric_names=list(names),
        why_winner=why,
        criteria=[CriterionVerdict(**c) for c in crit],
        sensitivity=sens,
        ranking=ranking_info(names, r.weights, scenario),
        n_pareto=int(r.pareto.sum()),
    )
