"""The infrastructure figures appear in `aidc plan` for every candidate, and respond to
the scenario's envelope and price overrides."""

from __future__ import annotations

import math

import pytest

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.resolve import resolve_scenario_models
from aidc.planner.context import PlanContext, facility_params
from aidc.planner.infra_facts import infra_facts
from aidc.planner.infrastructure import training_infrastructure_metrics
from aidc.planner.pipeline import plan
from aidc.spec import load_default_scenario
from aidc.spec.scenario import Scenario

TRAINING_KEYS = {
    "goodput",
    "expected_interruptions",
    "checkpoint_interval_s",
    "checkpoint_bytes",
    "time_to_train_with_failures_s",
    "capex_network_usd",
    "capex_storage_usd",
    "co2_kg",
    "racks",
    "run_cost_cloud_usd",
    "power_cap_80pct_time_ratio",
}
INFERENCE_KEYS = {
    "availability",
    "spares_needed",
    "energy_kwh_per_million_tokens",
    "usd_per_million_tokens",
    "usd_per_1k_requests",
    "capex_network_usd",
    "racks",
}


def _plan(scenario: Scenario):
    cat = load_catalog()
    ctx = PlanContext(
        cat,
        load_default_calibration(),
        resolve_scenario_models(scenario, cat),
        facility_params(cat, scenario.prices),
    )
    return plan(scenario, ctx)


def _with(base: Scenario, **changes) -> Scenario:
    data = base.model_dump()
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def default_result():
    return _plan(load_default_scenario())


def test_every_candidate_carries_infrastructure_figures(default_result):
    for w in default_result.workloads:
        keys = TRAINING_KEYS if w.kind == "training" else INFERENCE_KEYS
        assert w.designs, w.workload
        for d in w.designs:
            assert keys <= set(d.metrics), (w.workload, keys - set(d.metrics))
            assert "infrastructure" in d.plan
            if w.kind == "training":
                assert 0.0 < d.metrics["goodput"] <= 1.0


def test_datacenter_design_has_every_part(default_result):
    dc = default_result.datacenter
    assert set(dc["capex_breakdown_usd"]) == {
        "compute",
        "network",
        "storage",
        "services",
        "facility",
    }
    assert {s["service"] for s in dc["services"]} >= {"mysql", "spark", "kafka", "nginx"}
    assert dc["racks"] >= 1 and dc["cooling"] in ("air", "liquid")
    assert dc["facility_power_w"] == pytest.approx(dc["it_power_w"] * dc["pue"])
    assert dc["summary"]
    total = sum(dc["tco_3y_breakdown_usd"].values())
    assert math.isfinite(total) and total > 0


def test_power_envelope_rejects_designs_with_a_reason():
    sc = _with(load_default_scenario(), **{"constraints.power_kw": 20.0})
    res = _plan(sc)
    reasons = [d.reason or "" for w in res.workloads for d in w.designs if not d.feasible]
    assert any(r.startswith("power:") for r in reasons)
    for w in res.workloads:
        for d in w.designs:
            # the envelope is the user's facility: cloud designs draw none of it
            if d.feasible and d.plan["deployment"] == "on-prem":
                assert d.metrics["facility_power_w"] <= 20e3


def test_built_site_puts_the_building_in_capex():
    sc = _with(load_default_scenario(), **{"prices.facility": "build"})
    res = _plan(sc)
    assert res.datacenter["capex_breakdown_usd"]["facility"] > 0
    rented = _plan(load_default_scenario()).datacenter
    assert rented["capex_breakdown_usd"]["facility"] == 0
    assert rented["tco_3y_breakdown_usd"]["space"] > 0


def _h100_training_infra(scenario: Scenario, n: int = 1024):
    cat = load_catalog()
    ctx = PlanContext(
        cat,
        load_default_calibration(),
        resolve_scenario_models(scenario, cat),
        facility_params(cat, scenario.prices),
    )
    w = scenario.workloads.training[0]
    return training_infrastructure_metrics(
        acc=cat.accelerators.get("H100-SXM"),
        n_devices=n,
        time_to_train_s=30 * 86400.0,
        tokens_per_s=w.total_tokens() / (30 * 86400.0),
        params=130e9,
        state_bytes_per_param=14.0,
        workload=w,
        scenario=scenario,
        ctx=ctx,
        facts=infra_facts(cat, scenario.prices),
    )


def test_price_overrides_reach_the_cost_model():
    base = _h100_training_infra(load_default_scenario())
    dear = _h100_training_infra(
        _with(
            load_default_scenario(),
            **{
                "prices.colocation_usd_per_kw_month": 2 * 184.06,
                "prices.electricity_usd_per_kwh": 0.2,
            },
        )
    )
    it_w = base.metrics["it_power_w"]
    year = 365.25 * 86400
    # opex per year grows by exactly one more colocation charge and the extra energy
    extra_space = 184.06 * 12 * it_w / 1e3
    extra_energy = (0.2 - base_electricity()) * base.metrics["facility_power_w"] / 3.6e6 * year
    assert dear.metrics["opex_usd_per_year"] - base.metrics["opex_usd_per_year"] == pytest.approx(
        extra_space + extra_energy, rel=1e-6
    )


def base_electricity() -> float:
    return load_catalog().facility_value("electricity-us-industrial-2023")


def test_bigger_cluster_has_more_interruptions_and_lower_goodput():
    small = _h100_training_infra(load_default_scenario(), 256)
    big = _h100_training_infra(load_default_scenario(), 8192)
    assert big.metrics["goodput"] < small.metrics["goodput"]
    assert big.metrics["job_mtbf_s"] == pytest.approx(small.metrics["job_mtbf_s"] / 32)
    assert big.metrics["capex_network_usd"] > small.metrics["capex_network_usd"]


def test_tco_breakdown_adds_up_to_the_total_with_cloud_and_on_prem_pools():
    for sc in (
        load_default_scenario(),
        _with(load_default_scenario(), **{"constraints.deployment": "on-prem"}),
    ):
        dc = _plan(sc).datacenter
        total = sum(dc["tco_3y_breakdown_usd"].values())
        # energy is counted per run on the breakdown side and as a rate in the pools' TCO
        assert total == pytest.approx(dc["tco_3y_usd"], rel=0.05)


def test_bill_of_materials_adds_up_to_the_capex():
    sc = _with(load_default_scenario(), **{"constraints.deployment": "on-prem"})
    dc = _plan(sc).datacenter
    assert dc["bom"] and all(r["quantity"] > 0 for r in dc["bom"])
    total = sum(r["capex_usd"] or 0.0 for r in dc["bom"])
    assert total == pytest.approx(dc["capex_usd"], rel=1e-6)


def test_training_without_a_stated_batch_grows_it_with_the_cluster():
    data = load_default_scenario().model_dump()
    work = data["workloads"]["training"][0]
    work["global_batch_tokens"] = None
    res = _plan(Scenario.model_validate(data))
    w = next(w for w in res.workloads if w.kind == "training")
    for d in w.candidates:
        p = d.plan
        batch_tokens = p["micro_batch"] * p["grad_accum"] * p["dp"] * work["seq_len"]
        # ~4 M tokens, at least 1,024 per device (rounded to whole micro-batches)
        assert batch_tokens >= 0.95 * max(4e6, 1024 * d.n_devices), (d.n_devices, p)
