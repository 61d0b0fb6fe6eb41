"""The CLI runs end to end on the default scenario and the shipped examples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def test_plan_default_json(run_cli):
    code, out, err = run_cli("plan", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["schema_version"] == 2
    names = [w["workload"] for w in doc["workloads"]]
    assert names == ["glm-130b-pretrain", "bert-qa", "chat-70b"]
    for w in doc["workloads"]:
        assert w["chosen"] is not None, w["workload"]
        assert w["chosen"]["feasible"] is True
        assert w["n_evaluated"] >= w["n_feasible"] > 0
    assert [s["step"] for s in doc["steps"]] == [1, 2, 3, 4, 5]


def test_plan_terminal(run_cli):
    code, out, err = run_cli("plan")
    assert code == 0, err
    assert "Decision" in out and "glm-130b-pretrain" in out


def test_plan_writes_out_dir(run_cli, tmp_path):
    code, _, err = run_cli("plan", "--quiet", "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "plan.json").read_text())["scenario"] == "seed-default"
    code, _, _ = run_cli("plan", "--quiet", "--out", str(tmp_path / "o"), "--force")
    assert code == 0


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_validate_and_plan(path, run_cli):
    code, out, err = run_cli("validate-scenario", str(path))
    assert code == 0, err
    code, out, err = run_cli("plan", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)["workloads"]


def test_schema_is_json_schema(run_cli):
    code, out, _ = run_cli("schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "Scenario"
    assert "workloads" in schema["properties"]


def test_catalog_list_and_show(run_cli):
    for kind in (
        "accelerators",
        "models",
        "engines",
        "frameworks",
        "links",
        "storage",
        "services",
        "cpus",
    ):
        code, out, err = run_cli("catalog", "list", kind)
        assert code == 0, (kind, err)
    code, out, _ = run_cli("catalog", "show", "caffe2")
    assert code == 0 and "deprecated" in out and "2018" in out
    code, out, _ = run_cli("catalog", "show", "h100")
    assert code == 0 and "source" in out


def test_console_script_subprocess():
    """The installed entry point behaves like the in-process one (exit codes)."""
    r = subprocess.run(
        [sys.executable, "-m", "aidc", "catalog", "show", "nope-xyz"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
