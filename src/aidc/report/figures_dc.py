"""Figures of the data-center level: cost, TCO, memory, power, sensitivity, validation, BOM.

Same contract as :mod:`aidc.report.figures`: each figure names the plan fields it reads
and says what is missing instead of estimating it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aidc.report.figures_base import (
    CHOSEN_COLOR,
    NOT_AVAILABLE,
    TCO_YEARS,
    Figure,
    colors_for,
    esc,
    hline,
    layout,
)
from aidc.report.view import Plan, chosen, design_title, metric, workloads
from aidc.units import GiB

# --------------------------------------------------------------------------- cost


def _pool_costs(plan: Plan) -> list[tuple[str, float, float]]:
    """(workload, capex USD, 3-year cost beyond capex USD) per chosen design."""
    out = []
    for w in workloads(plan):
        ch = chosen(w)
        capex, tco = metric(ch, "capex_usd"), metric(ch, "tco_3y_usd")
        if ch is None or capex is None or tco is None:
            continue
        out.append((str(w.get("workload")), capex, max(tco - capex, 0.0)))
    return out


def cost_breakdown_figure(plan: Plan) -> Figure:
    reads = [
        "datacenter.tco_3y_breakdown_usd (component -> USD over three years)",
        "workloads[].chosen.metrics.capex_usd",
        "workloads[].chosen.metrics.tco_3y_usd",
    ]
    comp = (plan.get("datacenter") or {}).get("tco_3y_breakdown_usd")
    if isinstance(comp, Mapping) and any(
        isinstance(v, int | float) and v > 0 for v in comp.values()
    ):
        names = [n for n, v in comp.items() if isinstance(v, int | float) and v > 0]
        labels = [esc(n.replace("capex_", "capex: ").replace("_", " ")) for n in names]
        traces = [
            {
                "type": "bar",
                "name": "3-year cost",
                "x": labels,
                "y": [float(comp[n]) for n in names],
                "hovertemplate": "%{x}: %{y:$,.3s}<extra></extra>",
            }
        ]
        return Figure(
            "cost",
            "Three-year cost by component (data center)",
            reads,
            True,
            traces,
            layout("", "USD"),
            [
                "capex by component (accelerator servers, network, storage, data services, "
                "facility build) plus three years of energy, maintenance, space and cloud rental"
            ],
        )
    pools = _pool_costs(plan)
    if not pools:
        return Figure(
            "cost",
            "Cost breakdown",
            reads,
            False,
            notes=[f"costs of the chosen designs: {NOT_AVAILABLE}"],
        )
    x = [esc(p[0]) for p in pools]
    traces = [
        {
            "type": "bar",
            "name": "capex (accelerators)",
            "x": x,
            "y": [p[1] for p in pools],
            "hovertemplate": "%{x}: %{y:$,.3s}<extra>capex</extra>",
        },
        {
            "type": "bar",
            "name": f"{TCO_YEARS}-year opex (energy, or cloud rental)",
            "x": x,
            "y": [p[2] for p in pools],
            "hovertemplate": "%{x}: %{y:$,.3s}<extra>opex</extra>",
        },
    ]
    return Figure(
        "cost",
        "Cost breakdown per pool (capex and opex)",
        reads,
        True,
        traces,
        layout("", "USD", barmode="stack"),
        [
            "opex = the plan's 3-year TCO minus capex for each pool",
            f"breakdown by component (servers, network, storage, facility): {NOT_AVAILABLE} "
            "(datacenter.cost_breakdown)",
        ],
    )


def tco_figure(plan: Plan) -> Figure:
    reads = ["workloads[].chosen.metrics.capex_usd", "workloads[].chosen.metrics.tco_3y_usd"]
    pools = _pool_costs(plan)
    if not pools:
        return Figure(
            "tco",
            "TCO over time",
            reads,
            False,
            notes=[f"costs of the chosen designs: {NOT_AVAILABLE}"],
        )
    years = [0, 0.5, 1, 1.5, 2, 2.5, 3]
    traces = []
    colors = colors_for([p[0] for p in pools])
    for name, capex, opex in pools:
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "stackgroup": "tco",
                "name": esc(name),
                "x": years,
                "y": [capex + opex * t / TCO_YEARS for t in years],
                "line": {"color": colors[name]},
                "hovertemplate": "year %{x}: %{y:$,.3s}<extra>" + esc(name) + "</extra>",
            }
        )
    return Figure(
        "tco",
        "Total cost of ownership over time (stacked by pool)",
        reads,
        True,
        traces,
        layout("years", "cumulative USD"),
        [
            "capex at year 0, then the 3-year opex spread evenly (the plan's cost model is linear in time)"
        ],
    )


# --------------------------------------------------------------------------- memory


_MEMORY_TOTALS = ("memory_per_device_bytes", "device_memory_bytes")


def memory_figure(plan: Plan) -> Figure:
    reads = [
        "workloads[].chosen.metrics.memory_per_device_bytes",
        "workloads[].chosen.metrics.device_memory_bytes",
        "workloads[].chosen.metrics.memory_<part>_bytes (per-component breakdown)",
    ]
    rows, missing, parts = [], [], {}
    for w in workloads(plan):
        ch = chosen(w)
        used, cap = metric(ch, "memory_per_device_bytes"), metric(ch, "device_memory_bytes")
        comp = {
            k[len("memory_") : -len("_bytes")]: metric(ch, k)
            for k in ((ch or {}).get("metrics") or {})
            if k.startswith("memory_")
            and k.endswith("_bytes")
            and k not in _MEMORY_TOTALS
            and metric(ch, k) is not None
        }
        if used is None and not comp:
            missing.append(str(w.get("workload")))
            continue
        rows.append((str(w.get("workload")), used, cap, comp))
        for k in comp:
            parts.setdefault(k, None)
    if not rows:
        return Figure(
            "memory",
            "Memory per device",
            reads,
            False,
            notes=[f"memory per device of the chosen designs: {NOT_AVAILABLE}"],
        )
    x = [esc(r[0]) for r in rows]
    traces = []
    if parts:
        for k in parts:
            traces.append(
                {
                    "type": "bar",
                    "name": esc(k),
                    "x": x,
                    "y": [(r[3].get(k) or 0.0) / GiB for r in rows],
                }
            )
    else:
        traces.append(
            {
                "type": "bar",
                "name": "used per device",
                "x": x,
                "y": [(r[1] or 0.0) / GiB for r in rows],
                "marker": {"color": "#1f77b4"},
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "device capacity",
            "x": x,
            "y": [(r[2] / GiB) if r[2] else None for r in rows],
            "marker": {
                "symbol": "line-ew-open",
                "size": 40,
                "color": CHOSEN_COLOR,
                "line": {"width": 3},
            },
        }
    )
    notes = []
    if not parts:
        notes.append(
            f"per-component breakdown (weights, gradients, optimizer states, activations, KV cache): {NOT_AVAILABLE}"
        )
    if missing:
        notes.append(f"memory of {', '.join(missing)}: {NOT_AVAILABLE}")
    return Figure(
        "memory",
        "Memory per device of the chosen designs",
        reads,
        True,
        traces,
        layout("", "GiB", barmode="stack"),
        notes,
    )


# --------------------------------------------------------------------------- power


def power_figure(plan: Plan) -> Figure:
    reads = [
        "datacenter.rack_groups[] (name, racks, power_w, limit_w, cooling)",
        "workloads[].chosen.metrics.facility_power_w",
        "datacenter.constraint_checks[constraint=power_kw]",
    ]
    dc = plan.get("datacenter") or {}
    racks = dc.get("rack_groups")
    if (
        isinstance(racks, list)
        and racks
        and all(isinstance(r, Mapping) and "power_w" in r for r in racks)
    ):
        x = [
            esc(f"{r.get('name', i)} ({r.get('racks', '?'):g} x {r.get('cooling', '')})")
            if isinstance(r.get("racks"), int | float)
            else esc(r.get("name", i))
            for i, r in enumerate(racks)
        ]
        traces = [
            {
                "type": "bar",
                "name": "power per rack",
                "x": x,
                "y": [float(r["power_w"]) / 1e3 for r in racks],
            }
        ]
        limits = [r.get("limit_w") for r in racks]
        if any(isinstance(v, int | float) for v in limits):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "rack limit",
                    "x": x,
                    "y": [v / 1e3 if isinstance(v, int | float) else None for v in limits],
                    "marker": {"symbol": "line-ew-open", "size": 30, "color": CHOSEN_COLOR},
                }
            )
        return Figure(
            "power",
            "Power per rack (on-site racks by pool)",
            reads,
            True,
            traces,
            layout("", "kW"),
            [
                "bar: a full rack of the pool; marker: the rack's power limit (air or liquid cooling)"
            ],
        )
    pools = [
        (str(w.get("workload")), metric(chosen(w), "facility_power_w")) for w in workloads(plan)
    ]
    pools = [p for p in pools if p[1] is not None]
    if not pools:
        return Figure(
            "power", "Power", reads, False, notes=[f"power per rack and per pool: {NOT_AVAILABLE}"]
        )
    traces = [
        {
            "type": "bar",
            "name": "facility power (incl. PUE)",
            "x": [esc(p[0]) for p in pools],
            "y": [p[1] / 1e3 for p in pools],
            "hovertemplate": "%{x}: %{y:.4g} kW<extra></extra>",
        }
    ]
    shapes, annotations = [], []
    for c in dc.get("constraint_checks", []) or []:
        if c.get("constraint") == "power_kw" and isinstance(c.get("limit"), int | float):
            shape, label = hline(
                c["limit"], f"envelope {c['limit']:.4g} kW (whole site)", log_y=False
            )
            shapes.append(shape)
            annotations.append(label)
    return Figure(
        "power",
        "Facility power per pool",
        reads,
        True,
        traces,
        layout("", "kW", shapes=shapes, annotations=annotations),
        [f"power per rack: {NOT_AVAILABLE} (datacenter.rack_groups); shown per pool instead"],
    )


# --------------------------------------------------------------------------- sensitivity and validation


def _workload_stability(plan: Plan) -> list[tuple[str, float, float | None]]:
    """(label, share first under weight perturbation, share first under model error and
    price draws) for the top designs of each workload's sensitivity analysis."""
    rows = []
    for w in workloads(plan):
        sens = w.get("sensitivity")
        if not isinstance(sens, Mapping):
            continue
        weights = sens.get("weights") or {}
        shares = weights.get("shares") if isinstance(weights, Mapping) else None
        if not isinstance(shares, list):
            continue
        unc = sens.get("uncertainty") or {}
        unc_shares = {
            str(x.get("design")): float(x.get("share", 0.0))
            for x in (unc.get("shares") or [] if isinstance(unc, Mapping) else [])
            if isinstance(x, Mapping)
        }
        titles = {
            str(d.get("id")): design_title(d)
            for d in w.get("designs", []) or []
            if isinstance(d, Mapping)
        }
        for x in shares[:3]:
            if not isinstance(x, Mapping):
                continue
            key = str(x.get("design"))
            label = f"{w.get('workload')}: {titles.get(key, key.split('[')[0])}"
            rows.append((label, float(x.get("share", 0.0)), unc_shares.get(key)))
    return rows


def sensitivity_figure(plan: Plan) -> Figure:
    """Rank stability per workload (``workloads[].sensitivity``), else a tornado or rank
    stability given at the top level (``sensitivity.tornado`` / ``.rank_stability``)."""
    reads = [
        "workloads[].sensitivity.weights.shares[] (design, share)",
        "workloads[].sensitivity.uncertainty.shares[] (design, share)",
        "sensitivity.tornado[] (parameter, low, high, base)",
        "sensitivity.rank_stability[] (design, share_first)",
    ]
    rows = _workload_stability(plan)
    if rows:
        labels = [esc(r[0]) for r in rows]
        traces = [
            {
                "type": "bar",
                "name": "weights perturbed (x1/2..x2)",
                "x": labels,
                "y": [r[1] for r in rows],
            },
            {
                "type": "bar",
                "name": "model error and price draws",
                "x": labels,
                "y": [r[2] if r[2] is not None else 0.0 for r in rows],
            },
        ]
        return Figure(
            "sensitivity",
            "Rank stability: how often each design ranks first",
            reads,
            True,
            traces,
            layout("", "share of draws ranked first", barmode="group"),
            [
                "per workload, the designs most often ranked first when the principle weights "
                "are perturbed and when model errors and prices are drawn from their bands"
            ],
        )
    sens = plan.get("sensitivity")
    if isinstance(sens, Mapping):
        tornado = sens.get("tornado")
        if isinstance(tornado, list) and tornado and all(isinstance(t, Mapping) for t in tornado):
            rows = sorted(
                tornado, key=lambda t: abs(float(t.get("high", 0)) - float(t.get("low", 0)))
            )
            base = float(rows[0].get("base", 0.0))
            y = [esc(t.get("parameter")) for t in rows]
            traces = [
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": "low",
                    "y": y,
                    "x": [float(t.get("low", base)) - base for t in rows],
                    "base": base,
                },
                {
                    "type": "bar",
                    "orientation": "h",
                    "name": "high",
                    "y": y,
                    "x": [float(t.get("high", base)) - base for t in rows],
                    "base": base,
                },
            ]
            return Figure(
                "sensitivity",
                "Sensitivity (tornado)",
                reads,
                True,
                traces,
                layout("score", "", barmode="overlay"),
            )
        stab = sens.get("rank_stability")
        if isinstance(stab, list) and stab and all(isinstance(t, Mapping) for t in stab):
            traces = [
                {
                    "type": "bar",
                    "x": [esc(t.get("design")) for t in stab],
                    "y": [float(t.get("share_first", 0.0)) for t in stab],
                }
            ]
            return Figure(
                "sensitivity",
                "Rank stability",
                reads,
                True,
                traces,
                layout("", "share of perturbed runs ranked first"),
            )
        return Figure(
            "sensitivity",
            "Sensitivity",
            reads,
            False,
            notes=[
                f"sensitivity is present but has none of the fields read ({', '.join(str(k) for k in sens)})"
            ],
        )
    return Figure(
        "sensitivity",
        "Sensitivity",
        reads,
        False,
        notes=[f"sensitivity (tornado or rank stability): {NOT_AVAILABLE}"],
    )


def _validation_rows(val: Any) -> list[tuple[str, float, float | None, float | None, Any]]:
    """(label, median %, p90 %, target median %, n) from the plan's ``validation`` list,
    whose errors are fractions (``median_abs_error``) or percentages
    (``median_abs_pct_error``)."""
    if not isinstance(val, list):
        return []
    rows = []
    for v in val:
        if not isinstance(v, Mapping):
            continue
        if isinstance(v.get("median_abs_error"), int | float):
            scale, med_key, p90_key = 100.0, "median_abs_error", "p90_abs_error"
        elif isinstance(v.get("median_abs_pct_error"), int | float):
            scale, med_key, p90_key = 1.0, "median_abs_pct_error", "p90_abs_pct_error"
        else:
            continue
        p90 = v.get(p90_key)
        target = v.get("target_median_abs_error")
        rows.append(
            (
                str(v.get("id") or f"{v.get('model')}: {v.get('metric')}"),
                float(v[med_key]) * scale,
                float(p90) * scale if isinstance(p90, int | float) else None,
                float(target) * 100.0 if isinstance(target, int | float) else None,
                v.get("n", "?"),
            )
        )
    return rows


def validation_figure(plan: Plan) -> Figure:
    reads = [
        "validation[] (model, metric, median_abs_error, p90_abs_error, "
        "target_median_abs_error, n, command)"
    ]
    rows = _validation_rows(plan.get("validation"))
    if rows:
        x = [esc(r[0]) for r in rows]
        med = [r[1] for r in rows]
        trace: dict[str, Any] = {
            "type": "bar",
            "name": "median |error|",
            "x": x,
            "y": med,
            "text": [f"n={r[4]}" for r in rows],
        }
        if any(r[2] is not None for r in rows):
            trace["error_y"] = {
                "type": "data",
                "symmetric": False,
                "array": [float(r[2]) - r[1] if r[2] is not None else 0.0 for r in rows],
                "arrayminus": [0.0] * len(rows),
            }
        traces = [trace]
        targets = [(x[i], r[3]) for i, r in enumerate(rows) if r[3] is not None]
        if targets:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": "target (median)",
                    "x": [t[0] for t in targets],
                    "y": [t[1] for t in targets],
                    "marker": {"symbol": "line-ew-open", "size": 28, "color": "#c0392b"},
                }
            )
        notes = ["whisker: p90 |error| where measured; each figure's command is in the plan JSON"]
        return Figure(
            "validation",
            "Validation accuracy of the models used (bar: median, whisker: p90)",
            reads,
            True,
            traces,
            layout("", "absolute error (%)"),
            notes,
        )
    return Figure(
        "validation",
        "Validation accuracy",
        reads,
        False,
        notes=[f"validation accuracy of the models with error bands: {NOT_AVAILABLE}"],
    )


def bill_of_materials(
    plan: Plan, accelerators: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """Rows of the bill of materials: ``datacenter.bom`` if the plan has one, else the pools.

    Reads ``datacenter.bom[]`` (item, quantity, unit_usd, ...) or
    ``datacenter.pools[]`` (workload, accelerator, devices, plan) with the chosen
    designs' ``capex_usd``; node counts use the catalog's ``devices_per_node``.
    """
    dc = plan.get("datacenter") or {}
    bom = dc.get("bom")
    if isinstance(bom, list) and bom and all(isinstance(r, Mapping) for r in bom):
        cols: dict[str, None] = {}
        for r in bom:
            for k in r:
                cols.setdefault(str(k), None)
        return {
            "source": "datacenter.bom",
            "columns": list(cols),
            "rows": [[r.get(c) for c in cols] for r in bom],
            "notes": [],
        }
    accelerators = accelerators or {}
    capex = {str(w.get("workload")): metric(chosen(w), "capex_usd") for w in workloads(plan)}
    rows = []
    for p in dc.get("pools", []) or []:
        plan_d = p.get("plan") or {}
        per_node = (accelerators.get(str(p.get("accelerator"))) or {}).get("devices_per_node")
        devices = int(p.get("devices") or 0)
        rows.append(
            [
                p.get("workload"),
                p.get("accelerator"),
                devices,
                -(-devices // int(per_node)) if per_node else None,
                plan_d.get("framework") or plan_d.get("engine"),
                plan_d.get("deployment"),
                capex.get(str(p.get("workload"))),
            ]
        )
    return {
        "source": "datacenter.pools",
        "columns": [
            "workload",
            "accelerator",
            "devices",
            "nodes",
            "software",
            "deployment",
            "capex_usd",
        ],
        "rows": rows,
        "notes": [
            f"network, storage, racks and facility items: {NOT_AVAILABLE} (datacenter.bom)",
        ],
    }
