"""Per-workload step 4a: derived sub-metrics of the five principles and the constraint
screen, over the designs a planner evaluated.

Sub-metrics the planners do not compute are derived here from each design's plan and the
catalog (a planner's own value, when present, wins). The screen then checks every
constraint the scenario sets, vectorised over the designs, and keeps the first failure
per design in the order of :data:`aidc.decide.constraints.CONSTRAINT_ORDER`, with its
value, limit, unit and excess.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from aidc.catalog.schema import Accelerator, SoftwareStack
from aidc.decide.constraints import Check, Rejection, first_failures
from aidc.decide.explain import fmt_value
from aidc.planner.common import ISOLATION_FEATURES
from aidc.planner.context import PlanContext
from aidc.planner.result import Design
from aidc.spec.scenario import Scenario
from aidc.units import DAY, KILO, MEGA, MILLISECOND, YEAR

SUPPORT_STATUS_SCORE = {"active": 1.0, "maintenance": 0.5, "legacy": 0.25, "deprecated": 0.0}
"""Support status as a maintainability sub-metric (0..1, an ordinal scale)."""
CALIBRATED_FORMATS = ("int8", "int4", "fp4")
"""Serving formats that need calibration data and an accuracy check before release (an
operational step); fp8 with per-tensor scaling is treated as a drop-in format."""
TCO_YEARS = 3.0
"""The window of ``tco_3y_usd``."""
MONTHS_PER_3Y = 36.0


def workload_kind(kind: str, metric_names: Sequence[str]) -> str:
    """``training``, ``generation`` or ``encoder`` (the key of RANKING_METRICS)."""
    if kind == "training":
        return "training"
    return "encoder" if "p99_latency_s" in metric_names else "generation"


def software_of(d: Design, ctx: PlanContext) -> SoftwareStack | None:
    name = d.plan.get("framework") or d.plan.get("engine")
    return ctx.catalog.software.find(str(name)) if name else None


def nodes_of(d: Design, acc: Accelerator | None) -> int:
    per = acc.devices_per_node if acc else 8
    return max(1, math.ceil(d.n_devices / max(per, 1)))


def derive_submetrics(
    designs: Sequence[Design], kind: str, requirements: dict, scenario: Scenario, ctx: PlanContext
) -> list[dict[str, float]]:
    """Each design's metrics plus the derived sub-metrics (the planner's values win)."""
    accs = [ctx.catalog.accelerators.find(d.accelerator) for d in designs]
    job = next(
        (w for w in scenario.workloads.training if designs and w.name == designs[0].workload), None
    )
    runs_per_year = job.runs_per_year if job else 1.0
    out: list[dict[str, float]] = []
    per_device = np.array(
        [
            (d.metrics.get("tokens_per_s", math.nan) / max(d.n_devices, 1))
            if kind == "training"
            else d.metrics.get("per_replica_rps", math.nan) / max(int(d.plan.get("tp", 1)), 1)
            for d in designs
        ]
    )
    # best throughput per device for the same accelerator (and precision, for serving)
    group = [
        (d.accelerator, "" if kind == "training" else str(d.plan.get("precision"))) for d in designs
    ]
    runnable = np.array(
        [d.feasible or not (d.reason or "").startswith("memory") for d in designs], dtype=bool
    )
    best: dict[tuple[str, str], float] = {}
    largest: dict[str, int] = {}
    for g, v, ok, d in zip(group, per_device, runnable, designs, strict=True):
        if ok and math.isfinite(v):
            best[g] = max(best.get(g, 0.0), v)
        if d.feasible:
            largest[d.accelerator] = max(largest.get(d.accelerator, 0), d.n_devices)
    for d, acc, g, v in zip(designs, accs, group, per_device, strict=True):
        sw = software_of(d, ctx)
        m: dict[str, float] = {
            "ecosystem_maturity": sw.maturity if sw else math.nan,
            "support_status": SUPPORT_STATUS_SCORE.get(sw.status, math.nan) if sw else math.nan,
            "scaling_efficiency": v / best[g] if best.get(g) and math.isfinite(v) else math.nan,
        }
        multi_node = nodes_of(d, acc) > 1
        if kind == "training":
            p = d.plan
            m["operational_complexity"] = float(
                (p.get("tp", 1) > 1)
                + (p.get("pp", 1) > 1)
                + (p.get("dp", 1) > 1)
                + (p.get("cp", 1) > 1)
                + (p.get("ep", 1) > 1)
                + (p.get("zero_stage", 0) == 3)
                + multi_node
            )
            # the TCO's own accounting: a dedicated fleet (or cloud bill) over three years
            # divided by the tokens it trains in that time
            tokens = requirements.get("tokens") or math.nan
            t = d.metrics.get("time_to_train_s", math.nan)
            runs_3y = min(runs_per_year * TCO_YEARS, TCO_YEARS * YEAR / t) if t > 0 else math.nan
            m["usd_per_million_tokens"] = (
                d.metrics.get("tco_3y_usd", math.nan) / (tokens * runs_3y) * MEGA
            )
            m["largest_feasible_devices"] = float(largest.get(d.accelerator, 0))
        else:
            tp = int(d.plan.get("tp", 1))
            replica_nodes = math.ceil(tp / max(acc.devices_per_node if acc else 8, 1))
            m["operational_complexity"] = float(
                (tp > 1)
                + (replica_nodes > 1)
                + needs_accuracy_check(d.plan)
                + (int(d.plan.get("replicas", 1)) > 1)
            )
            m["requests_per_s_per_device"] = v
            m["load_scale_limit"] = load_scale_limit(d, tp, requirements, scenario)
        out.append({**m, **d.metrics})
    return out


def load_scale_limit(d: Design, tp: int, requirements: dict, scenario: Scenario) -> float:
    """Largest multiple of the peak load this design can grow to by adding replicas
    before it meets the first limit: the device cap, and where the scenario sets them
    the power envelope, the capex and the three-year TCO budget (each replica costing
    what it costs in this design)."""
    c = scenario.constraints
    replicas = max(int(d.plan.get("replicas", 1)), 1)
    caps = [c.max_devices // max(tp, 1)]
    per_replica = {
        "facility_power_w": c.power_kw * KILO if c.power_kw else None,
        "capex_usd": c.capex_usd,
        "tco_3y_usd": c.tco_3y_usd,
    }
    for key, limit in per_replica.items():
        each = d.metrics.get(key, math.nan) / replicas
        if limit and each > 0:
            caps.append(int(limit // each))
    peak = requirements.get("peak_rps") or math.nan
    return min(caps) * d.metrics.get("per_replica_rps", math.nan) / peak


def needs_accuracy_check(plan: dict) -> bool:
    """Whether a serving plan's format adds a quantisation-and-accuracy step: the planner
    flags a quality risk, or the format is an integer or 4-bit one."""
    if plan.get("quality_risk"):
        return True
    return str(plan.get("precision", "")).split("-")[0] in CALIBRATED_FORMATS


def _col(metrics: Sequence[dict[str, float]], name: str) -> np.ndarray:
    return np.array([m.get(name, math.nan) for m in metrics], dtype=float)


def _security_checks(
    designs: Sequence[Design], accs: Sequence[Accelerator | None], scenario: Scenario
) -> list[Check]:
    need = scenario.constraints.security
    checks = []
    features = [set(a.features) if a else set() for a in accs]
    if need.confidential_computing:
        miss = np.array(["confidential_computing" not in f for f in features])
        checks.append(
            Check(
                "security.confidential_computing",
                miss,
                "required",
                "flag",
                "feature",
                lambda i, *_: (
                    f"{designs[i].accelerator} has no GPU confidential computing "
                    "(required by constraints.security)"
                ),
            )
        )
    if need.multi_tenant_isolation:
        miss = np.array([not (f & set(ISOLATION_FEATURES)) for f in features])
        checks.append(
            Check(
                "security.multi_tenant_isolation",
                miss,
                "required",
                "flag",
                "feature",
                lambda i, *_: (
                    f"{designs[i].accelerator} has no hardware partitioning (MIG or "
                    "equivalent) for multi-tenant isolation"
                ),
            )
        )
    return checks


def slo_limits_s(scenario: Scenario, workload: str) -> dict[str, float]:
    """The service's latency targets in seconds, keyed by the metric they bound."""
    svc = next((s for s in scenario.workloads.inference if s.name == workload), None)
    if svc is None:
        return {}
    pairs = {
        "p99_latency_s": svc.slo.p99_latency_ms,
        "ttft_p99_s": svc.slo.ttft_p99_ms,
        "tpot_p99_s": svc.slo.tpot_p99_ms,
    }
    return {k: v * MILLISECOND for k, v in pairs.items() if v}


_RESIDENCY_REGIONS: dict[str, tuple[str, ...]] = {
    "eu": ("eu-", "europe", "westeurope", "northeurope", "francecentral", "germanywestcentral"),
    "us": ("us-", "us", "eastus", "westus", "centralus", "northcentralus", "southcentralus"),
}
"""Residency names and the cloud region name prefixes (AWS, GCP, Azure) that lie inside."""


def region_in(residency: str, region: str) -> bool:
    """Whether a provider region lies in the residency area (``eu``, ``us`` or any name
    that appears in the region's own name)."""
    r, reg = residency.strip().lower(), region.strip().lower()
    if not reg:
        return False
    prefixes = _RESIDENCY_REGIONS.get({"europe": "eu", "eea": "eu", "usa": "us"}.get(r, r))
    if prefixes is not None:
        return reg.startswith(prefixes)
    return r in reg


def _residency_check(
    designs: Sequence[Design], scenario: Scenario, ctx: PlanContext
) -> list[Check]:
    """Cloud designs must run in a region inside ``constraints.data_residency``: one of the
    catalog's dated cloud prices for the part names such a region, or the scenario gives
    its own price for it (taken to be in the user's region)."""
    where = scenario.constraints.data_residency
    if not where:
        return []
    own = scenario.prices.cloud_usd_per_device_hour
    ok_parts = {p.item for p in ctx.catalog.prices if region_in(where, p.region)} | set(own)
    miss = np.array(
        [d.plan.get("deployment") == "cloud" and d.accelerator not in ok_parts for d in designs]
    )
    return [
        Check(
            "residency",
            miss,
            "required",
            "flag",
            "region",
            lambda i, *_: (
                f"no cloud price for {designs[i].accelerator} in a region in {where!r}: the data "
                "cannot be shown to stay there (give a regional price under prices: or plan on-prem)"
            ),
        )
    ]


def screen(
    designs: Sequence[Design],
    metrics: Sequence[dict[str, float]],
    kind: str,
    workload: str,
    requirements: dict,
    scenario: Scenario,
    ctx: PlanContext,
) -> list[Rejection | None]:
    """The first failing constraint per design (None = feasible)."""
    n = len(designs)
    if n == 0:
        return []
    c = scenario.constraints
    accs = [ctx.catalog.accelerators.find(d.accelerator) for d in designs]
    sws = [software_of(d, ctx) for d in designs]
    needs_patches = any(c.security.model_dump().values())
    status = [s.status if s else "active" for s in sws]
    checks: list[Check] = []

    def _status_text(i: int, *_: float) -> str:
        s = sws[i]
        assert s is not None
        why = f" ({s.status_note.rstrip('.')})" if s.status_note else ""
        instead = f"; use {s.superseded_by}" if s.superseded_by else ""
        extra = " and the scenario sets security requirements" if s.status != "deprecated" else ""
        return f"{s.id} is {s.status}{why}{extra}{instead}"

    eol = np.array(
        [st == "deprecated" or (needs_patches and st in ("maintenance", "legacy")) for st in status]
    )
    checks.append(Check("software_status", eol, "active", "flag", "status", _status_text))
    checks += _security_checks(designs, accs, scenario)
    checks += _residency_check(designs, scenario, ctx)

    mem = _col(metrics, "memory_per_device_bytes")
    cap = _col(metrics, "device_memory_bytes")
    checks.append(
        Check(
            "memory",
            mem,
            cap,
            "max",
            "B",
            lambda i, v, lim, ex: (
                f"needs {fmt_value(v, 'B')} per device, {fmt_value(ex, 'B')} "
                f"more than the {fmt_value(lim, 'B')} it has"
            ),
        )
    )
    for name, limit in slo_limits_s(scenario, workload).items():
        if limit:
            checks.append(
                Check(
                    f"slo.{name.removesuffix('_s')}",
                    _col(metrics, name),
                    float(limit),
                    "max",
                    "s",
                    lambda i, v, lim, ex, name=name: (
                        f"{name.removesuffix('_s').replace('_', ' ')} "
                        f"{fmt_value(v, 's')}, {fmt_value(ex, 's')} over the {fmt_value(lim, 's')} target"
                    ),
                )
            )
    if requirements.get("deadline_s"):
        checks.append(
            Check(
                "deadline",
                _col(metrics, "time_to_train_s"),
                float(requirements["deadline_s"]),
                "max",
                "s",
                lambda i, v, lim, ex: (
                    f"{v / DAY:.1f} days, {ex / DAY:.1f} days over the {lim / DAY:.0f}-day deadline"
                ),
            )
        )
    on_prem = np.array([d.plan.get("deployment", "on-prem") == "on-prem" for d in designs])
    # a cloud design draws no power from the scenario's own facility
    power = np.where(on_prem, _col(metrics, "facility_power_w"), np.nan)
    if c.power_kw:
        checks.append(
            Check(
                "power",
                power,
                c.power_kw * KILO,
                "max",
                "W",
                lambda i, v, lim, ex: (
                    f"{fmt_value(v, 'W')} facility power, {fmt_value(ex, 'W')} "
                    f"over the {fmt_value(lim, 'W')} envelope"
                ),
            )
        )
    if c.rack_power_kw:
        # one node's IT power (facility power / PUE) must fit a rack's power budget
        pue = ctx.facility.pue
        node_w = np.array(
            [
                (power[i] / pue / max(d.n_devices, 1))
                * min(d.n_devices, accs[i].devices_per_node if accs[i] else 8)
                for i, d in enumerate(designs)
            ]
        )
        checks.append(
            Check(
                "rack_power",
                node_w,
                c.rack_power_kw * KILO,
                "max",
                "W",
                lambda i, v, lim, ex: (
                    f"one {designs[i].accelerator} node draws {fmt_value(v, 'W')}, "
                    f"{fmt_value(ex, 'W')} over the {fmt_value(lim, 'W')} rack power limit"
                ),
            )
        )
        if c.racks:
            racks = np.array(
                [
                    math.ceil(power[i] / ctx.facility.pue / (c.rack_power_kw * KILO))
                    if on_prem[i]
                    else math.nan
                    for i in range(n)
                ],
                dtype=float,
            )
            checks.append(
                Check(
                    "racks",
                    racks,
                    float(c.racks),
                    "max",
                    "rack",
                    lambda i, v, lim, ex: (
                        f"needs {v:.0f} racks at {c.rack_power_kw:g} kW each, "
                        f"{ex:.0f} more than the {lim:.0f} available"
                    ),
                )
            )
    capex = _col(metrics, "capex_usd")
    if c.capex_usd:
        checks.append(
            Check(
                "budget.capex",
                capex,
                c.capex_usd,
                "max",
                "USD",
                lambda i, v, lim, ex: (
                    f"capex {fmt_value(v, 'USD')}, {fmt_value(ex, 'USD')} over "
                    f"the {fmt_value(lim, 'USD')} limit"
                ),
            )
        )
    tco = _col(metrics, "tco_3y_usd")
    if c.tco_3y_usd:
        checks.append(
            Check(
                "budget.tco_3y",
                tco,
                c.tco_3y_usd,
                "max",
                "USD",
                lambda i, v, lim, ex: (
                    f"three-year TCO {fmt_value(v, 'USD')}, "
                    f"{fmt_value(ex, 'USD')} over the {fmt_value(lim, 'USD')} limit"
                ),
            )
        )
    if c.cloud_usd_per_month:
        monthly = np.where(~on_prem, tco / MONTHS_PER_3Y, math.nan)
        checks.append(
            Check(
                "budget.cloud_monthly",
                monthly,
                c.cloud_usd_per_month,
                "max",
                "USD/month",
                lambda i, v, lim, ex: (
                    f"cloud spend {fmt_value(v, 'USD')}/month, "
                    f"{fmt_value(ex, 'USD')} over the {fmt_value(lim, 'USD')}/month limit"
                ),
            )
        )
    cost_key = "run_cost_usd" if kind == "training" else "tco_3y_usd"
    no_price = ~np.isfinite(_col(metrics, cost_key))
    checks.append(
        Check(
            "price",
            no_price,
            "known",
            "flag",
            "USD",
            lambda i, *_: (
                f"no {'cloud' if not on_prem[i] else 'purchase'} price for "
                f"{designs[i].accelerator} in the catalog (give one under prices:)"
            ),
        )
    )
    prior = [None if d.feasible or not d.reason else Rejection.from_text(d.reason) for d in designs]
    return first_failures(checks, n, prior)
