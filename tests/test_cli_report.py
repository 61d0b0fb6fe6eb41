"""`aidc report` and `aidc plan --html/--md/--csv` end to end (in-process)."""

from __future__ import annotations

import csv
import json

from tests.report_helpers import DATA


def test_report_terminal_from_saved_plan(run_cli):
    code, out, err = run_cli("report", str(DATA / "plan-enterprise.json"))
    assert code == 0, err
    assert "Decision" in out and "assistant-chat" in out and "vllm serve" in out


def test_report_json_is_the_report_document(run_cli):
    code, out, err = run_cli("report", str(DATA / "plan-enterprise.json"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report_schema_version"] == 1
    assert {f["id"] for f in doc["figures"]} >= {"cost", "tco", "memory", "power"}
    assert doc["deployment"]["serving"]


def test_report_writes_files_and_never_overwrites(run_cli, tmp_path):
    html, md, csv_path = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "r.csv"
    args = ["report", str(DATA / "plan-enterprise.json"), "--html", str(html), "--md", str(md)]
    code, _, err = run_cli(*args, "--csv", str(csv_path))
    assert code == 0, err
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert md.read_text().startswith("# aidc plan")
    assert list(csv.DictReader(csv_path.open()))
    md.write_text("mine")
    code, _, err = run_cli(*args)
    assert code == 2 and "exists; pass --force" in err and len(err.strip().splitlines()) == 1
    assert md.read_text() == "mine"
    code, _, err = run_cli(*args, "--force")
    assert code == 0, err
    assert md.read_text().startswith("# aidc plan")


def test_report_bad_input_is_one_line(run_cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli("report", str(bad))
    assert code == 2 and "not valid JSON" in err and len(err.strip().splitlines()) == 1
    bad.write_text('{"a": 1}')
    code, _, err = run_cli("report", str(bad))
    assert code == 2 and "not an aidc plan" in err
    code, _, err = run_cli("report", str(tmp_path / "missing.json"))
    assert code == 2 and "file not found" in err


def test_plan_writes_all_reports(run_cli, tmp_path, write):
    from tests.conftest import MINIMAL

    scenario = write(MINIMAL)
    out = tmp_path / "o"
    code, _, err = run_cli(
        "plan",
        str(scenario),
        "--quiet",
        "--out",
        str(out),
        "--html",
        str(out / "r.html"),
        "--md",
        str(out / "r.md"),
        "--csv",
        str(out / "r.csv"),
    )
    assert code == 0, err
    plan = json.loads((out / "plan.json").read_text())
    rows = list(csv.DictReader((out / "r.csv").open()))
    assert len(rows) == sum(len(w["candidates"]["rows"]) for w in plan["workloads"])
    assert "qa" in (out / "r.md").read_text()
    # plan refuses before planning when a report file exists
    code, _, err = run_cli("plan", str(scenario), "--quiet", "--md", str(out / "r.md"))
    assert code == 2 and "--md" in err
