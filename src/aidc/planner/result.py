"""What a plan returns: per-workload decisions and the data-center design, as plain data.

These are frozen dataclasses of plain Python values so that every report (terminal,
JSON, Markdown, HTML) renders the same facts. ``to_dict`` gives the JSON shape.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PLAN_SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Design:
    """One candidate design for one workload, with its metrics and verdict."""

    workload: str
    kind: Literal["training", "inference"]
    accelerator: str
    n_devices: int
    plan: dict[str, Any]
    metrics: dict[str, float]
    feasible: bool
    reason: str | None = None
    score: float | None = None
    rank: int | None = None
    principle_scores: dict[str, float] = field(default_factory=dict)
    pareto: bool = False


@dataclass(frozen=True)
class WorkloadDecision:
    workload: str
    kind: Literal["training", "inference"]
    model: str
    requirements: dict[str, Any]
    n_evaluated: int
    n_feasible: int
    designs: list[Design]  # ranked feasible designs first, then the closest rejected ones
    rejection_summary: dict[str, int]
    metric_names: list[str]
    why_winner: list[str] = field(default_factory=list)
    # Every design that received a verdict (ranked feasible first, then rejected); the
    # ``designs`` shortlist is drawn from it. In JSON it becomes a compact column table
    # (``candidate_table``) so that CSV and charts can show the whole evaluated space.
    candidates: list[Design] = field(default_factory=list)

    @property
    def chosen(self) -> Design | None:
        return self.designs[0] if self.designs and self.designs[0].feasible else None


@dataclass(frozen=True)
class StepTrace:
    step: int
    name: str
    summary: str


@dataclass(frozen=True)
class PlanResult:
    scenario: str
    description: str
    steps: list[StepTrace]
    workloads: list[WorkloadDecision]
    datacenter: dict[str, Any]
    assumptions: list[str]
    schema_version: int = PLAN_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for wd, w in zip(out["workloads"], self.workloads, strict=True):
            wd["chosen"] = asdict(w.chosen) if w.chosen else None
            wd["candidates"] = candidate_table(w.candidates)
        return _clean(out)


CANDIDATE_BASE_COLUMNS = (
    "accelerator",
    "n_devices",
    "feasible",
    "reason",
    "score",
    "rank",
    "pareto",
)


def candidate_table(designs: list[Design]) -> dict[str, list[Any]]:
    """Designs as one column table: ``{"columns": [...], "rows": [[...], ...]}``.

    Columns are the base fields, then ``plan.<key>``, ``metrics.<key>`` and
    ``principle.<key>`` in first-seen order; a design without a key has ``None`` there.
    """
    extra: dict[str, None] = {}
    for d in designs:
        for prefix, part in (
            ("plan", d.plan),
            ("metrics", d.metrics),
            ("principle", d.principle_scores),
        ):
            for k in part:
                extra.setdefault(f"{prefix}.{k}", None)
    columns = [*CANDIDATE_BASE_COLUMNS, *extra]
    rows = []
    for d in designs:
        parts = {"plan": d.plan, "metrics": d.metrics, "principle": d.principle_scores}
        row = [getattr(d, c) for c in CANDIDATE_BASE_COLUMNS]
        for col in extra:
            prefix, key = col.split(".", 1)
            row.append(parts[prefix].get(key))
        rows.append(row)
    return {"columns": columns, "rows": rows}
