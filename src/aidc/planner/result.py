"""What a plan returns: per-workload decisions and the data-center design, as plain data.

These are frozen dataclasses of plain Python values so that every report (terminal,
JSON, Markdown, HTML) renders the same facts. ``to_dict`` gives the JSON shape, which is
versioned (:data:`PLAN_SCHEMA_VERSION`) and documented in ``docs/plan-schema.md``;
``aidc plan-schema`` prints its JSON Schema (``planner/plan_schema.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Literal

from aidc.decide.constraints import Rejection
from aidc.decide.sensitivity import Sensitivity

PLAN_SCHEMA_VERSION = 2
"""Bumped whenever the JSON shape changes. 2: structured rejections, design ids, ranking
record, criteria, sensitivity, pruning, requirements summary, data-center decision."""


def _plain(value: Any) -> Any:
    """Dataclasses (also inside lists) as dicts; everything else as it is."""
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


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
    rejection: Rejection | None = None  # structured: the first failing constraint
    metric_scores: dict[str, float] = field(default_factory=dict)  # normalised, 1 = best
    explanation: str | None = None  # what a lower-ranked design lost on

    def __post_init__(self) -> None:
        # the sentence and the structured reason always agree
        if self.rejection is not None and self.reason is None:
            object.__setattr__(self, "reason", str(self.rejection))

    @property
    def id(self) -> str:
        """Stable key: accelerator, device count and the plan's settings in key order
        (scalar settings only: nested details such as the sized infrastructure follow from
        them)."""
        plan = ",".join(
            f"{k}={self.plan[k]}"
            for k in sorted(self.plan)
            if not isinstance(self.plan[k], dict | list)
        )
        return f"{self.accelerator}x{self.n_devices}[{plan}]"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}


@dataclass(frozen=True)
class Pruned:
    """Options removed before evaluation by a feasibility predicate."""

    subject: str  # an accelerator, a deployment, a software stack
    constraint: str
    message: str


@dataclass(frozen=True)
class CriterionVerdict:
    """How the chosen design compares with the runner-up on one principle."""

    principle: str
    weight: float
    winner_score: float
    runner_up_score: float | None
    verdict: Literal["wins", "ties", "loses"]
    evidence: list[str]  # metric by metric, with values and units


@dataclass(frozen=True)
class RankingInfo:
    """How the designs were ranked: method, normalisation, weights, metrics."""

    method: str
    normalisation: str
    weights: dict[str, float]
    principle_metrics: dict[str, list[str]]
    metric_units: dict[str, str]
    metric_directions: dict[str, str]
    ahp_consistency_ratio: float | None = None


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
    requirements_summary: str = ""
    ranking: RankingInfo | None = None
    n_pareto: int = 0
    criteria: list[CriterionVerdict] = field(default_factory=list)
    sensitivity: Sensitivity | None = None
    pruned: list[Pruned] = field(default_factory=list)
    selected: int | None = None  # index into designs chosen by the data-center decision
    why_chosen: list[str] = field(default_factory=list)  # why the chosen design (= why_winner
    # when the data center keeps the workload's first choice)
    # serving only: p99 latency against requests/s per replica for the chosen design
    latency_curves: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "designs":
                out[f.name] = [d.to_dict() for d in value]
            elif f.name == "candidates":
                out[f.name] = candidate_table(value)
            else:
                out[f.name] = _plain(value)
        out["chosen"] = self.chosen.to_dict() if self.chosen else None
        return out

    @property
    def chosen(self) -> Design | None:
        if self.selected is not None:
            return self.designs[self.selected]
        return self.designs[0] if self.designs and self.designs[0].feasible else None


@dataclass(frozen=True)
class Pool:
    """A pool of identical accelerators in one deployment, serving one or more workloads."""

    accelerator: str
    deployment: str
    workloads: list[str]
    devices: int
    spare_devices_pooled: int  # spares saved because the pool is shared


@dataclass(frozen=True)
class Composition:
    """A data-center design: one design per workload, grouped into pools."""

    id: str
    pool_mode: Literal["dedicated", "shared"]
    designs: dict[str, str]  # workload -> design id
    labels: dict[str, str]  # workload -> short label of that design
    pools: list[Pool]
    metrics: dict[str, float]
    feasible: bool
    rejection: Rejection | None = None
    reason: str | None = None
    score: float | None = None
    rank: int | None = None
    principle_scores: dict[str, float] = field(default_factory=dict)
    pareto: bool = False
    explanation: str | None = None


@dataclass(frozen=True)
class DataCenterDecision:
    """Step 4 for the whole data center: the ranked compositions of workload designs."""

    n_evaluated: int
    n_feasible: int
    options_per_workload: dict[str, int]
    chosen: Composition | None
    alternatives: list[Composition]  # the next feasible compositions, best first
    rejected: list[Composition]  # the closest rejected compositions
    rejection_summary: dict[str, int]
    ranking: RankingInfo | None
    n_pareto: int
    why: list[str]
    criteria: list[CriterionVerdict]
    sensitivity: Sensitivity | None
    deployment_mix: dict[str, int]  # devices on-prem and in the cloud (chosen)


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
    requirements_summary: list[str] = field(default_factory=list)
    decision: DataCenterDecision | None = None
    # how far each model the plan used is from measured results (catalog validation.yaml)
    validation: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (schema in ``planner/plan_schema.py``, ``docs/plan-schema.md``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "workloads":
                out[f.name] = [w.to_dict() for w in value]
            else:
                out[f.name] = asdict(value) if is_dataclass(value) else _plain(value)
        return _clean(out)


CANDIDATE_BASE_COLUMNS = (
    "accelerator",
    "n_devices",
    "feasible",
    "reason",
    "score",
    "rank",
    "pareto",
    "id",
    "constraint",
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
        row = [getattr(d, c) for c in CANDIDATE_BASE_COLUMNS[:-1]]
        row.append(d.rejection.constraint if d.rejection else None)
        for col in extra:
            prefix, key = col.split(".", 1)
            row.append(parts[prefix].get(key))
        rows.append(row)
    return {"columns": columns, "rows": rows}
