"""Shared fixtures for the report tests: a frozen plan document and fixed catalog facts.

``tests/data/plan-enterprise.json`` is the output of
``aidc plan examples/enterprise-private-assistant.yaml --json`` (regenerated when the
training, serving, infrastructure and decision branches were merged, so that it carries
every section a plan has), with each candidate table cut to 25 rows and the shortlist to 8
designs (the chosen one kept). It is frozen on purpose: the report tests check the renderers, and must not
move when the models improve.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = Path(__file__).resolve().parent / "golden"

FACTS = {
    "H100-SXM": {"devices_per_node": 8, "vendor": "NVIDIA"},
    "H20": {"devices_per_node": 8, "vendor": "NVIDIA"},
}

XSS = "<script>window.__aidc_xss=true</script>"
XSS_IMG = '<img src=x onerror="window.__aidc_xss=true">'


def frozen_plan() -> dict[str, Any]:
    return json.loads((DATA / "plan-enterprise.json").read_text(encoding="utf-8"))


def hostile_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with script-injecting names everywhere the user's text can appear."""
    p = copy.deepcopy(plan)
    p["scenario"] = XSS
    p["description"] = XSS_IMG + " | `x` *y*"
    for w in p["workloads"]:
        new = f"{w['workload']}{XSS}"
        w["workload"] = new
        w["model"] = XSS_IMG
        w["why_winner"] = [*w.get("why_winner", []), XSS]
        w["why_chosen"] = [*w.get("why_chosen", []), XSS_IMG]
        for d in [*w.get("designs", []), *([w["chosen"]] if w.get("chosen") else [])]:
            d["workload"] = new
            if d.get("reason"):
                d["reason"] = d["reason"] + XSS
    for pool in p.get("datacenter", {}).get("pools", []):
        pool["workload"] = pool["workload"] + XSS
    return p
