"""Plain-language reasons: why the winner wins on each principle, what others lost on.

Everything here turns numbers the ranking already computed into sentences with units;
no new judgement is made. A principle "wins" or "loses" when the principle scores differ
by more than :data:`TIE`; evidence lists the sub-metrics with both values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from aidc.decide.metrics import METRICS, PRINCIPLES
from aidc.units import fmt_bytes, fmt_count, fmt_seconds, fmt_usd, fmt_watts

TIE = 1e-6
"""Principle scores closer than this are a tie."""


def fmt_value(value: float | None, unit: str) -> str:
    """A metric value with its unit, for sentences."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "s":
        return fmt_seconds(value)
    if unit == "USD":
        return fmt_usd(value)
    if unit.startswith("USD/"):
        return f"{fmt_usd(value)}/{unit[4:]}"
    if unit == "W":
        return fmt_watts(value)
    if unit == "B":
        return fmt_bytes(value)
    if unit in ("1", ""):
        return f"{value:.3g}"
    if unit in ("device", "count"):
        return f"{value:,.0f}"
    return f"{fmt_count(value)} {unit}"


def principle_label(p: str) -> str:
    return p.replace("_", "-")


def compare_metric(name: str, a: float, b: float) -> str:
    """'time to train 30.9 d vs 43.3 d' (a = this design, b = the other)."""
    spec = METRICS[name]
    return f"{spec.title} {fmt_value(a, spec.unit)} vs {fmt_value(b, spec.unit)}"


def better(name: str, a: float, b: float) -> bool:
    """Whether value ``a`` is strictly better than ``b`` for metric ``name``."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.isfinite(a) and not math.isfinite(b)
    return a < b if METRICS[name].direction == "min" else a > b


def criteria(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    p_scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    winner: int,
    runner: int | None,
) -> list[dict]:
    """Per principle: weight, both scores, verdict and metric evidence (winner vs runner)."""
    out = []
    for p in PRINCIPLES:
        mine = [m for m in metric_names if METRICS[m].principle == p]
        ws = float(p_scores[p][winner])
        rs = float(p_scores[p][runner]) if runner is not None else None
        verdict = "ties"
        if rs is not None and abs(ws - rs) > TIE:
            verdict = "wins" if ws > rs else "loses"
        evidence = []
        if runner is not None:
            for m in mine:
                a, b = float(columns[m][winner]), float(columns[m][runner])
                unit = METRICS[m].unit
                if fmt_value(a, unit) != fmt_value(b, unit):  # differs at the shown precision
                    evidence.append(compare_metric(m, a, b))
        out.append(
            {
                "principle": p,
                "weight": float(weights.get(p, 0.0)),
                "winner_score": ws,
                "runner_up_score": rs,
                "verdict": verdict,
                "evidence": evidence,
            }
        )
    return out


def why_winner(
    label_winner: str,
    label_runner: str | None,
    n_feasible: int,
    crit: Sequence[Mapping],
    pareto: bool,
) -> list[str]:
    """Short sentences for the winner: rank, what it wins and gives up against the runner-up."""
    lines = [
        f"{label_winner} ranks first of {n_feasible} feasible designs"
        + (" and is on the Pareto front" if pareto else "")
    ]
    if label_runner is None:
        return lines
    wins = [c for c in crit if c["verdict"] == "wins" and c["weight"] > 0]
    loses = [c for c in crit if c["verdict"] == "loses" and c["weight"] > 0]
    if wins:
        lines.append(
            f"beats the runner-up ({label_runner}) on "
            + "; ".join(
                principle_label(c["principle"])
                + (f" ({', '.join(c['evidence'][:2])})" if c["evidence"] else "")
                for c in wins
            )
        )
    if loses:
        lines.append(
            "gives up "
            + "; ".join(
                principle_label(c["principle"])
                + (f" ({', '.join(c['evidence'][:2])})" if c["evidence"] else "")
                for c in loses
            )
        )
    if not wins and not loses:
        lines.append(f"ties with {label_runner} on every principle (order by name)")
    return lines


def lost_on(
    columns: Mapping[str, np.ndarray],
    metric_names: Sequence[str],
    p_scores: Mapping[str, np.ndarray],
    weights: Mapping[str, float],
    i: int,
    winner: int,
) -> str:
    """What design ``i`` lost on against the winner: the principle costing it most score
    (weight x score gap), with the sub-metric that differs most."""
    gaps = []
    for p in PRINCIPLES:
        gap = float(weights.get(p, 0.0)) * float(p_scores[p][winner] - p_scores[p][i])
        gaps.append((gap, p))
    gaps.sort(reverse=True)
    gap, p = gaps[0]
    if gap <= TIE:
        return "scores as well as the winner on every principle (tie broken by name)"
    mine = [m for m in metric_names if METRICS[m].principle == p]
    worst = None
    for m in mine:
        a, b = float(columns[m][i]), float(columns[m][winner])
        if better(m, b, a):
            rel = abs(a - b) / max(abs(b), 1e-300)
            if worst is None or rel > worst[0]:
                worst = (rel, m, a, b)
    detail = f" ({compare_metric(worst[1], worst[2], worst[3])} for the winner)" if worst else ""
    return f"loses on {principle_label(p)}{detail}"
