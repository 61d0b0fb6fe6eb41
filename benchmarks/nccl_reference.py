"""Shared by the NCCL benchmark and the collective-curve fit: load the measured data
(data/reference/nccl/aiconfigurator_nccl.csv) and fit curves of the form in
:mod:`aidc.model.network` by weighted least squares on relative error.

Not a test and not part of the package: plain numpy, used by
``benchmarks/fit_collectives.py`` and ``benchmarks/collectives_vs_nccl.py``.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aidc.catalog import load_catalog
from aidc.model.network import REFERENCE_RANKS, CurveParams, bus_factor, latency_steps
from aidc.units import MILLISECOND

ROOT = Path(__file__).resolve().parents[1]
CSV_PATH = ROOT / "data" / "reference" / "nccl" / "aiconfigurator_nccl.csv"
CUSTOM_CSV_PATH = ROOT / "data" / "reference" / "nccl" / "aiconfigurator_custom_allreduce.csv"
BYTES_PER_ELEMENT = {"half": 2.0, "bfloat16": 2.0, "int8": 1.0}

# Which catalog hardware each measured system is: (scale-up link id, accelerator id or
# None when the catalog has no record; then the link's own bandwidth is used).
SYSTEMS: dict[str, tuple[str, str | None]] = {
    "a100_sxm": ("nvlink3", "A100-SXM-80GB"),
    "h100_sxm": ("nvlink4", "H100-SXM"),
    "h200_sxm": ("nvlink4", "H200-SXM"),
    "b200_sxm": ("nvlink5", "B200"),
    "b300_sxm": ("nvlink5", "B300"),
    "gb200": ("nvlink5", "GB200"),
    "gb300": ("nvlink5", "GB300"),
    "l40s": ("pcie4", "L40S"),
    "rtx_pro_6000_server": ("pcie5", None),
}


@dataclass(frozen=True)
class NcclData:
    system: np.ndarray  # object
    link: np.ndarray  # object
    op: np.ndarray  # object
    n_ranks: np.ndarray
    n_bytes: np.ndarray
    time_s: np.ndarray
    bw_bytes_per_s: np.ndarray
    framework: np.ndarray  # object: "nccl", or the engine whose custom kernel was timed

    def __len__(self) -> int:
        return len(self.time_s)

    def select(self, mask: np.ndarray) -> NcclData:
        return NcclData(**{k: v[mask] for k, v in self.__dict__.items()})


def link_bandwidth(system: str) -> float:
    cat = load_catalog()
    link_id, acc_id = SYSTEMS[system]
    if acc_id is not None:
        acc = cat.accelerators.get(acc_id)
        if acc.scaleup_bw_bytes_per_s_per_direction > 0:
            return acc.scaleup_bw_bytes_per_s_per_direction
    return cat.links.get(link_id).bw_bytes_per_s_per_direction


def load(path: Path = CSV_PATH) -> NcclData:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    bw = {s: link_bandwidth(s) for s in SYSTEMS}
    return NcclData(
        system=np.array([r["system"] for r in rows], dtype=object),
        link=np.array([SYSTEMS[r["system"]][0] for r in rows], dtype=object),
        op=np.array([r["op_name"] for r in rows], dtype=object),
        n_ranks=np.array([float(r["num_gpus"]) for r in rows]),
        # the collector stores elements; nccl-tests' size is bytes = elements x width
        n_bytes=np.array(
            [
                float(r["message_size"])
                * BYTES_PER_ELEMENT[r.get("nccl_dtype") or r["allreduce_dtype"]]
                for r in rows
            ]
        ),
        time_s=np.array([float(r["latency"]) * MILLISECOND for r in rows]),
        bw_bytes_per_s=np.array([bw[r["system"]] for r in rows]),
        framework=np.array([r.get("framework", "nccl") for r in rows], dtype=object),
    )


def _design(d: NcclData, op: str, k: float, ramp: float, c: float) -> np.ndarray:
    """Columns of t = a0 + a1 steps + (1/eta8) x, divided by t (relative error)."""
    x = (
        bus_factor(op, d.n_ranks)
        * d.n_bytes
        / d.bw_bytes_per_s
        * (1.0 + (ramp / d.n_bytes) ** k)
        / (d.n_ranks / REFERENCE_RANKS) ** c
    )
    a = np.stack([np.ones(len(d)), latency_steps(op, d.n_ranks), x], axis=1)
    return a / d.time_s[:, None]


def _solve(a: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares of a @ coef = 1 with coef >= 0 (tiny active set: 3 unknowns)."""
    y = np.ones(a.shape[0])
    best: tuple[np.ndarray, float] | None = None
    for keep in ([0, 1, 2], [0, 2], [1, 2], [2]):
        coef_k, *_ = np.linalg.lstsq(a[:, keep], y, rcond=None)
        if np.any(coef_k < 0):
            continue
        coef = np.zeros(3)
        coef[keep] = coef_k
        loss = float(np.mean((a @ coef - 1.0) ** 2))
        if best is None or loss < best[1]:
            best = (coef, loss)
    assert best is not None
    return best


def fit_curve(d: NcclData, op: str) -> CurveParams:
    """Grid over (ramp_exponent, ramp_bytes, rank_exponent), linear in the rest."""
    ks = np.linspace(0.1, 1.0, 10)
    ramps = np.logspace(3, 9, 25)
    cs = np.linspace(-2.5, 1.0, 15)
    has_rank_spread = len(np.unique(d.n_ranks)) > 1

    def search(grid):
        best = None
        for k, ramp, c in grid:
            coef, loss = _solve(_design(d, op, k, ramp, c))
            if best is None or loss < best[0]:
                best = (loss, k, ramp, c, coef)
        return best

    coarse = search(itertools.product(ks, ramps, cs if has_rank_spread else [0.0]))
    _, k0, r0, c0, _ = coarse
    fine = search(
        itertools.product(
            np.clip(np.linspace(k0 - 0.1, k0 + 0.1, 5), 0.05, 1.0),
            r0 * np.logspace(-0.25, 0.25, 5),
            np.linspace(c0 - 0.25, c0 + 0.25, 5) if has_rank_spread else [0.0],
        )
    )
    _, k, ramp, c, coef = min(coarse, fine, key=lambda b: b[0])
    return CurveParams(
        base_latency_s=float(coef[0]),
        step_latency_s=float(coef[1]),
        bus_efficiency=float(1.0 / coef[2]),
        rank_exponent=float(c),
        ramp_bytes=float(ramp),
        ramp_exponent=float(k),
    )


def ape(pred: np.ndarray, meas: np.ndarray) -> np.ndarray:
    return np.abs(pred / meas - 1.0)
