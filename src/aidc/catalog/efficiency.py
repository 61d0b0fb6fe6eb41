"""Kernel efficiency data: achieved fraction of peak for GEMMs and attention, by shape.

``catalog/data/kernel_efficiency.yaml`` holds, per accelerator family, the parameters of
the shape-dependent efficiency curves the training model uses (see
:mod:`aidc.model.efficiency` for the equations), each record with its source and
provenance. The file is generated from measured kernel timings by
``benchmarks/derive_kernel_efficiency.py``. Accelerators without a record get the
``default`` record (medians of the measured ones, provenance ``assumed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from aidc.catalog.loader import CatalogDataError
from aidc.catalog.schema import Accelerator, Precision, Record
from aidc.fileio import load_packaged_yaml

DEFAULT_ID = "default"


class GemmEfficiency(BaseModel):
    """``eff(m, n, k) = max_efficiency * m/(m+m_half) * n/(n+n_half) * k/(k+k_half)``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_efficiency: float = Field(gt=0, le=1.2)
    m_half: float = Field(ge=0)
    n_half: float = Field(ge=0)
    k_half: float = Field(ge=0)
    overhead_us: float = Field(ge=0, description="fixed time per GEMM call")
    fit_points: int | None = None
    median_abs_log_error: float | None = None
    p90_abs_log_error_large: float | None = None


class AttentionEfficiency(BaseModel):
    """Fused attention forward ``eff(s) = max_efficiency * s/(s + seq_half)``; the backward
    pass runs at ``backward_relative`` times the forward efficiency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kernel: str = ""
    max_efficiency: float = Field(gt=0, le=1.2)
    seq_half: float = Field(ge=0)
    backward_relative: float = Field(gt=0, le=2)
    median_abs_log_error: float | None = None


class KernelEfficiency(Record):
    """Efficiency curves of one accelerator family, keyed by precision."""

    architecture: str = Field(
        min_length=1, description="GPU architecture (Ampere, Hopper...): calibration groups by it"
    )
    accelerators: tuple[str, ...] = ()
    measured_on: str = ""
    gemm: dict[Precision, GemmEfficiency]
    streaming_bw_efficiency: float | None = Field(
        default=None,
        gt=0,
        le=1.0,
        description="measured share of peak HBM bandwidth that weight-streaming (decode-shaped,"
        " few-row) BF16 GEMMs reach; the prior of the serving fit's per-device"
        " memory_bw_efficiency",
    )
    attention: dict[Precision, AttentionEfficiency] = Field(default_factory=dict)

    def gemm_for(self, precision: Precision) -> GemmEfficiency:
        """The curve for ``precision``; 16-bit formats stand in for each other and for
        formats without their own data (fp32/tf32 and, where unmeasured, fp8)."""
        return (
            self.gemm.get(precision)
            or self.gemm.get(Precision.BF16)
            or next(iter(self.gemm.values()))
        )

    def attention_for(self, precision: Precision) -> AttentionEfficiency | None:
        return self.attention.get(precision) or self.attention.get(Precision.BF16)


@cache
def load_kernel_efficiency() -> tuple[KernelEfficiency, ...]:
    text = (
        resources.files("aidc.catalog")
        .joinpath("data", "kernel_efficiency.yaml")
        .read_text("utf-8")
    )
    raw = load_packaged_yaml(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("kernel_efficiency"), list):
        raise CatalogDataError(
            "kernel_efficiency.yaml: expected a top-level 'kernel_efficiency:' list"
        )
    records = tuple(KernelEfficiency.model_validate(r) for r in raw["kernel_efficiency"])
    if not any(r.id == DEFAULT_ID for r in records):
        raise CatalogDataError("kernel_efficiency.yaml: a 'default' record is required")
    return records


def kernel_efficiency_for(accelerator: Accelerator) -> KernelEfficiency:
    """:func:`select_kernel_efficiency` over the shipped records."""
    return select_kernel_efficiency(load_kernel_efficiency(), accelerator)


def select_kernel_efficiency(
    records: Sequence[KernelEfficiency], accelerator: Accelerator
) -> KernelEfficiency:
    """The record listing this accelerator, else the one named after its family, else
    the ``default`` record."""
    for rec in records:
        if accelerator.id in rec.accelerators:
            return rec
    for rec in records:
        if rec.id.lower() == accelerator.family.lower():
            return rec
    return next(r for r in records if r.id == DEFAULT_ID)
