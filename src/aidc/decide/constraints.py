"""Constraints with reasons: vectorised checks, the first failing one, and by how much.

A :class:`Check` compares one value per candidate with a limit (``value <= limit`` for a
ceiling, ``value >= limit`` for a floor, or a boolean failure mask for a predicate such
as "software is deprecated"). :func:`first_failures` evaluates an ordered list of checks
over all candidates at once and returns, per candidate, the first check it fails in
:data:`CONSTRAINT_ORDER` — a candidate is rejected for one reason, the most fundamental
one, with its value, limit, unit and the excess — and a sentence only for the rejected.

A value that cannot be evaluated (NaN) passes a numeric check: the check is reported as
not evaluable elsewhere rather than inventing a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

CONSTRAINT_ORDER: tuple[str, ...] = (
    "vendor",
    "deployment",
    "residency",
    "software_status",
    "security",
    "isolation",
    "memory",
    "slo",
    "deadline",
    "power",
    "rack_power",
    "racks",
    "budget",
    "price",
    "planner",
)
"""Order in which constraints are reported: hard eligibility first (who may supply it,
where it may run, whether its software is supported and secure), then physics (fits in
memory, meets latency and time targets), then the envelope (power, space, money), then
missing data. A candidate failing several is reported under the first."""

Sense = Literal["max", "min", "flag"]


def family(constraint: str) -> str:
    """``"slo.ttft_p99"`` -> ``"slo"``."""
    return constraint.split(".", 1)[0]


def order_key(constraint: str) -> int:
    fam = family(constraint)
    return CONSTRAINT_ORDER.index(fam) if fam in CONSTRAINT_ORDER else len(CONSTRAINT_ORDER)


@dataclass(frozen=True)
class Rejection:
    """Why a candidate cannot be chosen: the first failing constraint and by how much.

    ``value`` and ``limit`` are in ``unit`` (SI, or a label such as "status"); ``excess``
    is how far past the limit the value is (positive, in ``unit``) and
    ``excess_fraction`` that over the limit, where both are numbers.
    """

    constraint: str
    message: str
    value: float | str | None = None
    limit: float | str | None = None
    unit: str = ""
    excess: float | None = None
    excess_fraction: float | None = None

    def __str__(self) -> str:
        return f"{self.constraint}: {self.message}"

    @staticmethod
    def from_text(text: str) -> Rejection:
        """A planner's ``"constraint: detail"`` sentence, kept as it is."""
        head, sep, tail = text.partition(":")
        if sep and head and " " not in head.strip():
            return Rejection(constraint=head.strip(), message=tail.strip())
        return Rejection(constraint="planner", message=text.strip())


@dataclass(frozen=True)
class Check:
    """One constraint over n candidates.

    ``sense`` "max": fails where ``value > limit``; "min": where ``value < limit``;
    "flag": fails where ``value`` is true. ``describe(i, value, limit, excess)`` gives the
    sentence for a failing candidate i.
    """

    constraint: str
    value: np.ndarray
    limit: float | np.ndarray | str | None
    sense: Sense
    unit: str
    describe: Callable[[int, float, float, float], str]
    rel_tol: float = 1e-9

    def fails(self) -> np.ndarray:
        v = np.asarray(self.value)
        if self.sense == "flag":
            return v.astype(bool)
        lim = np.asarray(self.limit, dtype=float)
        vf = v.astype(float)
        with np.errstate(invalid="ignore"):
            if self.sense == "max":
                out = vf > lim * (1 + self.rel_tol)
            else:
                out = vf < lim * (1 - self.rel_tol)
        return out & np.isfinite(vf) & np.isfinite(lim)

    def rejection(self, i: int) -> Rejection:
        if self.sense == "flag":
            value = None
            limit = self.limit if isinstance(self.limit, str | float | int) else None
            return Rejection(
                self.constraint,
                self.describe(i, np.nan, np.nan, np.nan),
                value=value,
                limit=limit,
                unit=self.unit,
            )
        v = float(np.asarray(self.value, dtype=float)[i])
        lim_arr = np.asarray(self.limit, dtype=float)
        lim = float(lim_arr if lim_arr.ndim == 0 else lim_arr[i])
        ex = v - lim if self.sense == "max" else lim - v
        frac = ex / abs(lim) if lim != 0 else None
        return Rejection(
            self.constraint,
            self.describe(i, v, lim, ex),
            value=v,
            limit=lim,
            unit=self.unit,
            excess=ex,
            excess_fraction=frac,
        )


def first_failures(
    checks: Sequence[Check], n: int, prior: Sequence[Rejection | None] | None = None
) -> list[Rejection | None]:
    """Per candidate, the first failing check in :data:`CONSTRAINT_ORDER`, or None.

    ``prior`` are verdicts found elsewhere (e.g. a planner's memory check); they compete
    in the same order, so an earlier-ordered check still wins over them.
    """
    ordered = sorted(checks, key=lambda c: order_key(c.constraint))
    if ordered:
        fail = np.column_stack([c.fails() for c in ordered])
        any_fail = fail.any(axis=1)
        first = np.argmax(fail, axis=1)
    else:
        any_fail = np.zeros(n, dtype=bool)
        first = np.zeros(n, dtype=np.int64)
    out: list[Rejection | None] = []
    for i in range(n):
        mine = ordered[int(first[i])].rejection(i) if any_fail[i] else None
        theirs = prior[i] if prior is not None else None
        if mine is None or (
            theirs is not None and order_key(theirs.constraint) < order_key(mine.constraint)
        ):
            out.append(theirs)
        else:
            out.append(mine)
    return out


def fail_counts(rejections: Sequence[Rejection | None]) -> dict[str, int]:
    """How many candidates each constraint family rejected, in report order."""
    counts: dict[str, int] = {}
    for r in rejections:
        if r is not None:
            counts[family(r.constraint)] = counts.get(family(r.constraint), 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: order_key(kv[0])))
