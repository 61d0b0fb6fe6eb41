"""Golden tests of the report layer's JSON: the deployment plan and the figure sources.

Compared as parsed JSON (floats to 1e-9 relative), never as text. The input is the
frozen plan in tests/data, so the golden moves only when the report layer changes.
Regenerate after an intended change with:

    AIDC_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_report_golden.py
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from aidc.report.json_out import report_document
from tests.report_helpers import FACTS, GOLDEN, frozen_plan

GOLDEN_FILE = GOLDEN / "report-enterprise.json"


def _same(a: Any, b: Any, path: str = "$") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}: keys differ: {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        for k in set(a) & set(b):
            out += _same(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [
            e
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for e in _same(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) or isinstance(b, float):
        ok = (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=1e-9)
        )
        return [] if ok else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_report_document_matches_golden():
    doc = json.loads(json.dumps(report_document(frozen_plan(), FACTS)))
    if os.environ.get("AIDC_UPDATE_GOLDEN"):
        GOLDEN_FILE.parent.mkdir(exist_ok=True)
        GOLDEN_FILE.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    golden = json.loads(GOLDEN_FILE.read_text(encoding="utf-8"))
    diffs = _same(doc, golden)
    assert not diffs, "\n".join(diffs[:20])


def test_golden_comparison_detects_changes():
    doc = json.loads(json.dumps(report_document(frozen_plan(), FACTS)))
    doc["deployment"]["serving"][0]["tensor_parallel"] += 1
    assert _same(doc, json.loads(GOLDEN_FILE.read_text(encoding="utf-8")))


def test_golden_values_follow_the_plan():
    """Spot checks that tie the golden to the plan it came from (not just to itself)."""
    plan = frozen_plan()
    dep = report_document(plan, FACTS)["deployment"]
    by_name = {w["workload"]: w for w in plan["workloads"]}
    for s in dep["serving"]:
        ch = by_name[s["service"]]["chosen"]
        assert s["tensor_parallel"] == ch["plan"]["tp"]
        assert s["replicas"] == ch["plan"]["replicas"]
        assert s["load_balancer"].count("server <") == ch["plan"]["replicas"]
        assert "least_conn;" in s["load_balancer"]
        if s["engine"] == "vllm":
            assert f"--tensor-parallel-size {ch['plan']['tp']}" in s["command"]
            assert f"--max-num-seqs {ch['plan']['batch']}" in s["command"]
    (t,) = dep["training"]
    ch = by_name[t["workload"]]["chosen"]
    p = ch["plan"]
    assert (
        t["nodes"] * t["devices_per_node"]
        >= ch["n_devices"]
        > (t["nodes"] - 1) * t["devices_per_node"]
    )
    assert f"--tensor-model-parallel-size {p['tp']}" in t["command"]
    assert f"--pipeline-model-parallel-size {p['pp']}" in t["command"]
    assert f"--global-batch-size {p['micro_batch'] * p['dp'] * p['grad_accum']}" in t["command"]
    slo = {
        (m["workload"], m["unit_metric"]): m["replan_if"]["value"]
        for m in dep["monitoring"]
        if m["replan_if"]
    }
    chat = by_name["assistant-chat"]["requirements"]
    assert slo[("assistant-chat", "ttft_p99_s")] == chat["slo_ttft_p99_s"]
    assert slo[("assistant-chat", "tpot_p99_s")] == chat["slo_tpot_p99_s"]
    train = by_name["monthly-continued-pretraining"]["requirements"]
    need = train["tokens"] / train["deadline_s"]
    assert math.isclose(slo[("monthly-continued-pretraining", "tokens_per_s")], need)
