"""``aidc plan``: the five-step selection on a scenario (the built-in default if none)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from aidc.cli import app
from aidc.cli.common import build_context, console, err_console, load_scenario_arg, write_files
from aidc.cli.report_cmd import CsvOpt, HtmlOpt, MdOpt, check_outputs, write_reports
from aidc.planner.pipeline import plan
from aidc.planner.plan_schema import plan_json_schema
from aidc.report.json_out import plan_to_json
from aidc.report.progress import task_progress
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
    html: HtmlOpt = None,
    md: MdOpt = None,
    csv: CsvOpt = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite existing files")] = False,
    calibration: Annotated[
        Path | None, typer.Option("--calibration", help="calibration file from `aidc calibrate`")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no terminal report")] = False,
) -> None:
    """Plan an AI data center: requirements -> candidates -> evaluation -> decision -> report."""
    check_outputs({"--html": html, "--md": md, "--csv": csv}, force=force)
    sc, base = load_scenario_arg(scenario)
    ctx = build_context(sc, base, calibration)
    with task_progress("planning", err_console, enabled=not (quiet or json_out)) as update:
        result = plan(sc, ctx, progress=update)
    doc = result.to_dict()
    text = plan_to_json(doc)
    say = None if (quiet or json_out) else err_console
    if out is not None:
        paths = write_files(out, {"plan.json": text + "\n"}, force=force)
        if say is not None:
            say.print(f"wrote {', '.join(str(p) for p in paths)}")
    deployment = write_reports(doc, html=html, md=md, csv=csv, force=force, say=say)
    if json_out:
        print(text)
    elif not quiet:
        render_plan(doc, console, deployment=deployment)


@app.command("plan-schema")
def plan_schema_command() -> None:
    """Print the JSON Schema of `aidc plan --json` (documented in docs/plan-schema.md)."""
    print(json.dumps(plan_json_schema(), indent=2))
