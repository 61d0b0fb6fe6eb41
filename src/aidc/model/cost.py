"""Cost: capex with amortisation, opex (energy, maintenance, space), the cloud
alternative, and unit costs (per training run, per million tokens, per 1,000 requests).

* amortised capex per second: ``capex / life`` (straight line over ``life`` seconds);
* opex per second: energy ``P_facility x $/kWh`` + maintenance ``m x hardware capex /
  year`` + space (colocation ``$/W-month x IT W``, when the site is rented);
* on-prem cost of a time ``t``: ``(amortised capex + opex) x t``;
* cloud cost: ``devices x t x $/device-hour`` (on-demand or reserved price);
* per million tokens: ``cost per second / tokens per second x 1e6``; per 1,000 requests:
  ``cost per second / requests per second x 1e3``;
* three-year TCO on-prem: ``capex + 3 years x opex`` (the site built, or rented).

Every function is linear in the counts and prices it is given (the property tests check
it), and broadcasts over numpy arrays; USD and SI units inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.units import HOUR, JOULES_PER_KWH, KILO, MEGA, YEAR

ArrayLike = np.ndarray | float


@dataclass(frozen=True)
class CapexBreakdown:
    """Up-front purchases by component (USD, arrays)."""

    compute_usd: np.ndarray  # accelerators with their share of the servers
    network_usd: np.ndarray
    storage_usd: np.ndarray
    services_usd: np.ndarray
    facility_usd: np.ndarray  # building (zero when the site is rented)

    @property
    def hardware_usd(self) -> np.ndarray:
        return self.compute_usd + self.network_usd + self.storage_usd + self.services_usd

    @property
    def total_usd(self) -> np.ndarray:
        return self.hardware_usd + self.facility_usd


def capex_breakdown(
    *,
    n_devices: ArrayLike,
    price_usd_per_device: ArrayLike,
    network_usd: ArrayLike,
    storage_usd: ArrayLike,
    services_usd: ArrayLike,
    it_power_w: ArrayLike,
    build_usd_per_w: ArrayLike,
) -> CapexBreakdown:
    """``build_usd_per_w`` is the facility build cost per W of IT load (0 if rented)."""
    return CapexBreakdown(
        compute_usd=np.asarray(n_devices, float) * np.asarray(price_usd_per_device, float),
        network_usd=np.asarray(network_usd, float),
        storage_usd=np.asarray(storage_usd, float),
        services_usd=np.asarray(services_usd, float),
        facility_usd=np.asarray(it_power_w, float) * np.asarray(build_usd_per_w, float),
    )


def amortised_usd_per_s(capex_usd: ArrayLike, life_s: ArrayLike) -> np.ndarray:
    return np.asarray(capex_usd, float) / np.asarray(life_s, float)


@dataclass(frozen=True)
class OpexRates:
    """Running costs per second (USD/s, arrays)."""

    energy_usd_per_s: np.ndarray
    maintenance_usd_per_s: np.ndarray
    space_usd_per_s: np.ndarray

    @property
    def total_usd_per_s(self) -> np.ndarray:
        return self.energy_usd_per_s + self.maintenance_usd_per_s + self.space_usd_per_s


def opex_rates(
    *,
    facility_power_w: ArrayLike,
    electricity_usd_per_kwh: ArrayLike,
    hardware_capex_usd: ArrayLike,
    maintenance_fraction_per_year: ArrayLike,
    it_power_w: ArrayLike,
    space_usd_per_w_per_s: ArrayLike,
) -> OpexRates:
    """Energy at the facility meter, maintenance as a yearly share of hardware, space."""
    return OpexRates(
        energy_usd_per_s=np.asarray(facility_power_w, float)
        / JOULES_PER_KWH
        * np.asarray(electricity_usd_per_kwh, float),
        maintenance_usd_per_s=np.asarray(hardware_capex_usd, float)
        * np.asarray(maintenance_fraction_per_year, float)
        / YEAR,
        space_usd_per_s=np.asarray(it_power_w, float) * np.asarray(space_usd_per_w_per_s, float),
    )


def cloud_cost_usd(
    n_devices: ArrayLike, seconds: ArrayLike, usd_per_device_hour: ArrayLike
) -> np.ndarray:
    return (
        np.asarray(n_devices, float)
        * np.asarray(seconds, float)
        / HOUR
        * np.asarray(usd_per_device_hour, float)
    )


def usd_per_million_tokens(usd_per_s: ArrayLike, tokens_per_s: ArrayLike) -> np.ndarray:
    return np.asarray(usd_per_s, float) / np.maximum(np.asarray(tokens_per_s, float), 1e-300) * MEGA


def usd_per_1k_requests(usd_per_s: ArrayLike, requests_per_s: ArrayLike) -> np.ndarray:
    return (
        np.asarray(usd_per_s, float) / np.maximum(np.asarray(requests_per_s, float), 1e-300) * KILO
    )


def tco_usd(capex_usd: ArrayLike, opex_usd_per_s: ArrayLike, horizon_s: ArrayLike) -> np.ndarray:
    return np.asarray(capex_usd, float) + np.asarray(opex_usd_per_s, float) * np.asarray(
        horizon_s, float
    )
