"""Helpers shared by the training and inference planners: grouping, scoring, verdicts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from aidc.catalog.schema import Accelerator, SoftwareStack
from aidc.decide.rank import rank_candidates
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


ISOLATION_FEATURES = ("mig", "hw_partitioning")
"""Catalog feature tags for hardware multi-tenant isolation: NVIDIA MIG, and the
partitioning of other vendors (e.g. AMD CDNA3 compute/memory partitions)."""


def has_isolation(acc: Accelerator) -> bool:
    """Whether the accelerator partitions itself for multi-tenant isolation."""
    return any(f in acc.features for f in ISOLATION_FEATURES)


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
        required.append(("multi_tenant_isolation (MIG or equivalent)", has_isolation(acc)))
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
    """Score feasible designs, mark the Pareto front, order best first (rejected last).

    The planners' first pass (e.g. to pick finalists to simulate); the decision step
    (:mod:`aidc.planner.decision`) re-screens and re-ranks every design with the
    principle sub-metrics, so this order is provisional.
    """
    feas = [d for d in designs if d.feasible]
    rejected = [d for d in designs if not d.feasible]
    names = [m for m in metric_names if any(m in d.metrics for d in feas)]
    if not feas or not names:
        return feas + rejected
    cols = {m: np.array([d.metrics.get(m, np.nan) for d in feas], float) for m in names}
    r = rank_candidates(cols, names, prefs.normalised(), prefs.method, [d.id for d in feas])
    ranked = [
        replace(
            feas[i],
            score=float(r.score[i]),
            rank=int(r.rank[i]),
            principle_scores={p: float(s[i]) for p, s in r.principle_scores.items()},
            pareto=bool(r.pareto[i]),
        )
        for i in r.order
    ]
    return ranked + rejected


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
