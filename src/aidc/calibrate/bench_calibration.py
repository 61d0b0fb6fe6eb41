"""From stored bench rows to fitted points, and from fits to a calibration file.

Rows measured more than once (the same device, model, engine, precision, phase and
shape, in several runs) become one point: the median of their timings, so that a
held-out point never has a twin left in the training set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from aidc.calibrate.bench_device import MeasuredDevice
from aidc.calibrate.bench_fit import FitReport
from aidc.calibrate.bench_predict import PHASES, BenchPoint
from aidc.catalog.calibration import Calibration, CalibrationValue
from aidc.catalog.schema import ModelArch

STATISTICS = {
    "p50": "latency_p50_s",
    "mean": "latency_mean_s",
    "min": "latency_min_s",
    # process CPU time per call (single-threaded runs on a shared machine; see bench.timing)
    "cpu_p50": "cpu_time_p50_s",
    "cpu_min": "cpu_time_min_s",
}


def _value(r: Mapping[str, Any], col: str) -> float | None:
    v = r.get(col) if col in r else (r.get("extra") or {}).get(col)
    return None if v is None else float(v)


def points_from_rows(rows: Iterable[Mapping[str, Any]], statistic: str = "p50") -> list[BenchPoint]:
    col = STATISTICS[statistic]
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
    for r in rows:
        if r.get("kind") != "inference" or r.get("phase") not in PHASES or _value(r, col) is None:
            continue
        key = (
            r["device_id"],
            r["model"],
            r["engine"],
            r["precision"],
            r["phase"],
            int(r["batch"]),
            int(r["seq_len"]),
            r.get("gen_len"),
        )
        groups[key].append(r)
    out = []
    for key, rs in groups.items():
        arch = ModelArch.model_validate(rs[-1]["extra"]["arch"])
        out.append(
            BenchPoint(
                device=key[0],
                model=key[1],
                arch=arch,
                engine=key[2],
                precision=key[3],
                phase=key[4],
                batch=key[5],
                seq_len=key[6],
                gen_len=int(key[7]) if key[7] is not None else None,
                measured_s=float(np.median([_value(r, col) for r in rs])),
                n_measurements=len(rs),
            )
        )
    return out


def build_calibration(
    report: FitReport,
    devices: Mapping[str, MeasuredDevice],
    *,
    name: str,
    source: str,
) -> Calibration:
    """Fitted values as ``inference.<device>.<engine>.<precision>.<param>`` (measured),
    plus each measured device's description as ``device.<id>.<field>``."""
    values: dict[str, CalibrationValue] = {}
    loo_by_group: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in report.points:
        if r.loo_s is not None:
            loo_by_group[r.point.group].append(abs(r.loo_s / r.point.measured_s - 1.0))
    for f in report.fits:
        dev, eng, prec = f.group
        loo = loo_by_group.get(f.group)
        loo_txt = f"; leave-one-out median error {np.median(loo):.1%}" if loo else ""
        for param, v in f.values.items():
            note = (
                f"fitted on {f.n_points} points, mean |log error| {f.mean_abs_log_error:.3f}{loo_txt}"
                + (
                    ""
                    if f.constrained[param]
                    else "; weakly constrained by these points (J moves < 1% for x1.5)"
                )
            )
            values[f"inference.{dev}.{eng}.{prec}.{param}"] = CalibrationValue(
                value=float(f"{v:.6g}"), provenance="measured", source=source, notes=note
            )
    for dev in devices.values():
        for key, (v, how) in dev.calibration_entries().items():
            values[key] = CalibrationValue(
                value=float(f"{v:.6g}"), provenance="measured", source=source, notes=how
            )
    return Calibration(
        name=name,
        description=(
            "Inference efficiencies fitted by `aidc calibrate` to measurements in the results "
            "store; keys inference.<device>.<engine>.<precision>.<param>."
        ),
        values=values,
    )
