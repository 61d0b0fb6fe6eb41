"""The decision step end to end: complete designs with reasons, Pareto, sensitivity."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from aidc.cli.common import build_context
from aidc.decide.pareto import dominates, oriented_matrix
from aidc.planner.pipeline import plan
from aidc.spec import load_default_scenario
from aidc.spec.load import scenario_from_data

SERVICE = {
    "name": "qa",
    "model": "bert-base",
    "task": "qa",
    "traffic": {"peak_rps": 200, "input_tokens": {"mean": 128}},
    "slo": {"p99_latency_ms": 100},
}


def run(scenario):
    return plan(scenario, build_context(scenario, None, None))


@pytest.fixture(scope="module")
def default_plan():
    return run(load_default_scenario())


def small(**constraints) -> dict:
    return {
        "name": "t",
        "workloads": {"inference": [copy.deepcopy(SERVICE)]},
        "constraints": constraints,
    }


def test_default_names_a_complete_design_per_workload_and_datacenter(default_plan):
    res = default_plan
    for w in res.workloads:
        ch = w.chosen
        assert ch is not None and ch.feasible, w.workload
        assert ch.accelerator and ch.n_devices > 0 and ch.plan.get("deployment")
        assert w.why_chosen and w.criteria and w.ranking is not None
        assert w.sensitivity is not None and w.sensitivity.summary
        assert w.requirements_summary
        # every shown feasible design is ranked; every rejected one says why, structured
        for d in w.designs:
            if d.feasible:
                assert d.rank is not None and d.score is not None
            else:
                assert d.rejection is not None and d.reason == str(d.rejection)
    dc = res.decision
    assert dc is not None and dc.chosen is not None
    assert set(dc.chosen.designs) == {w.workload for w in res.workloads}
    for w in res.workloads:
        assert dc.chosen.designs[w.workload] == w.chosen.id
    assert dc.why and dc.sensitivity is not None and dc.sensitivity.summary
    assert sum(p.devices for p in dc.chosen.pools) == dc.chosen.metrics["dc_devices"]
    assert res.requirements_summary


def test_no_pareto_design_is_dominated(default_plan):
    for w in default_plan.workloads:
        feas = [d for d in w.candidates if d.feasible]
        cols = {m: np.array([d.metrics.get(m, np.nan) for d in feas]) for m in w.metric_names}
        pts = oriented_matrix(cols, w.metric_names)
        front = [i for i, d in enumerate(feas) if d.pareto]
        assert front
        for i in front:
            assert not any(dominates(pts[j], pts[i]) for j in range(len(feas)))
        for i in (i for i, d in enumerate(feas) if not d.pareto):
            assert any(dominates(pts[j], pts[i]) for j in front)


def test_plan_is_reproducible_with_its_seed(default_plan):
    again = run(load_default_scenario())
    assert again.to_dict() == default_plan.to_dict()


def test_power_and_budget_rejections_say_by_how_much():
    res = run(scenario_from_data(small(power_kw=1.0, capex_usd=1000.0), origin="t"))
    w = res.workloads[0]
    reasons = [d.rejection for d in w.candidates if d.rejection is not None]
    power = [r for r in reasons if r.constraint == "power"]
    assert power, w.rejection_summary
    r = power[0]
    assert r.unit == "W" and r.limit == 1000.0 and r.value > r.limit
    assert r.excess == pytest.approx(r.value - r.limit)
    assert "over the" in r.message


def test_security_features_and_vendor_list():
    sc = small(
        allowed_vendors=["NVIDIA"],
        security={"confidential_computing": True},
        deployment="on-prem",
    )
    res = run(scenario_from_data(sc, origin="t"))
    w = res.workloads[0]
    assert {p.constraint for p in w.pruned} >= {"vendor"}
    assert any(p.subject == "MI300X" and p.constraint == "vendor" for p in w.pruned)
    cc = [d for d in w.candidates if d.rejection and d.rejection.constraint.startswith("security")]
    assert cc and all("confidential" in d.reason for d in cc)
    ch = w.chosen
    assert ch is not None and ch.accelerator.startswith(("H1", "H2", "B", "GB"))


def test_deprecated_engine_is_rejected_with_its_status():
    sc = small()
    sc["workloads"]["inference"][0]["engines"] = ["caffe2-serving", "onnxruntime"]
    sc["workloads"]["inference"][0]["precisions"] = ["fp16"]
    res = run(scenario_from_data(sc, origin="t"))
    w = res.workloads[0]
    bad = [d for d in w.candidates if d.plan.get("engine") == "caffe2-serving"]
    assert bad and all(d.rejection.constraint == "software_status" for d in bad)
    assert "deprecated" in bad[0].reason and "onnxruntime" in bad[0].reason
    assert w.chosen.plan["engine"] == "onnxruntime"


def test_residency_prunes_cloud_with_a_reason():
    res = run(scenario_from_data(small(data_residency="EU"), origin="t"))
    w = res.workloads[0]
    assert any(p.constraint == "residency" and p.subject == "cloud" for p in w.pruned)
    assert all(d.plan["deployment"] == "on-prem" for d in w.candidates)


def test_ahp_method_runs_and_reports_its_consistency():
    sc = small()
    sc["preferences"] = {
        "method": "ahp",
        "ahp_pairwise": {"cost_effectiveness>performance": 3},
    }
    res = run(scenario_from_data(sc, origin="t"))
    info = res.workloads[0].ranking
    assert info.method == "ahp" and info.ahp_consistency_ratio == 0.0
    assert info.weights["cost_effectiveness"] == pytest.approx(0.75)


def test_model_error_band_from_the_calibration_enters_the_uncertainty():
    from dataclasses import replace

    from aidc.catalog.calibration import Calibration, CalibrationValue

    sc = scenario_from_data(small(), origin="t")
    ctx = build_context(sc, None, None)
    band = CalibrationValue(value=0.3, provenance="measured", source="test")
    cal = ctx.calibration.merged(
        Calibration(name="t", values={"uncertainty.inference_latency_rel_error": band})
    )
    res = plan(sc, replace(ctx, calibration=cal))
    unc = res.workloads[0].sensitivity.uncertainty
    assert unc is not None
    assert unc.inputs["model error band (uncertainty.inference_latency_rel_error)"] == 0.3
