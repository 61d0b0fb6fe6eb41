"""Every metric declares its unit, its direction and the principle it informs.

Pareto and ranking code never guesses whether more is better: it asks this registry.
The five principles are the seed document's (performance, scalability,
cost-effectiveness, security, maintainability). Each principle is computed from named
*sub-metrics* (the ``role`` of a metric): performance from time, latency and throughput;
scalability from headroom, the largest feasible scale and scaling efficiency;
cost-effectiveness from TCO and cost per token (or request); security from the share of
required features met; maintainability from ecosystem maturity, support status and
operational complexity. :data:`RANKING_METRICS` lists, per workload kind, the metrics
that enter the ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["min", "max"]
Principle = Literal[
    "performance", "scalability", "cost_effectiveness", "security", "maintainability"
]
PRINCIPLES: tuple[Principle, ...] = (
    "performance",
    "scalability",
    "cost_effectiveness",
    "security",
    "maintainability",
)

Role = Literal[
    "time",
    "latency",
    "throughput",
    "headroom",
    "largest_scale",
    "scaling_efficiency",
    "tco",
    "cost_per_unit",
    "features_met",
    "ecosystem_maturity",
    "support_status",
    "operational_complexity",
    "aggregate",
    "other",
]

PRINCIPLE_ROLES: dict[Principle, tuple[Role, ...]] = {
    "performance": ("time", "latency", "throughput"),
    "scalability": ("headroom", "largest_scale", "scaling_efficiency"),
    "cost_effectiveness": ("tco", "cost_per_unit"),
    "security": ("features_met",),
    "maintainability": ("ecosystem_maturity", "support_status", "operational_complexity"),
}

Scale = Literal["linear", "log", "identity"]
"""How a metric is normalised for ranking: ``log`` for ratio-scale quantities compared by
ratio (times, rates, costs: twice the cost is equally bad at any level), ``linear`` for
scores, fractions and counts, ``identity`` for values that already are scores in [0, 1]
(1 = best; e.g. the mean of the workloads' own principle scores), which keep their value
so that the data-center ranking agrees with the workloads' rankings where nothing at
the data-center level tells them apart. A log metric with a value <= 0 falls back to
linear."""

Exposure = Literal["none", "time", "rate", "cost"]
"""How a metric moves under model error and price uncertainty (see decide/sensitivity):
``time`` scales with the performance model's error factor, ``rate`` with its inverse,
``cost`` with both the error factor and the price factor, ``none`` with neither."""


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    direction: Direction
    principle: Principle
    description: str
    role: Role = "other"
    exposure: Exposure = "none"
    label: str = ""
    scale: Scale = "linear"

    @property
    def title(self) -> str:
        """Short human name for explanations ("time to train")."""
        return self.label or self.name.replace("_", " ")


_SPECS = [
    MetricSpec(
        "time_to_train_s",
        "s",
        "min",
        "performance",
        description="wall-clock time to train",
        role="time",
        exposure="time",
        label="time to train",
        scale="log",
    ),
    MetricSpec(
        "tokens_per_s",
        "token/s",
        "max",
        "performance",
        description="training throughput",
        role="throughput",
        exposure="rate",
        label="training throughput",
        scale="log",
    ),
    MetricSpec(
        "mfu",
        "1",
        "max",
        "performance",
        description="model FLOPs utilisation",
        label="MFU",
    ),
    MetricSpec(
        "p99_latency_s",
        "s",
        "min",
        "performance",
        description="p99 end-to-end latency (encoders)",
        role="latency",
        exposure="time",
        label="p99 latency",
        scale="log",
    ),
    MetricSpec(
        "ttft_p99_s",
        "s",
        "min",
        "performance",
        description="p99 time to first token",
        role="latency",
        exposure="time",
        label="p99 time to first token",
        scale="log",
    ),
    MetricSpec(
        "tpot_p99_s",
        "s",
        "min",
        "performance",
        description="p99 time per output token",
        role="latency",
        exposure="time",
        label="p99 time per output token",
        scale="log",
    ),
    MetricSpec(
        "requests_per_s_per_device",
        "request/s",
        "max",
        "performance",
        description="requests per second one device carries in this design (replica capacity / devices)",
        role="throughput",
        exposure="rate",
        label="throughput per device",
        scale="log",
    ),
    MetricSpec(
        "scaling_headroom",
        "1",
        "max",
        "scalability",
        description="largest feasible device count of this design's kind over the count chosen",
        role="largest_scale",
        exposure="none",
        label="room to scale out",
        scale="log",
    ),
    MetricSpec(
        "deadline_slack",
        "1",
        "max",
        "scalability",
        description="fraction of the deadline left unused (room to grow the run)",
        role="headroom",
        exposure="none",
        label="deadline slack",
    ),
    MetricSpec(
        "capacity_headroom",
        "1",
        "max",
        "scalability",
        description="capacity of the deployed replicas over the peak load",
        role="headroom",
        exposure="none",
        label="capacity headroom",
        scale="log",
    ),
    MetricSpec(
        "load_scale_limit",
        "1",
        "max",
        "scalability",
        description="multiple of the peak load this design can grow to within constraints.max_devices",
        role="largest_scale",
        exposure="none",
        label="largest feasible load",
        scale="log",
    ),
    MetricSpec(
        "scaling_efficiency",
        "1",
        "max",
        "scalability",
        description="throughput per device at this size over the best throughput per device of the same accelerator at any feasible size",
        role="scaling_efficiency",
        exposure="none",
        label="scaling efficiency",
    ),
    MetricSpec(
        "largest_feasible_devices",
        "device",
        "max",
        "scalability",
        description="largest device count of this accelerator that gives a feasible design",
        role="other",
        exposure="none",
        label="largest feasible cluster",
        scale="log",
    ),
    MetricSpec(
        "run_cost_usd",
        "USD",
        "min",
        "cost_effectiveness",
        description="cost of one training run",
        role="other",
        exposure="cost",
        label="cost per run",
        scale="log",
    ),
    MetricSpec(
        "energy_kwh",
        "kWh",
        "min",
        "cost_effectiveness",
        description="facility energy of one run",
        role="other",
        exposure="time",
        label="energy per run",
        scale="log",
    ),
    MetricSpec(
        "usd_per_million_tokens",
        "USD/Mtoken",
        "min",
        "cost_effectiveness",
        description="cost per million tokens (served at the mean load, or trained)",
        role="cost_per_unit",
        exposure="cost",
        label="cost per million tokens",
        scale="log",
    ),
    MetricSpec(
        "usd_per_1k_requests",
        "USD/krequest",
        "min",
        "cost_effectiveness",
        description="cost per thousand requests at the mean load",
        role="cost_per_unit",
        exposure="cost",
        label="cost per thousand requests",
        scale="log",
    ),
    MetricSpec(
        "tco_3y_usd",
        "USD",
        "min",
        "cost_effectiveness",
        description="three-year total cost",
        role="tco",
        exposure="cost",
        label="three-year TCO",
        scale="log",
    ),
    MetricSpec(
        "capex_usd",
        "USD",
        "min",
        "cost_effectiveness",
        description="up-front purchase",
        role="other",
        exposure="cost",
        label="capex",
        scale="log",
    ),
    MetricSpec(
        "facility_power_w",
        "W",
        "min",
        "cost_effectiveness",
        description="facility power incl. PUE",
        role="other",
        exposure="none",
        label="facility power",
        scale="log",
    ),
    MetricSpec(
        "security_score",
        "1",
        "max",
        "security",
        description="share of required security features met",
        role="features_met",
        exposure="none",
        label="security features met",
    ),
    MetricSpec(
        "ecosystem_maturity",
        "1",
        "max",
        "maintainability",
        description="ecosystem maturity of the framework or engine (catalog software.maturity, 0..1)",
        role="ecosystem_maturity",
        exposure="none",
        label="ecosystem maturity",
    ),
    MetricSpec(
        "support_status",
        "1",
        "max",
        "maintainability",
        description="support status of the software: active 1, maintenance 0.5, legacy 0.25, deprecated 0",
        role="support_status",
        exposure="none",
        label="support status",
    ),
    MetricSpec(
        "operational_complexity",
        "1",
        "min",
        "maintainability",
        description="parallelism dimensions in use (TP, PP, DP, ZeRO-3 sharding, replicas) plus one when the design spans more than one node",
        role="operational_complexity",
        exposure="none",
        label="operational complexity",
    ),
    # data-center level (one value per composition of workload designs)
    MetricSpec(
        "dc_performance",
        "1",
        "max",
        "performance",
        description="mean of the chosen designs' performance scores (each within its workload)",
        role="aggregate",
        label="workload performance",
        scale="identity",
    ),
    MetricSpec(
        "dc_scalability",
        "1",
        "max",
        "scalability",
        description="mean of the chosen designs' scalability scores (each within its workload)",
        role="aggregate",
        label="workload scalability",
        scale="identity",
    ),
    MetricSpec(
        "dc_power_headroom",
        "1",
        "max",
        "scalability",
        description="share of the facility power envelope left unused (1 - on-prem power / limit)",
        role="headroom",
        label="power headroom",
    ),
    MetricSpec(
        "dc_tco_3y_usd",
        "USD",
        "min",
        "cost_effectiveness",
        description="three-year total cost of all workloads, after pooling spares",
        role="tco",
        exposure="cost",
        label="data-center three-year TCO",
        scale="log",
    ),
    MetricSpec(
        "dc_capex_usd",
        "USD",
        "min",
        "cost_effectiveness",
        description="up-front purchase of the on-prem pools",
        exposure="cost",
        label="data-center capex",
        scale="log",
    ),
    MetricSpec(
        "dc_facility_power_w",
        "W",
        "min",
        "cost_effectiveness",
        description="facility power of the on-prem pools incl. PUE",
        label="on-prem facility power",
        scale="log",
    ),
    MetricSpec(
        "dc_cloud_usd_per_month",
        "USD",
        "min",
        "cost_effectiveness",
        description="cloud spend per month (three-year cloud cost / 36)",
        exposure="cost",
        label="cloud spend per month",
    ),
    MetricSpec(
        "dc_devices",
        "device",
        "min",
        "cost_effectiveness",
        description="accelerators in all pools (on-prem and cloud)",
        label="accelerators",
    ),
    MetricSpec(
        "dc_racks",
        "rack",
        "min",
        "cost_effectiveness",
        description="racks for the on-prem pools at constraints.rack_power_kw",
        label="racks",
    ),
    MetricSpec(
        "spare_devices_pooled",
        "device",
        "max",
        "cost_effectiveness",
        description="spare devices saved by sharing pools",
        label="spares saved by pooling",
    ),
    MetricSpec(
        "dc_security",
        "1",
        "max",
        "security",
        description="lowest share of required security features met by any workload's design",
        role="features_met",
        label="security features met (weakest workload)",
        scale="identity",
    ),
    MetricSpec(
        "dc_maintainability",
        "1",
        "max",
        "maintainability",
        description="mean of the chosen designs' maintainability scores (each within its workload)",
        role="aggregate",
        label="workload maintainability",
        scale="identity",
    ),
    MetricSpec(
        "accelerator_types",
        "count",
        "min",
        "maintainability",
        description="distinct accelerator models to buy, run and keep spares for",
        role="operational_complexity",
        label="accelerator types",
    ),
    MetricSpec(
        "software_stacks",
        "count",
        "min",
        "maintainability",
        description="distinct frameworks and inference engines to operate",
        role="operational_complexity",
        label="software stacks",
    ),
    MetricSpec(
        "maintainability_score",
        "1",
        "max",
        "maintainability",
        description="planner's first-cut maintainability (maturity minus a complexity penalty)",
        label="maintainability",
    ),
]

METRICS: dict[str, MetricSpec] = {m.name: m for m in _SPECS}

RANKING_METRICS: dict[str, tuple[str, ...]] = {
    "training": (
        "time_to_train_s",
        "tokens_per_s",
        "deadline_slack",
        "scaling_headroom",
        "scaling_efficiency",
        "tco_3y_usd",
        "usd_per_million_tokens",
        "security_score",
        "ecosystem_maturity",
        "support_status",
        "operational_complexity",
    ),
    "generation": (
        "ttft_p99_s",
        "tpot_p99_s",
        "requests_per_s_per_device",
        "capacity_headroom",
        "load_scale_limit",
        "scaling_efficiency",
        "tco_3y_usd",
        "usd_per_million_tokens",
        "security_score",
        "ecosystem_maturity",
        "support_status",
        "operational_complexity",
    ),
    "encoder": (
        "p99_latency_s",
        "requests_per_s_per_device",
        "capacity_headroom",
        "load_scale_limit",
        "scaling_efficiency",
        "tco_3y_usd",
        "usd_per_1k_requests",
        "security_score",
        "ecosystem_maturity",
        "support_status",
        "operational_complexity",
    ),
    "datacenter": (
        "dc_performance",
        "dc_scalability",
        "dc_power_headroom",
        "dc_tco_3y_usd",
        "dc_security",
        "dc_maintainability",
        "accelerator_types",
        "software_stacks",
    ),
}
"""The metrics that enter the Pareto front and the ranking, per workload kind (and for
the data center as a whole)."""


def spec(name: str) -> MetricSpec:
    return METRICS[name]


def principle_metrics(names: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """The given metrics grouped by the principle they inform (registry order kept)."""
    out: dict[str, list[str]] = {p: [] for p in PRINCIPLES}
    for n in names:
        out[METRICS[n].principle].append(n)
    return out
