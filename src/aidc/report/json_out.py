"""Machine-readable plan output: one JSON document, versioned."""

from __future__ import annotations

import json

from aidc.planner.result import PlanResult


def plan_to_json(result: PlanResult, *, indent: int | None = 2) -> str:
    return json.dumps(result.to_dict(), indent=indent, allow_nan=False, sort_keys=False)
