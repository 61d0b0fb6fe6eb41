"""The plan JSON from the live planner carries every field the reports read.

The report layer renders saved plans, so it depends on the plan schema; this test fails
when a planner change drops or renames a field a renderer uses (extra keys are fine).
"""

from __future__ import annotations

import json

import pytest

from aidc.cli.common import build_context
from aidc.planner.pipeline import plan
from aidc.report.json_out import plan_to_json
from aidc.spec.load import load_default_scenario

TOP = {
    "scenario",
    "description",
    "schema_version",
    "steps",
    "workloads",
    "datacenter",
    "assumptions",
}
WORKLOAD = {
    "workload",
    "kind",
    "model",
    "requirements",
    "n_evaluated",
    "n_feasible",
    "designs",
    "chosen",
    "metric_names",
    "why_winner",
    "rejection_summary",
    "candidates",
}
DESIGN = {
    "accelerator",
    "n_devices",
    "plan",
    "metrics",
    "feasible",
    "reason",
    "score",
    "rank",
    "pareto",
}
DATACENTER = {
    "pools",
    "total_devices",
    "facility_power_w",
    "capex_usd",
    "tco_3y_usd",
    "constraint_checks",
    "pue",
}
TRAINING_PLAN = {
    "tp",
    "pp",
    "dp",
    "micro_batch",
    "grad_accum",
    "zero_stage",
    "recompute",
    "precision",
    "framework",
}
SERVING_PLAN = {"engine", "precision", "tp", "replicas", "batch", "deployment"}
TRAINING_METRICS = {
    "time_to_train_s",
    "tokens_per_s",
    "capex_usd",
    "tco_3y_usd",
    "facility_power_w",
    "memory_per_device_bytes",
    "device_memory_bytes",
    "step_time_s",
}
SERVING_METRICS = {"tco_3y_usd", "capex_usd", "facility_power_w", "per_replica_rps"}


@pytest.fixture(scope="module")
def result():
    sc = load_default_scenario()
    return plan(sc, build_context(sc, None, None))


def test_plan_json_carries_what_reports_read(result):
    doc = json.loads(plan_to_json(result))
    assert set(doc) >= TOP
    assert set(doc["datacenter"]) >= DATACENTER
    for w in doc["workloads"]:
        assert set(w) >= WORKLOAD, w["workload"]
        ch = w["chosen"]
        assert set(ch) >= DESIGN
        assert {"columns", "rows"} <= set(w["candidates"])
        cols = set(w["candidates"]["columns"])
        assert {"accelerator", "n_devices", "feasible", "reason", "pareto"} <= cols
        if w["kind"] == "training":
            assert set(ch["plan"]) >= TRAINING_PLAN
            assert set(ch["metrics"]) >= TRAINING_METRICS
            assert {"tokens", "deadline_s", "seq_len"} <= set(w["requirements"])
            assert "metrics.time_to_train_s" in cols
        else:
            assert set(ch["plan"]) >= SERVING_PLAN
            assert set(ch["metrics"]) >= SERVING_METRICS
            assert {"peak_rps", "slo_p99_latency_s", "slo_ttft_p99_s", "slo_tpot_p99_s"} <= set(
                w["requirements"]
            )
            assert "metrics.per_replica_rps" in cols


def test_candidate_table_holds_every_verdict(result):
    doc = result.to_dict()
    for w, wd in zip(result.workloads, doc["workloads"], strict=True):
        assert len(wd["candidates"]["rows"]) == len(w.candidates) >= len(w.designs)
        assert sum(r[2] for r in wd["candidates"]["rows"]) == w.n_feasible


def test_compact_json_is_the_same_document(result):
    assert json.loads(plan_to_json(result)) == json.loads(plan_to_json(result, indent=None))
    assert json.loads(plan_to_json(result)) == json.loads(json.dumps(result.to_dict()))


def test_plan_to_json_leaves_its_input_alone(result):
    doc = result.to_dict()
    before = json.dumps(doc)
    assert json.loads(plan_to_json(doc)) == json.loads(before)
    assert json.dumps(doc) == before
