"""The HTML report's figures as plain data: plotly traces and layouts built from the plan.

Each :class:`Figure` names the plan fields it reads (``reads``). Where the plan lacks
them the figure is returned with ``available=False`` and a note saying what is missing;
nothing is estimated here and nothing is made up. Text that comes from the user
(workload, model and scenario names) is HTML-escaped before it reaches plotly, whose
labels accept a subset of HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aidc.report.figures_base import (
    CHOSEN_COLOR,
    NOT_AVAILABLE,
    Figure,
    colors_for,
    esc,
    hline,
    layout,
)
from aidc.report.figures_dc import (
    cost_breakdown_figure,
    memory_figure,
    power_figure,
    sensitivity_figure,
    tco_figure,
    validation_figure,
)
from aidc.report.view import (
    Plan,
    Workload,
    candidates,
    chosen,
    design_title,
    metric,
    metric_label,
    plan_text,
    workloads,
)
from aidc.units import DAY


def _hover(d: Mapping[str, Any]) -> str:
    return f"{esc(design_title(d))}<br>{esc(plan_text(d))}"


# --------------------------------------------------------------------------- Pareto


_PARETO_AXES = {
    "training": ("run_cost_usd", "time_to_train_s"),
    "decoder": ("tco_3y_usd", "ttft_p99_s"),
    "encoder": ("tco_3y_usd", "p99_latency_s"),
}
_AXIS_SCALE = {
    "time_to_train_s": (DAY, "days"),
    "ttft_p99_s": (1e-3, "ms"),
    "p99_latency_s": (1e-3, "ms"),
}


def _pareto_axes(w: Workload) -> tuple[str, str]:
    if w.get("kind") == "training":
        return _PARETO_AXES["training"]
    names = w.get("metric_names") or []
    return _PARETO_AXES["decoder" if "ttft_p99_s" in names else "encoder"]


def pareto_figure(w: Workload) -> Figure:
    name = str(w.get("workload"))
    xm, ym = _pareto_axes(w)
    reads = [
        "workloads[].candidates (feasible, pareto, accelerator, n_devices, plan.*, "
        f"metrics.{xm}, metrics.{ym})",
        "workloads[].chosen",
    ]
    designs, complete = candidates(w)
    ch = chosen(w)
    pts = [
        d
        for d in designs
        if d.get("feasible") and metric(d, xm) is not None and metric(d, ym) is not None
    ]
    fid = f"pareto-{name}"
    title = f"{name}: {metric_label(ym)} vs {metric_label(xm)}"
    if not pts:
        return Figure(
            fid,
            title,
            reads,
            False,
            notes=[f"feasible designs with {xm} and {ym}: {NOT_AVAILABLE}"],
        )
    yscale, yunit = _AXIS_SCALE.get(ym, (1.0, "s"))
    traces = []
    for label, sel, style in (
        ("feasible", [d for d in pts if not d.get("pareto")], {"color": "#b0b7c3", "size": 6}),
        ("Pareto front", [d for d in pts if d.get("pareto")], {"color": "#1f77b4", "size": 8}),
    ):
        if sel:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": label,
                    "x": [metric(d, xm) for d in sel],
                    "y": [metric(d, ym) / yscale for d in sel],
                    "text": [_hover(d) for d in sel],
                    "hovertemplate": "%{text}<br>%{x:$,.3s} / %{y:.3g} "
                    + yunit
                    + "<extra></extra>",
                    "marker": style,
                }
            )
    if ch is not None and metric(ch, xm) is not None and metric(ch, ym) is not None:
        traces.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": "chosen",
                "x": [metric(ch, xm)],
                "y": [metric(ch, ym) / yscale],
                "text": [esc(design_title(ch))],
                "textposition": "top center",
                "hovertemplate": _hover(ch) + "<extra>chosen</extra>",
                "marker": {
                    "color": CHOSEN_COLOR,
                    "size": 16,
                    "symbol": "star",
                    "line": {"width": 1, "color": "#000"},
                },
            }
        )
    notes = [
        "Pareto front = designs not dominated on all the workload's criteria "
        f"({', '.join(w.get('metric_names') or [])}), so some look dominated in these two."
    ]
    if not complete:
        notes.append("this plan has no candidate table: only the shortlisted designs are shown")
    return Figure(
        fid,
        title,
        reads,
        True,
        traces,
        layout(
            f"{metric_label(xm)} (USD)", f"{metric_label(ym)} ({yunit})", log_x=True, log_y=True
        ),
        notes,
    )


# --------------------------------------------------------------------------- latency vs throughput


_SLO_KEYS = {
    "ttft_p99_s": "slo_ttft_p99_s",
    "tpot_p99_s": "slo_tpot_p99_s",
    "p99_latency_s": "slo_p99_latency_s",
}


def _fits(d: Mapping[str, Any]) -> bool:
    """False for designs rejected because they do not fit in memory: their times are moot."""
    return not str(d.get("reason") or "").startswith("memory")


def _star(d: Mapping[str, Any], x: float, y: float) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "markers",
        "name": "chosen",
        "x": [x],
        "y": [y],
        "hovertemplate": _hover(d) + "<extra>chosen</extra>",
        "marker": {
            "color": CHOSEN_COLOR,
            "size": 16,
            "symbol": "star",
            "line": {"width": 1, "color": "#000"},
        },
    }


def _curve_traces(w: Workload, lm: str) -> list[dict[str, Any]]:
    """Lines from ``workloads[].latency_curves``: ``[{"label", "throughput_rps": [...],
    "<latency metric>": [...] (s), "batch": [...] (optional)}]``, one per swept design."""
    out = []
    for c in w.get("latency_curves") or []:
        if not isinstance(c, Mapping):
            continue
        xs, ys = c.get("throughput_rps"), c.get(lm)
        if not (isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys) and xs):
            continue
        pairs = [
            (x, y)
            for x, y in zip(xs, ys, strict=True)
            if isinstance(x, int | float) and isinstance(y, int | float) and x > 0 and y > 0
        ]
        if not pairs:
            continue
        batches = c.get("batch") if isinstance(c.get("batch"), list) else None
        trace: dict[str, Any] = {
            "type": "scatter",
            "mode": "lines+markers",
            "name": esc(c.get("label", "chosen design")),
            "x": [x for x, _ in pairs],
            "y": [y * 1e3 for _, y in pairs],
            "line": {"width": 2},
        }
        if batches and len(batches) == len(xs):
            trace["text"] = [f"batch {b}" for b in batches]
            trace["hovertemplate"] = "%{text}: %{x:.3g} req/s, %{y:.3g} ms<extra></extra>"
        out.append(trace)
    return out


def latency_figures(w: Workload) -> list[Figure]:
    name = str(w.get("workload"))
    req = w.get("requirements") or {}
    designs, _ = candidates(w)
    out = []
    for lm in ("ttft_p99_s", "tpot_p99_s", "p99_latency_s"):
        if lm not in (w.get("metric_names") or []):
            continue
        reads = [
            f"workloads[].candidates (metrics.per_replica_rps, metrics.{lm}, feasible, reason)",
            f"workloads[].requirements.{_SLO_KEYS[lm]}",
            "workloads[].latency_curves (p99 against load for the chosen design)",
        ]
        fid = f"latency-{name}-{lm}"
        title = f"{name}: {metric_label(lm)} vs throughput per replica"
        pts = [
            d
            for d in designs
            if _fits(d) and metric(d, "per_replica_rps") and metric(d, lm) is not None
        ]
        if not pts:
            out.append(
                Figure(
                    fid,
                    title,
                    reads,
                    False,
                    notes=[f"per-replica throughput and {lm}: {NOT_AVAILABLE}"],
                )
            )
            continue
        traces = []
        for label, sel, marker in (
            ("feasible", [d for d in pts if d.get("feasible")], {"color": "#1f77b4", "size": 7}),
            (
                "rejected (SLO, power, security, price)",
                [d for d in pts if not d.get("feasible")],
                {"color": "#b0b7c3", "size": 7, "symbol": "x"},
            ),
        ):
            if not sel:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": label,
                    "x": [metric(d, "per_replica_rps") for d in sel],
                    "y": [metric(d, lm) * 1e3 for d in sel],
                    "text": [
                        _hover(d) + ("" if d.get("feasible") else "<br>" + esc(d.get("reason")))
                        for d in sel
                    ],
                    "hovertemplate": "%{text}<br>%{x:.3g} req/s, %{y:.3g} ms<extra></extra>",
                    "marker": marker,
                }
            )
        curves = _curve_traces(w, lm)
        traces += curves
        ch = chosen(w)
        if ch is not None and metric(ch, lm) is not None and metric(ch, "per_replica_rps"):
            traces.append(_star(ch, metric(ch, "per_replica_rps"), metric(ch, lm) * 1e3))
        slo = req.get(_SLO_KEYS[lm])
        shapes, annotations, notes = [], [], []
        if isinstance(slo, int | float) and slo > 0:
            shape, label = hline(slo * 1e3, f"SLO {slo * 1e3:.4g} ms", log_y=True)
            shapes.append(shape)
            annotations.append(label)
        else:
            notes.append(f"SLO ({_SLO_KEYS[lm]}): {NOT_AVAILABLE}")
        notes.append(
            "each point is one evaluated design (accelerator x engine x precision) at the batch "
            "the planner picked for it; designs that do not fit in memory are left out"
            + (
                "; lines: p99 against load per replica for the chosen design (workloads[].latency_curves)"
                if curves
                else f"; the latency-load curve of the chosen design is {NOT_AVAILABLE} "
                "(workloads[].latency_curves)"
            )
        )
        out.append(
            Figure(
                fid,
                title,
                reads,
                True,
                traces,
                layout(
                    "requests/s per replica",
                    f"{metric_label(lm)} (ms)",
                    log_x=True,
                    log_y=True,
                    shapes=shapes,
                    annotations=annotations,
                ),
                notes,
            )
        )
    return out


# --------------------------------------------------------------------------- training scaling


def scaling_figure(w: Workload) -> Figure:
    name = str(w.get("workload"))
    reads = [
        "workloads[].candidates (accelerator, n_devices, metrics.time_to_train_s, feasible, reason)",
        "workloads[].requirements.deadline_s",
        "workloads[].chosen.accelerator",
    ]
    fid = f"scaling-{name}"
    title = f"{name}: time to train vs device count"
    designs, complete = candidates(w)
    pts = [
        d
        for d in designs
        if metric(d, "time_to_train_s") is not None and d.get("n_devices") and _fits(d)
    ]
    if not pts:
        return Figure(
            fid, title, reads, False, notes=[f"time to train per device count: {NOT_AVAILABLE}"]
        )
    ch = chosen(w)
    shown = {str(d.get("accelerator")) for d in pts if d.get("feasible")}
    if ch is not None:
        shown.add(str(ch.get("accelerator")))
    colors = colors_for(
        [str(d.get("accelerator")) for d in pts if str(d.get("accelerator")) in shown]
    )
    colors.update(
        colors_for(
            [str(d.get("accelerator")) for d in pts if str(d.get("accelerator")) not in shown]
        )
    )
    traces = []
    for acc, color in colors.items():
        sel = sorted(
            (d for d in pts if str(d.get("accelerator")) == acc), key=lambda d: d["n_devices"]
        )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": esc(acc),
                "visible": True if acc in shown else "legendonly",
                "x": [d["n_devices"] for d in sel],
                "y": [metric(d, "time_to_train_s") / DAY for d in sel],
                "text": [
                    _hover(d) + ("" if d.get("feasible") else "<br>" + esc(d.get("reason")))
                    for d in sel
                ],
                "hovertemplate": "%{text}<br>%{x} devices: %{y:.3g} days<extra></extra>",
                "line": {"color": color},
                "marker": {"symbol": ["circle" if d.get("feasible") else "x" for d in sel]},
            }
        )
    if ch is not None and metric(ch, "time_to_train_s") is not None:
        traces.append(_star(ch, ch.get("n_devices"), metric(ch, "time_to_train_s") / DAY))
    deadline = (w.get("requirements") or {}).get("deadline_s")
    shapes, annotations = [], []
    notes = [
        "o: feasible, x: rejected for a reason other than memory (deadline, power, budget, "
        "price); designs that do not fit in memory are left out; accelerators with no feasible "
        "design are hidden (click the legend to show them)"
    ]
    if isinstance(deadline, int | float) and deadline > 0:
        shape, label = hline(deadline / DAY, f"deadline {deadline / DAY:.4g} days", log_y=True)
        shapes.append(shape)
        annotations.append(label)
    if not complete:
        notes.append("this plan has no candidate table: only the shortlisted designs are shown")
    return Figure(
        fid,
        title,
        reads,
        True,
        traces,
        layout(
            "devices",
            "days",
            log_x=True,
            log_y=True,
            shapes=shapes,
            annotations=annotations,
            legend={"orientation": "v", "x": 1.02, "y": 1, "font": {"size": 10}},
        ),
        notes,
    )


# --------------------------------------------------------------------------- all


def build_figures(plan: Plan) -> list[Figure]:
    figs: list[Figure] = []
    for w in workloads(plan):
        figs.append(pareto_figure(w))
    figs += [cost_breakdown_figure(plan), tco_figure(plan)]
    for w in workloads(plan):
        if w.get("kind") == "inference":
            figs += latency_figures(w)
    for w in workloads(plan):
        if w.get("kind") == "training":
            figs.append(scaling_figure(w))
    figs += [
        memory_figure(plan),
        power_figure(plan),
        sensitivity_figure(plan),
        validation_figure(plan),
    ]
    return figs
