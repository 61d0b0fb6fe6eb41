"""Pydantic models of a scenario file: workloads, data, constraints, preferences.

A scenario says what an organisation wants to run and under which constraints. Field
names carry their units (``deadline_days``, ``p99_latency_ms``, ``power_kw``); the
core converts them to SI. ``aidc schema`` prints the JSON Schema of :class:`Scenario`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aidc.decide.ahp import ahp_weights

Optimizer = Literal["sgd", "momentum", "rmsprop", "adam", "adamw", "adafactor", "adam8bit"]
TrainPrecision = Literal["fp32", "tf32", "bf16", "fp16", "fp8"]
ServePrecision = Literal[
    "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "int8-weight-only", "int4-weight-only", "fp4"
]
Recompute = Literal["none", "selective", "full", "auto"]
Principle = Literal[
    "performance", "scalability", "cost_effectiveness", "security", "maintainability"
]

PositiveFloat = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InlineModel(_Strict):
    """A model architecture written into the scenario (instead of a catalog name)."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["decoder", "encoder"] = "decoder"
    n_layers: int = Field(ge=1, le=1000)
    hidden_size: int = Field(ge=1, le=200_000)
    n_heads: int = Field(ge=1, le=10_000)
    n_kv_heads: int | None = Field(default=None, ge=1)
    ffn_hidden_size: int | None = Field(default=None, ge=1)
    gated_mlp: bool = False
    vocab_size: int = Field(ge=1, le=10_000_000)
    max_seq_len: int = Field(default=2048, ge=1)
    n_experts: int = Field(default=1, ge=1)
    experts_per_token: int = Field(default=1, ge=1)


ModelRef = Annotated[
    str | InlineModel,
    Field(
        description=(
            "a catalog model name (see `aidc catalog list models`), a path to a Hugging "
            "Face config.json (or its folder), or an inline architecture"
        )
    ),
]


class TrainingWorkload(_Strict):
    """A training run: a model, how much data, by when."""

    name: str = Field(min_length=1, max_length=200)
    model: ModelRef
    tokens: PositiveFloat | None = Field(default=None, le=1e16, description="training tokens")
    steps: int | None = Field(default=None, ge=1, le=10**9)
    global_batch_tokens: PositiveFloat | None = Field(
        default=None,
        le=1e9,
        description=(
            "tokens per optimizer step; unset: ~4 M, growing to 1,024 per device on large "
            "clusters (aidc.search.training_space.default_global_batch_tokens)"
        ),
    )
    seq_len: int = Field(default=2048, ge=16, le=10_000_000)
    deadline_days: PositiveFloat | None = Field(default=None, le=3650)
    optimizer: Optimizer = "adamw"
    precision: TrainPrecision = "bf16"
    recompute: Recompute = "auto"
    runs_per_year: PositiveFloat = Field(default=1.0, le=10_000)

    @model_validator(mode="after")
    def _amount(self) -> TrainingWorkload:
        if self.tokens is None and self.steps is None:
            raise ValueError("give either tokens or steps")
        if self.steps is not None and self.tokens is None and self.global_batch_tokens is None:
            raise ValueError("steps needs global_batch_tokens (or give tokens instead)")
        return self

    def total_tokens(self) -> float:
        if self.tokens is not None:
            return self.tokens
        assert self.steps is not None and self.global_batch_tokens is not None
        return self.steps * self.global_batch_tokens


class TokenLengths(_Strict):
    """Request lengths: a mean and, optionally, a spread (lognormal when p99 is given)."""

    mean: PositiveFloat = Field(le=10_000_000)
    p99: PositiveFloat | None = Field(default=None, le=10_000_000)

    @model_validator(mode="after")
    def _order(self) -> TokenLengths:
        if self.p99 is not None and self.p99 < self.mean:
            raise ValueError("p99 must be at least the mean")
        return self


class Traffic(_Strict):
    peak_rps: PositiveFloat = Field(le=10_000_000, description="peak requests per second")
    mean_rps: PositiveFloat | None = Field(default=None, le=10_000_000)
    input_tokens: TokenLengths
    output_tokens: TokenLengths | None = None
    arrival: Literal["poisson", "bursty"] = "poisson"
    trace_file: str | None = Field(
        default=None, description="CSV of arrival timestamps and lengths"
    )

    @model_validator(mode="after")
    def _mean_le_peak(self) -> Traffic:
        if self.mean_rps is not None and self.mean_rps > self.peak_rps:
            raise ValueError("mean_rps cannot exceed peak_rps")
        return self

    @property
    def mean_or_peak_rps(self) -> float:
        return self.mean_rps if self.mean_rps is not None else self.peak_rps


class Slo(_Strict):
    p99_latency_ms: PositiveFloat | None = Field(default=None, le=3_600_000)
    ttft_p99_ms: PositiveFloat | None = Field(default=None, le=3_600_000)
    tpot_p99_ms: PositiveFloat | None = Field(default=None, le=60_000)


class InferenceService(_Strict):
    """An inference service: a model, a task, traffic and its SLO."""

    name: str = Field(min_length=1, max_length=200)
    model: ModelRef
    task: Literal["generation", "classification", "qa", "embedding"]
    traffic: Traffic
    slo: Slo
    availability: float = Field(default=0.999, ge=0.9, lt=1.0)
    precisions: list[ServePrecision] | Literal["auto"] = "auto"
    engines: list[str] | Literal["auto"] = "auto"

    @model_validator(mode="after")
    def _task_fits(self) -> InferenceService:
        if self.task == "generation":
            if self.traffic.output_tokens is None:
                raise ValueError("a generation service needs traffic.output_tokens")
            if self.slo.ttft_p99_ms is None and self.slo.tpot_p99_ms is None:
                raise ValueError("a generation service needs slo.ttft_p99_ms or slo.tpot_p99_ms")
        elif self.slo.p99_latency_ms is None:
            raise ValueError(f"a {self.task} service needs slo.p99_latency_ms")
        return self


class Ensemble(_Strict):
    """k models answering together (bagging or boosting): k times the inference work."""

    name: str = Field(min_length=1, max_length=200)
    service: str = Field(description="name of the inference service the ensemble serves")
    k: int = Field(ge=2, le=64)
    method: Literal["bagging", "boosting", "voting"] = "voting"


class Dataset(_Strict):
    name: str = Field(min_length=1, max_length=200)
    size_tb: PositiveFloat = Field(le=1e6, description="stored size in decimal TB")
    modality: Literal["text", "image", "audio", "video", "multimodal", "tabular"] = "text"
    tokens: PositiveFloat | None = Field(default=None, le=1e16)
    growth_per_year: float = Field(default=0.0, ge=0, le=100, description="fraction, 0.5 = +50%/yr")
    retention_days: PositiveFloat | None = Field(default=None, le=36500)


class CheckpointPolicy(_Strict):
    interval_minutes: PositiveFloat | Literal["auto"] = "auto"
    keep_last: int = Field(default=3, ge=1, le=1000)
    max_stall_fraction: float = Field(default=0.05, gt=0, lt=1)


class DataSpec(_Strict):
    datasets: list[Dataset] = Field(default_factory=list)
    checkpoints: CheckpointPolicy = Field(default_factory=CheckpointPolicy)
    preprocess_within_hours: PositiveFloat | None = Field(default=None, le=8760)


class Security(_Strict):
    encryption_at_rest: bool = False
    encryption_in_transit: bool = False
    confidential_computing: bool = False
    multi_tenant_isolation: bool = False
    audit_logging: bool = False
    anonymisation: bool = False


class Constraints(_Strict):
    capex_usd: PositiveFloat | None = Field(default=None, le=1e12)
    tco_3y_usd: PositiveFloat | None = Field(default=None, le=1e12)
    cloud_usd_per_month: PositiveFloat | None = Field(default=None, le=1e11)
    power_kw: PositiveFloat | None = Field(default=None, le=5e6)
    racks: int | None = Field(default=None, ge=1, le=100_000)
    rack_power_kw: PositiveFloat | None = Field(default=None, le=500)
    allowed_vendors: list[str] | None = None
    accelerators: list[str] | None = Field(
        default=None, description="restrict the search to these accelerators"
    )
    max_devices: int = Field(default=16384, ge=1, le=1_000_000)
    deployment: Literal["on-prem", "cloud", "either"] = "either"
    region: str | None = None
    data_residency: str | None = None
    security: Security = Field(default_factory=Security)


class Preferences(_Strict):
    """Weights over the seed's five selection principles (normalised to sum 1)."""

    performance: float = Field(default=1.0, ge=0, le=100)
    scalability: float = Field(default=1.0, ge=0, le=100)
    cost_effectiveness: float = Field(default=1.0, ge=0, le=100)
    security: float = Field(default=1.0, ge=0, le=100)
    maintainability: float = Field(default=1.0, ge=0, le=100)
    method: Literal["weighted-sum", "topsis", "ahp"] = "topsis"
    ahp_pairwise: dict[str, float] | None = Field(
        default=None,
        description="AHP judgements 'a>b': how much more a matters than b (1/9..9)",
    )

    @field_validator("ahp_pairwise")
    @classmethod
    def _ahp_consistent(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None:
            ahp_weights(v)  # raises one line naming the bad pair
        return v

    @model_validator(mode="after")
    def _some_weight(self) -> Preferences:
        if self.method == "ahp" and not self.ahp_pairwise:
            raise ValueError(
                "method 'ahp' needs ahp_pairwise judgements, e.g. 'performance>security': 3"
            )
        if self.method != "ahp" and sum(self.weights().values()) <= 0:
            raise ValueError("at least one preference weight must be positive")
        return self

    def weights(self) -> dict[str, float]:
        return {
            "performance": self.performance,
            "scalability": self.scalability,
            "cost_effectiveness": self.cost_effectiveness,
            "security": self.security,
            "maintainability": self.maintainability,
        }

    def normalised(self) -> dict[str, float]:
        """The weights in force, summing to 1 (from the AHP judgements when method is 'ahp')."""
        if self.method == "ahp" and self.ahp_pairwise:
            return ahp_weights(self.ahp_pairwise).weights
        w = self.weights()
        total = sum(w.values())
        return {k: v / total for k, v in w.items()}


class PriceOverrides(_Strict):
    electricity_usd_per_kwh: PositiveFloat | None = Field(default=None, le=10)
    pue: float | None = Field(default=None, ge=1.0, le=3.0)
    accelerator_usd: dict[str, PositiveFloat] = Field(default_factory=dict)
    cloud_usd_per_device_hour: dict[str, PositiveFloat] = Field(default_factory=dict)
    amortisation_years: PositiveFloat = Field(default=4.0, le=15)
    grid_kg_co2_per_kwh: float | None = Field(default=None, ge=0, le=2)
    facility: Literal["colocation", "build"] = Field(
        default="colocation",
        description="rent space and power per kW-month, or build and own the site",
    )
    colocation_usd_per_kw_month: PositiveFloat | None = Field(default=None, le=10_000)
    facility_build_usd_per_kw: PositiveFloat | None = Field(default=None, le=1_000_000)
    facility_amortisation_years: PositiveFloat = Field(
        default=15.0, le=50, description="straight-line life of a built site"
    )
    maintenance_fraction_per_year: float | None = Field(
        default=None, ge=0, le=1, description="hardware support per year, share of capex"
    )


class Workloads(_Strict):
    training: list[TrainingWorkload] = Field(default_factory=list)
    inference: list[InferenceService] = Field(default_factory=list)

    @model_validator(mode="after")
    def _non_empty_unique(self) -> Workloads:
        names = [w.name for w in self.training] + [s.name for s in self.inference]
        if not names:
            raise ValueError("a scenario needs at least one training or inference workload")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"workload names must be unique; repeated: {', '.join(dupes)}")
        return self


class Scenario(_Strict):
    """Everything aidc needs to plan an AI data center."""

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    workloads: Workloads
    ensembles: list[Ensemble] = Field(default_factory=list)
    data: DataSpec = Field(default_factory=DataSpec)
    constraints: Constraints = Field(default_factory=Constraints)
    preferences: Preferences = Field(default_factory=Preferences)
    prices: PriceOverrides = Field(default_factory=PriceOverrides)

    @model_validator(mode="after")
    def _ensembles_refer(self) -> Scenario:
        services = {s.name for s in self.workloads.inference}
        for e in self.ensembles:
            if e.service not in services:
                known = ", ".join(sorted(services)) or "none"
                raise ValueError(
                    f"ensemble {e.name!r} refers to unknown service {e.service!r} (known: {known})"
                )
        return self
