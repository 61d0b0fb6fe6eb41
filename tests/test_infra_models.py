"""Storage, power, cost, data services and fabric sizing: hand-checked cases, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.model import cost, power, storage
from aidc.model.data_services import ServiceNeeds, ServiceThroughput, plan_services
from aidc.model.network import FabricGear, fat_tree_size
from aidc.units import HOUR, TERA, YEAR

GEAR = FabricGear(64, 750.0, 36000.0, 25.0, 2000.0, 17.5, 1280.0)


# --- storage -----------------------------------------------------------------------
def test_storage_hand_checked():
    # 1 TB growing 50%/yr for 2 years, 3 copies: 1 * 1.5^2 * 3 = 6.75 TB
    assert float(storage.stored_bytes(TERA, 0.5, 2, 3)) == pytest.approx(6.75 * TERA)
    # 70e9 params x (2 + 12) B
    assert float(storage.checkpoint_bytes(70e9, 2, 12)) == pytest.approx(980e9)
    # 980 GB every 1,000 s with at most 5% stall: 980e9 / 50 s
    assert float(storage.checkpoint_write_bw_needed(980e9, 1000, 0.05)) == pytest.approx(19.6e9)
    # drives: capacity 10 TB / 2 TB = 5, read 20 GB/s / 2 = 10, write 6 / 2 = 3 -> 10
    d = storage.drives_needed(10 * TERA, 20e9, 6e9, 2 * TERA, 2e9, 2e9)
    assert float(d) == 10
    assert float(storage.tier_capex_usd(10, 2 * TERA, 95 / TERA, 2.0)) == pytest.approx(3800)


@given(n=st.floats(1e6, 1e15), bw=st.floats(1e6, 1e12), factor=st.floats(1, 100))
def test_more_storage_bandwidth_never_slower(n, bw, factor):
    assert storage.transfer_time_s(n, bw * factor) <= storage.transfer_time_s(n, bw)


# --- power -------------------------------------------------------------------------
def test_power_hand_checked():
    # 700 W TDP at 50% load, 30% idle share: 700 (0.3 + 0.35) = 455 W
    assert float(power.device_power_w(700, 0.5, 0.3)) == pytest.approx(455)
    # 8 devices at full load with 80% host overhead, PUE 1.5
    it = power.compute_it_power_w(8, 700, 1.0, 0.3, 0.8)
    assert float(it) == pytest.approx(8 * 700 * 1.8)
    assert float(power.facility_power_w(it, 1.5)) == pytest.approx(8 * 700 * 1.8 * 1.5)
    assert float(power.energy_kwh(1000, HOUR)) == pytest.approx(1.0)
    assert float(power.carbon_kg(100, 0.39)) == pytest.approx(39)
    # cap at 80% with exponent 0.87: throughput 0.8^0.87, energy per work 0.8^0.13
    assert float(power.power_cap_throughput_ratio(0.8, 0.87)) == pytest.approx(0.8**0.87)
    assert float(power.power_cap_energy_ratio(0.8, 0.87)) == pytest.approx(0.8**0.13)


def test_racks_air_and_liquid():
    # 10 kW nodes, 41 kW air limit: 4 per rack, 10 nodes -> 3 racks, air
    r = power.plan_racks(10, 10_000, 41_000, 132_000)
    assert float(r.nodes_per_rack) == 4 and float(r.racks) == 3 and not bool(r.liquid_cooled)
    # 50 kW node: liquid, 2 per 132 kW rack
    r = power.plan_racks(5, 50_000, 41_000, 132_000)
    assert bool(r.liquid_cooled) and float(r.racks) == 3
    # a 20 kW site limit cannot hold a 30 kW node
    assert not bool(power.plan_racks(1, 30_000, 41_000, 132_000, rack_limit_w=20_000).fits_one_rack)


@given(n=st.integers(1, 10_000), p=st.floats(100, 200_000), more=st.integers(0, 10_000))
@settings(max_examples=100)
def test_more_nodes_never_fewer_racks(n, p, more):
    a = power.plan_racks(n, p, 41_000, 132_000)
    b = power.plan_racks(n + more, p, 41_000, 132_000)
    assert float(b.racks) >= float(a.racks)


@given(cap=st.floats(0.3, 1.0), x=st.floats(0.0, 1.0))
def test_power_cap_never_speeds_up_or_costs_energy_with_sublinear_scaling(cap, x):
    assert float(power.power_cap_throughput_ratio(cap, x)) <= 1.0 + 1e-12
    assert float(power.power_cap_energy_ratio(cap, x)) <= 1.0 + 1e-12


# --- cost --------------------------------------------------------------------------
def test_cost_hand_checked():
    cb = cost.capex_breakdown(
        n_devices=8,
        price_usd_per_device=30_000,
        network_usd=10_000,
        storage_usd=5_000,
        services_usd=1_000,
        it_power_w=10_000,
        build_usd_per_w=11.7,
    )
    assert float(cb.hardware_usd) == 256_000
    assert float(cb.total_usd) == pytest.approx(256_000 + 117_000)
    op = cost.opex_rates(
        facility_power_w=1000,
        electricity_usd_per_kwh=0.1,
        hardware_capex_usd=100_000,
        maintenance_fraction_per_year=0.1,
        it_power_w=800,
        space_usd_per_w_per_s=1e-7,
    )
    assert float(op.energy_usd_per_s) * HOUR == pytest.approx(0.1)
    assert float(op.maintenance_usd_per_s) * YEAR == pytest.approx(10_000)
    assert float(op.space_usd_per_s) == pytest.approx(8e-5)
    assert float(cost.cloud_cost_usd(8, 2 * HOUR, 2.5)) == pytest.approx(40)
    assert float(cost.usd_per_million_tokens(1.0, 1000.0)) == pytest.approx(1000)
    assert float(cost.usd_per_1k_requests(1.0, 10.0)) == pytest.approx(100)


@given(
    n=st.floats(1, 1e5), price=st.floats(1, 1e5), k=st.floats(0.1, 10), hours=st.floats(0.1, 1e4)
)
def test_cost_is_linear_in_what_it_counts(n, price, k, hours):
    base = cost.cloud_cost_usd(n, hours * HOUR, price)
    assert float(cost.cloud_cost_usd(k * n, hours * HOUR, price)) == pytest.approx(k * float(base))
    assert float(cost.cloud_cost_usd(n, k * hours * HOUR, price)) == pytest.approx(k * float(base))
    cb = cost.capex_breakdown(
        n_devices=n,
        price_usd_per_device=price,
        network_usd=0,
        storage_usd=0,
        services_usd=0,
        it_power_w=0,
        build_usd_per_w=0,
    )
    cb2 = cost.capex_breakdown(
        n_devices=k * n,
        price_usd_per_device=price,
        network_usd=0,
        storage_usd=0,
        services_usd=0,
        it_power_w=0,
        build_usd_per_w=0,
    )
    assert float(cb2.total_usd) == pytest.approx(k * float(cb.total_usd))
    assert float(cost.tco_usd(0, k * 2.0, hours)) == pytest.approx(
        k * float(cost.tco_usd(0, 2.0, hours))
    )


# --- fabric ------------------------------------------------------------------------
def test_fat_tree_matches_published_counts():
    """1,024 and 2,048 NDR endpoints: 48 and 96 switches and 2 links per GPU; 32,768:
    2,560 switches (the H100 cluster sizing spreadsheet cited in network_gear.yaml)."""
    f = fat_tree_size(np.array([1024, 2048, 32768]), GEAR)
    assert list(f.tiers) == [2, 2, 3]
    assert list(f.switches) == [48, 96, 2560]
    assert list(f.links[:2]) == [2048, 4096]
    assert float(f.capex_usd[0]) == pytest.approx(48 * 36000 + 1024 * 2000 + 2048 * 1280)


def test_oversubscription_saves_switches():
    full = fat_tree_size(np.array([4096.0]), GEAR)
    over = fat_tree_size(np.array([4096.0]), GEAR, oversubscription=3.0)
    assert float(over.switches[0]) < float(full.switches[0])
    assert float(over.bisection_fraction[0]) == pytest.approx(1 / 3, rel=0.05)


@given(e=st.integers(0, 200_000), more=st.integers(1, 10_000))
@settings(max_examples=200)
def test_fabric_cost_and_power_grow_with_endpoints(e, more):
    a = fat_tree_size(np.array([float(e)]), GEAR)
    b = fat_tree_size(np.array([float(e + more)]), GEAR)
    assert float(b.capex_usd[0]) >= float(a.capex_usd[0])
    assert float(b.power_w[0]) >= float(a.power_w[0])


# --- data services -----------------------------------------------------------------
TP = ServiceThroughput(
    tokeniser_bytes_per_s=5e7, redis_ops_per_s=141_442, kafka_events_per_s=666_667
)


def test_services_sized_from_the_scenario():
    needs = ServiceNeeds(
        corpus_bytes=1.6e12,
        preprocess_s=24 * HOUR,
        peak_rps=1020,
        has_inference=True,
        has_generation=True,
        max_replicas=3,
        high_availability=True,
        tls_in_transit=True,
        anonymisation=False,
    )
    plans = {p.service: p for p in plan_services(needs, TP)}
    # 1.6e12 B / (5e7 B/s x 86,400 s) = 0.37 -> 1 node
    assert plans["spark"].nodes == 1
    assert plans["kafka"].nodes == 3  # replication factor floor
    assert plans["redis"].nodes == 2  # 2,040 ops/s on one node + one replica
    assert {"mysql", "mongodb", "nginx"} <= set(plans)
    assert "flink" not in plans


def test_training_only_scenario_needs_no_serving_services():
    needs = ServiceNeeds(1e14, 3600, 0, False, False, 0, False, False, False)
    names = {p.service for p in plan_services(needs, TP)}
    assert names == {"mysql", "spark"}
    spark = next(p for p in plan_services(needs, TP) if p.service == "spark")
    assert spark.nodes == int(np.ceil(1e14 / (5e7 * 3600)))


def test_rack_scale_systems_are_liquid_cooled_and_space_capped():
    # NVL72-like trays: 8.6 kW each would fit air racks, but the system is liquid-only
    r = power.plan_racks(36, 8_640, 41_000, 132_000, None, 18, True)
    assert bool(r.liquid_cooled)
    assert float(r.nodes_per_rack) == 15  # 132 kW / 8.64 kW, under the 18-tray space cap
    assert float(r.racks) == 3


@given(nodes=st.integers(2, 5000), rails=st.sampled_from([1, 2, 4, 8]))
@settings(max_examples=200)
def test_rail_fabric_never_smaller_than_a_plain_fat_tree(nodes, rails):
    from aidc.model.network import rail_optimised_size

    r = rail_optimised_size(np.array([float(nodes)]), np.array([float(rails)]), GEAR)
    f = fat_tree_size(np.array([float(nodes * rails)]), GEAR)
    assert float(r.switches[0]) >= float(f.switches[0])
    assert float(r.nics[0]) == float(f.nics[0]) == nodes * rails


def test_rail_fabric_equals_fat_tree_when_leaves_fill():
    from aidc.model.network import rail_optimised_size

    # 128 nodes x 8 rails on 64-port leaves (32 down): 4 leaves per rail, 32 in all
    r = rail_optimised_size(np.array([128.0]), np.array([8.0]), GEAR)
    assert float(r.leaf_switches[0]) == 32 and float(r.switches[0]) == 48
