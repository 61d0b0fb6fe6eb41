"""User-facing errors and infeasibility reasons.

Two kinds of failure exist in aidc and they never mix:

* ``AidcInputError`` — the user gave something we cannot use (bad YAML, a wrong type,
  an unknown accelerator). The CLI prints its message as one line and exits non-zero,
  never a traceback. Messages name the field and the allowed values.
* Everything else that raises is a bug.

An infeasible design is neither: it is a *result* (``Infeasible``), e.g. "KV cache
exceeds HBM by 12 GiB", carried next to the metrics of the candidate it rejects.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class AidcInputError(Exception):
    """Bad input from the user. ``str(err)`` is one line naming the field and what is allowed."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        text = f"{field}: {message}" if field else message
        super().__init__(" ".join(text.split()))


class UnknownNameError(AidcInputError):
    """A name (accelerator, model, engine…) that the catalog does not know."""

    def __init__(self, kind: str, name: str, known: Iterable[str], *, field: str | None = None):
        known_list = sorted(set(known))
        self.suggestions = did_you_mean(name, known_list)
        if self.suggestions:
            hint = "did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        else:
            shown = ", ".join(known_list[:12]) + (", …" if len(known_list) > 12 else "")
            hint = f"known: {shown} (see `aidc catalog list`)"
        super().__init__(f"unknown {kind} {name!r}; {hint}", field=field)


def did_you_mean(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Closest known names to ``name`` (case-insensitive), best first."""
    known_list = list(known)
    lowered = {k.lower(): k for k in known_list}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    if not hits:
        # substring match catches "h100" -> "H100-SXM"
        hits = [k for k in lowered if name.lower() in k][:n]
    return [lowered[h] for h in hits]


@dataclass(frozen=True)
class Infeasible:
    """Why a candidate design cannot work: the first failing constraint and by how much."""

    constraint: str
    detail: str
    shortfall: float | None = None
    unit: str | None = None

    def __str__(self) -> str:
        return f"{self.constraint}: {self.detail}"
