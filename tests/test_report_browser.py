"""The HTML report in a real browser: Debian's headless Chromium, driven by playwright-core.

Checks: no console or page errors, no network request at all (the page is
self-contained), every chart with data rendered with drawn traces, the figures without
data show their note, a screenshot is saved, and names containing ``<script>`` are shown
as text and never run.

Needs /usr/bin/chromium (Debian package ``chromium``), node, and playwright-core in
tests/browser/node_modules (``npm ci --prefix tests/browser``); ``.ci/run`` installs them.
The test skips, saying which is missing, only when they are absent and
``AIDC_REQUIRE_BROWSER`` is unset (``.ci/run`` sets it once the install succeeded).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from aidc.cli.common import build_context
from aidc.cli.report_cmd import accelerator_facts
from aidc.planner.pipeline import plan as run_plan
from aidc.report.figures import build_figures
from aidc.report.html import render_html
from aidc.spec.load import load_default_scenario
from tests.report_helpers import XSS, frozen_plan, hostile_plan

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "browser" / "check_report.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    if shutil.which("node") is None:
        return "node not found (apt-get install nodejs)"
    if not (ROOT / "tests" / "browser" / "node_modules" / "playwright-core").is_dir():
        return "playwright-core not installed (npm ci --prefix tests/browser)"
    return None


@pytest.fixture(scope="module")
def browser():
    why = _missing()
    if why:
        if os.environ.get("AIDC_REQUIRE_BROWSER"):
            pytest.fail(f"browser test required but {why}")
        pytest.skip(f"no headless browser here: {why}")

    def open_report(html_path: Path, shot: Path) -> dict:
        proc = subprocess.run(
            ["node", str(SCRIPT), str(html_path), str(shot)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "CHROMIUM": str(CHROMIUM)},
        )
        lines = proc.stdout.strip().splitlines()
        assert lines, proc.stderr
        result = json.loads(lines[-1])
        assert proc.returncode == 0, result.get("fatal") or proc.stderr
        return result

    return open_report


def _check_clean(result: dict, expected_charts: int, unavailable: list[str]) -> None:
    assert result["console_errors"] == []
    assert result["page_errors"] == []
    assert result["blocked_requests"] == []
    assert result["charts_expected"] == expected_charts
    assert result["charts_rendered"] == expected_charts
    assert result["charts_failed"] == 0
    assert result["charts_with_traces"] == expected_charts, result["charts_without_traces"]
    assert sorted(result["unavailable"]) == sorted(unavailable)
    assert Path(result["screenshot"]).stat().st_size > 10_000


def test_default_scenario_report_renders(browser, tmp_path):
    sc = load_default_scenario()
    doc = run_plan(sc, build_context(sc, None, None)).to_dict()
    html = tmp_path / "report.html"
    html.write_text(render_html(doc, accelerators=accelerator_facts()), encoding="utf-8")
    figs = build_figures(doc)
    result = browser(html, tmp_path / "report.png")
    _check_clean(
        result,
        sum(f.available for f in figs),
        [f.id for f in figs if not f.available],
    )
    assert result["scenario_text"] == "seed-default"


def test_script_in_names_is_shown_as_text(browser, tmp_path):
    doc = hostile_plan(frozen_plan())
    html = tmp_path / "hostile.html"
    html.write_text(render_html(doc), encoding="utf-8")
    figs = build_figures(doc)
    result = browser(html, tmp_path / "hostile.png")
    assert result["injected_script_ran"] is False
    assert result["scenario_text"] == XSS
    assert result["script_elements"] == 3
    _check_clean(result, sum(f.available for f in figs), [f.id for f in figs if not f.available])
