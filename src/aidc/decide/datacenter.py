"""Data-center level decision: evaluate compositions of workload designs, vectorised.

Each composition picks one design per workload and a pool mode. Its metrics are sums
and gathers over the workloads' option arrays:

* devices, on-prem facility power, capex and three-year TCO are sums; a shared pool
  (workloads on the same accelerator and deployment) needs only the largest single
  workload's spare devices, so the other spares — and their power, capex and TCO share —
  are removed;
* racks = ceil(on-prem IT power / rack power) when the scenario gives a rack power;
* performance, scalability and maintainability are the means of the chosen designs'
  principle scores (each normalised within its own workload, so they are comparable);
  security is the weakest workload's share of required features;
* operational complexity counts distinct accelerator models and software stacks.

Constraints on the sums (power, racks, capex, TCO, cloud spend, and hardware isolation
for shared pools when the scenario requires multi-tenant isolation) are checked with
:mod:`aidc.decide.constraints`, so each rejected composition names its first failing
constraint and by how much.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aidc.decide.constraints import Check, Rejection, first_failures
from aidc.decide.explain import fmt_value
from aidc.decide.metrics import PRINCIPLES
from aidc.search.datacenter_space import PoolSharing, share_pools

MONTHS_PER_3Y = 36.0


@dataclass(frozen=True)
class WorkloadOptions:
    """The candidate designs of one workload, as aligned arrays (K options)."""

    workload: str
    design_ids: list[str]
    labels: list[str]
    accelerator: list[str]
    deployment: list[str]
    software: list[str]
    n_devices: np.ndarray
    spare_devices: np.ndarray  # devices held for availability (0 for training)
    facility_power_w: np.ndarray
    capex_usd: np.ndarray
    tco_3y_usd: np.ndarray
    principle_scores: np.ndarray  # K x 5 in PRINCIPLES order
    security_score: np.ndarray
    isolation: np.ndarray  # bool: hardware partitioning (MIG or equivalent)

    def __len__(self) -> int:
        return len(self.design_ids)


@dataclass(frozen=True)
class Limits:
    """The scenario's data-center limits in SI units (None = not set)."""

    power_w: float | None
    rack_power_w: float | None
    racks: int | None
    capex_usd: float | None
    tco_3y_usd: float | None
    cloud_usd_per_month: float | None
    isolation_required: bool
    pue: float


@dataclass(frozen=True)
class Evaluated:
    """Metric columns of C compositions in one pool mode, plus the pooling detail."""

    mode: str
    idx: np.ndarray  # C x W option index per workload
    columns: dict[str, np.ndarray]
    sharing: PoolSharing | None
    shares_hardware: np.ndarray  # C bool: some pool holds more than one workload


def _codes(values: Sequence[list[str]], idx: np.ndarray) -> np.ndarray:
    """``C x W`` integer codes of per-option strings (same string -> same code)."""
    vocab: dict[str, int] = {}
    per_w = [np.array([vocab.setdefault(v, len(vocab)) for v in vals]) for vals in values]
    return np.column_stack([per_w[w][idx[:, w]] for w in range(idx.shape[1])])


def _distinct_per_row(codes: np.ndarray) -> np.ndarray:
    s = np.sort(codes, axis=1)
    return 1 + (np.diff(s, axis=1) != 0).sum(axis=1)


def evaluate(
    options: Sequence[WorkloadOptions], idx: np.ndarray, mode: str, limits: Limits
) -> Evaluated:
    """Metrics of the compositions ``idx`` (``C x W``) with dedicated or shared pools."""
    c, w = idx.shape

    def gather(attr: str) -> np.ndarray:
        return np.column_stack([getattr(o, attr)[idx[:, j]] for j, o in enumerate(options)])

    n_dev = gather("n_devices").astype(float)
    spares = gather("spare_devices").astype(float)
    power = gather("facility_power_w")
    capex = gather("capex_usd")
    tco = gather("tco_3y_usd")
    on_prem = np.column_stack(
        [np.array([d == "on-prem" for d in o.deployment])[idx[:, j]] for j, o in enumerate(options)]
    )
    sharing = None
    shares_hw = np.zeros(c, dtype=bool)
    removed = np.zeros_like(n_dev)
    if mode == "shared":
        keys = _codes(
            [
                [f"{a}|{d}" for a, d in zip(o.accelerator, o.deployment, strict=True)]
                for o in options
            ],
            idx,
        )
        sharing = share_pools(keys, spares)
        removed = np.where(sharing.keeps_spares, 0.0, spares)
        shares_hw = sharing.n_pools < w
    # per-device shares of power, capex and TCO leave with the pooled spares
    frac = np.where(n_dev > 0, removed / np.where(n_dev > 0, n_dev, 1.0), 0.0)
    power_kept = power * (1 - frac)
    capex_kept = capex * (1 - frac)
    tco_kept = tco * (1 - frac)
    p_scores = [
        np.column_stack([o.principle_scores[idx[:, j], k] for j, o in enumerate(options)])
        for k in range(len(PRINCIPLES))
    ]
    cols: dict[str, np.ndarray] = {
        "dc_performance": p_scores[PRINCIPLES.index("performance")].mean(axis=1),
        "dc_scalability": p_scores[PRINCIPLES.index("scalability")].mean(axis=1),
        "dc_maintainability": p_scores[PRINCIPLES.index("maintainability")].mean(axis=1),
        "dc_security": gather("security_score").min(axis=1),
        "dc_tco_3y_usd": tco_kept.sum(axis=1),
        "dc_capex_usd": np.where(on_prem, capex_kept, 0.0).sum(axis=1),
        "dc_facility_power_w": np.where(on_prem, power_kept, 0.0).sum(axis=1),
        "dc_cloud_usd_per_month": np.where(~on_prem, tco_kept, 0.0).sum(axis=1) / MONTHS_PER_3Y,
        "dc_devices": (n_dev - removed).sum(axis=1),
        "spare_devices_pooled": removed.sum(axis=1),
        "accelerator_types": _distinct_per_row(
            _codes([o.accelerator for o in options], idx)
        ).astype(float),
        "software_stacks": _distinct_per_row(_codes([o.software for o in options], idx)).astype(
            float
        ),
    }
    if limits.power_w:
        cols["dc_power_headroom"] = 1.0 - cols["dc_facility_power_w"] / limits.power_w
    if limits.rack_power_w:
        it_w = cols["dc_facility_power_w"] / limits.pue
        cols["dc_racks"] = np.ceil(it_w / limits.rack_power_w - 1e-9)
    return Evaluated(mode=mode, idx=idx, columns=cols, sharing=sharing, shares_hardware=shares_hw)


def check(
    ev: Evaluated, options: Sequence[WorkloadOptions], limits: Limits
) -> list[Rejection | None]:
    """First failing data-center constraint per composition."""
    cols = ev.columns
    c = len(ev.idx)
    checks: list[Check] = []
    if limits.isolation_required and ev.sharing is not None:
        iso = np.column_stack([o.isolation[ev.idx[:, j]] for j, o in enumerate(options)])
        # a pool shared by several workloads needs hardware partitioning on its devices
        crowded = np.zeros_like(iso)
        for j in range(iso.shape[1]):
            crowded[:, j] = (ev.sharing.pool_of == ev.sharing.pool_of[:, j : j + 1]).sum(axis=1) > 1
        bad = (crowded & ~iso).any(axis=1)
        checks.append(
            Check(
                "isolation",
                bad,
                "required",
                "flag",
                "feature",
                lambda i, *_: (
                    "a pool shared by several workloads needs hardware multi-tenant "
                    "isolation (MIG or equivalent) and its accelerator has none"
                ),
            )
        )
    limit_checks = [
        ("power", "dc_facility_power_w", limits.power_w, "W", "on-prem facility power"),
        ("racks", "dc_racks", limits.racks, "rack", "racks"),
        ("budget.capex", "dc_capex_usd", limits.capex_usd, "USD", "capex"),
        ("budget.tco_3y", "dc_tco_3y_usd", limits.tco_3y_usd, "USD", "three-year TCO"),
        (
            "budget.cloud_monthly",
            "dc_cloud_usd_per_month",
            limits.cloud_usd_per_month,
            "USD",
            "cloud spend per month",
        ),
    ]
    for name, col, lim, unit, what in limit_checks:
        if lim and col in cols:
            checks.append(
                Check(
                    name,
                    cols[col],
                    float(lim),
                    "max",
                    unit,
                    lambda i, v, lm, ex, what=what, unit=unit: (
                        f"{what} {fmt_value(v, unit)}, "
                        f"{fmt_value(ex, unit)} over the {fmt_value(lm, unit)} limit"
                    ),
                )
            )
    return first_failures(checks, c)


def composition_key(mode: str, idx_row: np.ndarray, options: Sequence[WorkloadOptions]) -> str:
    """Readable, stable id: ``shared:w1=<design id>;w2=...``."""
    parts = [f"{o.workload}={o.design_ids[int(i)]}" for o, i in zip(options, idx_row, strict=True)]
    return f"{mode}:" + ";".join(parts)


def pools_of(ev: Evaluated, row: int, options: Sequence[WorkloadOptions]) -> list[dict]:
    """The pools of one composition: accelerator, deployment, workloads, devices."""
    pools: dict[int, dict] = {}
    for j, o in enumerate(options):
        i = int(ev.idx[row, j])
        pid = int(ev.sharing.pool_of[row, j]) if ev.sharing is not None else j
        keeps = bool(ev.sharing.keeps_spares[row, j]) if ev.sharing is not None else True
        p = pools.setdefault(
            pid,
            {
                "accelerator": o.accelerator[i],
                "deployment": o.deployment[i],
                "workloads": [],
                "devices": 0,
                "spare_devices_pooled": 0,
            },
        )
        p["workloads"].append(o.workload)
        saved = 0 if keeps else int(o.spare_devices[i])
        p["devices"] += int(o.n_devices[i]) - saved
        p["spare_devices_pooled"] += saved
    return list(pools.values())
