"""Helpers shared by the training and inference planners: grouping, scoring, verdicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from aidc.catalog.schema import Accelerator, SoftwareStack
from aidc.decide.rank import pareto_mask, principle_scores, topsis, weighted_sum
from aidc.planner.result import Design
from aidc.spec.scenario import Preferences, Security


def best_per_group(group: np.ndarray, objective: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Index of the row with the smallest objective among ``ok`` rows of each group.

    Groups with no ok row fall back to their smallest-objective row (so that the
    closest rejected design can still be explained).
    """
    key = np.where(ok, objective, np.inf)
    fallback = np.where(np.isfinite(objective), objective, np.inf)
    order = np.lexsort((fallback, key, group))
    _, first = np.unique(group[order], return_index=True)
    return order[first]


def security_score(
    acc: Accelerator, software: SoftwareStack | None, need: Security
) -> tuple[float, list[str]]:
    """Share of required security features the design meets, and what it misses.

    Encryption at rest and in transit, audit logging and anonymisation are met by the
    storage and network layers of every design aidc proposes (self-encrypting drives or
    filesystem encryption, TLS via nginx, audit logs in the metadata DB); confidential
    computing and hardware multi-tenant isolation depend on the accelerator.
    """
    required: list[tuple[str, bool]] = []
    if need.confidential_computing:
        required.append(("confidential_computing", "confidential_computing" in acc.features))
    if need.multi_tenant_isolation:
        required.append(("multi_tenant_isolation (MIG or equivalent)", "mig" in acc.features))
    for flag in ("encryption_at_rest", "encryption_in_transit", "audit_logging", "anonymisation"):
        if getattr(need, flag):
            required.append((flag, True))
    if software is not None and software.status in ("deprecated", "maintenance"):
        required.append((f"supported software ({software.id} is {software.status})", False))
    if not required:
        return 1.0, []
    met = sum(ok for _, ok in required)
    missing = [name for name, ok in required if not ok]
    return met / len(required), missing


def rank_designs(
    designs: list[Design],
    metric_names: Sequence[str],
    prefs: Preferences,
) -> list[Design]:
    """Score feasible designs, mark the Pareto front, order best first (rejected last)."""
    feas = [d for d in designs if d.feasible]
    rejected = [d for d in designs if not d.feasible]
    if feas:
        cols = {m: np.array([d.metrics.get(m, np.nan) for d in feas], float) for m in metric_names}
        scores = principle_scores(cols, metric_names)
        weights = prefs.normalised()
        total = (
            topsis(scores, weights) if prefs.method == "topsis" else weighted_sum(scores, weights)
        )
        front = pareto_mask(cols, list(metric_names))
        order = np.argsort(-total, kind="stable")
        ranked = []
        for r, i in enumerate(order):
            d = feas[i]
            ranked.append(
                Design(
                    **{
                        **d.__dict__,
                        "score": float(total[i]),
                        "rank": r + 1,
                        "principle_scores": {p: float(s[i]) for p, s in scores.items()},
                        "pareto": bool(front[i]),
                    }
                )
            )
        feas = ranked
    return feas + rejected


def rejection_summary(designs: Sequence[Design]) -> dict[str, int]:
    return dict(Counter((d.reason or "").split(":")[0] for d in designs if not d.feasible))


def explain_winner(
    ranked: Sequence[Design], metric_names: Sequence[str], units: Mapping[str, str]
) -> list[str]:
    """Plain sentences: where the winner beats the runner-up, and what it gives up."""
    feas = [d for d in ranked if d.feasible]
    if not feas:
        return []
    w = feas[0]
    lines = [f"{w.accelerator} x {w.n_devices} ranks first of {len(feas)} feasible designs"]
    if len(feas) > 1:
        r = feas[1]
        better = [
            p for p in w.principle_scores if w.principle_scores[p] > r.principle_scores[p] + 1e-9
        ]
        worse = [
            p for p in w.principle_scores if w.principle_scores[p] < r.principle_scores[p] - 1e-9
        ]
        if better:
            lines.append(
                f"beats the runner-up ({r.accelerator} x {r.n_devices}) on " + ", ".join(better)
            )
        if worse:
            lines.append("gives up " + ", ".join(worse) + " to it")
    return lines
