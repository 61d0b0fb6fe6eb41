"""Inference efficiencies as data: hierarchical keys, most specific first.

A value for parameter ``<param>`` is looked up, in order, under

1. ``inference.<accelerator-id>.<engine-id>.<precision>.<param>`` (e.g.
   ``inference.H100-SXM.vllm.fp8.compute_efficiency``: what ``aidc calibrate`` writes after
   measuring that engine at that precision on that device),
2. ``inference.<accelerator-id>.<param>`` (a device, any engine),
3. ``inference.<engine-id>.<param>`` (an engine, any device),
4. ``inference.<device-kind>.<param>`` (a class of device: ``gpu``, ``cpu``…, where the
   caller names the kind; e.g. ``inference.cpu.compute_efficiency``: CPU GEMM kernels reach
   a much smaller share of the cores' peak than tensor cores do of theirs),
5. ``inference.<param>`` (the shipped default),

in a :class:`~aidc.catalog.calibration.Calibration` (files given with ``--calibration``
are laid over the defaults, so a measured value always wins over a shipped one at the same
key; a more specific key wins over a broader one). Ids are the catalog's canonical ids;
precision is a format name of :mod:`aidc.model.serve_format` (``fp16``, ``fp8``,
``int4-weight-only``…). Keys carry human units (``_ms``, ``_us``, ``_gb``); values are
returned in SI.

Parameters (all used by :mod:`aidc.model.inference_step` and :mod:`aidc.model.inference_comm`):

=========================  ======================================================
``compute_efficiency``     fraction of dense peak reached by large GEMMs
``memory_bw_efficiency``   fraction of memory bandwidth reached when streaming
``gemm_half_ridge``        GEMM rows at half efficiency, as a fraction of the
                           device's ridge-point rows (peak x weight bytes / 2 bandwidth)
``attention_efficiency``   share of the device's measured fused-attention curve
                           (``kernel_efficiency.yaml``: ``e_max s / (s + s_half)``
                           of the >= 16-bit peak, rising with the keys per query)
                           that a serving engine's fused attention reaches (1: the
                           kernel benchmark's speed); see
                           :func:`aidc.model.inference_step.fused_attention_efficiency`
``kernel_gap_us``          GPU time floor per kernel launch
``step_overhead_ms``       fixed time per generation step (scheduling, synchronisation)
``seq_overhead_us``        time per sequence per generation step (sampling, bookkeeping);
                           engines recording ``host_us_per_seq`` (software.yaml) use theirs
``collective_latency_us``  software latency per pipeline send (TP all-reduces are
                           timed by measured curves; this latency only for a
                           deployment built without them)
``dequant_overhead``       share of GEMM math time added to widen packed 4-bit
                           weights in the main loop (formats with
                           ``unpacked_weights``)
``expert_efficiency``      speed of the routed-expert (MoE) GEMMs relative to dense
                           GEMMs of the same shape and rows (grouped GEMMs over many
                           small experts reach less of the device's bandwidth and
                           FLOP/s); divides the routed-expert GEMM time, see
                           :func:`aidc.model.inference_step.step_time`
``memory_overhead_gb``     memory outside weights, KV and activations
=========================  ======================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aidc.catalog.calibration import Calibration
from aidc.units import GIGA, MICROSECOND, MILLISECOND

PARAMS: dict[str, tuple[str, float]] = {
    # key suffix -> (StepEfficiency field, factor to SI)
    "compute_efficiency": ("compute", 1.0),
    "memory_bw_efficiency": ("memory_bw", 1.0),
    "gemm_half_ridge": ("gemm_half_ridge", 1.0),
    "attention_efficiency": ("attention", 1.0),
    "kernel_gap_us": ("kernel_gap_s", MICROSECOND),
    "step_overhead_ms": ("step_overhead_s", MILLISECOND),
    "seq_overhead_us": ("seq_overhead_s", MICROSECOND),
    "collective_latency_us": ("collective_latency_s", MICROSECOND),
    "dequant_overhead": ("dequant_overhead", 1.0),
    "expert_efficiency": ("expert", 1.0),
    "memory_overhead_gb": ("memory_overhead_bytes", GIGA),
}
OPTIONAL = {"memory_overhead_gb"}
"""Parameters that may be absent everywhere (the engine's own figure is used instead)."""


def inference_keys(
    param: str, accelerator: str, engine: str, precision: str, kind: str | None = None
) -> tuple[str, ...]:
    """The keys tried for ``param``, most specific first (the device-kind level only when
    ``kind`` is given)."""
    return (
        f"inference.{accelerator}.{engine}.{precision}.{param}",
        f"inference.{accelerator}.{param}",
        f"inference.{engine}.{param}",
        *((f"inference.{kind}.{param}",) if kind else ()),
        f"inference.{param}",
    )


def inference_value(
    cal: Calibration,
    param: str,
    *,
    accelerator: str,
    engine: str,
    precision: str,
    kind: str | None = None,
) -> float:
    """The value of ``param`` for this device, engine and precision, in SI units.

    Raises ``KeyError`` when no level has it (the shipped defaults hold every parameter
    but ``memory_overhead_gb``; for that one NaN is returned).
    """
    if param not in PARAMS:
        raise KeyError(f"unknown inference parameter {param!r}; known: {', '.join(PARAMS)}")
    factor = PARAMS[param][1]
    for key in inference_keys(param, accelerator, engine, precision, kind):
        if key in cal.values:
            return cal.values[key].value * factor
    if param in OPTIONAL:
        return float("nan")
    raise KeyError(f"calibration {cal.name!r} has no value for inference.{param}")


def efficiency_columns(
    cal: Calibration, rows: Sequence[tuple[str, str, str] | tuple[str, str, str, str]]
) -> dict[str, np.ndarray]:
    """StepEfficiency fields as arrays, one entry per ``(accelerator, engine, precision)``
    or ``(accelerator, engine, precision, device kind)``."""
    cache: dict[tuple[str, ...], list[float]] = {}
    out: list[list[float]] = []
    for row in rows:
        if row not in cache:
            acc, eng, prec = row[:3]
            kind = row[3] if len(row) > 3 else None
            cache[row] = [
                inference_value(cal, p, accelerator=acc, engine=eng, precision=prec, kind=kind)
                for p in PARAMS
            ]
        out.append(cache[row])
    table = np.array(out, dtype=float).reshape(len(rows), len(PARAMS))
    return {field: table[:, i] for i, (field, _) in enumerate(PARAMS.values())}
