"""``aidc validate training CSV``: score aidc's training predictions against a results table.

Reads a CSV in the schema of ``data/reference/training.csv`` (the edge: file reading and
CSV parsing here), predicts each row with the shipped catalog and calibration (never
fitted to the file it scores) through :mod:`aidc.calibrate.training_validation`, and
prints per-row errors and a summary (``--json``: one object, ape as fractions).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aidc.calibrate.training_validation import ValidationReport, validate_rows
from aidc.catalog.efficiency import load_kernel_efficiency
from aidc.catalog.loader import load_catalog
from aidc.cli.common import calibration_arg, console
from aidc.cli.subapps import validate_app
from aidc.errors import AidcInputError
from aidc.model.training import TrainingCalibration

MAX_CSV_BYTES = 64 * 1024 * 1024
REQUIRED_COLUMNS = ("row_id", "hardware", "model")


def read_reference_csv(path: Path) -> list[dict[str, str]]:
    """Rows of ``path`` as dicts of strings; one-line errors for unusable files."""
    if not path.exists():
        raise AidcInputError(f"{path}: file not found")
    if path.is_dir():
        raise AidcInputError(f"{path}: is a directory, expected a CSV file")
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise AidcInputError(f"{path}: larger than {MAX_CSV_BYTES // 2**20} MiB")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AidcInputError(f"{path}: not a UTF-8 text file") from None
    except OSError as err:
        raise AidcInputError(f"{path}: cannot read ({err.strerror})") from None
    try:
        reader = csv.DictReader(io.StringIO(text))
        header = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise AidcInputError(
                f"{path}: missing column(s) {', '.join(missing)}; needs the columns of "
                "data/reference/training.csv (row_id, model, hardware, n_accel, ...)"
            )
        return [{k: (v or "") for k, v in row.items() if k is not None} for row in reader]
    except csv.Error as err:
        raise AidcInputError(f"{path}: not a valid CSV ({err})") from None


@validate_app.command("training")
def validate_training_command(
    csv_path: Annotated[
        Path, typer.Argument(help="CSV in the schema of data/reference/training.csv")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file")
    ] = None,
) -> None:
    """Predict every row aidc can and report the errors (per row and summarised)."""
    rows = read_reference_csv(csv_path)
    cal = TrainingCalibration.from_calibration(calibration_arg(calibration))
    report = validate_rows(rows, load_catalog(), load_kernel_efficiency(), cal)
    if json_out:
        print(json.dumps(report.to_json(), indent=1))
    else:
        _render(report)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _render(report: ValidationReport) -> None:
    table = Table(title="Per-GPU throughput (tokens/s per device)")
    for col in ("row", "source", "hardware", "measured", "predicted", "error"):
        table.add_column(col)
    skipped: dict[str, int] = {}
    for r in report.results:
        if r.ape is not None:
            table.add_row(
                r.row_id,
                r.source_id,
                r.hardware,
                f"{r.measured:,.0f}",
                f"{r.predicted:,.0f}",
                _pct(r.ape),
            )
        else:
            why = r.skipped or ("OOM row" if r.measured_oom else "no throughput measured")
            skipped[why] = skipped.get(why, 0) + 1
    console.print(table)
    s = report.summary()
    console.print(
        f"[bold]scored {s['scored']} of {s['scorable']} scorable rows[/]: median error {_pct(s['median_ape'])}, "
        f"p90 {_pct(s['p90_ape'])}"
    )
    for label, key in (("by source", "by_source"), ("by hardware", "by_hardware")):
        console.print(
            f"  {label}: "
            + "; ".join(f"{k} {_pct(v['median_ape'])} (n={v['n']})" for k, v in s[key].items())
        )
    mem, oom = s["memory"], s["oom"]
    console.print(
        f"  peak memory: median error {_pct(mem['median_ape'])}, p90 {_pct(mem['p90_ape'])} (n={mem['n']})"
    )
    if oom["rows"]:
        console.print(
            f"  out-of-memory rows predicted not to fit: {oom['predicted_oom']} of {oom['rows']}"
        )
    for why, n in sorted(skipped.items(), key=lambda kv: -kv[1]):
        console.print(f"  skipped {n}: {why}")
