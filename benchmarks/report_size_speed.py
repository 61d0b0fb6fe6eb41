"""Size and render time of the HTML report for the built-in default scenario.

Targets (issue 7): under 5 MB (5,000,000 bytes) and rendered in under 3 s. "Rendered"
is measured in headless Chromium (Debian's package, driven by playwright-core through
tests/browser/check_report.mjs) as ``performance.now()`` when the last chart has been
drawn, i.e. from navigation start to every chart on screen; the wall time from the
driver's ``goto`` to that moment is printed too. Also times the Python side (plan ->
HTML). Writes the report and a full-page screenshot to benchmarks/results/.

    python benchmarks/report_size_speed.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SIZE_TARGET_BYTES = 5_000_000
RENDER_TARGET_S = 3.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()

    from aidc.cli.common import build_context
    from aidc.cli.report_cmd import accelerator_facts
    from aidc.planner.pipeline import plan
    from aidc.report.html import render_html
    from aidc.spec.load import load_default_scenario

    sc = load_default_scenario()
    doc = plan(sc, build_context(sc, None, None)).to_dict()
    facts = accelerator_facts()
    render_html(doc, accelerators=facts)  # warm the template and library caches
    py_times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        html = render_html(doc, accelerators=facts)
        py_times.append(time.perf_counter() - t0)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "report-default.html"
    out.write_text(html, encoding="utf-8")
    size = out.stat().st_size
    print(
        f"report size             {size:>12,d} bytes = {size / SIZE_TARGET_BYTES:.2f} x the 5 MB target"
    )
    print(f"plan -> HTML (Python)   median {statistics.median(py_times):.3f} s")

    render, wall = [], []
    for i in range(args.repeats):
        shot = RESULTS / "report-default.png"
        proc = subprocess.run(
            ["node", str(ROOT / "tests" / "browser" / "check_report.mjs"), str(out), str(shot)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode != 0 or not proc.stdout.strip():
            sys.exit(f"browser run {i} failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        if r["console_errors"] or r["page_errors"] or r["charts_rendered"] != r["charts_expected"]:
            sys.exit(f"browser run {i}: errors or missing charts: {r}")
        render.append(r["render_ms"] / 1e3)
        wall.append(r["wall_ms_to_rendered"] / 1e3)
    med = statistics.median(render)
    print(
        f"render in Chromium      median {med:.2f} s  max {max(render):.2f} s  = "
        f"{med / RENDER_TARGET_S:.2f} x the 3 s target ({r['charts_rendered']} charts)"
    )
    print(f"goto -> charts drawn    median {statistics.median(wall):.2f} s  max {max(wall):.2f} s")
    print(f"wrote {out} and {RESULTS / 'report-default.png'}")


if __name__ == "__main__":
    main()
