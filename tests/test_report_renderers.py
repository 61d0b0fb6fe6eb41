"""Report renderers: Markdown, CSV, terminal layout, HTML escaping, figures, plan checks."""

from __future__ import annotations

import copy
import csv
import io
import json
import re

import pytest
from rich.console import Console

from aidc.errors import AidcInputError
from aidc.report.csv_out import candidates_csv
from aidc.report.figures import build_figures
from aidc.report.html import render_html, script_json
from aidc.report.markdown import md_escape, render_markdown
from aidc.report.terminal import render_plan
from aidc.report.view import candidates, check_plan, fmt_metric, metric_label, workloads
from tests.report_helpers import FACTS, XSS, XSS_IMG, frozen_plan, hostile_plan


@pytest.fixture(scope="module")
def plan():
    return frozen_plan()


# ----------------------------------------------------------------------------- Markdown


def test_markdown_has_decision_trace_deployment(plan):
    md = render_markdown(plan)
    for heading in ("## Decision", "## Five-step trace", "## Deployment", "## Monitoring"):
        assert heading in md
    for w in plan["workloads"]:
        ch = w["chosen"]
        assert f"**{ch['accelerator']} x {ch['n_devices']}**" in md
    assert "least_conn;" in md and "vllm serve" in md


def test_markdown_escapes_user_text(plan):
    md = render_markdown(hostile_plan(plan))
    assert "<script>" not in md and "<img" not in md
    assert "&lt;script&gt;" in md
    # a table row keeps its column count when a name contains a pipe
    assert md_escape("a|b") == "a\\|b"
    row = next(line for line in md.splitlines() if line.startswith("| monthly"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 5


# ----------------------------------------------------------------------------- CSV


def test_csv_has_every_candidate(plan):
    text = candidates_csv(plan)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(len(w["candidates"]["rows"]) for w in plan["workloads"])
    assert {"workload", "accelerator", "feasible", "metrics.tco_3y_usd"} <= set(rows[0])
    first = plan["workloads"][0]["candidates"]
    cols = first["columns"]
    assert rows[0]["accelerator"] == first["rows"][0][cols.index("accelerator")]
    assert float(rows[0]["metrics.tco_3y_usd"]) == pytest.approx(
        first["rows"][0][cols.index("metrics.tco_3y_usd")]
    )


def test_csv_quotes_formula_text(plan):
    p = copy.deepcopy(plan)
    p["workloads"][0]["workload"] = "=HYPERLINK(1)"
    rows = list(csv.DictReader(io.StringIO(candidates_csv(p))))
    assert rows[0]["workload"] == "'=HYPERLINK(1)"


def test_csv_falls_back_to_shortlist_without_candidate_table(plan):
    p = copy.deepcopy(plan)
    for w in p["workloads"]:
        del w["candidates"]
    designs, complete = candidates(p["workloads"][0])
    assert not complete and len(designs) == len(p["workloads"][0]["designs"])
    rows = list(csv.DictReader(io.StringIO(candidates_csv(p))))
    assert len(rows) == sum(len(w["designs"]) for w in p["workloads"])


# ----------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("width", [80, 120, 160])
def test_terminal_fits_width(plan, width):
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    render_plan(plan, console)
    text = console.export_text()
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert not too_long, too_long[:3]
    assert "Decision" in text and "Re-plan when" in text
    # the compact plan stays on one line even at 80 columns
    tr = plan["workloads"][0]["chosen"]["plan"]
    assert f"TP{tr['tp']} PP{tr['pp']} DP{tr['dp']}" in text


def test_terminal_shows_more_metrics_when_wide(plan):
    def table_text(width: int) -> str:
        c = Console(width=width, record=True, color_system=None)
        render_plan(plan, c)
        text = c.export_text()
        return text[text.index("evaluated") : text.index("Five-step")]

    # the third metric of the first workload's table: hidden at 80 columns, shown at 120
    third = metric_label(workloads(plan)[0]["metric_names"][2])
    assert third not in table_text(80)
    assert third in table_text(120)


# ----------------------------------------------------------------------------- HTML


def test_html_is_self_contained(plan):
    html = render_html(plan, accelerators=FACTS)
    assert "<script src" not in html and "<link" not in html
    assert "window.Plotly = Plotly" in html  # the chart library is inlined
    # outside the library's own code (its strings name its website), nothing is remote;
    # the browser test checks that the page makes no request at all
    page = re.sub(r"<script>.*?</script>", "", html, count=1, flags=re.S)
    assert not re.search(r"""(src|href)=["']https?://""", page)


def test_html_escapes_user_text(plan):
    html = render_html(hostile_plan(plan), accelerators=FACTS)
    assert XSS not in html and XSS_IMG not in html
    assert html.count("<script") == 3  # plotly, figure data, our renderer
    assert "&lt;script&gt;window.__aidc_xss=true&lt;/script&gt;" in html


def test_script_json_cannot_close_the_script_element():
    text = script_json({"x": "</script><script>alert(1)</script>&"})
    assert "</" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["x"].startswith("</script>")


# ----------------------------------------------------------------------------- figures


def test_figures_say_what_is_missing(plan):
    bare = copy.deepcopy(plan)
    bare.pop("validation", None)
    for w in bare["workloads"]:
        w.pop("sensitivity", None)
    figs = {f.id: f for f in build_figures(bare)}
    assert not figs["sensitivity"].available and not figs["validation"].available
    assert "not available in this plan" in figs["sensitivity"].notes[0]
    for f in figs.values():
        assert f.reads, f.id
        assert f.available == bool(f.traces), f.id


def test_figures_draw_optional_sections_when_present(plan):
    p = copy.deepcopy(plan)
    p["sensitivity"] = {
        "tornado": [
            {"parameter": "electricity price", "low": 0.7, "high": 0.8, "base": 0.75},
            {"parameter": "matmul efficiency", "low": 0.6, "high": 0.9, "base": 0.75},
        ]
    }
    p["validation"] = [
        {
            "model": "training",
            "metric": "step time",
            "median_abs_pct_error": 9.0,
            "p90_abs_pct_error": 21.0,
            "n": 12,
        }
    ]
    for w in p["workloads"]:
        w.pop("sensitivity", None)
    figs = {f.id: f for f in build_figures(p)}
    assert figs["sensitivity"].available and figs["validation"].available
    err = figs["validation"].traces[0]["error_y"]["array"][0]
    assert err == pytest.approx(12.0)


def test_plan_sections_feed_the_sensitivity_and_validation_figures(plan):
    figs = {f.id: f for f in build_figures(plan)}
    sens, val = figs["sensitivity"], figs["validation"]
    assert sens.available and val.available
    shares = [y for t in sens.traces for y in t["y"]]
    assert all(0.0 <= y <= 1.0 for y in shares)
    medians = [100 * v["median_abs_error"] for v in plan["validation"]]
    assert val.traces[0]["y"] == pytest.approx(medians)


def test_cost_figure_reads_the_data_center_breakdown(plan):
    (fig,) = [f for f in build_figures(plan) if f.id == "cost"]
    assert fig.available
    parts = plan["datacenter"]["tco_3y_breakdown_usd"]
    assert sum(fig.traces[0]["y"]) == pytest.approx(sum(v for v in parts.values() if v > 0))


def test_cost_figure_needs_costs(plan):
    p = copy.deepcopy(plan)
    for w in p["workloads"]:
        w["chosen"]["metrics"].pop("tco_3y_usd")
    p["datacenter"].pop("tco_3y_breakdown_usd")
    figs = {f.id: f for f in build_figures(p)}
    assert not figs["cost"].available and not figs["tco"].available


def test_scaling_excludes_designs_that_do_not_fit(plan):
    (fig,) = [f for f in build_figures(plan) if f.id.startswith("scaling-")]
    rejected_for_memory = {
        (d["accelerator"], d["n_devices"])
        for d in candidates(plan["workloads"][0])[0]
        if str(d.get("reason") or "").startswith("memory")
    }
    plotted = {(t["name"], x) for t in fig.traces if t["name"] != "chosen" for x in t["x"]}
    assert not (plotted & rejected_for_memory)


# ----------------------------------------------------------------------------- inputs


def test_check_plan_rejects_non_plans():
    with pytest.raises(AidcInputError, match="not an aidc plan"):
        check_plan({"hello": 1})
    with pytest.raises(AidcInputError, match="schema_version"):
        check_plan({"scenario": "s", "workloads": [], "schema_version": 99})
    assert check_plan({"scenario": "s", "workloads": [], "schema_version": 1, "extra": 1})


def test_metric_formatting_uses_the_unit_in_the_name():
    assert fmt_metric("tokens_per_s", 150_000) == "150 k/s"
    assert fmt_metric("time_to_train_s", 86_400 * 2) == "2 d"
    assert fmt_metric("energy_kwh", 240_000) == "240 MWh"
    assert fmt_metric("ttft_p99_s", None) == "n/a"


def test_every_renderer_handles_a_workload_without_design(plan):
    p = copy.deepcopy(plan)
    w = p["workloads"][2]
    w["chosen"] = None
    w["designs"] = [dict(d, feasible=False, reason="slo: too slow") for d in w["designs"]]
    p["datacenter"]["pools"] = [
        x for x in p["datacenter"]["pools"] if x["workload"] != w["workload"]
    ]
    html = render_html(p, accelerators=FACTS)
    assert "No feasible design" in html
    md = render_markdown(p)
    assert "**no feasible design**" in md
    c = Console(width=100, record=True)
    render_plan(p, c)
    assert "no feasible design" in c.export_text()
    from aidc.report.deployment import build_deployment

    dep = build_deployment(p, FACTS)
    assert dep["not_deployed"] == [w["workload"]]
    assert w["workload"] not in {s["service"] for s in dep["serving"]}


def test_latency_curves_are_drawn_when_the_plan_has_them(plan):
    p = copy.deepcopy(plan)
    chat = next(w for w in p["workloads"] if w["workload"] == "assistant-chat")
    chat["latency_curves"] = [
        {
            "label": "chosen, batch sweep",
            "batch": [1, 8, 64],
            "throughput_rps": [0.5, 3.0, 9.0],
            "ttft_p99_s": [0.05, 0.08, 0.4],
            "tpot_p99_s": [0.01, 0.015, 0.03],
        }
    ]
    figs = {f.id: f for f in build_figures(p)}
    fig = figs["latency-assistant-chat-ttft_p99_s"]
    line = next(t for t in fig.traces if t["mode"] == "lines+markers")
    assert line["y"] == pytest.approx([50.0, 80.0, 400.0])
    assert "lines: p99 against load" in fig.notes[-1]
    bare = copy.deepcopy(plan)
    for w in bare["workloads"]:
        w.pop("latency_curves", None)
    plain = {f.id: f for f in build_figures(bare)}["latency-assistant-chat-ttft_p99_s"]
    assert "not available in this plan" in plain.notes[-1]
