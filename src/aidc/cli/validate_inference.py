"""``aidc validate inference CSV``: score the serving model against measured rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from aidc.catalog.loader import load_catalog
from aidc.cli.common import calibration_arg, console
from aidc.cli.subapps import validate_app
from aidc.errors import AidcInputError
from aidc.validation.inference_score import score_rows


def read_rows(path: Path) -> list[dict[str, str]]:
    """CSV rows as dicts (lenient: BOM, blank lines and short rows tolerated)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [{k: (v or "") for k, v in r.items() if k} for r in csv.DictReader(fh)]
    except OSError as err:
        raise AidcInputError(f"{path}: cannot read ({err.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as err:
        raise AidcInputError(f"{path}: not a readable CSV ({err})") from None
    if not rows:
        raise AidcInputError(f"{path}: no rows")
    return rows


def _pct(x: object) -> str:
    return f"{100 * float(x):.1f}%" if isinstance(x, int | float) else "-"


@validate_app.command("inference")
def validate_inference_command(
    csv_path: Annotated[
        Path, typer.Argument(help="CSV in the schema of data/reference/inference.csv")
    ],
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Per row and measured field, predicted vs measured; summary by field, source, hardware."""
    rows = read_rows(csv_path)
    entries, summary = score_rows(rows, load_catalog(), calibration_arg(calibration))
    if json_out:
        print(json.dumps({"summary": summary, "rows": [e.as_json() for e in entries]}, indent=1))
        return
    console.print(
        f"{summary['scored']} of {summary['scorable']} scorable rows predicted "
        f"({_pct(summary['coverage'])}); median APE {_pct(summary['median_ape'])}, "
        f"p90 {_pct(summary['p90_ape'])} over {summary['entries']} measured values"
    )
    if summary["oom_rows"]:
        console.print(
            f"OOM flags classified correctly: {_pct(summary['oom_accuracy'])} of {summary['oom_rows']}"
        )
    for group in ("by_field", "by_source", "by_hardware"):
        table = Table(title=group.replace("_", " "))
        for col in ("", "n", "median APE", "p90 APE"):
            table.add_column(col, justify="right" if col else "left")
        for name, st in summary[group].items():  # type: ignore[union-attr]
            table.add_row(name, str(st["n"]), _pct(st.get("median_ape")), _pct(st.get("p90_ape")))
        console.print(table)
    for reason, n in summary["skipped"].items():  # type: ignore[union-attr]
        console.print(f"skipped {n}: {reason}")
