"""Markdown summary of a plan for pull requests and wikis: decision first, then evidence.

User-provided text (scenario, workload and model names, reasons) is escaped so that it
cannot break a table or inject HTML into a rendered page.
"""

from __future__ import annotations

from typing import Any

from aidc.report.deployment import build_deployment
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
from aidc.units import fmt_usd, fmt_watts

TOP_DESIGNS = 5


def md_escape(text: Any) -> str:
    """Escape text for a Markdown table cell or line: no HTML, no table breaks."""
    s = str(text)
    for a, b in (
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("`", "\\`"),
        ("*", "\\*"),
        ("_", "\\_"),
        ("[", "\\["),
        ("]", "\\]"),
    ):
        s = s.replace(a, b)
    return " ".join(s.split())


def _fence(text: str, lang: str = "") -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [f"{fence}{lang}", text, fence]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _threshold(row: dict[str, Any]) -> str:
    r = row.get("replan_if")
    if not r:
        return "watch"
    return f"{r['op']} {fmt_watch_value(row['unit_metric'], r['value'])}"


def fmt_watch_value(unit_metric: str, value: Any) -> str:
    if value is None:
        return "—"
    if unit_metric == "rps":
        return f"{value:,.4g} req/s"
    if unit_metric == "count":
        return f"{value:g}"
    return fmt_metric(unit_metric, value)


def render_markdown(plan: Plan, deployment: dict[str, Any] | None = None) -> str:
    dep = deployment if deployment is not None else build_deployment(plan)
    L: list[str] = [f"# aidc plan — {md_escape(plan.get('scenario', '?'))}", ""]
    if plan.get("description"):
        L += [md_escape(plan["description"]), ""]

    L += ["## Decision", ""]
    rows = []
    for w in workloads(plan):
        ch = chosen(w)
        if ch is None:
            summary = ", ".join(f"{k}: {v}" for k, v in rejection_counts(w))
            rows.append(
                [md_escape(w.get("workload")), "**no feasible design**", "", md_escape(summary)]
            )
            continue
        rows.append(
            [
                md_escape(w.get("workload")),
                f"**{md_escape(design_title(ch))}**",
                md_escape(plan_text(ch)),
                md_escape("; ".join(why_chosen(w))),
            ]
        )
    L += [*_table(["workload", "chosen design", "plan", "why"], rows), ""]
    dc = plan.get("datacenter") or {}
    if dc:
        L += [
            f"Data center: **{dc.get('total_devices', '?')} accelerators**, "
            f"{fmt_watts(dc.get('facility_power_w') or float('nan'))} facility power "
            f"(PUE {dc.get('pue', float('nan')):.2f}), capex {fmt_usd(dc.get('capex_usd') or 0.0)}, "
            f"3-year TCO {fmt_usd(dc.get('tco_3y_usd') or 0.0)}.",
            "",
        ]
        for c in dc.get("constraint_checks", []) or []:
            mark = "ok" if c.get("ok") else "**violated**"
            L.append(
                f"- constraint {md_escape(c.get('constraint'))}: {c.get('value', 0):.4g} "
                f"against a limit of {c.get('limit', 0):.4g} — {mark}"
            )
        L.append("")

    L += ["## Five-step trace", ""]
    for s in plan.get("steps", []) or []:
        L.append(f"{s.get('step')}. **{md_escape(s.get('name'))}** — {md_escape(s.get('summary'))}")
    L.append("")

    L += ["## Designs per workload", ""]
    for w in workloads(plan):
        names = list(w.get("metric_names") or [])[:4]
        L += [
            f"### {md_escape(w.get('workload'))} ({md_escape(w.get('kind'))}, model "
            f"{md_escape(w.get('model'))})",
            "",
            f"{w.get('n_feasible', '?')} feasible of {w.get('n_evaluated', '?')} evaluated.",
            "",
        ]
        feas = [d for d in shortlist(w) if d.get("feasible")][:TOP_DESIGNS]
        if feas:
            rows = [
                [
                    str(d.get("rank", "")),
                    md_escape(design_title(d)),
                    md_escape(plan_text(d)),
                    *[fmt_metric(m, (d.get("metrics") or {}).get(m)) for m in names],
                    f"{d['score']:.3f}" if d.get("score") is not None else "",
                ]
                for d in feas
            ]
            L += [
                *_table(["#", "design", "plan", *[metric_label(m) for m in names], "score"], rows),
                "",
            ]
        rej = w.get("rejection_summary") or {}
        if rej:
            L.append(
                "Rejected: "
                + ", ".join(f"{md_escape(k or 'other')} {v}" for k, v in rej.items())
                + "."
            )
            L.append("")

    L += ["## Deployment", ""]
    for t in dep.get("training", []):
        L += [
            f"### Training: {md_escape(t['workload'])} — {md_escape(t['accelerator'])} x "
            f"{t['n_devices']} ({t['nodes']} nodes x {t['devices_per_node']})",
            "",
            f"{md_escape(t['launcher'])}; parallel plan: "
            + ", ".join(f"{k} {md_escape(v)}" for k, v in t["parallel_plan"].items()),
            "",
            *_fence(t["command"], "bash"),
            "",
        ]
        L += [f"- {md_escape(n)}" for n in t["notes"]] + ([""] if t["notes"] else [])
    for s in dep.get("serving", []):
        L += [
            f"### Serving: {md_escape(s['service'])} — {md_escape(s['engine_label'])} on "
            f"{md_escape(s['accelerator'])}, TP {s['tensor_parallel']}, max batch "
            f"{s['max_batch']}, {md_escape(s['precision'])}, {s['replicas']} replicas",
            "",
        ]
        if s["command"]:
            L += [*_fence(s["command"], "bash"), ""]
        L += [
            "Load balancer (nginx, least connections):",
            "",
            *_fence(s["load_balancer"], "nginx"),
            "",
        ]
        L += [f"- {md_escape(n)}" for n in s["notes"]] + ([""] if s["notes"] else [])

    L += ["## Monitoring and re-planning triggers", ""]
    rows = [
        [
            md_escape(m["workload"]),
            md_escape(m["what"]),
            md_escape(m["source"]),
            fmt_watch_value(m["unit_metric"], m["planned"]),
            _threshold(m),
            md_escape(m["why"]),
        ]
        for m in dep.get("monitoring", [])
    ]
    L += [*_table(["workload", "watch", "source", "planned", "re-plan if", "why"], rows), ""]

    if plan.get("assumptions"):
        L += ["## Assumptions", ""] + [f"- {md_escape(a)}" for a in plan["assumptions"]] + [""]
    return "\n".join(L)
