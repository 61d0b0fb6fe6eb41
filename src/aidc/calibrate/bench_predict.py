"""aidc's analytical inference model, applied to bench measurements.

This module is the one seam between the bench results and the inference model: a
measured point (model, engine, precision, batch, lengths, phase) is turned into the
model's prediction of the same quantity, for given efficiencies. The fitter only ever
calls :func:`predict_s`, so when the inference model changes, only this file follows.

Phases and the model quantity they are compared with:

* ``forward`` (encoders): one pass over ``batch`` sequences of ``seq_len`` tokens —
  :func:`aidc.model.inference.estimate_encoder` ``latency_s``;
* ``prefill`` (decoders): the prompt pass — ``estimate_generation`` ``prefill_s``, which
  the current model gives for one request, so only ``batch = 1`` rows are covered;
* ``decode`` (decoders): one step of ``batch`` requests at mean context
  ``seq_len + gen_len / 2`` — ``estimate_generation`` ``decode_step_s``.

When the per-step serving model replaces ``estimate_encoder``/``estimate_generation``,
:func:`predict_s` maps the same phases to ``encoder_pass(...).latency_s`` and
``static_generation(...).ttft_s`` / ``.tpot_s`` of a one-row deployment whose efficiency
fields are the (K,) arrays it is given (batched prefill is then covered too); the fitter
and the tests stay as they are.

Efficiency values are looked up in a :class:`~aidc.catalog.calibration.Calibration`
most specific first: ``inference.<device>.<engine>.<precision>.<param>``, then
``inference.<device>.<param>``, then ``inference.<param>`` (the key convention agreed
with the inference model).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from aidc.calibrate.bench_device import MeasuredDevice, hardware_row
from aidc.catalog.calibration import Calibration
from aidc.catalog.schema import BYTES_PER_ELEMENT, Accelerator, ModelArch, Precision
from aidc.model.inference import InferenceEfficiency, estimate_encoder, estimate_generation
from aidc.units import MILLISECOND

PARAMS = ("compute_efficiency", "memory_bw_efficiency", "step_overhead_ms")
PHASES = ("forward", "prefill", "decode")


@dataclass(frozen=True)
class BenchPoint:
    """One measured point: what ran, and the measured seconds."""

    device: str
    model: str
    arch: ModelArch
    engine: str
    precision: str
    phase: str
    batch: int
    seq_len: int
    gen_len: int | None
    measured_s: float
    n_measurements: int = 1

    @property
    def group(self) -> tuple[str, str, str]:
        return (self.device, self.engine, self.precision)

    @property
    def label(self) -> str:
        g = f" gen={self.gen_len}" if self.gen_len else ""
        return f"{self.model} {self.engine}:{self.precision} {self.phase} b={self.batch} s={self.seq_len}{g}"


def covered(p: BenchPoint) -> str | None:
    """Why the model cannot predict this point (None: it can)."""
    if p.phase not in PHASES:
        return f"phase {p.phase!r} is not an inference phase"
    if p.phase == "prefill" and p.batch != 1:
        return "the inference model's prefill is for one request (batch 1)"
    return None


def efficiency_from(values: Mapping[str, float | np.ndarray]) -> InferenceEfficiency:
    return InferenceEfficiency(
        compute=values["compute_efficiency"],  # type: ignore[arg-type]
        memory_bw=values["memory_bw_efficiency"],  # type: ignore[arg-type]
        step_overhead_s=values["step_overhead_ms"] * MILLISECOND,  # type: ignore[arg-type]
    )


def lookup(cal: Calibration, device: str, engine: str, precision: str) -> dict[str, float]:
    """The efficiency values for this device, engine and precision (most specific key wins)."""
    out = {}
    for param in PARAMS:
        for key in (
            f"inference.{device}.{engine}.{precision}.{param}",
            f"inference.{device}.{param}",
            f"inference.{param}",
        ):
            if key in cal.values:
                out[param] = cal.values[key].value
                break
        else:
            raise KeyError(f"calibration {cal.name!r} has no inference.{param}")
    return out


def _formats(precision: str) -> tuple[Precision, float]:
    """Compute precision and bytes per weight of a bench precision."""
    prec = Precision(precision)
    return prec, BYTES_PER_ELEMENT[prec]


def predict_s(
    p: BenchPoint,
    device: MeasuredDevice | Accelerator,
    values: Mapping[str, float | np.ndarray],
    links: dict,  # type: ignore[type-arg]
) -> np.ndarray:
    """The inference model's seconds for point ``p``, one per set of efficiencies.

    ``values`` holds floats or equal-length arrays (K candidate efficiency sets, as the
    fitter's grid search passes them); the model is vectorised, so they broadcast.
    """
    prec, wbytes = _formats(p.precision)
    hw = hardware_row(device, prec, links)
    eff = efficiency_from(values)
    one = np.ones(1)
    if p.phase == "forward":
        est = estimate_encoder(
            p.arch,
            hw,
            weight_bytes_per_param=wbytes * one,
            seq_len=float(p.seq_len),
            batch=float(p.batch) * one,
            eff=eff,
        )
        return np.asarray(est.latency_s, dtype=float)
    # the KV cache stays in the activation precision (16/32 bit) even for int8 weights
    kv_bytes = max(wbytes, 2.0)
    gen = estimate_generation(
        p.arch,
        hw,
        tp=one,
        weight_bytes_per_param=wbytes * one,
        kv_bytes_per_element=kv_bytes * one,
        input_tokens=float(p.seq_len),
        output_tokens=float(p.gen_len or 1),
        batch=float(p.batch) * one,
        eff=eff,
        memory_reserve_fraction=0.0,
    )
    return np.asarray(gen.prefill_s if p.phase == "prefill" else gen.decode_step_s, dtype=float)
