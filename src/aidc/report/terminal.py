"""Terminal rendering of a plan with rich: the decision first, then the evidence.

The layout adapts to the console width: at 80 columns tables show the compact plan
(``TP1 PP1 DP128``) and two metrics, from 100 columns the full plan and four metrics,
from 140 columns six. Long text (reasons, rejections) is printed as wrapped lines under
the tables instead of squeezed into cells. Everything is read from the plan document
(``PlanResult.to_dict()`` or a saved ``plan.json``).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from aidc.report.deployment import build_deployment
from aidc.report.markdown import fmt_watch_value
from aidc.report.view import (
    Plan,
    Workload,
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

NARROW_BELOW = 100
WIDE_FROM = 140


PLAN_MIN_COLUMNS = 28
"""Room kept for the plan column (design, rank and score take about 30 more)."""


def _n_metrics(width: int, names: list[str] | None = None) -> int:
    """How many metric columns fit: at most 2 below NARROW_BELOW, 4 below WIDE_FROM, 6
    above, and never so many that the plan column gets squeezed under PLAN_MIN_COLUMNS."""
    cap = 2 if width < NARROW_BELOW else (4 if width < WIDE_FROM else 6)
    if not names:
        return cap
    room = width - PLAN_MIN_COLUMNS - 30
    k = 0
    for name in names[:cap]:
        # headers do not wrap; a value needs about 10 columns, plus the padding
        need = max(len(metric_label(name)), 10) + 3
        if room < need:
            break
        room -= need
        k += 1
    return max(k, 1)


def _line(label: str, text: str, style: str = "") -> Text:
    t = Text()
    t.append(label, style="bold")
    t.append(text, style=style)
    return t


def _decision(plan: Plan, console: Console) -> None:
    console.print(Text("Decision", style="bold underline"))
    for w in workloads(plan):
        ch = chosen(w)
        head = Text()
        head.append(str(w.get("workload")), style="bold cyan")
        head.append(f"  ({w.get('kind')}, model {w.get('model')})", style="dim")
        console.print(head)
        if ch is None:
            summary = ", ".join(f"{k}: {v}" for k, v in rejection_counts(w))
            console.print(
                Padding(_line("no feasible design ", f"— {summary}", "red"), (0, 0, 0, 2))
            )
            continue
        console.print(Padding(_line(design_title(ch), f"  {plan_text(ch)}"), (0, 0, 0, 2)))
        for reason in why_chosen(w):
            console.print(Padding(Text(f"· {reason}"), (0, 0, 0, 4)))
        sens = w.get("sensitivity") or {}
        if sens.get("summary"):
            console.print(
                Padding(Text(f"sensitivity: {sens['summary']}", style="dim"), (0, 0, 0, 4))
            )


def _datacenter(plan: Plan, console: Console) -> None:
    dc = plan.get("datacenter") or {}
    if not dc:
        return
    console.print(
        Text(
            f"Data center: {dc.get('total_devices', '?')} accelerators, "
            f"{fmt_watts(dc.get('facility_power_w') or float('nan'))} facility power "
            f"(PUE {dc.get('pue', float('nan')):.2f}), capex {fmt_usd(dc.get('capex_usd') or 0.0)}, "
            f"3-year TCO {fmt_usd(dc.get('tco_3y_usd') or 0.0)}"
        )
    )
    for line in dc.get("summary", []) or []:
        console.print(Padding(Text(line, style="dim"), (0, 0, 0, 2)))
    dec = plan.get("decision") or {}
    for line in dec.get("why", []) or []:
        console.print(Padding(Text(f"· {line}"), (0, 0, 0, 2)))
    sens = dec.get("sensitivity") or {}
    if sens.get("summary"):
        console.print(
            Padding(Text(f"data-center sensitivity: {sens['summary']}", style="dim"), (0, 0, 0, 2))
        )
    for c in dc.get("constraint_checks", []) or []:
        style = "green" if c.get("ok") else "bold red"
        console.print(
            Text(
                f"  constraint {c.get('constraint')}: {c.get('value', 0):.4g} vs limit "
                f"{c.get('limit', 0):.4g} — {'ok' if c.get('ok') else 'VIOLATED'}",
                style=style,
            )
        )


def workload_table(w: Workload, width: int, top: int = 5) -> Table:
    all_names = list(w.get("metric_names") or [])
    names = all_names[: _n_metrics(width, all_names)]
    compact = width < NARROW_BELOW
    t = Table(
        title=f"{w.get('workload')}: {w.get('n_feasible', '?')} feasible of "
        f"{w.get('n_evaluated', '?')} evaluated",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
    )
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("design", no_wrap=True, overflow="ellipsis")
    t.add_column("plan", overflow="fold", ratio=1, min_width=PLAN_MIN_COLUMNS)
    for m in names:
        t.add_column(metric_label(m), justify="right", no_wrap=True)
    t.add_column("score", justify="right", no_wrap=True)
    for d in [d for d in shortlist(w) if d.get("feasible")][:top]:
        t.add_row(
            str(d.get("rank", "")),
            design_title(d),
            plan_text(d, compact=compact),
            *[fmt_metric(m, (d.get("metrics") or {}).get(m)) for m in names],
            f"{d['score']:.3f}" if d.get("score") is not None else "",
        )
    return t


def _rejections(w: Workload, console: Console, top: int = 3) -> None:
    rej = [d for d in shortlist(w) if not d.get("feasible")][:top]
    summary = w.get("rejection_summary") or {}
    if summary:
        console.print(
            Text(
                "  rejected: " + ", ".join(f"{k or 'other'} {v}" for k, v in summary.items()),
                style="dim",
            )
        )
    for d in rej:
        console.print(
            Padding(Text(f"✗ {design_title(d)}: {d.get('reason')}", style="dim"), (0, 0, 0, 4))
        )


def _deployment(dep: dict[str, Any], console: Console, *, commands: bool) -> None:
    console.print(Text("Deployment (step 5)", style="bold underline"))
    for t in dep.get("training", []):
        console.print(
            _line(
                f"{t['workload']}: ",
                f"{t['launcher']} on {t['nodes']} nodes x {t['devices_per_node']} "
                f"{t['accelerator']}",
            )
        )
        if commands:
            console.print(Padding(Text(t["command"], style="green"), (0, 0, 0, 2)))
        for n in t["notes"]:
            console.print(Padding(Text(f"· {n}", style="dim"), (0, 0, 0, 2)))
    for s in dep.get("serving", []):
        console.print(
            _line(
                f"{s['service']}: ",
                f"{s['engine_label']} {s['precision']}, TP {s['tensor_parallel']}, max batch "
                f"{s['max_batch']}, {s['replicas']} replicas on {s['accelerator']} "
                "(nginx least_conn upstream)",
            )
        )
        if commands and s["command"]:
            console.print(Padding(Text(s["command"], style="green"), (0, 0, 0, 2)))
        for n in s["notes"]:
            console.print(Padding(Text(f"· {n}", style="dim"), (0, 0, 0, 2)))
    mon = Table(title="Re-plan when", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    mon.add_column("workload", no_wrap=True, overflow="ellipsis", max_width=24)
    mon.add_column("watch", ratio=1)
    mon.add_column("planned", justify="right", no_wrap=True)
    mon.add_column("re-plan if", justify="right", no_wrap=True)
    for m in dep.get("monitoring", []):
        r = m.get("replan_if")
        if not r:
            continue
        mon.add_row(
            str(m["workload"]),
            m["what"],
            fmt_watch_value(m["unit_metric"], m["planned"]),
            f"{r['op']} {fmt_watch_value(m['unit_metric'], r['value'])}",
        )
    console.print(mon)


def render_plan(
    plan: Plan,
    console: Console,
    *,
    deployment: dict[str, Any] | None = None,
    commands: bool = True,
) -> None:
    """Print the plan: decision, data center, per-workload designs, trace, deployment."""
    console.print(
        Text.assemble(("aidc plan", "bold"), " — scenario ", (str(plan.get("scenario")), "cyan"))
    )
    _decision(plan, console)
    _datacenter(plan, console)
    console.print()
    for w in workloads(plan):
        console.print(workload_table(w, console.width))
        _rejections(w, console)
        console.print()
    console.print(Text("Five-step trace", style="bold underline"))
    for s in plan.get("steps", []) or []:
        console.print(
            Padding(
                _line(f"{s.get('step')}. {s.get('name')}: ", str(s.get("summary"))), (0, 0, 0, 2)
            )
        )
    console.print()
    dep = deployment if deployment is not None else build_deployment(plan)
    _deployment(dep, console, commands=commands)
