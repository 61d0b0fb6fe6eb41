"""First-cut power, energy and cost of a set of devices (arrays per candidate).

Facility power = devices x device power at utilisation x (1 + host overhead) x PUE.
Capex = devices x price per device (a system price divided by its devices where that
is what the catalog knows). Opex = energy x electricity price. Cloud cost = device-hours
x the dated on-demand price. NaN means the catalog has no figure: the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.units import HOUR, JOULES_PER_KWH, YEAR


@dataclass(frozen=True)
class FacilityParams:
    pue: float
    electricity_usd_per_kwh: float
    host_power_fraction: float  # CPUs, NICs, fans, storage per node relative to device power
    amortisation_years: float


def it_power_w(
    n_devices: np.ndarray,
    tdp_w: np.ndarray,
    utilisation: np.ndarray | float,
    host_power_fraction: float,
) -> np.ndarray:
    """IT power: devices at a utilisation-weighted share of TDP plus host overhead.

    A busy accelerator draws close to TDP; an idle one draws roughly 30% of it (the
    floor below is that idle share).
    """
    device_w = tdp_w * (0.3 + 0.7 * np.clip(utilisation, 0.0, 1.0))
    return n_devices * device_w * (1.0 + host_power_fraction)


def facility_power_w(it_w: np.ndarray, pue: float) -> np.ndarray:
    return it_w * pue


def energy_kwh(power_w: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return power_w * seconds / JOULES_PER_KWH


def capex_usd(n_devices: np.ndarray, price_usd_per_device: np.ndarray) -> np.ndarray:
    return n_devices * price_usd_per_device


def cloud_cost_usd(
    n_devices: np.ndarray, seconds: np.ndarray, usd_per_device_hour: np.ndarray
) -> np.ndarray:
    return n_devices * seconds / HOUR * usd_per_device_hour


def on_prem_cost_of_use_usd(
    capex: np.ndarray, seconds: np.ndarray, energy_usd: np.ndarray, amortisation_years: float
) -> np.ndarray:
    """Capex amortised over its life, charged for the time used, plus energy."""
    return capex * seconds / (amortisation_years * YEAR) + energy_usd
