"""Power and cooling: device, node, rack and facility power; rack density limits;
fitting a power envelope; energy, carbon and power capping.

* device power at utilisation ``u``: ``P = TDP (i + (1 - i) u)`` with idle share ``i``
  (linear between idle and TDP, the usual first-order server power model; Barroso &
  Hoelzle, "The Case for Energy-Proportional Computing", IEEE Computer 2007);
* IT power: ``devices x P x (1 + host share)`` (CPUs, memory, NICs and fans of the node
  scale with the node's load) ``+ network + storage + services``;
* facility power ``= IT x PUE`` (The Green Grid's definition of PUE);
* racks: ``nodes per rack = floor(rack limit / node power)``, racks ``= ceil(nodes /
  nodes per rack)``; air cooling up to the air limit, liquid above it;
* energy ``= P t``; carbon ``= energy x grid intensity``;
* power capping at ``c`` of TDP: throughput scales as ``c^x`` (``x`` from measured cap
  sweeps, larger for compute-bound than memory-bound work), power as ``c``, so energy
  per unit of work scales as ``c^(1-x)``.

All functions broadcast over numpy arrays; W, J, s inside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aidc.units import JOULES_PER_KWH

ArrayLike = np.ndarray | float


def device_power_w(tdp_w: ArrayLike, utilisation: ArrayLike, idle_fraction: float) -> np.ndarray:
    """Average device power at ``utilisation`` (0..1), linear from idle to TDP."""
    u = np.clip(np.asarray(utilisation, float), 0.0, 1.0)
    return np.asarray(tdp_w, float) * (idle_fraction + (1.0 - idle_fraction) * u)


def compute_it_power_w(
    n_devices: ArrayLike,
    tdp_w: ArrayLike,
    utilisation: ArrayLike,
    idle_fraction: float,
    host_power_fraction: float,
) -> np.ndarray:
    """Accelerators plus their hosts: ``n P(u) (1 + host share)``."""
    return (
        np.asarray(n_devices, float)
        * device_power_w(tdp_w, utilisation, idle_fraction)
        * (1.0 + host_power_fraction)
    )


def facility_power_w(it_power_w: ArrayLike, pue: ArrayLike) -> np.ndarray:
    return np.asarray(it_power_w, float) * np.asarray(pue, float)


def energy_j(power_w: ArrayLike, seconds: ArrayLike) -> np.ndarray:
    return np.asarray(power_w, float) * np.asarray(seconds, float)


def energy_kwh(power_w: ArrayLike, seconds: ArrayLike) -> np.ndarray:
    return energy_j(power_w, seconds) / JOULES_PER_KWH


def carbon_kg(energy_kwh_: ArrayLike, grid_kg_co2_per_kwh: ArrayLike) -> np.ndarray:
    return np.asarray(energy_kwh_, float) * np.asarray(grid_kg_co2_per_kwh, float)


@dataclass(frozen=True)
class RackPlan:
    """Racks and cooling for a set of nodes (arrays)."""

    nodes_per_rack: np.ndarray
    racks: np.ndarray
    rack_power_w: np.ndarray  # the densest rack's draw
    liquid_cooled: np.ndarray  # bool
    fits_one_rack: np.ndarray  # bool: a single node fits the rack limit at all
    limit_w: np.ndarray  # the rack power limit that applied


def plan_racks(
    n_nodes: ArrayLike,
    node_power_w: ArrayLike,
    air_limit_w: float,
    liquid_limit_w: float,
    rack_limit_w: ArrayLike | None = None,
    max_nodes_per_rack: ArrayLike = np.inf,
    liquid_required: ArrayLike = False,
) -> RackPlan:
    """Fill racks up to the power limit: air-cooled where a node fits the air limit.

    ``rack_limit_w`` (the site's rack power, if the scenario gives one) caps both;
    ``max_nodes_per_rack`` caps by space (e.g. an NVL72 rack holds 18 trays);
    ``liquid_required`` marks rack-scale systems designed for liquid cooling only.
    """
    n = np.asarray(n_nodes, float)
    p = np.asarray(node_power_w, float)
    p = np.where(np.isnan(p), p, np.maximum(p, 1e-9))
    site = np.inf if rack_limit_w is None else np.asarray(rack_limit_w, float)
    air = np.minimum(air_limit_w, site)
    liquid = np.minimum(liquid_limit_w, site)
    use_liquid = (p > air) | np.asarray(liquid_required, bool)
    limit = np.where(use_liquid, liquid, air)
    per_rack = np.minimum(np.floor(limit / p), np.asarray(max_nodes_per_rack, float))
    # unknown node power (NaN): racks unknown, not a violation
    fits = (per_rack >= 1) | np.isnan(p)
    per_rack = np.where(np.isnan(per_rack), np.nan, np.maximum(per_rack, 1.0))
    racks = np.where(n > 0, np.ceil(n / per_rack), 0.0)
    return RackPlan(
        nodes_per_rack=per_rack,
        racks=racks,
        rack_power_w=np.minimum(per_rack, np.maximum(n, 1.0)) * p,
        liquid_cooled=use_liquid,
        fits_one_rack=fits,
        limit_w=limit,
    )


def power_cap_throughput_ratio(cap_fraction: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """Throughput at a power cap of ``cap_fraction`` of TDP relative to uncapped."""
    c = np.clip(np.asarray(cap_fraction, float), 1e-6, 1.0)
    return c ** np.asarray(exponent, float)


def power_cap_energy_ratio(cap_fraction: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """Energy per unit of work at the cap relative to uncapped: ``c / c^x``."""
    c = np.clip(np.asarray(cap_fraction, float), 1e-6, 1.0)
    return c / power_cap_throughput_ratio(c, exponent)


@dataclass(frozen=True)
class FacilityParams:
    """Site parameters every plan reports (the planners take the fuller
    :class:`aidc.planner.infra_facts.InfraFacts`)."""

    pue: float
    electricity_usd_per_kwh: float
    host_power_fraction: float  # CPUs, NICs, fans, storage per node relative to device power
    amortisation_years: float
