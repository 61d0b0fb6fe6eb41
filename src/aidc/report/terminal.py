"""Terminal rendering of a plan with rich: the decision first, then the evidence."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from aidc.planner.result import Design, PlanResult, WorkloadDecision
from aidc.units import fmt_bytes, fmt_seconds, fmt_usd, fmt_watts


def _fmt_metric(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if name.endswith("_s"):
        return fmt_seconds(value)
    if "usd" in name:
        return fmt_usd(value)
    if name.endswith("_w"):
        return fmt_watts(value)
    if name.endswith("_bytes"):
        return fmt_bytes(value)
    if name.endswith("_kwh"):
        return f"{value:,.0f} kWh"
    return f"{value:.3g}"


def _plan_text(d: Design) -> str:
    p = d.plan
    if d.kind == "training":
        return (
            f"TP{p['tp']} PP{p['pp']} DP{p['dp']} mb{p['micro_batch']} "
            f"ZeRO-{p['zero_stage']} rc:{p['recompute']} {p['deployment']}"
        )
    return f"{p['engine']} {p['precision']} TP{p['tp']} x{p['replicas']} b{p['batch']} {p['deployment']}"


def workload_table(w: WorkloadDecision, top: int = 5) -> Table:
    shown = [d for d in w.designs if d.feasible][:top]
    rejected = [d for d in w.designs if not d.feasible][:3]
    t = Table(
        title=f"{w.workload} ({w.kind}, model {w.model}): {w.n_feasible} feasible of "
        f"{w.n_evaluated} evaluated",
        title_justify="left",
    )
    t.add_column("#", justify="right")
    t.add_column("accelerator")
    t.add_column("devices", justify="right")
    t.add_column("plan")
    for m in w.metric_names[:4]:
        t.add_column(m, justify="right")
    t.add_column("score", justify="right")
    for d in shown:
        t.add_row(
            str(d.rank),
            d.accelerator,
            str(d.n_devices),
            _plan_text(d),
            *[_fmt_metric(m, d.metrics.get(m)) for m in w.metric_names[:4]],
            f"{d.score:.3f}" if d.score is not None else "",
        )
    for d in rejected:
        t.add_row("✗", d.accelerator, str(d.n_devices), f"[dim]{d.reason}[/dim]", *[""] * 5)
    return t


def render_plan(result: PlanResult, console: Console) -> None:
    console.print(Panel.fit(f"[bold]aidc plan[/bold] — scenario [cyan]{result.scenario}[/cyan]"))
    decision = Table(title="Decision", title_justify="left")
    decision.add_column("workload")
    decision.add_column("chosen design")
    decision.add_column("why")
    for w in result.workloads:
        ch = w.chosen
        if ch is None:
            summary = ", ".join(f"{k}: {v}" for k, v in w.rejection_summary.items())
            decision.add_row(w.workload, "[red]no feasible design[/red]", f"rejections — {summary}")
        else:
            decision.add_row(
                w.workload,
                f"{ch.accelerator} x {ch.n_devices} ({_plan_text(ch)})",
                "; ".join(w.why_chosen or w.why_winner),
            )
    console.print(decision)
    dc = result.datacenter
    console.print(
        f"Data center: {dc['total_devices']} accelerators, "
        f"{fmt_watts(dc['facility_power_w'])} facility power (PUE {dc['pue']:.2f}), "
        f"capex {fmt_usd(dc['capex_usd'])}, 3-year TCO {fmt_usd(dc['tco_3y_usd'])}"
    )
    for line in dc.get("summary", []):
        console.print(f"  {line}")
    dec = result.decision
    if dec is not None:
        for line in dec.why:
            console.print(f"  {line}")
        if dec.sensitivity is not None:
            console.print(f"Data-center sensitivity: {dec.sensitivity.summary}")
    for w in result.workloads:
        console.print(workload_table(w))
        if w.sensitivity is not None:
            console.print(f"Sensitivity: {w.sensitivity.summary}")
    steps = Table(title="Five-step trace", title_justify="left", show_header=False)
    for s in result.steps:
        steps.add_row(f"{s.step}. {s.name}", s.summary)
    console.print(steps)
