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


def plan_to_json(result: PlanResult | Mapping[str, Any], *, indent: int | None = 2) -> str:
    """The plan document (a PlanResult or its ``to_dict()``) as JSON; indented, with one
    line per candidate-table row. The input is not modified."""
    doc = result.to_dict() if isinstance(result, PlanResult) else dict(result)
    if indent is None:
        return json.dumps(doc, allow_nan=False)
    tables: list[list[Any]] = []
    workloads = []
    for w in doc.get("workloads", []):
        table = w.get("candidates") if isinstance(w, Mapping) else None
        if isinstance(table, Mapping) and isinstance(table.get("rows"), list):
            tables.append(table["rows"])
            token = f"@@aidc-candidate-rows-{len(tables) - 1}@@"
            w = {**w, "candidates": {**table, "rows": token}}
        workloads.append(w)
    if "workloads" in doc:
        doc["workloads"] = workloads
    text = json.dumps(doc, indent=indent, allow_nan=False)
    pad = " " * (indent * 4)
    for i, rows in enumerate(tables):
        # the key in front makes the match unique: user text is always inside quotes
        token = '"rows": ' + json.dumps(f"@@aidc-candidate-rows-{i}@@")
        body = (",\n" + pad + "  ").join(json.dumps(r, allow_nan=False) for r in rows)
        compact = "[\n" + pad + "  " + body + "\n" + pad + "]" if rows else "[]"
        text = text.replace(token, '"rows": ' + compact, 1)
    return text


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
