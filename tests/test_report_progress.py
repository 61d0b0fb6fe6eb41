"""Progress: the pipeline calls back per workload; the bar stays off when not a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from aidc.cli.common import build_context
from aidc.planner.pipeline import plan
from aidc.report.progress import task_progress
from aidc.spec.load import load_default_scenario


def test_pipeline_reports_progress_per_workload():
    sc = load_default_scenario()
    calls: list[tuple[str, int, int]] = []
    plan(sc, build_context(sc, None, None), progress=lambda *a: calls.append(a))
    names = [w.name for w in sc.workloads.training] + [s.name for s in sc.workloads.inference]
    assert calls == [(n, i, len(names)) for i, n in enumerate(names)] + [
        ("data center", len(names), len(names))
    ]


def test_progress_draws_only_on_a_terminal():
    buf = io.StringIO()
    with task_progress("planning", Console(file=buf, force_terminal=False)) as update:
        update("a", 1, 2)
    assert buf.getvalue() == ""
    tty = io.StringIO()
    with task_progress("planning", Console(file=tty, force_terminal=True, width=80)) as update:
        update("workload-a", 1, 2)
    assert "planning" in tty.getvalue()
    quiet = io.StringIO()
    with task_progress("planning", Console(file=quiet, force_terminal=True), enabled=False) as u:
        u("a", 1, 2)
    assert quiet.getvalue() == ""
