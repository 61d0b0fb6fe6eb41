"""One self-contained HTML report: decision, trace, charts, BOM, deployment, monitoring.

The page inlines plotly.js (the basic bundle vendored in ``report/static``) and the
figure data, so it opens offline and needs no CDN. Text from the plan goes through
Jinja's autoescaping; the figure JSON is embedded with ``<``, ``>`` and ``&`` written
as ``\\u003c``-style escapes so that no user string can close the ``<script>`` element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import metadata, resources
from typing import Any

import jinja2
from markupsafe import Markup

from aidc.report.deployment import build_deployment
from aidc.report.figures import build_figures
from aidc.report.figures_dc import bill_of_materials
from aidc.report.markdown import fmt_watch_value
from aidc.report.view import (
    Plan,
    chosen,
    design_title,
    fmt_metric,
    metric_label,
    plan_text,
    rejection_counts,
    shortlist,
    why_chosen,
    workloads,
)
from aidc.units import fmt_count, fmt_flops, fmt_seconds, fmt_usd, fmt_watts

PLOTLY_VERSION = "4.1.1"
TOP_DESIGNS = 10


@cache
def _plotly_js() -> str:
    return (resources.files("aidc.report") / "static" / "plotly-basic.min.js").read_text("utf-8")


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aidc.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def script_json(value: Any) -> str:
    """JSON safe to place inside a ``<script>`` element."""
    text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    for a, b in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(a, b)
    return text


def _version() -> str:
    try:
        return metadata.version("aidc")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "dev"


def _fmt_cell(col: str, v: Any) -> str:
    if v is None:
        return "—"
    if col.endswith("_usd"):
        return fmt_usd(v)
    return str(v)


def _decisions(plan: Plan) -> list[dict[str, Any]]:
    out = []
    for w in workloads(plan):
        ch = chosen(w)
        names = list(w.get("metric_names") or [])
        extra = [
            m for m in ("tokens_per_s", "mfu", "facility_power_w", "tco_3y_usd") if m not in names
        ]
        out.append(
            {
                "workload": w.get("workload"),
                "kind": w.get("kind"),
                "model": w.get("model"),
                "chosen": ch is not None,
                "title": design_title(ch) if ch else "",
                "plan_text": plan_text(ch) if ch else "",
                "metrics": [
                    (metric_label(m), fmt_metric(m, (ch.get("metrics") or {}).get(m)))
                    for m in names[:4] + extra
                    if ch and (ch.get("metrics") or {}).get(m) is not None
                ],
                "why": why_chosen(w),
                "rejections": rejection_counts(w),
                "n_feasible": w.get("n_feasible"),
                "n_evaluated": w.get("n_evaluated"),
            }
        )
    return out


_REQUIREMENT_FORMATS = (
    ("params", "parameters", lambda v: fmt_count(v)),
    ("active_params", "active", lambda v: fmt_count(v)),
    ("tokens", "tokens", lambda v: fmt_count(v)),
    ("training_flops", "compute", lambda v: fmt_flops(v)),
    ("seq_len", "sequence", lambda v: f"{v:g} tokens"),
    ("global_batch_seqs", "global batch", lambda v: f"{v:g} sequences"),
    ("deadline_s", "deadline", lambda v: fmt_seconds(v)),
    ("peak_rps", "peak", lambda v: f"{v:g} req/s"),
    ("mean_rps", "mean", lambda v: f"{v:g} req/s"),
    ("input_tokens", "input", lambda v: f"{v:g} tokens"),
    ("output_tokens", "output", lambda v: f"{v:g} tokens"),
    ("slo_p99_latency_s", "SLO p99 latency", lambda v: fmt_seconds(v)),
    ("slo_ttft_p99_s", "SLO TTFT p99", lambda v: fmt_seconds(v)),
    ("slo_tpot_p99_s", "SLO TPOT p99", lambda v: fmt_seconds(v)),
    ("availability", "availability", lambda v: f"{v:.4g}"),
)


def _requirements(plan: Plan) -> list[dict[str, Any]]:
    """Step 1 per workload: the known requirement fields, formatted; unknown ones as-is."""
    out = []
    known = {k for k, _, _ in _REQUIREMENT_FORMATS}
    for w in workloads(plan):
        req = w.get("requirements") or {}
        parts = []
        for key, label, fmt in _REQUIREMENT_FORMATS:
            v = req.get(key)
            if isinstance(v, int | float) and not isinstance(v, bool) and v == v:
                if key == "active_params" and v == req.get("params"):
                    continue
                if key == "output_tokens" and not v:
                    continue
                parts.append(f"{label} {fmt(v)}")
        parts += [
            f"{k} {v}"
            for k, v in req.items()
            if k not in known and v is not None and not isinstance(v, dict | list)
        ]
        out.append(
            {
                "workload": w.get("workload"),
                "kind": w.get("kind"),
                "model": w.get("model"),
                "text": ", ".join(parts),
            }
        )
    return out


def _tables(plan: Plan) -> list[dict[str, Any]]:
    out = []
    for w in workloads(plan):
        names = list(w.get("metric_names") or [])[:6]
        rows = []
        for d in [d for d in shortlist(w) if d.get("feasible")][:TOP_DESIGNS]:
            rows.append(
                {
                    "rank": d.get("rank", ""),
                    "title": design_title(d),
                    "plan": plan_text(d),
                    "cells": [fmt_metric(m, (d.get("metrics") or {}).get(m)) for m in names],
                    "score": f"{d['score']:.3f}" if d.get("score") is not None else "",
                    "pareto": "yes" if d.get("pareto") else "",
                }
            )
        rej = [d for d in shortlist(w) if not d.get("feasible")][:3]
        out.append(
            {
                "workload": w.get("workload"),
                "headers": [metric_label(m) for m in names],
                "rows": rows,
                "rejected": ", ".join(
                    f"{k or 'other'} {v}" for k, v in (w.get("rejection_summary") or {}).items()
                ),
                "closest_rejected": [f"{design_title(d)}: {d.get('reason')}" for d in rej],
            }
        )
    return out


def _datacenter(plan: Plan) -> dict[str, Any] | None:
    dc = plan.get("datacenter") or {}
    if not dc:
        return None
    return {
        "total_devices": dc.get("total_devices", "?"),
        "power": fmt_watts(dc.get("facility_power_w") or float("nan")),
        "pue": f"{dc.get('pue', float('nan')):.2f}",
        "capex": fmt_usd(dc.get("capex_usd") or 0.0),
        "tco": fmt_usd(dc.get("tco_3y_usd") or 0.0),
        "checks": [
            {
                "name": c.get("constraint"),
                "value": f"{c.get('value', 0):.4g}",
                "limit": f"{c.get('limit', 0):.4g}",
                "ok": bool(c.get("ok")),
            }
            for c in dc.get("constraint_checks", []) or []
        ],
    }


def render_html(
    plan: Plan,
    *,
    deployment: dict[str, Any] | None = None,
    accelerators: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    dep = deployment if deployment is not None else build_deployment(plan, accelerators)
    figures = build_figures(plan)
    bom = bill_of_materials(plan, accelerators)
    bom = {
        **bom,
        "rows": [
            [_fmt_cell(c, v) for c, v in zip(bom["columns"], r, strict=False)] for r in bom["rows"]
        ],
    }
    monitoring = [
        {
            **m,
            "planned": fmt_watch_value(m["unit_metric"], m["planned"]),
            "threshold": (
                f"{m['replan_if']['op']} {fmt_watch_value(m['unit_metric'], m['replan_if']['value'])}"
                if m.get("replan_if")
                else "watch"
            ),
        }
        for m in dep.get("monitoring", [])
    ]
    return _template().render(
        scenario=plan.get("scenario", "?"),
        description=plan.get("description") or "",
        schema_version=plan.get("schema_version", "?"),
        assumptions=plan.get("assumptions") or [],
        version=_version(),
        plotly_version=PLOTLY_VERSION,
        decisions=_decisions(plan),
        dc=_datacenter(plan),
        steps=plan.get("steps") or [],
        figures=figures,
        bom=bom,
        tables=_tables(plan),
        requirements=_requirements(plan),
        deployment=dep,
        monitoring=monitoring,
        plotly_js=Markup(_plotly_js()),
        figures_json=Markup(script_json([f.to_dict() for f in figures])),
    )
