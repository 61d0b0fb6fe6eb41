"""``aidc plan``: the five-step selection on a scenario (the built-in default if none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aidc.cli import app
from aidc.cli.common import build_context, console, load_scenario_arg, write_files
from aidc.planner.pipeline import plan
from aidc.planner.plan_schema import plan_json_schema
from aidc.report.json_out import plan_to_json
from aidc.report.terminal import render_plan


@app.command("plan")
def plan_command(
    scenario: Annotated[
        Path | None, typer.Argument(help="scenario YAML/JSON; the built-in default if omitted")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the plan as JSON")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="write plan.json (and reports) here")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite files in --out")] = False,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file from `aidc calibrate`")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no terminal report")] = False,
) -> None:
    """Plan an AI data center: requirements -> candidates -> evaluation -> decision -> report."""
    sc, base = load_scenario_arg(scenario)
    ctx = build_context(sc, base, calibration)
    result = plan(sc, ctx)
    text = plan_to_json(result)
    if out is not None:
        paths = write_files(out, {"plan.json": text + "\n"}, force=force)
        if not quiet and not json_out:
            console.print(f"wrote {', '.join(str(p) for p in paths)}")
    if json_out:
        print(text)
    elif not quiet:
        render_plan(result, console)


@app.command("plan-schema")
def plan_schema_command() -> None:
    """Print the JSON Schema of `aidc plan --json` (documented in docs/plan-schema.md)."""
    print(json.dumps(plan_json_schema(), indent=2))
