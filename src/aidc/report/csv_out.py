"""CSV of every evaluated design of every workload, one row per design.

Columns: ``workload``, ``kind``, ``model``, then the plan's candidate-table columns
(``accelerator``, ``n_devices``, ``feasible``, ``reason``, ``score``, ``rank``,
``pareto``, ``plan.<key>``, ``metrics.<key>`` in SI units, ``principle.<key>``) in
first-seen order. Plans saved before the candidate table existed give the shortlist.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aidc.report.view import Plan, candidates, workloads

_BASE = ["workload", "kind", "model"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, dict | list):
        return str(value)
    return "" if value is None else value


def _flatten(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in d.items() if k not in ("plan", "metrics", "principle_scores")}
    for prefix, key in (
        ("plan", "plan"),
        ("metrics", "metrics"),
        ("principle", "principle_scores"),
    ):
        for k, v in (d.get(key) or {}).items():
            out[f"{prefix}.{k}"] = v
    return out


def candidates_csv(plan: Plan) -> str:
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = dict.fromkeys(_BASE)
    for w in workloads(plan):
        designs, _ = candidates(w)
        for d in designs:
            flat = _flatten(d)
            flat["workload"] = w.get("workload")
            flat["kind"] = w.get("kind")
            flat["model"] = w.get("model")
            for k in flat:
                columns.setdefault(k, None)
            rows.append(flat)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(list(columns))
    for r in rows:
        writer.writerow([_cell(r.get(c)) for c in columns])
    return buf.getvalue()
