"""aidc's analytical inference model, applied to bench measurements.

This module is the one seam between the bench results and the inference model: a
measured point (model, engine, precision, batch, lengths, phase) is turned into the
model's prediction of the same quantity, for given efficiencies. The fitter only ever
calls :func:`predict_s`, so when the inference model changes, only this file follows.

Phases and the model quantity they are compared with (a one-device, TP 1 deployment of
:mod:`aidc.model.inference` on the measured device, with the engine's catalog facts):

* ``forward`` (encoders): one pass over ``batch`` sequences of ``seq_len`` tokens —
  :func:`~aidc.model.inference.encoder_pass` ``latency_s``;
* ``prefill`` (decoders): the prompt pass of ``batch`` requests —
  :func:`~aidc.model.inference.static_generation` ``ttft_s``;
* ``decode`` (decoders): one step of ``batch`` requests at mean context
  ``seq_len + gen_len / 2`` — ``static_generation`` ``tpot_s``.

The fitted parameters are :data:`PARAMS`; every other efficiency of the per-step model
(GEMM knee, attention, kernel gap, per-sequence overhead) is read from the base
calibration with the same hierarchical keys the planner uses
(:mod:`aidc.catalog.inference_calibration`): ``inference.<device>.<engine>.<precision>.``
then ``inference.<device>.``, ``inference.<engine>.``, ``inference.``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from aidc.calibrate.bench_device import MeasuredDevice, hardware_row
from aidc.catalog.calibration import Calibration, load_default_calibration
from aidc.catalog.inference_calibration import PARAMS as STEP_PARAMS
from aidc.catalog.inference_calibration import efficiency_columns, inference_keys
from aidc.catalog.loader import load_catalog
from aidc.catalog.schema import Accelerator, ModelArch, Precision
from aidc.model.inference import (
    attention_curves,
    encoder_pass,
    engine_arrays,
    static_generation,
)
from aidc.model.inference_arrays import ArchArrays, Deployment, FormatArrays, StepEfficiency
from aidc.model.serve_format import ServeFormat, serve_format

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
    if p.precision not in BENCH_FORMATS:
        return f"precision {p.precision!r} has no serving format ({', '.join(BENCH_FORMATS)})"
    return None


BENCH_FORMATS = {"fp32": "fp32", "tf32": "tf32", "fp16": "fp16", "bf16": "bf16", "int8": "int8"}
"""Bench precision -> serving format. ONNX Runtime's dynamic quantization is W8A8 with
activation (de)quantization per layer, which is what the ``int8`` format describes."""

_LOW = {Precision.INT8, Precision.FP8, Precision.FP4}


def lookup(cal: Calibration, device: str, engine: str, precision: str) -> dict[str, float]:
    """The fitted parameters for this device, engine and precision, in the keys' units
    (most specific key wins, as in the planner)."""
    out = {}
    for param in PARAMS:
        for key in inference_keys(param, device, engine, precision):
            if key in cal.values:
                out[param] = cal.values[key].value
                break
        else:
            raise KeyError(f"calibration {cal.name!r} has no inference.{param}")
    return out


_BASE: dict[tuple[int, str, str, str, int], tuple[object, object, Deployment]] = {}
"""One-row deployments by (device, model, engine, precision, calibration); each entry keeps
its device and calibration alive so that their ids cannot be reused by other objects."""


def _base_deployment(
    p: BenchPoint, device: MeasuredDevice | Accelerator, links: dict, base: Calibration
) -> Deployment:  # type: ignore[type-arg]
    """The one-row deployment of point ``p`` (cached per device, model, engine, format)."""
    key = (id(device), p.arch.id, p.engine, p.precision, id(base))
    hit = _BASE.get(key)
    if hit is not None and hit[0] is device and hit[1] is base:
        return hit[2]
    fmt: ServeFormat = serve_format(BENCH_FORMATS[p.precision])
    prec = fmt.compute
    hw = hardware_row(device, prec, links)
    peak = float(hw.peak_flops_per_s[0])
    attn = peak
    if prec in _LOW:  # attention math stays at >= 16 bit
        half = device.peak_for(Precision.BF16) or device.peak_for(Precision.FP16)
        half = half or device.peak_for(Precision.FP32)
        attn = min(half, peak) if half else peak
    stack = load_catalog().software.find(p.engine)
    eff = efficiency_columns(
        base, [(str(getattr(device, "id", p.device)), p.engine, fmt.name, device.kind)]
    )
    # a measured device is the host CPU (kind "cpu"): attention_curves gives it a flat curve
    attn_max, attn_half = attention_curves([device])  # type: ignore[list-item]
    dep = Deployment(
        arch=ArchArrays.from_archs([p.arch]),
        hw=hw,
        attn_peak_flops_per_s=np.array([attn]),
        fmt=FormatArrays(
            weight_bytes=np.array([fmt.weight_bytes]),
            embed_bytes=np.array([fmt.embed_bytes]),
            act_bytes=np.array([fmt.act_bytes]),
            kv_bytes=np.array([fmt.kv_bytes]),
            gemm_flop_factor=np.array([fmt.gemm_flop_factor]),
            quant_kernels_per_layer=np.array([fmt.quant_kernels_per_layer]),
            unpacked_weights=np.array([fmt.unpacked_weights]),
        ),
        engine=engine_arrays([stack], [prec]),
        eff=StepEfficiency(**eff),
        tp=np.ones(1),
        pp=np.ones(1),
        attn_max_efficiency=attn_max,
        attn_seq_half=attn_half,
    )
    _BASE[key] = (device, base, dep)
    return dep


def predict_s(
    p: BenchPoint,
    device: MeasuredDevice | Accelerator,
    values: Mapping[str, float | np.ndarray],
    links: dict,  # type: ignore[type-arg]
    base: Calibration | None = None,
) -> np.ndarray:
    """The inference model's seconds for point ``p``, one per set of efficiencies.

    ``values`` holds :data:`PARAMS` (in the keys' units) as floats or equal-length arrays
    (K candidate efficiency sets, as the fitter's grid search passes them); the other
    efficiencies come from ``base`` (the shipped defaults when None).
    """
    cal = base if base is not None else _default_calibration()
    one = _base_deployment(p, device, links, cal)
    arrays = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in values.items()}
    k = max(len(a) for a in arrays.values()) if arrays else 1
    dep = one.take(np.zeros(k, dtype=int))
    fields = {f: getattr(dep.eff, f) for f in StepEfficiency.__dataclass_fields__}
    for param in PARAMS:
        field, factor = STEP_PARAMS[param]
        fields[field] = np.broadcast_to(arrays[param] * factor, (k,)).astype(float)
    dep = replace(dep, eff=StepEfficiency(**fields))
    if p.phase == "forward":
        return np.asarray(
            encoder_pass(dep, batch=float(p.batch), seq_len=float(p.seq_len)).latency_s
        )
    gen = static_generation(
        dep, batch=float(p.batch), input_len=float(p.seq_len), output_len=float(p.gen_len or 1)
    )
    return np.asarray(gen.ttft_s if p.phase == "prefill" else gen.tpot_s, dtype=float)


@cache
def _default_calibration() -> Calibration:
    return load_default_calibration()
