"""Infrastructure evaluation of one candidate design: fabric, storage, reliability,
power, racks, cooling and cost, for the training and inference planners.

``training_infrastructure_metrics`` and ``inference_infrastructure_metrics`` take a
design's accelerator, device count and speed and return an :class:`InfraResult`: flat
metrics (merged into the design's metrics), details (the design's ``infrastructure``
plan entry), the deployment chosen (on-prem or cloud) and a reason when the design
breaks the scenario's power, rack or availability envelope. Pure: values in and out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from aidc.catalog.schema import Accelerator
from aidc.model import cost, power, reliability, storage
from aidc.model.network import FabricGear, fat_tree_size, rail_optimised_size
from aidc.planner.context import PlanContext
from aidc.planner.infra_facts import (
    ARCHIVE_TIER,
    BYTES_PER_TOKEN_TEXT,
    FRONTEND_LINK,
    POWER_CAP_WHAT_IF,
    TRAINING_SCALEOUT_LINK,
    InfraFacts,
)
from aidc.spec.scenario import InferenceService, Scenario, TrainingWorkload
from aidc.units import JOULES_PER_KWH, KILO, MEGA, TERA, YEAR

TCO_YEARS = 3.0


@dataclass(frozen=True)
class InfraResult:
    metrics: dict[str, float]
    details: dict[str, Any]
    deployment: str
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointDesign:
    """Checkpointing on the shared flash tier, sized for the stall target (SI)."""

    checkpoint_bytes: float
    capacity_bytes: float  # raw, dataset plus kept checkpoints, with protection
    drives: float
    write_bw_bytes_per_s: float
    read_bw_bytes_per_s: float
    write_bw_needed_bytes_per_s: float
    checkpoint_s: float  # blocking save
    restart_s: float  # relaunch plus reading the checkpoint back
    interval_s: float  # Daly-optimal compute time between checkpoints
    job_mtbf_s: float
    goodput: float


def checkpoint_design(
    *,
    n_devices: float,
    params: float,
    state_bytes_per_param: float,
    dataset_bytes: float,
    dataset_read_bw_bytes_per_s: float,
    keep_last: int,
    max_stall_fraction: float,
    facts: InfraFacts,
) -> CheckpointDesign:
    """Size the shared flash tier and evaluate goodput.

    At the Young/Daly interval ``tau ~ sqrt(2 d M)`` the blocking-save share of time is
    ``d / tau = sqrt(d / 2M)``; keeping it under ``f`` needs ``d <= 2 M f^2``, i.e. a
    write bandwidth of ``ckpt / (2 M f^2)``. Drives: the most of that, the capacity and
    the dataset read rate (``aidc.model.storage.drives_needed``).
    """
    ckpt = float(storage.checkpoint_bytes(params, state_bytes_per_param, 0.0))
    mtbf = float(reliability.job_mtbf_s(n_devices, facts.failure_rate_per_device_s))
    stall_budget_s = 2.0 * mtbf * max_stall_fraction**2
    write_needed = ckpt / stall_budget_s if math.isfinite(stall_budget_s) else 0.0
    copies = facts.training_storage.durability_copies
    capacity = (dataset_bytes + keep_last * ckpt) * copies
    fl = facts.flash
    drives = float(
        storage.drives_needed(
            capacity,
            dataset_read_bw_bytes_per_s,
            write_needed,
            fl.capacity_bytes,
            fl.read_bw_bytes_per_s,
            fl.write_bw_bytes_per_s,
        )
    )
    write_bw = drives * fl.write_bw_bytes_per_s
    read_bw = drives * fl.read_bw_bytes_per_s
    d = float(storage.transfer_time_s(ckpt, write_bw))
    r = facts.restart_overhead_s + float(storage.transfer_time_s(ckpt, read_bw))
    g, tau = reliability.training_goodput(
        n_devices, facts.failure_rate_per_device_s, facts.planned_rate_per_device_s, d, r
    )
    return CheckpointDesign(
        checkpoint_bytes=ckpt,
        capacity_bytes=capacity,
        drives=drives,
        write_bw_bytes_per_s=write_bw,
        read_bw_bytes_per_s=read_bw,
        write_bw_needed_bytes_per_s=write_needed,
        checkpoint_s=d,
        restart_s=r,
        interval_s=float(tau),
        job_mtbf_s=mtbf,
        goodput=float(g),
    )


def _racks(
    acc: Accelerator, n_nodes: float, node_power_w: float, scenario: Scenario, facts: InfraFacts
):
    c = scenario.constraints
    site = c.rack_power_kw * KILO if c.rack_power_kw else None
    # a rack-scale NVLink domain (NVL72: 18 trays of 4 GPUs) is one liquid-cooled rack
    rack_scale = acc.scaleup_link.startswith("nvlink") and (
        acc.scaleup_domain_devices > acc.devices_per_node
    )
    per_rack_cap = acc.scaleup_domain_devices / acc.devices_per_node if rack_scale else np.inf
    return power.plan_racks(
        n_nodes,
        node_power_w,
        facts.air_rack_w,
        facts.liquid_rack_w,
        site,
        per_rack_cap,
        liquid_required=rack_scale,
    )


def _envelope_reason(facility_w: float, racks, scenario: Scenario) -> str | None:
    c = scenario.constraints
    if not bool(racks.fits_one_rack):
        return (
            f"rack power: one node draws {float(racks.rack_power_w) / KILO:.0f} kW, "
            f"over the {float(racks.limit_w) / KILO:.0f} kW rack limit"
        )
    if c.power_kw and facility_w > c.power_kw * KILO:
        return (
            f"power: {facility_w / KILO:.0f} kW facility power, "
            f"{facility_w / KILO - c.power_kw:.0f} kW over the {c.power_kw:.0f} kW envelope"
        )
    if c.racks and float(racks.racks) > c.racks:
        return f"racks: needs {float(racks.racks):.0f} racks, {c.racks} available"
    return None


BOARD_FORM_FACTORS = ("SXM", "OAM", "Superchip", "HGX")
"""Form factors sold only on a baseboard (HGX 8-GPU, OAM UBB, Grace superchip trays)."""


def purchased_devices(acc: Accelerator, n_devices: float) -> float:
    """Devices bought on-prem for ``n_devices`` in use: baseboard parts come in whole
    boards of ``devices_per_node`` (two H100 SXM means an 8-GPU HGX board); PCIe cards,
    CPU sockets and desktop systems one by one."""
    if n_devices <= 0 or not any(f in acc.form_factor for f in BOARD_FORM_FACTORS):
        return n_devices
    per = max(acc.devices_per_node, 1)
    return math.ceil(n_devices / per) * per


def _power_cap_metrics(exponent: float) -> dict[str, float]:
    """The power-cap what-if at ``POWER_CAP_WHAT_IF`` of TDP: time and energy ratios, with
    the throughput exponent of compute-bound (training) or memory-bound (decode) work."""
    return {
        "power_cap_80pct_time_ratio": 1.0
        / float(power.power_cap_throughput_ratio(POWER_CAP_WHAT_IF, exponent)),
        "power_cap_80pct_energy_ratio": float(
            power.power_cap_energy_ratio(POWER_CAP_WHAT_IF, exponent)
        ),
    }


def _capex_metrics(
    capex: cost.CapexBreakdown, opex: cost.OpexRates, where: str, purchased: float
) -> dict[str, float]:
    """Capex by component, what is bought and the yearly opex of one design."""
    return {
        "capex_usd": float(capex.total_usd) if where == "on-prem" else 0.0,
        "capex_total_usd": float(capex.total_usd),
        "devices_purchased": purchased,
        "capex_compute_usd": float(capex.compute_usd),
        "capex_network_usd": float(capex.network_usd),
        "capex_storage_usd": float(capex.storage_usd),
        "capex_facility_usd": float(capex.facility_usd),
        "opex_usd_per_year": float(opex.total_usd_per_s) * YEAR,
    }


def _site_costs(
    acc: Accelerator,
    n_devices: float,
    network_capex_usd: float,
    storage_capex_usd: float,
    it_w: float,
    facility_w: float,
    scenario: Scenario,
    ctx: PlanContext,
    facts: InfraFacts,
) -> tuple[cost.CapexBreakdown, cost.OpexRates, float]:
    """Capex by component, opex rates, and the on-prem cost rate (USD/s): hardware and the
    facility amortised over their lives plus opex. Baseboard parts are bought in whole
    boards (:func:`purchased_devices`)."""
    capex = cost.capex_breakdown(
        n_devices=purchased_devices(acc, n_devices),
        price_usd_per_device=ctx.price_usd(acc, scenario.prices),
        network_usd=network_capex_usd,
        storage_usd=storage_capex_usd,
        services_usd=0.0,
        it_power_w=it_w,
        build_usd_per_w=facts.facility_build_usd_per_w,
    )
    opex = cost.opex_rates(
        facility_power_w=facility_w,
        electricity_usd_per_kwh=facts.electricity_usd_per_kwh,
        hardware_capex_usd=capex.hardware_usd,
        maintenance_fraction_per_year=facts.maintenance_fraction_per_year,
        it_power_w=it_w,
        space_usd_per_w_per_s=facts.space_usd_per_w_per_s,
    )
    usd_per_s = float(
        cost.amortised_usd_per_s(capex.hardware_usd, facts.it_life_s)
        + cost.amortised_usd_per_s(capex.facility_usd, facts.facility_life_s)
        + opex.total_usd_per_s
    )
    return capex, opex, usd_per_s


def _choose_deployment(
    acc: Accelerator, scenario: Scenario, on_prem_usd: float, cloud_usd: float
) -> tuple[float, str]:
    c = scenario.constraints
    if c.deployment == "on-prem" or "cloud" not in acc.availability:
        return on_prem_usd, "on-prem"
    if c.deployment == "cloud" or "on-prem" not in acc.availability:
        return cloud_usd, "cloud"
    options = [
        (v, k) for v, k in ((on_prem_usd, "on-prem"), (cloud_usd, "cloud")) if math.isfinite(v)
    ]
    return min(options) if options else (math.nan, "on-prem")


def _reserved_usd_per_hour(ctx: PlanContext, acc: Accelerator) -> float:
    prices = [
        p.usd_per_device_hour
        for p in ctx.catalog.prices
        if p.item == acc.id and p.price_type in ("reserved", "capacity-block")
    ]
    return min(prices) if prices else math.nan


@lru_cache(maxsize=4096)
def _fat_tree(gear: FabricGear, endpoints: float):
    return fat_tree_size(np.array([endpoints], float), gear)


def _fabric(facts: InfraFacts, link: str, endpoints: float):
    return _fat_tree(facts.gear[link], float(endpoints))


@lru_cache(maxsize=4096)
def _rails(gear: FabricGear, nodes: float, rails: float):
    return rail_optimised_size(np.array([nodes], float), np.array([rails], float), gear)


def _rail_fabric(facts: InfraFacts, link: str, nodes: float, rails: float):
    """Rail-optimised compute fabric (one NIC per device); none for a single node."""
    return _rails(facts.gear[link], float(nodes) if nodes > 1 else 0.0, float(rails))


def training_infrastructure_metrics(
    *,
    acc: Accelerator,
    n_devices: int,
    time_to_train_s: float,
    tokens_per_s: float,
    params: float,
    state_bytes_per_param: float,
    workload: TrainingWorkload,
    scenario: Scenario,
    ctx: PlanContext,
    facts: InfraFacts,
) -> InfraResult:
    """Infrastructure, reliability, power and cost of one training design."""
    n = float(n_devices)
    nodes = math.ceil(n / acc.devices_per_node)
    tdp = acc.tdp_w or math.nan
    ds = scenario.data
    bytes_per_token = _bytes_per_token(scenario)
    dataset_bytes = workload.total_tokens() * bytes_per_token
    ck = checkpoint_design(
        n_devices=n,
        params=params,
        state_bytes_per_param=state_bytes_per_param,
        dataset_bytes=dataset_bytes,
        dataset_read_bw_bytes_per_s=tokens_per_s * bytes_per_token,
        keep_last=ds.checkpoints.keep_last,
        max_stall_fraction=ds.checkpoints.max_stall_fraction,
        facts=facts,
    )
    wall_s = time_to_train_s / ck.goodput if ck.goodput > 0 else math.inf
    interruptions = float(
        reliability.expected_interruptions(n, wall_s, facts.failure_rate_per_device_s)
    )

    compute_fabric = _rail_fabric(
        facts, TRAINING_SCALEOUT_LINK, nodes, min(n, acc.devices_per_node)
    )
    frontend = _fabric(facts, FRONTEND_LINK, float(nodes))
    storage_w = ck.drives * facts.storage_drive_power_w
    storage_capex = float(
        storage.tier_capex_usd(
            ck.drives,
            facts.flash.capacity_bytes,
            facts.flash.usd_per_byte,
            facts.storage_cost_factor,
        )
    )
    network_w = float(compute_fabric.power_w[0] + frontend.power_w[0])
    network_capex = float(compute_fabric.capex_usd[0] + frontend.capex_usd[0])
    # accelerators in a training job stay busy: draw is taken at full utilisation
    compute_w = float(
        power.compute_it_power_w(n, tdp, 1.0, facts.idle_fraction, facts.host_power_fraction)
    )
    idle_w = float(
        power.compute_it_power_w(n, tdp, 0.0, facts.idle_fraction, facts.host_power_fraction)
    )
    it_w = compute_w + network_w + storage_w
    fac_w = float(power.facility_power_w(it_w, facts.pue))
    node_w = acc.devices_per_node * tdp * (1.0 + facts.host_power_fraction)
    racks = _racks(acc, nodes, node_w, scenario, facts)
    e_kwh = float(power.energy_kwh(fac_w, wall_s))

    capex, opex, on_prem_usd_per_s = _site_costs(
        acc, n, network_capex, storage_capex, it_w, fac_w, scenario, ctx, facts
    )
    on_prem_run = on_prem_usd_per_s * wall_s
    cloud_hr = ctx.cloud_usd_per_hour(acc, scenario.prices)
    cloud_run = float(cost.cloud_cost_usd(n, wall_s, cloud_hr))
    reserved_run = float(cost.cloud_cost_usd(n, wall_s, _reserved_usd_per_hour(ctx, acc)))
    run_cost, where = _choose_deployment(acc, scenario, on_prem_run, cloud_run)

    horizon = TCO_YEARS * YEAR
    runs = min(workload.runs_per_year * TCO_YEARS, horizon / wall_s) if wall_s > 0 else 0.0
    busy_s = runs * wall_s
    energy_usd_3y = (
        (
            fac_w * busy_s
            + float(power.facility_power_w(idle_w + network_w + storage_w, facts.pue))
            * (horizon - busy_s)
        )
        / JOULES_PER_KWH
        * facts.electricity_usd_per_kwh
    )
    fixed_opex_3y = float(opex.maintenance_usd_per_s + opex.space_usd_per_s) * horizon
    tco_on_prem = float(capex.total_usd) + fixed_opex_3y + energy_usd_3y
    tco = tco_on_prem if where == "on-prem" else run_cost * runs

    metrics = {
        "facility_power_w": fac_w,
        "it_power_w": it_w,
        "energy_kwh": e_kwh,
        "co2_kg": float(power.carbon_kg(e_kwh, facts.grid_kg_co2_per_kwh)),
        **_capex_metrics(capex, opex, where, purchased_devices(acc, n)),
        "run_cost_usd": run_cost,
        "run_cost_on_prem_usd": on_prem_run,
        "run_cost_cloud_usd": cloud_run,
        "run_cost_cloud_reserved_usd": reserved_run,
        "tco_3y_usd": tco,
        "time_to_train_with_failures_s": wall_s,
        "goodput": ck.goodput,
        "expected_interruptions": interruptions,
        "job_mtbf_s": ck.job_mtbf_s,
        "checkpoint_bytes": ck.checkpoint_bytes,
        "checkpoint_interval_s": ck.interval_s,
        "checkpoint_write_s": ck.checkpoint_s,
        "restart_s": ck.restart_s,
        "checkpoint_write_bw_bytes_per_s": ck.write_bw_bytes_per_s,
        "dataset_read_bw_bytes_per_s": tokens_per_s * bytes_per_token,
        "storage_drives": ck.drives,
        "racks": float(racks.racks),
        "rack_power_w": float(racks.rack_power_w),
        "scaleout_switches": float(compute_fabric.switches[0]),
        "scaleout_links": float(compute_fabric.links[0]),
        **_power_cap_metrics(facts.power_cap_exponent_compute),
    }
    details = {
        "nodes": nodes,
        "compute_fabric": _fabric_details(TRAINING_SCALEOUT_LINK, compute_fabric),
        "frontend_fabric": _fabric_details(FRONTEND_LINK, frontend),
        "storage": {
            "tier": facts.training_storage.id,
            "drives": ck.drives,
            "capacity_bytes": ck.capacity_bytes,
            "write_bw_bytes_per_s": ck.write_bw_bytes_per_s,
            "read_bw_bytes_per_s": ck.read_bw_bytes_per_s,
            "archive": ARCHIVE_TIER,
        },
        "cooling": "liquid" if bool(racks.liquid_cooled) else "air",
        "racks": float(racks.racks),
        "nodes_per_rack": float(racks.nodes_per_rack),
        "rack_power_w": float(racks.rack_power_w),
        "rack_limit_w": float(racks.limit_w),
    }
    return InfraResult(metrics, details, where, _envelope_reason(fac_w, racks, scenario))


def _fabric_details(link: str, f) -> dict[str, Any]:
    return {
        "link": link,
        "tiers": float(f.tiers[0]),
        "leaf_switches": float(f.leaf_switches[0]),
        "spine_switches": float(f.spine_switches[0]),
        "core_switches": float(f.core_switches[0]),
        "nics": float(f.nics[0]),
        "links": float(f.links[0]),
        "capex_usd": float(f.capex_usd[0]),
        "power_w": float(f.power_w[0]),
    }


def _bytes_per_token(scenario: Scenario) -> float:
    sized = [d for d in scenario.data.datasets if d.tokens]
    if not sized:
        return BYTES_PER_TOKEN_TEXT
    return sum(d.size_tb for d in sized) * TERA / sum(d.tokens or 0.0 for d in sized)


def replica_availability(
    devices_per_replica: int, weight_bytes: float, facts: InfraFacts
) -> tuple[float, float]:
    """(availability of one serving replica, its repair time in s): a replica fails at
    ``g x`` the per-device rate and returns after a restart plus a reload of its weights
    from the model store."""
    store = facts.model_store
    load_bw = store.read_bw_bytes_per_s_per_node or facts.flash.read_bw_bytes_per_s
    mttr_s = facts.restart_overhead_s + float(storage.transfer_time_s(weight_bytes, load_bw))
    a_rep = float(
        reliability.replica_availability(
            devices_per_replica, facts.failure_rate_per_device_s, mttr_s
        )
    )
    return a_rep, mttr_s


def inference_spares(
    *,
    devices_per_replica: int,
    replicas_for_load: int,
    weight_bytes: float,
    availability_target: float,
    facts: InfraFacts,
) -> int:
    """Spare replicas for ``availability_target`` when ``replicas_for_load`` carry the peak
    (replica availability from :func:`replica_availability`)."""
    a_rep, _ = replica_availability(devices_per_replica, weight_bytes, facts)
    return int(reliability.spares_for_availability(replicas_for_load, a_rep, availability_target))


def inference_infrastructure_metrics(
    *,
    acc: Accelerator,
    replicas: int,
    devices_per_replica: int,
    replicas_for_load: int,
    utilisation: float,
    mean_rps: float,
    tokens_per_request: float,
    weight_bytes: float,
    service: InferenceService,
    scenario: Scenario,
    ctx: PlanContext,
    facts: InfraFacts,
) -> InfraResult:
    """Infrastructure, availability, power and cost of one serving design.

    ``replicas_for_load`` replicas carry the peak; the rest are spares. Availability is
    the probability that at least that many are up, each replica failing at ``g x`` the
    per-device rate and coming back after a restart plus a reload of its weights from
    the model store.
    """
    n = float(replicas * devices_per_replica)
    nodes = math.ceil(n / acc.devices_per_node) if n > 0 else 0
    tdp = acc.tdp_w or math.nan
    store = facts.model_store
    a_rep, mttr = replica_availability(devices_per_replica, weight_bytes, facts)
    achieved = reliability.k_of_n_availability(replicas_for_load, replicas, a_rep)
    spares = reliability.spares_for_availability(replicas_for_load, a_rep, service.availability)

    # weights kept on the shared flash NFS (protected), one copy per precision served
    model_store_bytes = weight_bytes * store.durability_copies
    fl = facts.flash
    store_drives = float(
        storage.drives_needed(model_store_bytes, 0.0, 0.0, fl.capacity_bytes, 1.0, 1.0)
    )
    storage_capex = float(
        storage.tier_capex_usd(
            store_drives, fl.capacity_bytes, fl.usd_per_byte, facts.storage_cost_factor
        )
    )
    frontend = _fabric(facts, FRONTEND_LINK, float(nodes))
    multi_node_replica = devices_per_replica > acc.devices_per_node
    compute_fabric = _fabric(facts, TRAINING_SCALEOUT_LINK, n if multi_node_replica else 0.0)
    network_w = float(frontend.power_w[0] + compute_fabric.power_w[0])
    network_capex = float(frontend.capex_usd[0] + compute_fabric.capex_usd[0])
    storage_w = store_drives * facts.storage_drive_power_w
    compute_w = float(
        power.compute_it_power_w(
            n, tdp, utilisation, facts.idle_fraction, facts.host_power_fraction
        )
    )
    it_w = compute_w + network_w + storage_w
    fac_w = float(power.facility_power_w(it_w, facts.pue))
    node_w = acc.devices_per_node * tdp * (1.0 + facts.host_power_fraction)
    racks = _racks(acc, nodes, node_w, scenario, facts)

    capex, opex, on_prem_usd_per_s = _site_costs(
        acc, n, network_capex, storage_capex, it_w, fac_w, scenario, ctx, facts
    )
    cloud_usd_per_s = float(
        cost.cloud_cost_usd(n, 1.0, ctx.cloud_usd_per_hour(acc, scenario.prices))
    )
    usd_per_s, where = _choose_deployment(acc, scenario, on_prem_usd_per_s, cloud_usd_per_s)
    tokens_per_s = mean_rps * tokens_per_request
    horizon = TCO_YEARS * YEAR
    tco = (
        float(capex.total_usd) + float(opex.total_usd_per_s) * horizon
        if where == "on-prem"
        else usd_per_s * horizon
    )
    kwh_per_s = fac_w / JOULES_PER_KWH
    metrics = {
        "facility_power_w": fac_w,
        "it_power_w": it_w,
        "energy_kwh_per_million_tokens": kwh_per_s / max(tokens_per_s, 1e-300) * MEGA,
        "co2_kg_per_million_tokens": kwh_per_s
        * facts.grid_kg_co2_per_kwh
        / max(tokens_per_s, 1e-300)
        * MEGA,
        "usd_per_million_tokens": float(cost.usd_per_million_tokens(usd_per_s, tokens_per_s)),
        "usd_per_1k_requests": float(cost.usd_per_1k_requests(usd_per_s, mean_rps)),
        "usd_per_million_tokens_cloud": float(
            cost.usd_per_million_tokens(cloud_usd_per_s, tokens_per_s)
        ),
        "usd_per_million_tokens_on_prem": float(
            cost.usd_per_million_tokens(on_prem_usd_per_s, tokens_per_s)
        ),
        "tco_3y_usd": tco,
        **_capex_metrics(capex, opex, where, purchased_devices(acc, n)),
        "availability": achieved,
        "replica_availability": a_rep,
        "spares_needed": float(spares),
        "replica_mttr_s": mttr,
        "racks": float(racks.racks),
        "rack_power_w": float(racks.rack_power_w),
        **_power_cap_metrics(facts.power_cap_exponent_memory),
    }
    details = {
        "nodes": nodes,
        "frontend_fabric": _fabric_details(FRONTEND_LINK, frontend),
        "compute_fabric": _fabric_details(TRAINING_SCALEOUT_LINK, compute_fabric),
        "model_store": {
            "tier": store.id,
            "drives": store_drives,
            "capacity_bytes": model_store_bytes,
        },
        "cooling": "liquid" if bool(racks.liquid_cooled) else "air",
        "racks": float(racks.racks),
        "nodes_per_rack": float(racks.nodes_per_rack),
        "rack_power_w": float(racks.rack_power_w),
        "rack_limit_w": float(racks.limit_w),
    }
    reason = _envelope_reason(fac_w, racks, scenario)
    if reason is None and achieved < service.availability:
        reason = (
            f"availability: {100 * achieved:.3f}% with {replicas} replicas, under the "
            f"{100 * service.availability:.2f}% target (needs {spares} spares)"
        )
    return InfraResult(metrics, details, where, reason)
