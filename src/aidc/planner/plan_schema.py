"""The JSON Schema of ``aidc plan --json`` (``PlanResult.to_dict()``), as pydantic models.

These models mirror the JSON document field for field (``extra="forbid"`` everywhere),
so a test can validate real plans against them and catch any drift between the result
dataclasses and the documented shape. ``aidc plan-schema`` prints
``PlanDocument.model_json_schema()``; ``docs/plan-schema.md`` explains each part.
Bump :data:`aidc.planner.result.PLAN_SCHEMA_VERSION` (and ``schema_version`` here) when
the shape changes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Number = float | int
Value = float | int | str | None


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RejectionDoc(_Doc):
    """Why a design or composition cannot be chosen: the first failing constraint."""

    constraint: str = Field(
        description="e.g. memory, slo.ttft_p99, deadline, power, budget.capex, software_status, security.confidential_computing, isolation, price"
    )
    message: str = Field(description="the sentence, with values and units")
    value: Value = Field(description="the design's value, in `unit` (null for a predicate)")
    limit: Value = Field(
        description="the limit, in `unit` (a word such as 'required' for a predicate)"
    )
    unit: str = Field(description="SI unit or a label (status, feature)")
    excess: Number | None = Field(description="how far past the limit, in `unit` (positive)")
    excess_fraction: Number | None = Field(description="excess / limit")


class DesignDoc(_Doc):
    """One candidate design of one workload with its metrics and verdict."""

    id: str = Field(description="stable key: accelerator x devices [plan settings]")
    workload: str
    kind: Literal["training", "inference"]
    accelerator: str
    n_devices: int
    plan: dict[str, Any] = Field(
        description="parallelism, engine, precision, replicas, deployment (on-prem|cloud), ..."
    )
    metrics: dict[str, Number | None] = Field(
        description="SI values; names and units in the metric registry (decide/metrics.py)"
    )
    feasible: bool
    reason: str | None = Field(description="'constraint: sentence' for a rejected design")
    score: Number | None = Field(description="aggregate score in [0, 1] (feasible designs)")
    rank: int | None = Field(description="1 = best among the workload's feasible designs")
    principle_scores: dict[str, Number | None] = Field(
        description="performance, scalability, cost_effectiveness, security, maintainability in [0, 1]"
    )
    pareto: bool = Field(description="on the Pareto front of the ranking metrics")
    rejection: RejectionDoc | None
    metric_scores: dict[str, Number | None] = Field(
        description="each ranking metric normalised to [0, 1], 1 = best"
    )
    explanation: str | None = Field(
        description="for a lower-ranked design: what it lost on against the winner"
    )


class CandidateTableDoc(_Doc):
    """Every evaluated design as a column table (for CSV and charts)."""

    columns: list[str] = Field(
        description="base columns, then plan.<key>, metrics.<key>, principle.<key>"
    )
    rows: list[list[Any]]


class PrunedDoc(_Doc):
    """An option removed before evaluation by a feasibility predicate."""

    subject: str = Field(description="an accelerator, 'cloud', or a software stack")
    constraint: str = Field(
        description="vendor, role, availability, deployment, precision, residency, software_status, task"
    )
    message: str


class CriterionDoc(_Doc):
    """The winner against the runner-up on one principle."""

    principle: str
    weight: Number
    winner_score: Number
    runner_up_score: Number | None
    verdict: Literal["wins", "ties", "loses"]
    evidence: list[str] = Field(description="metric by metric: 'time to train 3.04 d vs 1.43 d'")


class RankingDoc(_Doc):
    """How the ranking was made."""

    method: Literal["topsis", "weighted-sum", "ahp"]
    normalisation: str
    weights: dict[str, Number] = Field(description="principle weights in force, summing to 1")
    principle_metrics: dict[str, list[str]] = Field(description="the sub-metrics of each principle")
    metric_units: dict[str, str]
    metric_directions: dict[str, Literal["min", "max"]]
    ahp_consistency_ratio: Number | None = Field(
        description="Saaty's CR of the AHP judgements (method ahp)"
    )


class ShareDoc(_Doc):
    design: str = Field(description="design id (workload level) or description (data-center level)")
    share: Number = Field(description="share of the random draws in which it ranked first")


class StabilityDoc(_Doc):
    """Monte Carlo rank stability."""

    samples: int
    method: str = Field(description="how the draws were made")
    winner_share: Number = Field(
        description="share of draws in which the chosen design stays first"
    )
    shares: list[ShareDoc]
    stable: bool = Field(description="winner_share >= 0.8")
    inputs: dict[str, Number] = Field(description="the error bands and price ranges used")


class WeightFlipDoc(_Doc):
    principle: str
    weight_now: Number
    weight_needed: Number = Field(
        description="normalised weight (others in proportion) at which the runner-up overtakes the winner"
    )


class FlipDoc(_Doc):
    """What would have to change for the runner-up to rank first."""

    winner: str
    runner_up: str | None
    equivalent_designs: list[str] = Field(
        description="designs with the winner's principle scores (ties broken by id)"
    )
    weight_flips: list[WeightFlipDoc]
    smallest_weight_flip: WeightFlipDoc | None
    winner_cost_rise_fraction: Number | None = Field(
        description="the winner's costs x (1 + this) make the runner-up overtake it"
    )
    winner_time_rise_fraction: Number | None = Field(
        description="the winner's predicted times x (1 + this) make the runner-up overtake it"
    )
    sentences: list[str]


class SensitivityDoc(_Doc):
    seed: int = Field(description="seed of the Monte Carlo (the plan is reproducible)")
    weights: StabilityDoc
    uncertainty: StabilityDoc | None = Field(
        description="model error bands and price ranges (null where none is known)"
    )
    flip: FlipDoc = Field(description="against the runner-up")
    summary: str
    platform_flip: FlipDoc | None = Field(
        description="against the best design on another accelerator or deployment"
    )


class WorkloadDoc(_Doc):
    """The decision for one workload."""

    workload: str
    kind: Literal["training", "inference"]
    model: str
    requirements: dict[str, Any] = Field(description="step 1 figures in SI units")
    n_evaluated: int = Field(description="candidate configurations the planner evaluated")
    n_feasible: int
    designs: list[DesignDoc] = Field(
        description="ranked feasible shortlist (top 20 plus the best of every other platform), then the closest rejected"
    )
    rejection_summary: dict[str, int] = Field(
        description="rejected designs per constraint family, in constraint order"
    )
    metric_names: list[str] = Field(description="the ranking metrics")
    why_winner: list[str] = Field(description="why the workload's first-ranked design wins")
    candidates: CandidateTableDoc
    requirements_summary: str
    ranking: RankingDoc | None
    n_pareto: int
    criteria: list[CriterionDoc]
    sensitivity: SensitivityDoc | None
    pruned: list[PrunedDoc]
    selected: int | None = Field(
        description="index in designs of the design the data-center decision chose"
    )
    why_chosen: list[str] = Field(
        description="why the chosen design (differs from why_winner when the data center picks another)"
    )
    chosen: DesignDoc | None
    latency_curves: list[dict[str, Any]] = Field(
        description="serving: p99 latency against requests/s per replica for the chosen design"
    )


class PoolDoc(_Doc):
    accelerator: str
    deployment: str
    workloads: list[str]
    devices: int
    spare_devices_pooled: int


class CompositionDoc(_Doc):
    """A data-center design: one design per workload, in pools."""

    id: str
    pool_mode: Literal["dedicated", "shared"]
    designs: dict[str, str] = Field(description="workload -> design id")
    labels: dict[str, str] = Field(description="workload -> short label")
    pools: list[PoolDoc]
    metrics: dict[str, Number | None] = Field(
        description="dc_* metrics, accelerator_types, software_stacks, ..."
    )
    feasible: bool
    rejection: RejectionDoc | None
    reason: str | None
    score: Number | None
    rank: int | None
    principle_scores: dict[str, Number | None]
    pareto: bool
    explanation: str | None


class DataCenterDecisionDoc(_Doc):
    """Step 4 for the whole data center."""

    n_evaluated: int = Field(description="compositions evaluated (dedicated and shared pools)")
    n_feasible: int
    options_per_workload: dict[str, int]
    chosen: CompositionDoc | None
    alternatives: list[CompositionDoc]
    rejected: list[CompositionDoc]
    rejection_summary: dict[str, int]
    ranking: RankingDoc | None
    n_pareto: int = Field(description="feasible compositions on the Pareto front (the ones ranked)")
    why: list[str]
    criteria: list[CriterionDoc]
    sensitivity: SensitivityDoc | None
    deployment_mix: dict[str, int] = Field(description="devices on-prem and in the cloud")


class StepDoc(_Doc):
    step: int
    name: str
    summary: str


class ValidationDoc(_Doc):
    """One model's error against measured results (catalog validation.yaml)."""

    id: str
    model: str
    metric: str
    data: str
    method: str
    n: int
    median_abs_error: float = Field(description="fraction: 0.09 = 9%")
    p90_abs_error: float | None
    target_median_abs_error: float | None
    target_p90_abs_error: float | None
    command: str = Field(description="reproduces the figure")
    measured_on: str


class PlanDocument(_Doc):
    """The output of `aidc plan --json`."""

    model_config = ConfigDict(extra="forbid", title="aidc plan")

    scenario: str
    description: str
    steps: list[StepDoc] = Field(description="the five steps of the selection process")
    workloads: list[WorkloadDoc]
    datacenter: dict[str, Any] = Field(
        description="infrastructure sizing of the chosen designs (planner/datacenter.py)"
    )
    assumptions: list[str]
    schema_version: Literal[2] = Field(description="bumped whenever this shape changes")
    requirements_summary: list[str] = Field(
        description="step 1 in lines: limits, security, preferences, data, then one line per workload"
    )
    decision: DataCenterDecisionDoc | None
    validation: list[ValidationDoc] = Field(
        description="how far each model this plan used is from measured results"
    )


def plan_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the plan document."""
    schema = PlanDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
