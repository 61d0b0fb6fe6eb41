"""Catalog facts the infrastructure models need, converted once to SI (the edge between
catalog records stated in human units and the pure models).

Every value comes from a catalog record (source and provenance there) or from the
scenario's ``prices:`` overrides; the record ids are listed in ``FACT_IDS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aidc.catalog.loader import Catalog
from aidc.catalog.schema import NetworkGear, StorageSystem
from aidc.model.network import CurveParams, FabricGear, curve_link
from aidc.spec.scenario import PriceOverrides
from aidc.units import HOUR, KILO, TERA, YEAR

MONTH = YEAR / 12.0

FACT_IDS = {
    "pue": "pue-industry-2024",
    "electricity": "electricity-us-industrial-2023",
    "grid_co2": "grid-co2-us-2022",
    "failure_rate": "failure-rate-llama3-h100",
    "planned_rate": "planned-interruption-rate-llama3-h100",
    "restart": "restart-overhead-checkpoint-restart",
    "build": "build-cost-us-2024",
    "colocation": "colocation-us-2024",
    "maintenance": "maintenance-fraction-per-year",
    "air_rack": "rack-power-air-cooled-max",
    "liquid_rack": "rack-power-liquid-cooled-max",
    "storage_factor": "storage-system-cost-per-media-cost",
    "drive_power": "storage-drive-power",
    "service_price": "service-node-price",
    "service_power": "service-node-power",
    "idle": "device-idle-power-fraction",
    "cap_compute": "power-cap-exponent-compute-bound",
    "cap_memory": "power-cap-exponent-memory-bound",
}

# Hosts (CPUs, memory, NICs, fans) draw about this share on top of the accelerators:
# DGX H100 max 10.2 kW for 8 x 700 W GPUs = 5.6 kW -> 0.82 extra; DGX A100 6.5 kW for
# 8 x 400 W = 3.2 kW -> 1.03 extra (facility.yaml). Max system power overstates typical
# draw, so the lower figure is used.
HOST_POWER_FRACTION = 0.8

TRAINING_SCALEOUT_LINK = "ib-ndr"
"""Compute fabric of a multi-node training design (the planner's scale-out default)."""
FRONTEND_LINK = "roce-200g"
"""Front-end / storage Ethernet fabric: one port per node and per service node."""
TRAINING_STORAGE_TIER = "wekafs"
"""Shared flash tier for datasets and checkpoints: the highest measured per-client read
bandwidth in the catalog (97.9 GB/s with GPUDirect Storage)."""
MODEL_STORE_TIER = "vast-nfs"
"""Shared flash NFS holding model weights for serving replicas."""
ARCHIVE_TIER = "minio"
"""On-prem S3-compatible object store for dataset and checkpoint archives."""
BYTES_PER_TOKEN_TEXT = 4.0
"""Bytes of raw text per token when a dataset does not say: 'one token generally
corresponds to ~4 characters of text for common English text' (OpenAI tokenizer help)."""
POWER_CAP_WHAT_IF = 0.8
"""The what-if power cap reported for every design, as a share of TDP."""


@dataclass(frozen=True)
class DriveFacts:
    capacity_bytes: float
    read_bw_bytes_per_s: float
    write_bw_bytes_per_s: float
    usd_per_byte: float


@dataclass(frozen=True)
class InfraFacts:
    """SI facts for the infrastructure models (one per plan)."""

    pue: float
    electricity_usd_per_kwh: float
    grid_kg_co2_per_kwh: float
    host_power_fraction: float
    idle_fraction: float
    failure_rate_per_device_s: float
    planned_rate_per_device_s: float
    restart_overhead_s: float
    build_usd_per_w: float
    colocation_usd_per_w_per_s: float
    facility_mode: str  # "colocation" (rented) or "build" (owned)
    facility_life_s: float
    it_life_s: float
    maintenance_fraction_per_year: float
    air_rack_w: float
    liquid_rack_w: float
    storage_cost_factor: float
    storage_drive_power_w: float
    service_node_usd: float
    service_node_w: float
    power_cap_exponent_compute: float
    power_cap_exponent_memory: float
    flash: DriveFacts
    hdd: DriveFacts
    training_storage: StorageSystem
    model_store: StorageSystem
    archive: StorageSystem
    object_usd_per_byte_s: float  # cloud object storage, for comparison
    gear: dict[str, FabricGear]  # link id -> switch, NIC and link facts

    @property
    def space_usd_per_w_per_s(self) -> float:
        return self.colocation_usd_per_w_per_s if self.facility_mode == "colocation" else 0.0

    @property
    def facility_build_usd_per_w(self) -> float:
        return self.build_usd_per_w if self.facility_mode == "build" else 0.0


def _drive(rec: StorageSystem) -> DriveFacts:
    assert rec.drive_capacity_bytes and rec.system_read_bw_bytes_per_s_per_drive
    assert rec.system_write_bw_bytes_per_s_per_drive and rec.usd_per_tb_capex
    return DriveFacts(
        capacity_bytes=rec.drive_capacity_bytes,
        read_bw_bytes_per_s=rec.system_read_bw_bytes_per_s_per_drive,
        write_bw_bytes_per_s=rec.system_write_bw_bytes_per_s_per_drive,
        usd_per_byte=rec.usd_per_tb_capex / TERA,
    )


def infra_facts(catalog: Catalog, prices: PriceOverrides) -> InfraFacts:
    def v(key: str) -> float:
        return catalog.facility_value(FACT_IDS[key])

    s3 = catalog.storage.get("s3")
    return InfraFacts(
        pue=prices.pue or v("pue"),
        electricity_usd_per_kwh=prices.electricity_usd_per_kwh or v("electricity"),
        grid_kg_co2_per_kwh=(
            prices.grid_kg_co2_per_kwh if prices.grid_kg_co2_per_kwh is not None else v("grid_co2")
        ),
        host_power_fraction=HOST_POWER_FRACTION,
        idle_fraction=v("idle"),
        failure_rate_per_device_s=v("failure_rate") / HOUR,
        planned_rate_per_device_s=v("planned_rate") / HOUR,
        restart_overhead_s=v("restart"),
        build_usd_per_w=(
            prices.facility_build_usd_per_kw / KILO
            if prices.facility_build_usd_per_kw is not None
            else v("build")
        ),
        colocation_usd_per_w_per_s=(
            prices.colocation_usd_per_kw_month
            if prices.colocation_usd_per_kw_month is not None
            else v("colocation")
        )
        / KILO
        / MONTH,
        facility_mode=prices.facility,
        facility_life_s=prices.facility_amortisation_years * YEAR,
        it_life_s=prices.amortisation_years * YEAR,
        maintenance_fraction_per_year=(
            prices.maintenance_fraction_per_year
            if prices.maintenance_fraction_per_year is not None
            else v("maintenance")
        ),
        air_rack_w=v("air_rack"),
        liquid_rack_w=v("liquid_rack"),
        storage_cost_factor=v("storage_factor"),
        storage_drive_power_w=v("drive_power"),
        service_node_usd=v("service_price"),
        service_node_w=v("service_power"),
        power_cap_exponent_compute=v("cap_compute"),
        power_cap_exponent_memory=v("cap_memory"),
        flash=_drive(catalog.storage.get("nvme-gen4")),
        hdd=_drive(catalog.storage.get("hdd-7200")),
        training_storage=catalog.storage.get(TRAINING_STORAGE_TIER),
        model_store=catalog.storage.get(MODEL_STORE_TIER),
        archive=catalog.storage.get(ARCHIVE_TIER),
        object_usd_per_byte_s=(s3.usd_per_tb_month or math.nan) / TERA / MONTH,
        gear={link: fabric_gear(catalog, link) for link in {g.link for g in catalog.network_gear}},
    )


def fabric_gear(catalog: Catalog, link: str) -> FabricGear:
    """Switch, NIC and link records of one link technology, as model inputs."""
    gear: dict[str, NetworkGear] = {g.kind: g for g in catalog.network_gear if g.link == link}
    sw, nic, cable = gear["switch"], gear["nic"], gear["cable"]
    return FabricGear(
        switch_ports=float(sw.ports),
        switch_power_w=sw.power_w,
        switch_price_usd=sw.price_usd,
        nic_power_w=nic.power_w,
        nic_price_usd=nic.price_usd,
        link_power_w=cable.power_w,
        link_price_usd=cable.price_usd,
    )


def collective_curve(catalog: Catalog, link: str, op: str) -> tuple[CurveParams, str]:
    """The calibrated curve for (link, op) and the link it was fitted on."""
    fitted = curve_link(link, op, catalog.collectives.ids())
    r = catalog.collectives.get(f"{fitted}-{op.replace('_', '-')}")
    return CurveParams.of(r), fitted
