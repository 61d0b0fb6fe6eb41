"""Shared pieces of the report's figures: the Figure record, escaping, layout, colours."""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from typing import Any

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
    "#d62728",
)
CHOSEN_COLOR = "#d62728"
TCO_YEARS = 3
"""The plan's cost horizon: ``tco_3y_usd`` is a three-year total cost."""

NOT_AVAILABLE = "not available in this plan"


@dataclass(frozen=True)
class Figure:
    """One chart. ``title``, ``notes`` and ``reads`` are plain text (the page escapes
    them); strings inside ``traces`` and ``layout`` are already HTML-escaped for plotly."""

    id: str
    title: str
    reads: list[str]
    available: bool
    traces: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def layout(
    x_title: str, y_title: str, *, log_x: bool = False, log_y: bool = False, **extra: Any
) -> dict[str, Any]:
    """A plotly layout; axes are linear (or category, for text) unless ``log_*``."""
    xaxis: dict[str, Any] = {"title": {"text": x_title}, "automargin": True}
    yaxis: dict[str, Any] = {"title": {"text": y_title}, "automargin": True}
    if log_x:
        xaxis["type"] = "log"
    if log_y:
        yaxis["type"] = "log"
    return {
        "xaxis": xaxis,
        "yaxis": yaxis,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "legend": {"orientation": "h", "y": -0.25},
        "height": 380,
        "hovermode": "closest",
        **extra,
    }


def colors_for(names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for n in names:
        if n not in out:
            out[n] = PALETTE[len(out) % len(PALETTE)]
    return out


def hline(y: float, label: str, *, log_y: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """A dashed horizontal line across the plot at ``y`` and its label (shape, annotation).

    Plotly places shapes in data units but annotations on a log axis in log10 units.
    """
    shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": y,
        "y1": y,
        "line": {"color": CHOSEN_COLOR, "dash": "dash"},
    }
    note = {
        "xref": "paper",
        "x": 1,
        "yref": "y",
        "y": math.log10(y) if log_y else y,
        "text": html.escape(label),
        "showarrow": False,
        "xanchor": "right",
        "yanchor": "bottom",
    }
    return shape, note
