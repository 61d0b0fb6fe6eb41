"""Score the serving model against reference rows: one entry per row and measured field.

``ape`` is the absolute percentage error as a fraction, ``|predicted - measured| /
measured``; for ``oom`` (a yes/no field) it is 0 when the model agrees and 1 when not.
Predictions come only from the catalog and the calibration given: the measured columns
are read after predicting, to compare.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from aidc.catalog.calibration import Calibration
from aidc.catalog.loader import Catalog
from aidc.validation.inference_predict import PreparedRows, predict, prepare
from aidc.validation.inference_rows import RowSpec, Skipped, measured_values, parse_row


@dataclass(frozen=True)
class Entry:
    row_id: str
    metric: str
    source: str
    hardware: str
    measured: float
    predicted: float | None = None
    ape: float | None = None
    skipped: str | None = None

    def as_json(self) -> dict[str, object]:
        if self.skipped is not None:
            return {"row_id": self.row_id, "metric": self.metric, "skipped": self.skipped}
        return {
            "row_id": self.row_id,
            "metric": self.metric,
            "measured": self.measured,
            "predicted": self.predicted,
            "ape": self.ape,
        }


@dataclass(frozen=True)
class ParsedSet:
    """Rows split into predictable specs (with their measured values) and skipped rows."""

    specs: tuple[RowSpec, ...]
    measured: tuple[dict[str, float], ...]  # aligned with specs
    skipped: tuple[
        tuple[Skipped, str, str, dict[str, float]], ...
    ]  # (why, source, hardware, measured)
    scorable: int


def parse_rows(rows: Iterable[dict[str, str]], catalog: Catalog) -> ParsedSet:
    specs, meas, skipped = [], [], []
    scorable = 0
    for row in rows:
        m = measured_values(row)
        if not m:
            continue
        scorable += 1
        spec = parse_row(row, catalog)
        if isinstance(spec, Skipped):
            skipped.append((spec, row.get("source_id") or "", row.get("hardware") or "", m))
        else:
            specs.append(spec)
            meas.append(m)
    return ParsedSet(tuple(specs), tuple(meas), tuple(skipped), scorable)


def score_predictions(
    specs: Sequence[RowSpec], measured: Sequence[dict[str, float]], predicted: dict[str, np.ndarray]
) -> list[Entry]:
    out: list[Entry] = []
    for i, (spec, meas) in enumerate(zip(specs, measured, strict=True)):
        for metric, value in meas.items():
            p = float(predicted[metric][i]) if metric in predicted else float("nan")
            base = {
                "row_id": spec.row_id,
                "metric": metric,
                "source": spec.source,
                "hardware": spec.hardware,
                "measured": value,
            }
            if not np.isfinite(p):
                out.append(
                    Entry(**base, skipped=f"the model gives no {metric} for {spec.mode} rows")
                )
            elif metric == "oom":
                out.append(Entry(**base, predicted=p, ape=abs(p - value)))
            elif value <= 0:
                out.append(Entry(**base, skipped=f"measured {metric} is not positive"))
            else:
                out.append(Entry(**base, predicted=p, ape=abs(p - value) / value))
    return out


def score_rows(
    rows: Iterable[dict[str, str]], catalog: Catalog, calibration: Calibration
) -> tuple[list[Entry], dict[str, object]]:
    """Entries (one per row and measured field) and their summary."""
    parsed = parse_rows(rows, catalog)
    entries: list[Entry] = []
    if parsed.specs:
        prep: PreparedRows = prepare(parsed.specs, catalog, calibration)
        entries = score_predictions(parsed.specs, parsed.measured, predict(prep))
    for why, source, hardware, meas in parsed.skipped:
        entries += [
            Entry(why.row_id, m, source, hardware, v, skipped=why.reason) for m, v in meas.items()
        ]
    return entries, summarize(entries, scorable=parsed.scorable)


def _stats(apes: Sequence[float]) -> dict[str, float | int]:
    a = np.asarray(apes, dtype=float)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "median_ape": float(np.median(a)),
        "p90_ape": float(np.percentile(a, 90)),
    }


def summarize(entries: Sequence[Entry], *, scorable: int | None = None) -> dict[str, object]:
    """Coverage, overall median/p90 APE (OOM excluded), and the same by field, source and
    hardware; OOM classification accuracy separately."""
    rows_all = {e.row_id for e in entries}
    rows_scored = {e.row_id for e in entries if e.ape is not None}
    numeric = [e for e in entries if e.ape is not None and e.metric != "oom"]
    ooms = [e for e in entries if e.ape is not None and e.metric == "oom"]
    n_scorable = scorable if scorable is not None else len(rows_all)

    def group(key: str) -> dict[str, dict[str, float | int]]:
        keys = sorted({getattr(e, key) for e in numeric})
        return {k: _stats([e.ape for e in numeric if getattr(e, key) == k]) for k in keys}  # type: ignore[misc]

    overall = _stats([e.ape for e in numeric])  # type: ignore[misc]
    return {
        "scorable": n_scorable,
        "scored": len(rows_scored),
        "coverage": len(rows_scored) / n_scorable if n_scorable else 0.0,
        "entries": len(numeric),
        "median_ape": overall.get("median_ape", float("nan")),
        "p90_ape": overall.get("p90_ape", float("nan")),
        "oom_rows": len(ooms),
        "oom_accuracy": (1.0 - float(np.mean([e.ape for e in ooms]))) if ooms else None,
        "by_field": group("metric"),
        "by_source": group("source"),
        "by_hardware": group("hardware"),
        "skipped": dict(Counter(e.skipped for e in entries if e.skipped is not None)),
    }
