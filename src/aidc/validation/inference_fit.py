"""Fit the serving model's efficiencies to measurements, level by level.

The calibration keys of :mod:`aidc.catalog.inference_calibration` form a hierarchy
(global -> device kind -> engine -> accelerator -> accelerator.engine.precision). The fit
walks it top down: the global values are fitted on every row; each device kind's (from
:data:`KIND_PRIORS` where given), each engine's, then each accelerator's, then each
(accelerator, engine, precision) group's values are fitted on that subset with
a penalty pulling them toward the level above (a shrinkage prior worth a few
observations), so a group with few rows stays close to its parent.

The objective is a robust (soft-L1) loss on log errors ``log(predicted / measured)`` of
every measured field (OOM flags excluded), each source weighted by ``1 / sqrt(rows)`` so
that one large table does not decide everything. The search is coordinate descent on a
log grid with shrinking steps; the model is vectorised, so a fit takes seconds.

Pure: no files are read or written here (the benchmark writes the fitted values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aidc.catalog.calibration import Calibration, CalibrationValue
from aidc.catalog.efficiency import KernelEfficiency
from aidc.catalog.inference_calibration import PARAMS
from aidc.units import GIGA
from aidc.validation.inference_predict import PreparedRows, predict

PRIORS: dict[str, float] = {
    # key-unit values the fit starts from (the shipped assumed priors)
    "compute_efficiency": 0.6,
    "memory_bw_efficiency": 0.8,
    "gemm_half_ridge": 0.55,
    "attention_efficiency": 1.0,  # share of the device's measured fused-attention curve
    "kernel_gap_us": 5.0,
    "step_overhead_ms": 1.0,
    "seq_overhead_us": 5.0,
    "collective_latency_us": 15.0,
    "dequant_overhead": 0.05,
    "expert_efficiency": 1.0,  # routed-expert GEMMs at a dense GEMM's speed (see below)
}
"""``expert_efficiency`` (routed-expert GEMM speed relative to a dense GEMM of the same rows
and shape) starts at 1, an assumed prior: aiconfigurator-core's measured TensorRT-LLM FP8
MoE kernel timings on H100 (``systems/data/h100_sxm/moe/trtllm/1.3.0rc10``, balanced
routing, 2-8 rows per expert) reach 0.95-1.03 of the weight-streaming bandwidth of dense
FP8 GEMMs (``gemm/trtllm/1.3.0rc20``) at the same weight bytes per call above 0.5 GB, and
0.82-0.90 at 0.2-0.5 GB, 0.4-0.75 below (``benchmarks/aic_moe_bandwidth.py``); the
served MoE models' expert weights per device and layer are 0.5-2 GB (Llama 4 Scout at TP 4,
Maverick at TP 8), so the kernels alone would set it near 1. The fitted values fall below
that (H100 ~0.7): they also take up MoE costs the step model leaves out. It is fitted globally, per device and per (device, engine, precision),
only on subsets holding MoE rows; subsets without any keep their parent's value.

``memory_overhead_gb`` has no global prior: a runtime's own memory (CUDA context,
allocator pools, buffers) is a property of the software, so its starting value is the
engine's ``runtime_memory_gb`` (catalog ``software.yaml``), and it is fitted only at the
engine and (accelerator, engine, precision) levels. A global value would let the few
rows that report memory for one engine set it for every other engine."""
KIND_PRIORS: dict[str, dict[str, float]] = {
    # device kind -> key-unit priors of the kind level (inference.<kind>.<param>)
    "cpu": {"compute_efficiency": 0.3, "dequant_overhead": 0.75},
}
"""Priors of device classes whose kernels differ from the accelerators the global values
are mostly fitted on. ``cpu``: prefill on a CPU is compute-bound, and the GEMM kernels of
on-device runtimes (XNNPACK, KleidiAI, llama.cpp) sustain a much smaller share of the
cores' nominal SIMD peak than tensor-core GEMMs reach of theirs (all cores of a big.LITTLE
SoC at their top clock are counted in the peak; sustained clocks are lower, the little
cores add little and the int8 dot-product kernels also unpack the 4-bit weights), while
decode streams the weights at a bandwidth share much like a GPU's. The value is an
assumed round figure (provenance: assumed), the parent of the fitted kind level; where
no CPU row is in the training data (leave-one-source-out on the on-device rows) it is
what predicts them. ``dequant_overhead`` (packed 4-bit weights widened in the GEMM loop,
formats with ``unpacked_weights``): about three instructions per weight (shift or mask to
8 bit, the group scale) shared by the rows of the kernel's tile; an ARM i8mm micro-kernel
tiles 4 rows (KleidiAI's 4x4x32 and 8x4x32 int4 kernels), so ~3/4 of the math is added on
a CPU, while a GPU tile of 64-256 rows makes it a few percent (the global 0.05). Assumed
figures, not fitted; but they were chosen with the on-device reference rows in view, so the
leave-one-source-out error on those rows is not a held-out test. The fit moves them where
CPU rows are trained on."""
BOUNDS: dict[str, tuple[float, float]] = {
    "compute_efficiency": (0.05, 0.95),
    "memory_bw_efficiency": (0.1, 0.98),
    "gemm_half_ridge": (0.01, 5.0),
    "attention_efficiency": (0.2, 2.0),
    "kernel_gap_us": (0.1, 100.0),
    "step_overhead_ms": (0.001, 50.0),
    "seq_overhead_us": (0.01, 200.0),
    "collective_latency_us": (1.0, 500.0),
    "dequant_overhead": (0.0, 3.0),
    "expert_efficiency": (0.2, 2.0),
    "memory_overhead_gb": (0.05, 20.0),
}
LEVEL_PARAMS: dict[str, tuple[str, ...]] = {
    # memory_overhead_gb excluded (see PRIORS); dequant_overhead is a property of the
    # device class's kernels (see KIND_PRIORS), fitted only there
    "global": tuple(k for k in PRIORS if k != "dequant_overhead"),
    # a class of device (gpu, cpu...): the GEMM efficiency of its kernels (see KIND_PRIORS)
    "kind": ("compute_efficiency", "dequant_overhead"),
    # no memory_bw_efficiency per engine: the bandwidth a streaming kernel reaches is a
    # property of the device's memory system; what engines change (fusion, extra passes,
    # kernel count) is modelled explicitly (EngineArrays), so an engine-level bandwidth would
    # only absorb whatever the rows of one source leave unexplained (e.g. launch-bound
    # BERT-base rows dragging a large model's decode bandwidth down)
    "engine": (
        "compute_efficiency",
        "kernel_gap_us",
        "step_overhead_ms",
        "memory_overhead_gb",
    ),
    # expert_efficiency: how much of the device's dense-GEMM speed its grouped expert
    # kernels keep (see PRIORS); fitted per device so that MoE rows do not pull the
    # device's memory_bw_efficiency, which dense models share
    "accelerator": (
        "compute_efficiency",
        "memory_bw_efficiency",
        "kernel_gap_us",
        "expert_efficiency",
    ),
    "group": (
        "compute_efficiency",
        "memory_bw_efficiency",
        "kernel_gap_us",
        "step_overhead_ms",
        "memory_overhead_gb",
        "expert_efficiency",
    ),
}
FIT_MEASURED_BW = False
"""Whether a device with a measured ``streaming_bw_efficiency`` (see
:func:`measured_streaming_bw`) still fits its ``memory_bw_efficiency`` (shrunk toward the
measurement, at the accelerator and the accelerator-engine-format level) or takes the
measurement as a device fact at both."""
SOFT_L1_SCALE = 0.15  # log-error scale where the loss turns from quadratic to linear
SHRINK_OBSERVATIONS = 3.0  # prior strength toward the parent level, in rows


@dataclass(frozen=True)
class FitData:
    prep: PreparedRows
    fields: tuple[str, ...]
    row: np.ndarray  # entry -> row index
    field: np.ndarray  # entry -> field index
    log_measured: np.ndarray
    weight: np.ndarray


def fit_data(prep: PreparedRows, measured: Sequence[dict[str, float]]) -> FitData:
    fields = sorted({f for m in measured for f in m if f != "oom"})
    rows, fidx, logm = [], [], []
    for i, m in enumerate(measured):
        for f, v in m.items():
            if f != "oom" and v > 0:
                rows.append(i)
                fidx.append(fields.index(f))
                logm.append(np.log(v))
    row = np.array(rows, dtype=int)
    sources = np.array([prep.specs[i].source for i in row])
    weight = np.ones(len(row))
    for s in set(sources):
        sel = sources == s
        weight[sel] = 1.0 / np.sqrt(sel.sum())
    return FitData(
        prep, tuple(fields), row, np.array(fidx, dtype=int), np.array(logm), weight / weight.sum()
    )


def measured_streaming_bw(records: Sequence[KernelEfficiency]) -> dict[str, float]:
    """Accelerator id -> measured weight-streaming share of peak HBM bandwidth, for every
    accelerator a ``kernel_efficiency.yaml`` record lists by id (``streaming_bw_efficiency``:
    median of ``weight bytes / time / hbm_bw`` over aiconfigurator-core's measured BF16
    GEMMs with at most 64 rows and at least 0.2 GB of weights on the record's measured
    device, ``benchmarks/derive_kernel_efficiency.py``). It is the parent (prior) of the
    accelerator level's ``memory_bw_efficiency``, and that level's value for a listed
    accelerator without rows; other devices keep the global fitted value as their parent."""
    return {
        acc: rec.streaming_bw_efficiency
        for rec in records
        if rec.streaming_bw_efficiency
        for acc in rec.accelerators
    }


def _si_columns(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {PARAMS[k][0]: v * PARAMS[k][1] for k, v in values.items()}


def _residuals(data: FitData, values: dict[str, np.ndarray]) -> np.ndarray:
    pred = predict(data.prep, _si_columns(values))
    stacked = np.stack([pred[f] for f in data.fields])  # fields x rows
    p = stacked[data.field, data.row]
    with np.errstate(all="ignore"):
        r = np.log(p) - data.log_measured
    return np.where(np.isfinite(r), r, 5.0)


def _loss(r: np.ndarray, w: np.ndarray) -> float:
    c = SOFT_L1_SCALE
    return float(np.sum(w * 2.0 * c * c * (np.sqrt(1.0 + (r / c) ** 2) - 1.0)))


def _group_keys(prep: PreparedRows, level: str) -> list[str]:
    out = []
    for acc, eng, prec, kind in prep.keys:
        out.append(
            {
                "global": "",
                "kind": kind,
                "engine": eng,
                "accelerator": acc,
                "group": f"{acc}.{eng}.{prec}",
            }[level]
        )
    return out


def _subset(data: FitData, idx: np.ndarray) -> FitData:
    pos = -np.ones(len(data.prep), dtype=int)
    pos[idx] = np.arange(len(idx))
    keep = pos[data.row] >= 0
    return FitData(
        data.prep.subset(idx),
        data.fields,
        pos[data.row[keep]],
        data.field[keep],
        data.log_measured[keep],
        data.weight[keep],
    )


def fit_calibration(
    data: FitData,
    *,
    levels: Sequence[str] = ("global", "kind", "engine", "accelerator", "group"),
    sweeps: int = 3,
    streaming_bw: Mapping[str, float] | None = None,
    fit_measured_bw: bool | None = None,
) -> dict[str, float]:
    """Fitted calibration values keyed like the calibration file (``inference.<...>.<param>``,
    human units). Only groups with rows in ``data`` get keys. ``streaming_bw``
    (:func:`measured_streaming_bw` of the kernel records; None: no measured device) gives the
    accelerator level's ``memory_bw_efficiency`` prior per accelerator; with ``fit_measured_bw`` false (default :data:`FIT_MEASURED_BW`)
    a measured device's value is taken as is instead of fitted, and its
    accelerator-engine-format groups fit no bandwidth of their own."""
    n = len(data.prep)
    measured_bw = {} if streaming_bw is None else streaming_bw
    fit_bw = FIT_MEASURED_BW if fit_measured_bw is None else fit_measured_bw
    values = {k: np.full(n, v) for k, v in PRIORS.items()}
    values["memory_overhead_gb"] = data.prep.base.engine.runtime_memory_bytes / GIGA
    out: dict[str, float] = {}
    for level in levels:
        names = np.array(_group_keys(data.prep, level), dtype=object)
        for name in sorted(set(names)):
            idx = np.flatnonzero(names == name)
            sub = _subset(data, idx)
            if len(sub.row) == 0:
                continue
            w = sub.weight
            prior_strength = SHRINK_OBSERVATIONS * float(w.mean()) if level != "global" else 0.0
            params = LEVEL_PARAMS[level]
            if not np.any(data.prep.base.arch.n_experts[idx] > 1):
                # no routed experts in this subset: nothing to fit, the parent's value holds
                params = tuple(k for k in params if k != "expert_efficiency" or level == "global")
            bw = "memory_bw_efficiency"
            if level == "group" and not fit_bw and data.prep.keys[idx[0]][0] in measured_bw:
                # a measured device's bandwidth is a device fact for each of its engines and
                # formats too (the accelerator level below sets it); engines differ in what
                # the step model prices explicitly, not in the memory system
                params = tuple(k for k in params if k != bw)
            parent = {
                k: KIND_PRIORS.get(name, {}).get(k, float(np.median(values[k][idx])))
                if level == "kind"
                else float(np.median(values[k][idx]))
                for k in params
            }
            if level == "accelerator" and name in measured_bw:
                parent[bw] = measured_bw[name]
                if not fit_bw:  # a device fact: set, not fitted
                    params = tuple(k for k in params if k != bw)
                    values[bw] = values[bw].copy()
                    values[bw][idx] = parent.pop(bw)
                    out[f"inference.{name}.{bw}"] = measured_bw[name]
            base = {k: v[idx] for k, v in values.items()}

            def objective(
                cand: dict[str, float],
                sub=sub,
                base=base,
                parent=parent,
                prior_strength=prior_strength,
            ) -> float:
                trial = dict(base)
                for k, v in cand.items():
                    trial[k] = np.full(len(sub.prep), v)
                pen = sum((np.log(cand[k]) - np.log(parent[k])) ** 2 for k in cand)
                return _loss(_residuals(sub, trial), sub.weight) + prior_strength * pen

            current = dict(parent)
            best = objective(current)
            step = 0.7  # log step, halved each sweep
            for _ in range(sweeps):
                for k in params:
                    lo, hi = BOUNDS[k]
                    for factor in np.exp(step * np.array([-1.0, -0.5, -0.25, 0.25, 0.5, 1.0])):
                        cand = dict(current)
                        cand[k] = float(np.clip(current[k] * factor, lo, hi))
                        val = objective(cand)
                        if val < best - 1e-12:
                            best, current = val, cand
                step *= 0.5
            for k, v in current.items():
                values[k] = values[k].copy()
                values[k][idx] = v
                out[f"inference.{name}.{k}" if name else f"inference.{k}"] = v
    if "accelerator" in levels:  # a measured device without rows: its prior is its value
        for acc, v in measured_bw.items():
            out.setdefault(f"inference.{acc}.memory_bw_efficiency", v)
    if "global" in levels:  # priors not fitted globally still need a default key
        for k, v in PRIORS.items():
            out.setdefault(f"inference.{k}", v)
    return out


def calibration_from_values(
    base: Calibration, values: dict[str, float], *, name: str, source: str
) -> Calibration:
    """``base`` with the fitted ``values`` laid over it (provenance: published data)."""
    fitted = Calibration(
        name=name,
        values={
            k: CalibrationValue(value=float(v), provenance="published", source=source)
            for k, v in values.items()
        },
    )
    return base.merged(fitted)


def priors_calibration(base: Calibration) -> Calibration:
    """``base`` without any fitted inference key: only the global :data:`PRIORS`.

    A leave-one-source-out fit starts from this, so that nothing fitted on the held-out
    source (such as the shipped group-level keys) leaks into its predictions.
    """
    kept = {k: v for k, v in base.values.items() if not k.startswith("inference.")}
    priors = {
        f"inference.{k}": CalibrationValue(
            value=v, provenance="assumed", source="aidc.validation.inference_fit.PRIORS"
        )
        for k, v in PRIORS.items()
    }
    priors |= {
        f"inference.{kind}.{k}": CalibrationValue(
            value=v, provenance="assumed", source="aidc.validation.inference_fit.KIND_PRIORS"
        )
        for kind, vals in KIND_PRIORS.items()
        for k, v in vals.items()
    }
    return Calibration(
        name=f"{base.name}-priors", description="priors only", values={**kept, **priors}
    )
