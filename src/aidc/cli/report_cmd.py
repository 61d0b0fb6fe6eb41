"""``aidc report PLAN.json``: render a saved plan (terminal, HTML, Markdown, CSV, JSON).

Also home of the output plumbing that ``aidc plan --html/--md/--csv`` shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aidc.catalog.loader import load_catalog
from aidc.cli import app
from aidc.cli.common import console, err_console
from aidc.errors import AidcInputError
from aidc.report.csv_out import candidates_csv
from aidc.report.deployment import build_deployment
from aidc.report.html import render_html
from aidc.report.json_out import report_to_json
from aidc.report.markdown import render_markdown
from aidc.report.terminal import render_plan
from aidc.report.view import Plan, check_plan

MAX_PLAN_BYTES = 256 * 2**20
"""A plan with every candidate is a few MiB; a file this large is not one of ours."""


def accelerator_facts() -> dict[str, dict[str, Any]]:
    """Catalog facts the deployment plan and BOM need, by accelerator id."""
    return {
        a.id: {"devices_per_node": a.devices_per_node, "vendor": a.vendor}
        for a in load_catalog().accelerators
    }


def read_plan(path: Path) -> Plan:
    if not path.is_file():
        raise AidcInputError(f"{path}: file not found", field="PLAN")
    size = path.stat().st_size
    if size > MAX_PLAN_BYTES:
        raise AidcInputError(f"{path}: {size / 2**20:.0f} MiB is too large for a plan file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise AidcInputError(f"{path}: not a UTF-8 text file") from None
    except json.JSONDecodeError as err:
        raise AidcInputError(
            f"{path}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    return check_plan(doc, name=str(path))


def write_output(path: Path, text: str, *, force: bool, option: str) -> None:
    """Write one report file; never overwrite without ``--force``."""
    if path.is_dir():
        raise AidcInputError(f"{option} {path}: is a directory; give a file name")
    if path.exists() and not force:
        raise AidcInputError(f"{option} {path}: exists; pass --force to overwrite")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        raise AidcInputError(f"{option} {path}: cannot write ({err.strerror})") from None


def check_outputs(outputs: dict[str, Path | None], *, force: bool) -> None:
    """Refuse before any work if an output would overwrite a file without ``--force``."""
    for option, path in outputs.items():
        if path is None:
            continue
        if path.is_dir():
            raise AidcInputError(f"{option} {path}: is a directory; give a file name")
        if path.exists() and not force:
            raise AidcInputError(f"{option} {path}: exists; pass --force to overwrite")


def write_reports(
    plan: Plan,
    *,
    html: Path | None,
    md: Path | None,
    csv: Path | None,
    force: bool,
    say: Console | None,
) -> dict[str, Any]:
    """Write the requested report files; return the deployment plan used."""
    facts = accelerator_facts()
    deployment = build_deployment(plan, facts)
    jobs = (
        ("--html", html, lambda: render_html(plan, deployment=deployment, accelerators=facts)),
        ("--md", md, lambda: render_markdown(plan, deployment)),
        ("--csv", csv, lambda: candidates_csv(plan)),
    )
    for option, path, make in jobs:
        if path is None:
            continue
        write_output(path, make(), force=force, option=option)
        if say is not None:
            say.print(f"wrote {path}")
    return deployment


HtmlOpt = Annotated[
    Path | None, typer.Option("--html", help="write a self-contained HTML report (opens offline)")
]
MdOpt = Annotated[Path | None, typer.Option("--md", help="write a Markdown summary")]
CsvOpt = Annotated[
    Path | None, typer.Option("--csv", help="write every evaluated design as CSV (SI units)")
]


@app.command("report")
def report_command(
    plan_path: Annotated[Path, typer.Argument(metavar="PLAN", help="plan JSON from `aidc plan`")],
    html: HtmlOpt = None,
    md: MdOpt = None,
    csv: CsvOpt = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="print the deployment plan and figure sources as JSON")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="overwrite existing files")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no terminal report")] = False,
) -> None:
    """Render a saved plan: terminal summary, HTML (--html), Markdown (--md), CSV (--csv)."""
    check_outputs({"--html": html, "--md": md, "--csv": csv}, force=force)
    plan = read_plan(plan_path)
    say = None if (quiet or json_out) else err_console
    deployment = write_reports(plan, html=html, md=md, csv=csv, force=force, say=say)
    if json_out:
        print(report_to_json(plan, accelerator_facts()))
    elif not quiet and not (html or md or csv):
        render_plan(plan, console, deployment=deployment)
