"""Fit the training model's calibration values to measured runs, and hold sources out.

The model's empirical constants (:class:`aidc.model.training.TrainingCalibration`) are
fitted by minimising the weighted mean absolute log error of predicted throughput,
``sum_i w_i |ln(pred_i / meas_i)|``, with each source's rows weighted by
``1/sqrt(n_source)`` so that one large table does not decide alone. The optimiser is a
bounded Nelder-Mead simplex (Nelder & Mead 1965) on transformed parameters.

Memory constants are fitted the same way on the rows that report peak memory.

:func:`leave_one_source_out` refits without each source in turn and predicts that source
with the values fitted on the others: its errors say how the model does on data it has
not seen (the figure ``benchmarks/training_validation.py`` reports).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields

import numpy as np

from aidc.calibrate.training_validation import PreparedRow
from aidc.catalog.schema import Precision
from aidc.model.training import (
    TrainingCalibration,
    TrainingDevices,
    TrainingPlanArrays,
    estimate_training,
)
from aidc.units import GIGA


def _concat(objs: Sequence[object]) -> object:
    """Concatenate dataclasses of aligned arrays field by field (recursively)."""
    first = objs[0]
    out = {}
    for f in fields(first):  # type: ignore[arg-type]
        vals = [getattr(o, f.name) for o in objs]
        if hasattr(vals[0], "__dataclass_fields__"):
            out[f.name] = _concat(vals)
        else:
            out[f.name] = np.concatenate([np.asarray(v) for v in vals])
    return type(first)(**out)


@dataclass(frozen=True)
class _Group:
    rows: tuple[int, ...]  # indices into the batch's rows
    offsets: tuple[int, ...]  # start of each row's candidates in the group arrays
    arch: object
    devices: TrainingDevices
    plan: TrainingPlanArrays
    settings: object


class RowBatch:
    """Prepared rows grouped by (architecture, settings) for fast repeated prediction."""

    def __init__(self, prepared: Sequence[PreparedRow]) -> None:
        self.prepared = list(prepared)
        groups: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(self.prepared):
            if p.predictable:
                key = p.run.arch.model_dump_json() + repr(p.settings)
                groups[key].append(i)
        self.groups: list[_Group] = []
        for idx in groups.values():
            offs, n = [], 0
            for i in idx:
                offs.append(n)
                n += len(self.prepared[i].plan)
            first = self.prepared[idx[0]]
            self.groups.append(
                _Group(
                    rows=tuple(idx),
                    offsets=(*offs, n),
                    arch=first.run.arch,
                    devices=_concat([self.prepared[i].devices for i in idx]),
                    plan=_concat([self.prepared[i].plan for i in idx]),
                    settings=first.settings,
                )
            )

    def predict(self, cal: TrainingCalibration) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: predicted tokens/s per device, peak memory (bytes), fits (NaN if not
        predictable). Each row takes its fastest candidate that fits (else its fastest)."""
        n = len(self.prepared)
        tps, mem, fits = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        for g in self.groups:
            est = estimate_training(g.arch, g.devices, g.plan, g.settings, cal)
            t = np.where(
                np.isfinite(est.tokens_per_s_per_device), est.tokens_per_s_per_device, -np.inf
            )
            for j, row in enumerate(g.rows):
                a, b = g.offsets[j], g.offsets[j + 1]
                seg_t, seg_f = t[a:b], est.fits[a:b]
                k = (
                    int(np.argmax(np.where(seg_f, seg_t, -np.inf)))
                    if seg_f.any()
                    else int(np.argmax(seg_t))
                )
                tps[row] = seg_t[k]
                mem[row] = est.memory_total_bytes[a + k]
                fits[row] = float(seg_f[k])
        return tps, mem, fits


@dataclass(frozen=True)
class Parameter:
    """A calibration field to fit, with bounds (``log``: positive, fitted in log space)."""

    field: str
    low: float
    high: float
    architecture: str | None = None  # for per-architecture compute scales

    def get(self, cal: TrainingCalibration) -> float:
        if self.architecture is not None:
            return float(cal.compute_scale_for(np.array([self.architecture], dtype=object))[0])
        return float(getattr(cal, self.field))


def _apply(
    cal: TrainingCalibration, params: Sequence[Parameter], x: np.ndarray
) -> TrainingCalibration:
    changes: dict[str, object] = {}
    arch = dict(cal.compute_scale_by_architecture)
    for p, v in zip(params, x, strict=True):
        v = float(np.clip(v, p.low, p.high))
        if p.architecture is not None:
            arch[p.architecture] = v
        else:
            changes[p.field] = v
    changes["compute_scale_by_architecture"] = tuple(sorted(arch.items()))
    return cal.replace(**changes)


def nelder_mead(
    f: Callable[[np.ndarray], float],
    x0: np.ndarray,
    step: np.ndarray,
    *,
    max_evals: int = 400,
    tol: float = 1e-5,
) -> np.ndarray:
    """Minimise ``f`` from ``x0`` (standard reflection/expansion/contraction/shrink)."""
    n = len(x0)
    pts = [np.asarray(x0, float)] + [
        np.asarray(x0, float) + np.eye(n)[i] * step[i] for i in range(n)
    ]
    vals = [f(p) for p in pts]
    evals = n + 1
    while evals < max_evals:
        order = np.argsort(vals)
        pts = [pts[i] for i in order]
        vals = [vals[i] for i in order]
        if abs(vals[-1] - vals[0]) <= tol * (abs(vals[0]) + tol):
            break
        centroid = np.mean(pts[:-1], axis=0)
        xr = centroid + (centroid - pts[-1])
        fr = f(xr)
        evals += 1
        if fr < vals[0]:
            xe = centroid + 2.0 * (centroid - pts[-1])
            fe = f(xe)
            evals += 1
            pts[-1], vals[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < vals[-2]:
            pts[-1], vals[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (pts[-1] - centroid)
            fc = f(xc)
            evals += 1
            if fc < vals[-1]:
                pts[-1], vals[-1] = xc, fc
            else:
                for i in range(1, n + 1):
                    pts[i] = pts[0] + 0.5 * (pts[i] - pts[0])
                    vals[i] = f(pts[i])
                evals += n
    return pts[int(np.argmin(vals))]


def source_weights(prepared: Sequence[PreparedRow]) -> np.ndarray:
    """``1/sqrt(n_source)`` per row, normalised to sum to 1 over the given rows."""
    counts: dict[str, int] = defaultdict(int)
    for p in prepared:
        counts[p.run.source_id] += 1
    w = np.array([1.0 / np.sqrt(counts[p.run.source_id]) for p in prepared])
    return w / w.sum() if w.sum() else w


FITTED_FIELDS = ("compute_scale", "attention_scale", "fp8_gemm_scale")
"""What the throughput fit adjusts by default: one sustained-compute factor per GPU
architecture in the data, the attention scale, and (where FP8 rows exist) the speed of
FP8 training GEMMs relative to the kernel records' FP8 GEMMs — those records come from
inference engines' FP8 kernels (per-token/per-channel scaling epilogues), not from the
per-tensor-scaled GEMMs of FP8 training (Transformer Engine, torchao Float8). The
element-wise traffic factor and the communication overlap and interference stay at their
stated physical priors: fitted too, they trade off against the compute factors and
generalise worse to unseen sources."""


def throughput_parameters(batch: RowBatch) -> list[Parameter]:
    """Every parameter the throughput fit can adjust: one compute scale per GPU
    architecture present in the rows, the attention scale, the FP8 GEMM scale (when FP8
    rows are present), the element-wise traffic
    factor, the communication overlap and interference."""
    archs = sorted(
        {
            str(a)
            for g in batch.groups
            for a in np.unique(g.devices.kernels.architecture.astype(str))
        }
    )
    has_fp8 = any(g.settings.precision == Precision.FP8 for g in batch.groups)
    return [
        *(Parameter("compute_scale", 0.2, 1.3, architecture=a) for a in archs),
        Parameter("attention_scale", 0.2, 2.0),
        *([Parameter("fp8_gemm_scale", 0.5, 2.0)] if has_fp8 else []),
        Parameter("elementwise_traffic_factor", 0.0, 30.0),
        Parameter("comm_overlap", 0.0, 1.0),
        Parameter("comm_interference", 0.0, 1.0),
    ]


def fit_throughput(
    prepared: Sequence[PreparedRow],
    cal: TrainingCalibration,
    *,
    max_evals: int = 400,
    fields_to_fit: Sequence[str] | None = None,
) -> TrainingCalibration:
    """Calibration values that best predict the measured throughput of ``prepared``."""
    rows = [p for p in prepared if p.scored]
    if not rows:
        return cal
    batch = RowBatch(rows)
    meas = np.array([p.measurement.tokens_per_s_per_device for p in rows])
    w = source_weights(rows)
    wanted = FITTED_FIELDS if fields_to_fit is None else tuple(fields_to_fit)
    params = [p for p in throughput_parameters(batch) if p.field in wanted]

    def loss(x: np.ndarray) -> float:
        pred, _, _ = batch.predict(_apply(cal, params, x))
        err = np.abs(np.log(np.where(pred > 0, pred, 1e-9) / meas))
        return float(np.sum(w * err))

    x0 = np.array([p.get(cal) for p in params])
    step = np.array([0.25 * (p.high - p.low) for p in params])
    x = nelder_mead(
        loss,
        np.clip(x0, [p.low for p in params], [p.high for p in params]),
        step,
        max_evals=max_evals,
    )
    return _apply(cal, params, x)


def fit_memory(prepared: Sequence[PreparedRow], cal: TrainingCalibration) -> TrainingCalibration:
    """Framework memory and fragmentation that best predict measured peak memory."""
    rows = [
        p
        for p in prepared
        if p.predictable and p.measurement.peak_memory_bytes and not p.measurement.oom
    ]
    if not rows:
        return cal
    batch = RowBatch(rows)
    meas = np.array([p.measurement.peak_memory_bytes for p in rows])
    w = source_weights(rows)
    params = [
        Parameter("framework_memory_bytes", 0.0, 8.0 * GIGA),
        Parameter("memory_fragmentation", 0.0, 0.5),
    ]

    def loss(x: np.ndarray) -> float:
        _, mem, _ = batch.predict(_apply(cal, params, x))
        return float(np.sum(w * np.abs(np.log(mem / meas))))

    x0 = np.array([p.get(cal) for p in params])
    x = nelder_mead(loss, x0, np.array([GIGA, 0.05]), max_evals=200)
    return _apply(cal, params, x)


@dataclass(frozen=True)
class HeldOutPredictions:
    """Per row (aligned with the input), predictions from fits that never saw its source."""

    tokens_per_s_per_device: np.ndarray
    memory_bytes: np.ndarray
    fits: np.ndarray
    calibrations: dict[str, TrainingCalibration]


def leave_one_source_out(
    prepared: Sequence[PreparedRow],
    cal: TrainingCalibration,
    *,
    max_evals: int = 400,
    fields_to_fit: Sequence[str] | None = None,
) -> HeldOutPredictions:
    """For each source: fit on all other sources, predict the held-out one."""
    n = len(prepared)
    tps, mem, fits = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    sources = sorted({p.run.source_id for p in prepared if p.scored})
    cals: dict[str, TrainingCalibration] = {}
    for src in sources:
        train = [p for p in prepared if p.run.source_id != src]
        fitted = fit_memory(
            train, fit_throughput(train, cal, max_evals=max_evals, fields_to_fit=fields_to_fit)
        )
        cals[src] = fitted
        idx = [i for i, p in enumerate(prepared) if p.run.source_id == src]
        t, m, f = RowBatch([prepared[i] for i in idx]).predict(fitted)
        tps[idx], mem[idx], fits[idx] = t, m, f
    return HeldOutPredictions(tps, mem, fits, cals)
