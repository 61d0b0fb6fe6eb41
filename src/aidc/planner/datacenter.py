"""Assemble the chosen per-workload designs into one data-center design: compute pools,
fabrics, storage tiers, data services, racks, power, cooling, reliability figures and
the three-year cost broken down by component, with the scenario's envelope checks."""

from __future__ import annotations

import math
from typing import Any

from aidc.model import cost, power, storage
from aidc.model.data_services import ServiceNeeds, ServicePlan, ServiceThroughput, plan_services
from aidc.planner.context import PlanContext
from aidc.planner.infra_facts import InfraFacts, infra_facts
from aidc.planner.result import WorkloadDecision
from aidc.spec.scenario import Scenario
from aidc.units import HOUR, JOULES_PER_KWH, KILO, TERA, YEAR, fmt_bytes_decimal, fmt_usd, fmt_watts

TCO_YEARS = 3.0


def _on_prem(d: WorkloadDecision) -> bool:
    return d.chosen is not None and d.chosen.plan.get("deployment") != "cloud"


def _sum(decisions: list[WorkloadDecision], key: str, on_prem_only: bool = False) -> float:
    """Sum of the chosen designs' ``key``; ``on_prem_only`` skips cloud-deployed pools,
    whose power, racks and hardware belong to the provider, not to this site."""
    total = 0.0
    for d in decisions:
        if d.chosen is not None and (_on_prem(d) or not on_prem_only):
            v = d.chosen.metrics.get(key)
            if v is not None and math.isfinite(v):
                total += v
    return total


def _services(
    scenario: Scenario, decisions: list[WorkloadDecision], ctx: PlanContext
) -> list[ServicePlan]:
    svc_cat = ctx.catalog.services
    tp = ServiceThroughput(
        tokeniser_bytes_per_s=svc_cat.get("hf-tokenizers").throughput_per_node or math.nan,
        redis_ops_per_s=svc_cat.get("redis").throughput_per_node or math.nan,
        kafka_events_per_s=svc_cat.get("kafka").throughput_per_node or math.nan,
    )
    text = [d for d in scenario.data.datasets if d.modality in ("text", "multimodal")]
    infer = [d for d in decisions if d.kind == "inference"]
    replicas = [int(d.chosen.plan.get("replicas", 1)) for d in infer if d.chosen is not None]
    sec = scenario.constraints.security
    hours = scenario.data.preprocess_within_hours
    needs = ServiceNeeds(
        corpus_bytes=sum(d.size_tb for d in text) * TERA if scenario.workloads.training else 0.0,
        preprocess_s=hours * HOUR if hours else None,
        peak_rps=sum(float(d.requirements.get("peak_rps", 0.0)) for d in infer),
        has_inference=bool(scenario.workloads.inference),
        has_generation=any(s.task == "generation" for s in scenario.workloads.inference),
        max_replicas=max(replicas, default=0),
        high_availability=any(s.availability >= 0.999 for s in scenario.workloads.inference),
        tls_in_transit=sec.encryption_in_transit,
        anonymisation=sec.anonymisation,
    )
    return plan_services(needs, tp)


def _data_tiers(scenario: Scenario, facts: InfraFacts) -> dict[str, Any]:
    """Hot dataset tier (flash, grown over the IT life) and the object archive (HDD)."""
    years = facts.it_life_s / YEAR
    raw = sum(
        float(storage.stored_bytes(d.size_tb * TERA, d.growth_per_year, years, 1.0))
        for d in scenario.data.datasets
    )
    hot = raw * facts.training_storage.durability_copies
    fl, hd = facts.flash, facts.hdd
    hot_drives = float(storage.drives_needed(hot, 0.0, 0.0, fl.capacity_bytes, 1.0, 1.0))
    archive = raw * facts.archive.durability_copies
    arc_drives = float(storage.drives_needed(archive, 0.0, 0.0, hd.capacity_bytes, 1.0, 1.0))
    return {
        "dataset_bytes_after_growth": raw,
        "hot_tier": facts.training_storage.id,
        "hot_capacity_bytes": hot,
        "hot_drives": hot_drives,
        "hot_capex_usd": float(
            storage.tier_capex_usd(
                hot_drives, fl.capacity_bytes, fl.usd_per_byte, facts.storage_cost_factor
            )
        ),
        "archive_tier": facts.archive.id,
        "archive_capacity_bytes": archive,
        "archive_drives": arc_drives,
        "archive_capex_usd": float(
            storage.tier_capex_usd(
                arc_drives, hd.capacity_bytes, hd.usd_per_byte, facts.storage_cost_factor
            )
        ),
        "cloud_object_usd_per_year": raw * facts.object_usd_per_byte_s * YEAR,
        "power_w": (hot_drives + arc_drives) * facts.storage_drive_power_w,
    }


def storage_options(ctx: PlanContext, facts: InfraFacts) -> list[dict[str, Any]]:
    """Every shared storage system in the catalog with its figures and its role here.

    Usable $/TB of an on-prem system = media $/TB x protection copies x system/media
    cost ratio (catalog facts); the cloud object store is priced per TB-month.
    """
    roles = {
        facts.training_storage.id: "training datasets and checkpoints (highest measured per-client read bandwidth, GPUDirect Storage)",
        facts.model_store.id: "model weights for serving replicas (POSIX NFS, no client to install)",
        facts.archive.id: "dataset and checkpoint archive (S3 API on HDD, erasure coded)",
    }
    media = {"nvme-gen4": facts.flash, "hdd-7200": facts.hdd}
    out = []
    for rec in ctx.catalog.storage:
        if rec.kind == "device":
            continue
        m = media.get(rec.media)
        out.append(
            {
                "id": rec.id,
                "kind": rec.kind,
                "posix": rec.posix,
                "read_bw_bytes_per_s_per_node": rec.read_bw_bytes_per_s_per_node,
                "read_latency_s": rec.read_latency_s,
                "durability_copies": rec.durability_copies,
                "usd_per_tb_usable": (
                    m.usd_per_byte * TERA * rec.durability_copies * facts.storage_cost_factor
                    if m
                    else None
                ),
                "usd_per_tb_month": rec.usd_per_tb_month,
                "role": roles.get(rec.id, "alternative: " + rec.good_at),
            }
        )
    return out


def _bill_of_materials(
    decisions: list[WorkloadDecision],
    services: list[ServicePlan],
    tiers: dict[str, Any],
    facts: InfraFacts,
) -> list[dict[str, Any]]:
    """What to buy (on-prem) or rent (cloud), one row per item, with its capex."""
    rows: list[dict[str, Any]] = []
    for d in decisions:
        ch = d.chosen
        if ch is None:
            continue
        infra = ch.plan.get("infrastructure", {}) or {}
        where = str(ch.plan.get("deployment", "on-prem"))
        m = ch.metrics
        bought = m.get("devices_purchased") if where == "on-prem" else None
        spare = (
            f", {bought - ch.n_devices:g} unused on whole boards"
            if bought and bought > ch.n_devices
            else ""
        )
        rows.append(
            {
                "item": f"{ch.accelerator} ({infra.get('nodes', '?')} nodes{spare})",
                "for": d.workload,
                "quantity": bought or ch.n_devices,
                "unit": "accelerator",
                "deployment": where,
                "capex_usd": m.get("capex_compute_usd") if where == "on-prem" else 0.0,
            }
        )
        if where != "on-prem":
            continue
        for name in ("compute_fabric", "frontend_fabric"):
            f = infra.get(name) or {}
            switches = sum(
                float(f.get(k, 0.0)) for k in ("leaf_switches", "spine_switches", "core_switches")
            )
            if switches or f.get("nics"):
                rows.append(
                    {
                        "item": f"{f.get('link')} fabric: {switches:.0f} switches, "
                        f"{float(f.get('nics', 0)):.0f} NICs, {float(f.get('links', 0)):.0f} links",
                        "for": d.workload,
                        "quantity": switches,
                        "unit": "switch",
                        "deployment": where,
                        "capex_usd": f.get("capex_usd"),
                    }
                )
        store = infra.get("storage") or infra.get("model_store") or {}
        if store.get("drives"):
            rows.append(
                {
                    "item": f"{store.get('tier')} storage drives",
                    "for": d.workload,
                    "quantity": store.get("drives"),
                    "unit": "drive",
                    "deployment": where,
                    "capex_usd": m.get("capex_storage_usd"),
                }
            )
    for svc in services:
        rows.append(
            {
                "item": f"{svc.service} nodes",
                "for": "shared data services",
                "quantity": svc.nodes,
                "unit": "server",
                "deployment": "on-prem",
                "capex_usd": svc.nodes * facts.service_node_usd,
            }
        )
    for tier in ("hot", "archive"):
        if tiers.get(f"{tier}_drives"):
            rows.append(
                {
                    "item": f"{tiers[f'{tier}_tier']} {tier} data tier drives",
                    "for": "datasets and checkpoints",
                    "quantity": tiers[f"{tier}_drives"],
                    "unit": "drive",
                    "deployment": "on-prem",
                    "capex_usd": tiers[f"{tier}_capex_usd"],
                }
            )
    return rows


def _service_racks(service_nodes: int, facts: InfraFacts) -> tuple[int, int]:
    """(air-cooled racks, nodes per rack) for the data-service servers: whole nodes up to
    the air rack limit."""
    per_rack = max(1, int(facts.air_rack_w // facts.service_node_w))
    return (-(-service_nodes // per_rack) if service_nodes else 0), per_rack


def _rack_groups(
    decisions: list[WorkloadDecision], service_nodes: int, facts: InfraFacts
) -> list[dict[str, Any]]:
    """On-site racks by pool: how many, the power each draws and its cooling limit."""
    out = []
    for d in decisions:
        ch = d.chosen
        if ch is None or not _on_prem(d):
            continue
        infra = ch.plan.get("infrastructure", {}) or {}
        if not infra.get("racks"):
            continue
        out.append(
            {
                "name": f"{d.workload}: {ch.accelerator}",
                "racks": infra["racks"],
                "power_w": infra.get("rack_power_w"),
                "limit_w": infra.get("rack_limit_w"),
                "cooling": infra.get("cooling"),
            }
        )
    if service_nodes:
        racks, per_rack = _service_racks(service_nodes, facts)
        out.append(
            {
                "name": "data services",
                "racks": racks,
                "power_w": min(service_nodes, per_rack) * facts.service_node_w,
                "limit_w": facts.air_rack_w,
                "cooling": "air",
            }
        )
    return out


def assemble_datacenter(
    scenario: Scenario, decisions: list[WorkloadDecision], ctx: PlanContext
) -> dict[str, Any]:
    facts = infra_facts(ctx.catalog, scenario.prices)
    pools, missing, reliability_rows = [], [], []
    total_devices = 0
    racks = 0.0
    liquid = False
    energy_kwh_year = 0.0
    for d in decisions:
        ch = d.chosen
        if ch is None:
            missing.append(d.workload)
            continue
        total_devices += ch.n_devices
        infra = ch.plan.get("infrastructure", {})
        on_site = _on_prem(d)
        if on_site:
            racks += float(infra.get("racks", 0.0) or 0.0)
            liquid = liquid or infra.get("cooling") == "liquid"
        pools.append(
            {
                "workload": d.workload,
                "kind": d.kind,
                "accelerator": ch.accelerator,
                "devices": ch.n_devices,
                "deployment": ch.plan.get("deployment", "on-prem"),
                "plan": {k: v for k, v in ch.plan.items() if k != "infrastructure"},
                "infrastructure": infra,
            }
        )
        m = ch.metrics
        if d.kind == "training":
            runs = next(
                (w.runs_per_year for w in scenario.workloads.training if w.name == d.workload), 1.0
            )
            if on_site:
                energy_kwh_year += (m.get("energy_kwh") or 0.0) * runs
            reliability_rows.append(
                {
                    "workload": d.workload,
                    "goodput": m.get("goodput"),
                    "expected_interruptions": m.get("expected_interruptions"),
                    "job_mtbf_s": m.get("job_mtbf_s"),
                    "checkpoint_interval_s": m.get("checkpoint_interval_s"),
                    "checkpoint_bytes": m.get("checkpoint_bytes"),
                    "restart_s": m.get("restart_s"),
                }
            )
        else:
            if on_site:
                energy_kwh_year += (m.get("facility_power_w") or 0.0) * YEAR / JOULES_PER_KWH
            reliability_rows.append(
                {
                    "workload": d.workload,
                    "availability": m.get("availability"),
                    "replica_availability": m.get("replica_availability"),
                    "spares_needed": m.get("spares_needed"),
                    "replica_mttr_s": m.get("replica_mttr_s"),
                }
            )

    services = _services(scenario, decisions, ctx)
    service_nodes = sum(s.nodes for s in services)
    services_capex = service_nodes * facts.service_node_usd
    services_w = service_nodes * facts.service_node_w
    tiers = _data_tiers(scenario, facts)
    shared_it_w = services_w + tiers["power_w"]
    shared_capex = services_capex + tiers["hot_capex_usd"] + tiers["archive_capex_usd"]
    it_w = _sum(decisions, "it_power_w", on_prem_only=True) + shared_it_w
    facility_w = float(power.facility_power_w(it_w, facts.pue)) if pools else math.nan
    energy_kwh_year += float(power.energy_kwh(power.facility_power_w(shared_it_w, facts.pue), YEAR))
    racks += _service_racks(service_nodes, facts)[0]

    capex_components = {
        "compute": _sum(decisions, "capex_compute_usd", on_prem_only=True),
        "network": _sum(decisions, "capex_network_usd", on_prem_only=True),
        "storage": _sum(decisions, "capex_storage_usd", on_prem_only=True)
        + tiers["hot_capex_usd"]
        + tiers["archive_capex_usd"],
        "services": services_capex,
        "facility": _sum(decisions, "capex_facility_usd", on_prem_only=True)
        + shared_it_w * facts.facility_build_usd_per_w,
    }
    capex_on_prem = (
        _sum(decisions, "capex_usd") + shared_capex + shared_it_w * facts.facility_build_usd_per_w
    )
    opex = cost.opex_rates(
        facility_power_w=float(power.facility_power_w(shared_it_w, facts.pue)),
        electricity_usd_per_kwh=facts.electricity_usd_per_kwh,
        hardware_capex_usd=shared_capex,
        maintenance_fraction_per_year=facts.maintenance_fraction_per_year,
        it_power_w=shared_it_w,
        space_usd_per_w_per_s=facts.space_usd_per_w_per_s,
    )
    shared_tco = float(
        cost.tco_usd(
            shared_capex + shared_it_w * facts.facility_build_usd_per_w,
            opex.total_usd_per_s,
            TCO_YEARS * YEAR,
        )
    )
    tco = _sum(decisions, "tco_3y_usd") + shared_tco
    horizon = TCO_YEARS * YEAR
    energy_usd_3y = energy_kwh_year * TCO_YEARS * facts.electricity_usd_per_kwh
    hardware = sum(v for k, v in capex_components.items() if k != "facility")
    cloud_3y = sum(
        d.chosen.metrics.get("tco_3y_usd") or 0.0
        for d in decisions
        if d.chosen is not None and not _on_prem(d)
    )
    tco_breakdown = {
        **{f"capex_{k}": v for k, v in capex_components.items()},
        "energy": energy_usd_3y,
        "maintenance": hardware * facts.maintenance_fraction_per_year * TCO_YEARS,
        "space": it_w * facts.space_usd_per_w_per_s * horizon,
        "cloud_rental": cloud_3y,
    }

    c = scenario.constraints
    checks = []
    if c.power_kw is not None:
        checks.append(_check("power_kw", c.power_kw, facility_w / KILO))
    if c.racks is not None:
        checks.append(_check("racks", c.racks, racks))
    if c.capex_usd is not None:
        checks.append(_check("capex_usd", c.capex_usd, capex_on_prem))
    if c.tco_3y_usd is not None:
        checks.append(_check("tco_3y_usd", c.tco_3y_usd, tco))
    cooling = "liquid" if liquid else "air"
    co2 = energy_kwh_year * facts.grid_kg_co2_per_kwh
    summary = [
        f"IT {fmt_watts(it_w)}, facility {fmt_watts(facility_w)} (PUE {facts.pue:.2f}), "
        f"{racks:.0f} racks, {cooling}-cooled; {energy_kwh_year:,.0f} kWh/yr, "
        f"{co2 / 1000:,.0f} t CO2/yr",
        "capex by component: "
        + ", ".join(f"{k} {fmt_usd(v)}" for k, v in capex_components.items()),
        f"3-year TCO {fmt_usd(tco)}: "
        + ", ".join(f"{k} {fmt_usd(v)}" for k, v in tco_breakdown.items() if v),
        f"storage: {tiers['hot_tier']} {fmt_bytes_decimal(tiers['hot_capacity_bytes'])} "
        f"({tiers['hot_drives']:.0f} NVMe), archive {tiers['archive_tier']} "
        f"{fmt_bytes_decimal(tiers['archive_capacity_bytes'])} ({tiers['archive_drives']:.0f} HDD)",
        "services: " + ", ".join(f"{s.service} x{s.nodes}" for s in services),
    ]
    for r in reliability_rows:
        if "goodput" in r and r["goodput"] is not None:
            summary.append(
                f"{r['workload']}: goodput {r['goodput']:.3f}, "
                f"{r['expected_interruptions']:.1f} expected interruptions, checkpoint every "
                f"{r['checkpoint_interval_s'] / 60:.0f} min"
            )
        elif r.get("availability") is not None:
            down_s = (1.0 - r["availability"]) * YEAR
            summary.append(
                f"{r['workload']}: expected downtime {down_s:.3g} s/yr "
                f"(replica MTTR {r['replica_mttr_s']:.0f} s)"
            )
    return {
        "pools": pools,
        "total_devices": total_devices,
        "it_power_w": it_w,
        "facility_power_w": facility_w,
        "capex_usd": capex_on_prem,
        "capex_breakdown_usd": capex_components,
        "tco_3y_usd": tco,
        "tco_3y_breakdown_usd": tco_breakdown,
        "energy_kwh_per_year": energy_kwh_year,
        "co2_kg_per_year": co2,
        "racks": racks,
        "cooling": cooling,
        "storage": tiers,
        "bom": _bill_of_materials(decisions, services, tiers, facts),
        "rack_groups": _rack_groups(decisions, service_nodes, facts),
        "storage_options": storage_options(ctx, facts),
        "services": [
            {"service": s.service, "nodes": s.nodes, "reason": s.reason} for s in services
        ],
        "reliability": reliability_rows,
        "workloads_without_design": missing,
        "constraint_checks": checks,
        "pue": facts.pue,
        "electricity_usd_per_kwh": facts.electricity_usd_per_kwh,
        "grid_kg_co2_per_kwh": facts.grid_kg_co2_per_kwh,
        "facility_mode": facts.facility_mode,
        "summary": summary,
    }


def _check(name: str, limit: float, value: float) -> dict[str, Any]:
    return {"constraint": name, "limit": limit, "value": value, "ok": value <= limit}
