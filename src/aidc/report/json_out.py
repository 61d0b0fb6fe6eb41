"""Machine-readable output: the plan document and the report document, both versioned.

* ``plan_to_json``: ``PlanResult.to_dict()`` (the plan schema, owned by the planner).
* ``report_document``: what the report layer derives from a plan — the step-5
  deployment plan and, for each figure of the HTML report, whether the plan had its
  data and which fields it reads. ``aidc report PLAN.json --json`` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aidc.planner.result import PlanResult
from aidc.report.deployment import build_deployment
from aidc.report.figures import build_figures
from aidc.report.view import Plan

REPORT_SCHEMA_VERSION = 1


def plan_to_json(result: PlanResult, *, indent: int | None = 2) -> str:
    return json.dumps(result.to_dict(), indent=indent, allow_nan=False, sort_keys=False)


def report_document(
    plan: Plan, accelerators: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "report_schema_version": REPORT_SCHEMA_VERSION,
        "scenario": plan.get("scenario"),
        "plan_schema_version": plan.get("schema_version"),
        "deployment": build_deployment(plan, accelerators),
        "figures": [
            {
                "id": f.id,
                "title": f.title,
                "available": f.available,
                "reads": f.reads,
                "notes": f.notes,
            }
            for f in build_figures(plan)
        ],
    }


def report_to_json(plan: Plan, accelerators: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    return json.dumps(report_document(plan, accelerators), indent=2, allow_nan=False)
