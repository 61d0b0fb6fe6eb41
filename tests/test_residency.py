"""Data residency with cloud deployment: only parts priced in a region inside the area."""

from aidc.cli.common import build_context
from aidc.planner.pipeline import plan
from aidc.planner.screen import region_in
from aidc.report.view import rejection_counts
from aidc.spec.scenario import Scenario

SCENARIO = {
    "name": "residency",
    "workloads": {
        "inference": [
            {
                "name": "s",
                "model": "bert-base",
                "task": "classification",
                "traffic": {"peak_rps": 10, "input_tokens": {"mean": 64}},
                "slo": {"p99_latency_ms": 100},
            }
        ]
    },
    "constraints": {"deployment": "cloud", "data_residency": "eu"},
}


def test_region_names():
    assert region_in("eu", "europe-west4") and region_in("EU", "eu-central-1")
    assert not region_in("eu", "us-east-1") and not region_in("eu", "")
    assert region_in("us", "eastus2") and region_in("us", "us-central1")
    assert region_in("frankfurt", "Frankfurt (DE)")


def test_cloud_designs_outside_the_area_are_rejected_with_the_reason():
    sc = Scenario.model_validate(SCENARIO)
    res = plan(sc, build_context(sc, None, None))
    (w,) = res.workloads
    prices = build_context(sc, None, None).catalog.prices
    in_eu = {p.item for p in prices if region_in("eu", p.region)}
    assert w.chosen is not None and w.chosen.accelerator in in_eu
    rejected = [d for d in w.designs if not d.feasible and d.reason.startswith("residency")]
    assert rejected and all(d.accelerator not in in_eu for d in rejected)


def test_no_design_says_what_was_pruned():
    doc = {"rejection_summary": {}, "pruned": [{"constraint": "role"}, {"constraint": "role"}]}
    assert rejection_counts(doc) == [("pruned: role", 2)]


def test_an_engine_that_cannot_serve_the_task_is_pruned_with_the_reason():
    from aidc.search.prune import task_screen

    cat = build_context(Scenario.model_validate(SCENARIO), None, None).catalog
    (p,) = task_screen(cat, "qa", ["vllm"])
    assert p.subject == "vllm" and p.constraint == "task" and "not qa" in p.message
    assert task_screen(cat, "classification", ["vllm"]) == []
    assert task_screen(cat, "generation", "auto") == []
