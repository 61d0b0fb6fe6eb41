"""``aidc calibrate``: fit inference efficiencies to stored bench results; write a calibration.

Reads the results store, describes each device (catalog accelerator, or the CPU from its
probes), fits each device x engine x precision group, prints predicted against measured
before and after (and held out), and writes a file that ``aidc plan --calibration`` reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import yaml
from rich.table import Table

from aidc.bench.store import default_db_path, measurements, open_store, runs
from aidc.calibrate.bench_calibration import STATISTICS, build_calibration, points_from_rows
from aidc.calibrate.bench_device import MeasuredDevice, device_from_probes
from aidc.calibrate.bench_fit import FitReport, fit_points
from aidc.calibrate.bench_predict import PARAMS, BenchPoint, covered, lookup, predict_s
from aidc.catalog.calibration import Calibration
from aidc.catalog.schema import Accelerator
from aidc.cli import app
from aidc.cli.common import calibration_arg, console, write_files
from aidc.errors import AidcInputError


def _devices(
    rows: list[dict[str, Any]], run_rows: list[dict[str, Any]], catalog: Any
) -> dict[str, MeasuredDevice | Accelerator]:
    mem = {r["device_id"]: (r["fingerprint"] or {}).get("memory_bytes") for r in run_rows}
    out: dict[str, MeasuredDevice | Accelerator] = {}
    for dev in sorted({r["device_id"] for r in rows if r.get("device_id")}):
        acc = catalog.accelerators.find(dev)
        if acc is not None:
            out[dev] = acc
            continue
        d = device_from_probes(dev, rows, mem.get(dev))
        if d is not None:
            out[dev] = d
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.1%}"


def _summary(report: FitReport) -> dict[str, Any]:
    return {
        "points": len(report.points),
        "skipped": len(report.skipped),
        "median_error_before": report.median_error("before"),
        "median_error_after": report.median_error("after"),
        "median_error_leave_one_out": report.median_error("loo"),
        "median_error_leave_one_model_out": report.median_error("lomo"),
    }


def _render(report: FitReport, show_rows: bool) -> None:
    t = Table(title="fitted efficiencies per device, engine, precision")
    for c in ("device", "engine", "precision", "points", *PARAMS, "mean |ln err|"):
        t.add_column(c, justify="right")
    for f in report.fits:
        t.add_row(
            *f.group,
            str(f.n_points),
            *[f"{f.values[p]:.4g}" + ("" if f.constrained[p] else "*") for p in PARAMS],
            f"{f.mean_abs_log_error:.3f}",
        )
    console.print(t)
    console.print("* weakly constrained by these points")
    if show_rows:
        r = Table(title="predicted vs measured (seconds; errors |pred/meas - 1|)")
        for c in ("point", "measured", "before", "err", "after", "err", "held out", "err"):
            r.add_column(c, justify="right")
        for p in report.points:
            m = p.point.measured_s
            r.add_row(
                p.point.label,
                f"{m:.4g}",
                f"{p.before_s:.4g}",
                _pct(p.error(p.before_s, m)),
                f"{p.after_s:.4g}" if p.after_s is not None else "-",
                _pct(p.error(p.after_s, m)),
                f"{p.loo_s:.4g}" if p.loo_s is not None else "-",
                _pct(p.error(p.loo_s, m)),
            )
        console.print(r)
    s = _summary(report)
    console.print(
        f"median error over {s['points']} points: before {_pct(s['median_error_before'])}, "
        f"after {_pct(s['median_error_after'])}, leave-one-out {_pct(s['median_error_leave_one_out'])}, "
        f"leave-one-model-out {_pct(s['median_error_leave_one_model_out'])}"
        + (f"; {s['skipped']} points not covered by the model" if s["skipped"] else "")
    )


@app.command("calibrate")
def calibrate_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="calibration file to write (YAML)")
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="results store from `aidc bench`")] = None,
    statistic: Annotated[
        str,
        typer.Option(
            "--statistic", help="p50, mean, min (wall clock) or cpu_p50, cpu_min (process CPU time)"
        ),
    ] = "p50",
    base: Annotated[
        Path | None,
        typer.Option("--calibration", help="the 'before' calibration (default: shipped)"),
    ] = None,
    rows: Annotated[bool, typer.Option("--rows", help="print every point")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    no_holdout: Annotated[
        bool, typer.Option("--no-holdout", help="skip leave-one-out refits")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite --out")] = False,
) -> None:
    """Fit inference efficiencies to measurements; report predicted vs measured before/after."""
    from aidc.catalog.loader import load_catalog

    if statistic not in STATISTICS:
        raise AidcInputError(
            f"unknown statistic {statistic!r}; allowed: {', '.join(STATISTICS)}",
            field="--statistic",
        )
    if out is not None and out.exists() and not force:
        raise AidcInputError(f"--out {out}: exists; pass --force to overwrite it")
    path = db or default_db_path()
    conn = open_store(path, create=False)
    all_rows = measurements(conn)
    catalog = load_catalog()
    devices = _devices(all_rows, runs(conn), catalog)
    links = {lk.id: lk for lk in catalog.links}
    before_cal: Calibration = calibration_arg(base)

    points: list[BenchPoint] = []
    skipped: list[tuple[str, str]] = []
    for p in points_from_rows(all_rows, statistic):
        why = covered(p) or (
            None
            if p.device in devices
            else f"no description of device {p.device} (run `aidc bench probe`)"
        )
        if why:
            skipped.append((p.label, why))
        else:
            points.append(p)
    if not points:
        raise AidcInputError(
            f"--db {path}: no inference measurements the model can predict; run `aidc bench inference` first"
        )

    def predict(p: BenchPoint, values: Any) -> np.ndarray:
        return np.atleast_1d(predict_s(p, devices[p.device], values, links, before_cal))

    def before(p: BenchPoint) -> float:
        return float(predict(p, lookup(before_cal, p.device, p.engine, p.precision))[0])

    report = fit_points(points, predict, before, skipped=skipped, holdout=not no_holdout)
    cal = build_calibration(
        report,
        {k: v for k, v in devices.items() if isinstance(v, MeasuredDevice)},
        name=f"bench-{path.stem}",
        source=f"aidc calibrate --db {path} --statistic {statistic} ({len(points)} points)",
    )
    if as_json:
        doc = {
            **_summary(report),
            "fits": [
                {
                    "group": list(f.group),
                    "values": f.values,
                    "n_points": f.n_points,
                    "mean_abs_log_error": f.mean_abs_log_error,
                    "constrained": f.constrained,
                }
                for f in report.fits
            ],
            "rows": [
                {
                    "point": r.point.label,
                    "measured_s": r.point.measured_s,
                    "before_s": r.before_s,
                    "after_s": r.after_s,
                    "leave_one_out_s": r.loo_s,
                    "leave_one_model_out_s": r.lomo_s,
                }
                for r in report.points
            ],
            "skipped": [{"point": a, "reason": b} for a, b in report.skipped],
        }
        typer.echo(json.dumps(doc, indent=2))
    else:
        _render(report, rows)
    if out is not None:
        text = yaml.safe_dump(
            cal.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100
        )
        write_files(out.parent if str(out.parent) else Path("."), {out.name: text}, force=force)
        console.print(
            f"wrote {out} ({len(cal.values)} values); use it with `aidc plan --calibration {out}`"
        )
