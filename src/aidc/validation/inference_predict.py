"""Predict the measured fields of reference rows with the serving model (vectorised).

The deployment of every row is built once (:func:`prepare`); predictions then take only
the efficiency columns, so a calibration fit can evaluate thousands of parameter sets
quickly. Nothing here sees a measured value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from aidc.catalog.calibration import Calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.catalog.loader import Catalog
from aidc.model.inference import (
    build_deployment,
    continuous_generation,
    encoder_pass,
    static_generation,
)
from aidc.model.inference_arrays import Deployment
from aidc.model.serve_format import serve_format
from aidc.units import MILLISECOND, GiB
from aidc.validation.inference_rows import MEASURED_FIELDS, RowSpec

GENERIC_ENGINE_ID = "generic"


@dataclass(frozen=True)
class PreparedRows:
    specs: tuple[RowSpec, ...]
    base: Deployment
    keys: tuple[tuple[str, str, str, str], ...]  # (accelerator, engine, format, kind) per row

    def __len__(self) -> int:
        return len(self.specs)

    def subset(self, idx: np.ndarray) -> PreparedRows:
        return PreparedRows(
            specs=tuple(self.specs[i] for i in idx),
            base=self.base.take(idx),
            keys=tuple(self.keys[i] for i in idx),
        )


def row_key(spec: RowSpec) -> tuple[str, str, str, str]:
    """Calibration lookup of a row: accelerator, engine, format and device kind."""
    return (
        spec.hardware,
        spec.engine.id if spec.engine else GENERIC_ENGINE_ID,
        spec.fmt,
        spec.accelerator.kind,
    )


def prepare(specs: Sequence[RowSpec], catalog: Catalog, calibration: Calibration) -> PreparedRows:
    links = {lk.id: lk for lk in catalog.links}
    keys = tuple(row_key(s) for s in specs)
    dep = build_deployment(
        [s.arch for s in specs],
        [s.accelerator for s in specs],
        [s.engine for s in specs],
        [serve_format(s.fmt) for s in specs],
        tp=np.array([s.tp for s in specs], dtype=float),
        pp=np.array([s.pp for s in specs], dtype=float),
        links=links,
        efficiency=efficiency_columns(calibration, keys),
    )
    eng = dep.engine
    remove = np.array([s.remove_padding for s in specs]) & eng.remove_padding
    fields = {"remove_padding": remove}
    for name in ("max_batch", "max_num_tokens", "fused_attention"):
        col = getattr(eng, name).copy()
        for i, s in enumerate(specs):
            if name in s.engine_overrides:
                col[i] = s.engine_overrides[name]
        fields[name] = col.astype(bool) if name == "fused_attention" else col
    adp = np.array([s.attention_dp for s in specs], dtype=bool)
    return PreparedRows(
        specs=tuple(specs),
        base=replace(dep, engine=replace(eng, **fields), attention_dp=adp),
        keys=keys,
    )


def predict(
    prep: PreparedRows, efficiency: dict[str, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Predicted value of every measured field for every row (NaN where the row's
    measurement method gives no such figure). ``oom`` is 1.0 when memory does not fit."""
    dep = (
        prep.base
        if efficiency is None
        else replace(prep.base, eff=replace(prep.base.eff, **efficiency))
    )
    specs = prep.specs
    n = len(specs)
    mode = np.array([s.mode for s in specs])
    batch = np.array([s.batch for s in specs], dtype=float)
    conc = np.array([s.concurrency for s in specs], dtype=float)
    n_in = np.array([s.input_len for s in specs], dtype=float)
    n_out = np.array([s.output_len for s in specs], dtype=float)
    real = np.array(
        [s.real_len if s.real_len is not None else s.input_len for s in specs], dtype=float
    )
    gpus = dep.tp * dep.pp
    out = {f: np.full(n, np.nan) for f in MEASURED_FIELDS}
    with np.errstate(all="ignore"):
        enc = mode == "encoder"
        if enc.any():
            d = dep.take(np.flatnonzero(enc))
            e = encoder_pass(d, batch=batch[enc], seq_len=n_in[enc], real_len=real[enc])
            out["e2e_latency_ms"][enc] = e.latency_s / MILLISECOND
            out["requests_per_s"][enc] = e.sequences_per_s
            out["peak_mem_gb"][enc] = e.memory.used_bytes / GiB
            out["oom"][enc] = (~e.memory.fits).astype(float)
        for m, fn in (("static", static_generation), ("continuous", continuous_generation)):
            sel = mode == m
            if not sel.any():
                continue
            d = dep.take(np.flatnonzero(sel))
            if m == "static":
                g = fn(d, batch=batch[sel], input_len=n_in[sel], output_len=n_out[sel])
            else:
                g = fn(d, input_len=n_in[sel], output_len=n_out[sel], concurrency=conc[sel])
            out["e2e_latency_ms"][sel] = g.e2e_s / MILLISECOND
            out["ttft_ms"][sel] = g.ttft_s / MILLISECOND
            out["tpot_ms"][sel] = g.tpot_s / MILLISECOND
            out["output_tokens_per_s"][sel] = g.output_tokens_per_s
            out["output_tokens_per_s_per_gpu"][sel] = g.output_tokens_per_s / gpus[sel]
            out["requests_per_s"][sel] = g.requests_per_s
            out["total_tokens_per_s"][sel] = g.requests_per_s * (n_in[sel] + n_out[sel])
            out["input_tokens_per_s"][sel] = g.requests_per_s * n_in[sel]
            out["prefill_tokens_per_s"][sel] = g.prefill_tokens_per_s
            out["decode_tokens_per_s_per_user"][sel] = g.decode_tokens_per_s_per_user
            out["peak_mem_gb"][sel] = g.memory.used_bytes / GiB
            out["oom"][sel] = (~g.memory.fits).astype(float)
    return out
