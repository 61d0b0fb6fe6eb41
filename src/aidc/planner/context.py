"""Everything a plan needs besides the scenario: catalog, calibration, prices, models.

Built at the edge (the CLI reads files); the planner itself only reads this frozen value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aidc.catalog.calibration import Calibration
from aidc.catalog.efficiency import KernelEfficiency, load_kernel_efficiency
from aidc.catalog.loader import Catalog
from aidc.catalog.schema import Accelerator, ModelArch, Precision
from aidc.model.power import FacilityParams
from aidc.search.prune import accelerator_screen
from aidc.spec.scenario import Constraints, PriceOverrides, Scenario

# Facility defaults: which catalog facts stand in when the scenario gives none.
DEFAULT_PUE_ID = "pue-industry-2024"
DEFAULT_ELECTRICITY_ID = "electricity-us-industrial-2023"
# Hosts (CPUs, memory, NICs, fans) draw about this share on top of the accelerators:
# DGX H100 max 10.2 kW for 8 x 700 W GPUs = 5.6 kW -> 0.82 extra; DGX A100 6.5 kW for
# 8 x 400 W = 3.2 kW -> 1.03 extra (facility.yaml). Max system power overstates typical
# draw, so the lower figure is used.
HOST_POWER_FRACTION = 0.8


@dataclass(frozen=True)
class PlanContext:
    catalog: Catalog
    calibration: Calibration
    models: dict[str, ModelArch]  # workload name -> resolved architecture
    facility: FacilityParams
    # kernel-efficiency data (catalog/data/kernel_efficiency.yaml): the training model's GEMM
    # and attention efficiencies, the serving model's GEMM shape half-points
    kernel_efficiency: tuple[KernelEfficiency, ...] = field(default_factory=load_kernel_efficiency)

    def price_usd(self, acc: Accelerator, overrides: PriceOverrides) -> float:
        if acc.id in overrides.accelerator_usd:
            return overrides.accelerator_usd[acc.id]
        return acc.list_price_usd if acc.list_price_usd else math.nan

    def cloud_usd_per_hour(self, acc: Accelerator, overrides: PriceOverrides) -> float:
        if acc.id in overrides.cloud_usd_per_device_hour:
            return overrides.cloud_usd_per_device_hour[acc.id]
        prices = [
            p.usd_per_device_hour
            for p in self.catalog.prices
            if p.item == acc.id and p.price_type == "on-demand"
        ]
        if prices:
            return min(prices)
        return acc.cloud_usd_per_device_hour or math.nan


def facility_params(catalog: Catalog, prices: PriceOverrides) -> FacilityParams:
    return FacilityParams(
        pue=prices.pue or catalog.facility_value(DEFAULT_PUE_ID),
        electricity_usd_per_kwh=prices.electricity_usd_per_kwh
        or catalog.facility_value(DEFAULT_ELECTRICITY_ID),
        host_power_fraction=HOST_POWER_FRACTION,
        amortisation_years=prices.amortisation_years,
    )


def candidate_accelerators(
    catalog: Catalog,
    constraints: Constraints,
    precision: Precision | None = None,
    role: str | None = None,
) -> list[Accelerator]:
    """Accelerators the scenario allows (explicit list, vendor list, role, deployment,
    precision).

    The rules and the reasons for each removal live in :mod:`aidc.search.prune`.
    """
    return accelerator_screen(catalog, constraints, precision, role)[0]


def check_models_resolved(scenario: Scenario, models: dict[str, ModelArch]) -> None:
    names = [w.name for w in scenario.workloads.training] + [
        s.name for s in scenario.workloads.inference
    ]
    missing = [n for n in names if n not in models]
    if missing:
        raise ValueError(f"models not resolved for workloads: {missing}")
