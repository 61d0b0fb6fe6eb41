"""Assemble the chosen per-workload designs into one data-center design (first cut)."""

from __future__ import annotations

import math
from typing import Any

from aidc.planner.context import PlanContext
from aidc.planner.result import WorkloadDecision
from aidc.spec.scenario import Scenario


def assemble_datacenter(
    scenario: Scenario, decisions: list[WorkloadDecision], ctx: PlanContext
) -> dict[str, Any]:
    pools = []
    total_devices = 0
    power_w = 0.0
    capex = 0.0
    tco = 0.0
    missing = []
    for d in decisions:
        ch = d.chosen
        if ch is None:
            missing.append(d.workload)
            continue
        total_devices += ch.n_devices
        power_w += ch.metrics.get("facility_power_w", 0.0) or 0.0
        capex += ch.metrics.get("capex_usd", 0.0) or 0.0
        tco += ch.metrics.get("tco_3y_usd", 0.0) or 0.0
        pools.append(
            {
                "workload": d.workload,
                "kind": d.kind,
                "accelerator": ch.accelerator,
                "devices": ch.n_devices,
                "plan": ch.plan,
            }
        )
    c = scenario.constraints
    checks = []
    if c.power_kw is not None:
        checks.append(
            {
                "constraint": "power_kw",
                "limit": c.power_kw,
                "value": power_w / 1e3,
                "ok": power_w / 1e3 <= c.power_kw,
            }
        )
    if c.capex_usd is not None:
        checks.append(
            {
                "constraint": "capex_usd",
                "limit": c.capex_usd,
                "value": capex,
                "ok": capex <= c.capex_usd,
            }
        )
    if c.tco_3y_usd is not None:
        checks.append(
            {
                "constraint": "tco_3y_usd",
                "limit": c.tco_3y_usd,
                "value": tco,
                "ok": tco <= c.tco_3y_usd,
            }
        )
    return {
        "pools": pools,
        "total_devices": total_devices,
        "facility_power_w": power_w if pools else math.nan,
        "capex_usd": capex,
        "tco_3y_usd": tco,
        "workloads_without_design": missing,
        "constraint_checks": checks,
        "pue": ctx.facility.pue,
        "electricity_usd_per_kwh": ctx.facility.electricity_usd_per_kwh,
    }
