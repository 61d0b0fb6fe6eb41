"""Every metric declares its unit, its direction and the principle it informs.

Pareto and ranking code never guesses whether more is better: it asks this registry.
The five principles are the seed document's (performance, scalability,
cost-effectiveness, security, maintainability).
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


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    direction: Direction
    principle: Principle
    description: str


_SPECS = [
    # training
    MetricSpec("time_to_train_s", "s", "min", "performance", "wall-clock time to train"),
    MetricSpec("tokens_per_s", "token/s", "max", "performance", "training throughput"),
    MetricSpec("mfu", "1", "max", "performance", "model FLOPs utilisation"),
    MetricSpec(
        "scaling_headroom",
        "1",
        "max",
        "scalability",
        "largest feasible device count of this design's kind over the count chosen",
    ),
    MetricSpec(
        "deadline_slack",
        "1",
        "max",
        "scalability",
        "fraction of the deadline left unused (room to grow the run)",
    ),
    MetricSpec("run_cost_usd", "USD", "min", "cost_effectiveness", "cost of one training run"),
    MetricSpec("energy_kwh", "kWh", "min", "cost_effectiveness", "facility energy of one run"),
    # inference
    MetricSpec("p99_latency_s", "s", "min", "performance", "p99 end-to-end latency (encoders)"),
    MetricSpec("ttft_p99_s", "s", "min", "performance", "p99 time to first token"),
    MetricSpec("tpot_p99_s", "s", "min", "performance", "p99 time per output token"),
    MetricSpec(
        "capacity_headroom",
        "1",
        "max",
        "scalability",
        "capacity of the deployed replicas over the peak load",
    ),
    MetricSpec(
        "usd_per_million_tokens",
        "USD/Mtoken",
        "min",
        "cost_effectiveness",
        "cost per million tokens served at the mean load",
    ),
    MetricSpec(
        "usd_per_1k_requests",
        "USD/krequest",
        "min",
        "cost_effectiveness",
        "cost per thousand requests at the mean load",
    ),
    # shared
    MetricSpec("tco_3y_usd", "USD", "min", "cost_effectiveness", "three-year total cost"),
    MetricSpec("capex_usd", "USD", "min", "cost_effectiveness", "up-front purchase"),
    MetricSpec("facility_power_w", "W", "min", "cost_effectiveness", "facility power incl. PUE"),
    MetricSpec("security_score", "1", "max", "security", "share of required security features met"),
    MetricSpec(
        "maintainability_score",
        "1",
        "max",
        "maintainability",
        "software maturity and support status, minus operational complexity",
    ),
]

METRICS: dict[str, MetricSpec] = {m.name: m for m in _SPECS}


def spec(name: str) -> MetricSpec:
    return METRICS[name]
