"""Predict reference training rows and score the predictions (pure; rows come in parsed).

For each row: parse its configuration (:func:`aidc.calibrate.reference.parse_run`), build
the candidate plans it leaves open (an unstated micro-batch or recompute mode is chosen
as aidc's planner would: the fastest plan that fits in memory), predict, and compare
with the row's measured throughput (tokens/s per device), peak memory and OOM flag.

A row is *scorable* when it reports a throughput and the catalog knows its hardware;
it is *scored* when aidc also predicts it. Errors are absolute percentage errors as
fractions, ``|predicted - measured| / measured``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from aidc.calibrate.reference import Measurement, TrainingRun, parse_measurement, parse_run
from aidc.catalog.efficiency import KernelEfficiency, select_kernel_efficiency
from aidc.catalog.loader import Catalog
from aidc.model.memory import RECOMPUTE_CODES
from aidc.model.training import (
    TrainingCalibration,
    TrainingDevices,
    TrainingEstimate,
    TrainingPlanArrays,
    TrainingSettings,
    estimate_training,
    training_devices,
)
from aidc.search.training_space import VP_CHOICES, interleaving_fits

MICRO_BATCH_SEARCH = (1, 2, 4, 8, 16, 32)
METRIC = "tokens_per_s_per_gpu"


@dataclass(frozen=True)
class PreparedRow:
    """A row ready to predict: its run, candidate plans, devices and measurement."""

    run: TrainingRun
    measurement: Measurement
    devices: TrainingDevices | None = None
    plan: TrainingPlanArrays | None = None
    settings: TrainingSettings | None = None

    @property
    def scorable(self) -> bool:
        """The row reports a throughput and the catalog knows its hardware."""
        return self.run.accelerator is not None and self.measurement.reports_throughput

    @property
    def scored(self) -> bool:
        """Scorable, predicted, and its throughput converts to tokens/s per device."""
        return (
            self.scorable
            and self.predictable
            and self.measurement.tokens_per_s_per_device is not None
        )

    @property
    def predictable(self) -> bool:
        return self.plan is not None

    @property
    def plan_stated(self) -> bool:
        """The row states its whole plan (aidc chose no micro-batch or recompute mode):
        only then is its peak memory or OOM a test of the memory model."""
        return self.plan is not None and len(self.plan) == 1


def _candidates(run: TrainingRun) -> TrainingPlanArrays:
    mbs = [run.micro_batch] if run.micro_batch else list(MICRO_BATCH_SEARCH)
    rcs = [run.recompute] if run.recompute else list(RECOMPUTE_CODES)
    # an interleaved schedule of unstated depth: the deeper ones the planner searches
    n_layers = run.arch.n_layers if run.arch is not None else 0
    deeper = np.array([v for v in VP_CHOICES if v > 1])
    vps = (
        [run.vp]
        if run.vp
        else deeper[interleaving_fits(np.full(deeper.size, run.pp), deeper, n_layers)].tolist()
        or [1]
    )
    rows = []
    for mb in mbs:
        if run.grad_accum:
            ga = run.grad_accum
        elif run.global_batch_seqs:
            if run.global_batch_seqs < mb * run.dp and mb > 1:
                continue
            ga = max(1, round(run.global_batch_seqs / (mb * run.dp)))
        else:
            ga = 1
        for rc in rcs:
            for vp in vps:
                rows.append((mb, ga, RECOMPUTE_CODES[rc], vp))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    k = len(arr)

    def full(v: int) -> np.ndarray:
        return np.full(k, v, dtype=np.int64)

    return TrainingPlanArrays(
        n_devices=full(run.n_devices),
        tp=full(run.tp),
        pp=full(run.pp),
        dp=full(run.dp),
        micro_batch=arr[:, 0],
        grad_accum=arr[:, 1],
        zero_stage=full(run.zero_stage),
        recompute=arr[:, 2],
        cp=full(run.cp),
        ep=full(run.ep),
        vp=arr[:, 3],
        sequence_parallel=np.full(k, run.sequence_parallel),
    )


def prepare_row(
    row: Mapping[str, str], catalog: Catalog, kernel_records: Sequence[KernelEfficiency]
) -> PreparedRow:
    run = parse_run(row, catalog)
    meas = parse_measurement(row, run)
    if run.skip_reason is not None or run.arch is None or run.accelerator is None:
        return PreparedRow(run=run, measurement=meas)
    plan = _candidates(run)
    links = {lk.id: lk for lk in catalog.links}
    dev = training_devices(
        [run.accelerator],
        [select_kernel_efficiency(kernel_records, run.accelerator)],
        run.precision,
        links,
        run.scaleout_link,
    ).take(np.zeros(len(plan), dtype=np.int64))
    if run.scaleout_share != 1.0:  # fewer NICs than devices per node: they share them
        hw = replace(
            dev.hw, scaleout_bw_bytes_per_s=dev.hw.scaleout_bw_bytes_per_s * run.scaleout_share
        )
        dev = replace(dev, hw=hw)
    settings = TrainingSettings(
        seq_len=run.seq_len,
        optimizer=run.optimizer,
        precision=run.precision,
        flash_attention=run.flash_attention,
        compiled=run.compiled,
        grad_bytes=run.grad_bytes,
        loss_bytes_per_logit=run.loss_bytes_per_logit,
    )
    return PreparedRow(run=run, measurement=meas, devices=dev, plan=plan, settings=settings)


@dataclass(frozen=True)
class RowResult:
    """One row's prediction and score (``skipped`` set when not predicted)."""

    row_id: str
    source_id: str
    hardware: str
    measured: float | None = None
    predicted: float | None = None
    basis: str = ""
    skipped: str | None = None
    measured_memory_bytes: float | None = None
    predicted_memory_bytes: float | None = None
    predicted_fits: bool | None = None
    measured_oom: bool | None = None
    plan: dict[str, object] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    band: tuple[float, float] | None = None

    @property
    def ape(self) -> float | None:
        if self.measured is None or self.predicted is None:
            return None
        return abs(self.predicted - self.measured) / self.measured

    @property
    def memory_ape(self) -> float | None:
        if self.measured_memory_bytes is None or self.predicted_memory_bytes is None:
            return None
        return (
            abs(self.predicted_memory_bytes - self.measured_memory_bytes)
            / self.measured_memory_bytes
        )


def choose(est: TrainingEstimate) -> int:
    """The fastest candidate that fits; the fastest overall if none fits."""
    t = np.where(np.isfinite(est.step_time_s), est.tokens_per_s, -np.inf)
    fits = est.fits & np.isfinite(t)
    if fits.any():
        return int(np.argmax(np.where(fits, t, -np.inf)))
    return int(np.argmax(t))


def predict_row(p: PreparedRow, cal: TrainingCalibration) -> RowResult:
    run, meas = p.run, p.measurement
    hw = run.accelerator.id if run.accelerator else run.hardware
    base = dict(
        row_id=run.row_id,
        source_id=run.source_id,
        hardware=hw,
        measured=meas.tokens_per_s_per_device,
        basis=meas.basis,
        measured_memory_bytes=meas.peak_memory_bytes,
        measured_oom=meas.oom,
        assumptions=run.assumptions,
    )
    if not p.predictable:
        return RowResult(**base, skipped=run.skip_reason or "not predictable")
    est = estimate_training(run.arch, p.devices, p.plan, p.settings, cal)
    i = choose(est)
    plan = {
        "tp": run.tp,
        "pp": run.pp,
        "dp": run.dp,
        "cp": run.cp,
        "vp": int(p.plan.vp[i]),
        "micro_batch": int(p.plan.micro_batch[i]),
        "grad_accum": int(p.plan.grad_accum[i]),
        "zero_stage": run.zero_stage,
        "recompute": next(k for k, v in RECOMPUTE_CODES.items() if v == int(p.plan.recompute[i])),
        "precision": run.precision.value,
        "seq_len": run.seq_len,
        "scaleout_link": run.scaleout_link,
    }
    stated = p.plan_stated
    return RowResult(
        **base,
        predicted=float(est.tokens_per_s_per_device[i]),
        predicted_memory_bytes=float(est.memory_total_bytes[i]) if stated else None,
        predicted_fits=bool(est.fits[i]) if stated else None,
        plan=plan,
        band=(
            float(est.tokens_per_s_low[i]) / run.n_devices,
            float(est.tokens_per_s_high[i]) / run.n_devices,
        ),
    )


def _stats(apes: Sequence[float]) -> dict[str, float | int | None]:
    a = np.asarray(apes, dtype=float)
    if not len(a):
        return {"n": 0, "median_ape": None, "p90_ape": None}
    return {
        "n": len(a),
        "median_ape": float(np.median(a)),
        "p90_ape": float(np.quantile(a, 0.9)),
    }


@dataclass(frozen=True)
class ValidationReport:
    results: tuple[RowResult, ...]
    scorable: int
    scored: int

    def throughput_results(self) -> list[RowResult]:
        return [r for r in self.results if r.ape is not None]

    def summary(self) -> dict[str, object]:
        scored = self.throughput_results()
        by_source: dict[str, list[float]] = defaultdict(list)
        by_hw: dict[str, list[float]] = defaultdict(list)
        for r in scored:
            by_source[r.source_id].append(r.ape)
            by_hw[r.hardware].append(r.ape)
        overall = _stats([r.ape for r in scored])
        mem = [r.memory_ape for r in self.results if r.memory_ape is not None]
        oom_rows = [r for r in self.results if r.measured_oom and r.predicted_fits is not None]
        ran = [
            r
            for r in self.results
            if r.measured is not None and r.predicted_fits is not None and not r.measured_oom
        ]
        return {
            "scorable": self.scorable,
            "scored": self.scored,
            "coverage": self.scored / self.scorable if self.scorable else None,
            "median_ape": overall["median_ape"],
            "p90_ape": overall["p90_ape"],
            "by_source": {k: _stats(v) for k, v in sorted(by_source.items())},
            "by_hardware": {k: _stats(v) for k, v in sorted(by_hw.items())},
            "memory": _stats(mem),
            "oom": {
                "rows": len(oom_rows),
                "predicted_oom": sum(1 for r in oom_rows if not r.predicted_fits),
                "accuracy": (sum(1 for r in oom_rows if not r.predicted_fits) / len(oom_rows))
                if oom_rows
                else None,
                "ran_rows": len(ran),
                "ran_predicted_to_fit": sum(1 for r in ran if r.predicted_fits),
            },
        }

    def to_json(self) -> dict[str, object]:
        rows: list[dict[str, object]] = []
        for r in self.results:
            if r.ape is not None:
                rows.append(
                    {
                        "row_id": r.row_id,
                        "metric": METRIC,
                        "measured": r.measured,
                        "predicted": r.predicted,
                        "ape": r.ape,
                        "source_id": r.source_id,
                        "hardware": r.hardware,
                        "measured_from": r.basis,
                        "predicted_low": r.band[0] if r.band else None,
                        "predicted_high": r.band[1] if r.band else None,
                        "plan": r.plan,
                        "assumptions": list(r.assumptions),
                        **(
                            {
                                "measured_peak_memory_bytes": r.measured_memory_bytes,
                                "predicted_peak_memory_bytes": r.predicted_memory_bytes,
                                "memory_ape": r.memory_ape,
                            }
                            if r.memory_ape is not None
                            else {}
                        ),
                    }
                )
            else:
                entry: dict[str, object] = {
                    "row_id": r.row_id,
                    "skipped": r.skipped or _why_unscored(r),
                }
                if r.measured_oom is not None and r.predicted_fits is not None:
                    entry["oom_measured"] = True
                    entry["oom_predicted"] = not r.predicted_fits
                    entry["predicted_peak_memory_bytes"] = r.predicted_memory_bytes
                rows.append(entry)
        return {"summary": self.summary(), "rows": rows}


def _why_unscored(r: RowResult) -> str:
    if r.measured_oom:
        return "ran out of memory (scored as an OOM classification)"
    if r.measured is None:
        return "no throughput measured (tokens/s, TFLOP/s with its kind, or iteration time)"
    return "not predicted"


def validate_rows(
    rows: Sequence[Mapping[str, str]],
    catalog: Catalog,
    kernel_records: Sequence[KernelEfficiency],
    cal: TrainingCalibration,
) -> ValidationReport:
    prepared = [prepare_row(r, catalog, kernel_records) for r in rows]
    return score_prepared(prepared, cal)


def score_prepared(prepared: Sequence[PreparedRow], cal: TrainingCalibration) -> ValidationReport:
    results = []
    for p in prepared:
        res = predict_row(p, cal)
        if not p.scorable and res.skipped is None:
            # predicted (e.g. for memory or OOM) but no throughput to score
            res = RowResult(**{**res.__dict__, "measured": None})
        results.append(res)
    scorable = sum(1 for p in prepared if p.scorable)
    scored = sum(1 for p in prepared if p.scored)
    return ValidationReport(results=tuple(results), scorable=scorable, scored=scored)
