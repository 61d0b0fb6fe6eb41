"""The plan JSON matches its documented, versioned schema."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from aidc.planner.plan_schema import PlanDocument, plan_json_schema
from aidc.planner.result import PLAN_SCHEMA_VERSION

DOC = Path(__file__).resolve().parents[1] / "docs" / "plan-schema.md"


@pytest.fixture(scope="module")
def plan_doc():
    from aidc.cli.common import build_context
    from aidc.planner.pipeline import plan
    from aidc.spec import load_default_scenario

    sc = load_default_scenario()
    text = json.dumps(plan(sc, build_context(sc, None, None)).to_dict(), allow_nan=False)
    return json.loads(text)


def test_default_plan_validates_against_the_schema(plan_doc):
    PlanDocument.model_validate(plan_doc)
    assert plan_doc["schema_version"] == PLAN_SCHEMA_VERSION


def test_unknown_or_missing_fields_are_caught(plan_doc):
    bad = json.loads(json.dumps(plan_doc))
    bad["workloads"][0]["designs"][0]["surprise"] = 1
    with pytest.raises(ValidationError):
        PlanDocument.model_validate(bad)
    bad = json.loads(json.dumps(plan_doc))
    del bad["decision"]["chosen"]["pools"]
    with pytest.raises(ValidationError):
        PlanDocument.model_validate(bad)


def test_schema_version_is_one_number_everywhere():
    assert get_args(PlanDocument.model_fields["schema_version"].annotation) == (
        PLAN_SCHEMA_VERSION,
    )
    assert f"schema version {PLAN_SCHEMA_VERSION}" in DOC.read_text()


def test_every_schema_field_is_documented():
    schema = plan_json_schema()
    text = DOC.read_text()
    documented = set(re.findall(r"`([a-z_0-9]+)`", text))
    names = set(schema["properties"])
    for d in schema["$defs"].values():
        names |= set(d.get("properties", {}))
    missing = sorted(names - documented)
    assert not missing, f"document these in docs/plan-schema.md: {missing}"


def test_plan_schema_command(run_cli):
    code, out, _ = run_cli("plan-schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "aidc plan" and "decision" in schema["properties"]
