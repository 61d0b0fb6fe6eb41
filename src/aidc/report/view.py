"""Reading a plan document (``PlanResult.to_dict()`` or a saved ``plan.json``) for reports.

Every renderer works from the JSON shape, never from the dataclasses, so that
``aidc report plan.json`` renders a saved plan exactly as ``aidc plan`` renders a fresh
one. These helpers tolerate keys they do not know and keys that older plans lack:
a missing section is reported as missing, never invented.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from aidc.errors import AidcInputError
from aidc.planner.result import PLAN_SCHEMA_VERSION
from aidc.units import fmt_bytes, fmt_count, fmt_seconds, fmt_usd, fmt_watts

Plan = Mapping[str, Any]
Workload = Mapping[str, Any]
DesignDict = Mapping[str, Any]

SUPPORTED_SCHEMA_VERSIONS = tuple(range(1, PLAN_SCHEMA_VERSION + 1))
"""Plan documents the reports read: every version so far (later ones only add fields)."""


def check_plan(doc: Any, *, name: str = "plan") -> Plan:
    """The document if it looks like an aidc plan; one-line input error otherwise."""
    if not isinstance(doc, Mapping):
        raise AidcInputError(f"{name}: expected a JSON object written by `aidc plan --json`")
    missing = [k for k in ("scenario", "workloads") if k not in doc]
    if missing:
        raise AidcInputError(
            f"{name}: not an aidc plan (missing {', '.join(missing)}); "
            "write one with `aidc plan --json > plan.json` or `aidc plan --out DIR`"
        )
    if not isinstance(doc["workloads"], list):
        raise AidcInputError(f"{name}: workloads must be a list")
    version = doc.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise AidcInputError(
            f"{name}: schema_version {version!r} is not supported; allowed: "
            + ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
        )
    return doc


def workloads(plan: Plan) -> list[Workload]:
    return [w for w in plan.get("workloads", []) if isinstance(w, Mapping)]


def chosen(w: Workload) -> DesignDict | None:
    """The chosen design: ``chosen`` if present, else the first feasible design."""
    ch = w.get("chosen")
    if isinstance(ch, Mapping):
        return ch
    for d in w.get("designs", []) or []:
        if d.get("feasible"):
            return d
    return None


def shortlist(w: Workload) -> list[DesignDict]:
    return [d for d in w.get("designs", []) or [] if isinstance(d, Mapping)]


def candidates(w: Workload) -> tuple[list[dict[str, Any]], bool]:
    """Every evaluated design of a workload as design dicts, and whether that is complete.

    Reads ``workloads[].candidates`` (``{"columns": [...], "rows": [[...]]}``, columns
    ``accelerator``, ``n_devices``, ..., ``plan.<k>``, ``metrics.<k>``,
    ``principle.<k>``). Plans without it fall back to the ``designs`` shortlist and
    return ``False`` as the second value.
    """
    table = w.get("candidates")
    if not (isinstance(table, Mapping) and "columns" in table and "rows" in table):
        return [dict(d) for d in shortlist(w)], False
    cols = list(table["columns"])
    out = []
    for row in table["rows"]:
        d: dict[str, Any] = {"plan": {}, "metrics": {}, "principle_scores": {}}
        for c, v in zip(cols, row, strict=False):
            if c.startswith("plan."):
                d["plan"][c[5:]] = v
            elif c.startswith("metrics."):
                d["metrics"][c[8:]] = v
            elif c.startswith("principle."):
                d["principle_scores"][c[10:]] = v
            else:
                d[c] = v
        d.setdefault("workload", w.get("workload"))
        d.setdefault("kind", w.get("kind"))
        out.append(d)
    return out, True


def metric(d: DesignDict | None, name: str) -> float | None:
    """A finite metric value or None."""
    if d is None:
        return None
    v = (d.get("metrics") or {}).get(name)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


# ----------------------------------------------------------------------------- formatting

METRIC_LABELS = {
    "time_to_train_s": "time to train",
    "run_cost_usd": "run cost",
    "energy_kwh": "energy",
    "capex_usd": "capex",
    "scaling_headroom": "scale headroom",
    "deadline_slack": "deadline slack",
    "security_score": "security",
    "maintainability_score": "maintainability",
    "ttft_p99_s": "TTFT p99",
    "tpot_p99_s": "TPOT p99",
    "p99_latency_s": "latency p99",
    "usd_per_million_tokens": "$/M tokens",
    "usd_per_1k_requests": "$/1k req",
    "tco_3y_usd": "3-yr TCO",
    "capacity_headroom": "capacity headroom",
    "facility_power_w": "facility power",
    "tokens_per_s": "tokens/s",
    "mfu": "MFU",
    "memory_per_device_bytes": "memory/device",
}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, name.replace("_", " "))


def fmt_metric(name: str, value: Any) -> str:
    """A metric value with the unit its name declares (SI inside, human units here)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    if not math.isfinite(value):
        return "n/a"
    if name.endswith("_per_s"):
        return f"{fmt_count(value)}/s"
    if name.endswith("_s"):
        return fmt_seconds(value)
    if name == "usd_per_million_tokens":
        return f"${value:.3g}"
    if name == "usd_per_1k_requests":
        return f"${value:.3g}"
    if "usd" in name:
        return fmt_usd(value)
    if name.endswith("_w"):
        return fmt_watts(value)
    if name.endswith("_bytes"):
        return fmt_bytes(value)
    if name.endswith("_kwh"):
        return f"{value / 1e3:.3g} MWh" if abs(value) >= 1e3 else f"{value:.3g} kWh"
    if name in ("mfu", "deadline_slack"):
        return f"{value:.0%}"
    if name.endswith("_score"):
        return f"{value:.2f}"
    if name.endswith("_headroom"):
        return f"{value:.3g}x"
    return f"{value:.3g}"


def plan_text(d: DesignDict, *, compact: bool = False) -> str:
    """The execution plan in one line: ``TP1 PP1 DP128 mb1 ZeRO-3 rc:selective on-prem``."""
    p = d.get("plan") or {}
    if d.get("kind") == "training" or "dp" in p:
        parts = [f"TP{p.get('tp', '?')}", f"PP{p.get('pp', '?')}", f"DP{p.get('dp', '?')}"]
        if not compact:
            parts += [
                f"mb{p.get('micro_batch', '?')}",
                f"ZeRO-{p.get('zero_stage', '?')}",
                f"recompute {p.get('recompute', '?')}",
            ]
    else:
        parts = [
            str(p.get("engine", "?")),
            str(p.get("precision", "?")),
            f"TP{p.get('tp', '?')}",
            f"x{p.get('replicas', '?')}" if compact else f"{p.get('replicas', '?')} replicas",
        ]
        if not compact:
            parts.append(f"batch {p.get('batch', '?')}")
    if not compact and p.get("deployment"):
        parts.append(str(p["deployment"]))
    return " ".join(parts)


def design_title(d: DesignDict) -> str:
    return f"{d.get('accelerator', '?')} x {d.get('n_devices', '?')}"


def why_chosen(w: Workload) -> list[str]:
    """Why the chosen design: the data-center decision's reasons when it departed from the
    workload's first choice, else the workload ranking's reasons for its winner."""
    return list(w.get("why_chosen") or w.get("why_winner") or [])


def rejection_counts(w: Workload) -> list[tuple[str, int]]:
    """Rejected designs per constraint; when nothing was evaluated, the options pruned
    before evaluation per rule (``pruned: role`` ...), so "no feasible design" says why."""
    summary = w.get("rejection_summary") or {}
    if summary:
        return [(str(k or "other"), int(v)) for k, v in summary.items()]
    counts: dict[str, int] = {}
    for p in w.get("pruned", []) or []:
        if isinstance(p, Mapping):
            key = f"pruned: {p.get('constraint', 'other')}"
            counts[key] = counts.get(key, 0) + 1
    # reference parts that are never sold are pruned in every plan: list them last
    return sorted(counts.items(), key=lambda kv: kv[0] == "pruned: availability")
