"""Fit the inference model's efficiencies to bench measurements; hold points out.

For each ``(device, engine, precision)`` group the three efficiencies of
:mod:`aidc.calibrate.bench_predict` — compute efficiency ``e_c``, memory-bandwidth
efficiency ``e_bw`` and per-step overhead ``o`` — minimise the mean absolute log error

    J(e_c, e_bw, o) = (1/n) sum_i | ln( t_pred,i(e_c, e_bw, o) / t_meas,i ) |

(symmetric in over- and under-prediction, and robust to a few outliers). The search is
a log-spaced grid (the model is a maximum of rooflines, not smooth) evaluated for all
points at once, then a pattern search
of small grids around the best cell (re-centred while the best lies on the window's
edge, shrunk by three when it lies inside) down to 0.1% steps.

**Leave-one-out**: each point is predicted with the values fitted to the other points
of its group, ``|t_pred / t_meas - 1|``; the median over all points is the figure the
issue asks for. **Leave-one-model-out** holds out every point of one model at a time:
how well the fit carries to an architecture it has not seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from aidc.calibrate.bench_predict import PARAMS, BenchPoint

# Search box (human units, as the calibration keys): efficiencies are fractions of the
# device's peak and bandwidth (above 1 is possible where the probe under-reads, e.g.
# weights that stay in the last-level cache); overhead in milliseconds.
BOUNDS = {
    "compute_efficiency": (0.005, 2.0),
    "memory_bw_efficiency": (0.01, 8.0),
    "step_overhead_ms": (1e-4, 500.0),
}
COARSE_STEPS = {"compute_efficiency": 40, "memory_bw_efficiency": 24, "step_overhead_ms": 36}
MAX_ROUNDS = 40
ZOOM_STEPS = 7
MIN_LOG_WIDTH = 1e-3
MIN_POINTS = 4

Predictor = Callable[[BenchPoint, Mapping[str, np.ndarray]], np.ndarray]
"""Vectorised prediction: efficiency arrays of shape (K,) in, seconds of shape (K,) out."""


def _grid(
    centre: Mapping[str, float] | None, width_log: Mapping[str, float] | None
) -> dict[str, np.ndarray]:
    """All combinations of log-spaced values per parameter, flattened to arrays (K,)."""
    axes = []
    for p in PARAMS:
        lo, hi = BOUNDS[p]
        if centre is None or width_log is None:
            axes.append(np.geomspace(lo, hi, COARSE_STEPS[p]))
        else:
            c = np.log(centre[p])
            w = width_log[p]
            axes.append(np.clip(np.exp(np.linspace(c - w, c + w, ZOOM_STEPS)), lo, hi))
    mesh = np.meshgrid(*axes, indexing="ij")
    return {p: m.ravel() for p, m in zip(PARAMS, mesh, strict=True)}


def _abs_log_errors(
    points: Sequence[BenchPoint], grid: Mapping[str, np.ndarray], predict: Predictor
) -> np.ndarray:
    """``|ln(pred / meas)|`` for every grid cell (rows) and point (columns)."""
    cols = []
    for p in points:
        pred = np.asarray(predict(p, grid), dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            err = np.abs(np.log(pred / p.measured_s))
        cols.append(np.where(np.isfinite(err), err, np.inf))
    return np.stack(cols, axis=1)


def _coarse_width() -> dict[str, float]:
    return {
        p: (np.log(BOUNDS[p][1]) - np.log(BOUNDS[p][0])) / (COARSE_STEPS[p] - 1) for p in PARAMS
    }


@dataclass
class _GroupSearch:
    """The coarse grid's errors for one group, shared by the full fit and all hold-outs."""

    points: list[BenchPoint]
    predict: Predictor
    coarse: dict[str, np.ndarray] = field(init=False)
    errors: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.coarse = _grid(None, None)
        self.errors = _abs_log_errors(self.points, self.coarse, self.predict)

    def fit(self, keep: np.ndarray) -> tuple[dict[str, float], float]:
        """Best values on the points where ``keep`` is True: coarse argmin, then zoom."""
        obj = self.errors[:, keep].mean(axis=1)
        k = int(np.argmin(obj))
        best = {p: float(self.coarse[p][k]) for p in PARAMS}
        best_obj = float(obj[k])
        width = _coarse_width()
        subset = [p for p, m in zip(self.points, keep, strict=True) if m]
        # pattern search: re-centre on the best cell; shrink the window only when the best
        # stays inside it (so the search can walk along a ridge of correlated parameters)
        for _ in range(MAX_ROUNDS):
            g = _grid(best, width)
            o = _abs_log_errors(subset, g, self.predict).mean(axis=1)
            j = int(np.argmin(o))
            on_edge = False
            if o[j] < best_obj:
                new = {p: float(g[p][j]) for p in PARAMS}
                on_edge = any(
                    abs(np.log(new[p]) - np.log(best[p])) > 0.99 * width[p] for p in PARAMS
                )
                best, best_obj = new, float(o[j])
            if not on_edge:
                width = {p: w / 3.0 for p, w in width.items()}
            if max(width.values()) < MIN_LOG_WIDTH:
                break
        return best, best_obj


@dataclass(frozen=True)
class GroupFit:
    group: tuple[str, str, str]  # device, engine, precision
    values: dict[str, float]
    n_points: int
    mean_abs_log_error: float
    constrained: dict[str, bool]  # False: the data hardly move the objective


@dataclass(frozen=True)
class PointResult:
    point: BenchPoint
    before_s: float
    after_s: float | None  # None when its group was not fitted
    loo_s: float | None
    lomo_s: float | None  # leave-one-model-out

    @staticmethod
    def error(pred: float | None, meas: float) -> float | None:
        return None if pred is None else abs(pred / meas - 1.0)


@dataclass(frozen=True)
class FitReport:
    fits: list[GroupFit]
    points: list[PointResult]
    skipped: list[tuple[str, str]]  # point label, reason

    def errors(self, which: str) -> np.ndarray:
        vals = [
            PointResult.error(getattr(r, f"{which}_s"), r.point.measured_s) for r in self.points
        ]
        return np.array([v for v in vals if v is not None], dtype=float)

    def median_error(self, which: str) -> float:
        e = self.errors(which)
        return float(np.median(e)) if len(e) else float("nan")


def _constrained(search: _GroupSearch, values: dict[str, float], base: float) -> dict[str, bool]:
    """A parameter is constrained when scaling it by 1.5 either way raises J by >= 1%."""
    out = {}
    for p in PARAMS:
        worse = []
        for f in (1.5, 1 / 1.5):
            trial = {q: np.array([values[q] * (f if q == p else 1.0)]) for q in PARAMS}
            worse.append(_abs_log_errors(search.points, trial, search.predict).mean())
        out[p] = bool(min(worse) >= base * 1.01 + 1e-9)
    return out


def fit_points(
    points: Sequence[BenchPoint],
    predict: Predictor,
    before: Callable[[BenchPoint], float],
    *,
    skipped: Sequence[tuple[str, str]] = (),
    holdout: bool = True,
) -> FitReport:
    """Fit every group, predict each point before and after, and (optionally) held out."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(points):
        groups[p.group].append(i)
    after: dict[int, float] = {}
    loo: dict[int, float] = {}
    lomo: dict[int, float] = {}
    fits = []
    skipped = list(skipped)
    for g, idx in groups.items():
        pts = [points[i] for i in idx]
        if len(pts) < MIN_POINTS:
            skipped += [
                (p.label, f"its group has {len(pts)} points (< {MIN_POINTS}) to fit") for p in pts
            ]
            continue
        search = _GroupSearch(pts, predict)
        all_ = np.ones(len(pts), dtype=bool)
        values, obj = search.fit(all_)
        fits.append(GroupFit(g, values, len(pts), obj, _constrained(search, values, obj)))
        for i in idx:
            after[i] = float(predict(points[i], {q: np.array([values[q]]) for q in PARAMS})[0])
        if not holdout:
            continue
        for j, i in enumerate(idx):
            keep = all_.copy()
            keep[j] = False
            v, _ = search.fit(keep)
            loo[i] = float(predict(points[i], {q: np.array([v[q]]) for q in PARAMS})[0])
        models = sorted({p.model for p in pts})
        if len(models) > 1:
            for m in models:
                keep = np.array([p.model != m for p in pts])
                if keep.sum() < MIN_POINTS:
                    continue
                v, _ = search.fit(keep)
                for j, i in enumerate(idx):
                    if not keep[j]:
                        lomo[i] = float(
                            predict(points[i], {q: np.array([v[q]]) for q in PARAMS})[0]
                        )
    results = [
        PointResult(p, before(p), after.get(i), loo.get(i), lomo.get(i))
        for i, p in enumerate(points)
    ]
    return FitReport(fits, results, skipped)
