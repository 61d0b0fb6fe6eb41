"""Calibration from bench points: the fit recovers known efficiencies; files round-trip."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from aidc.calibrate.bench_calibration import build_calibration, points_from_rows
from aidc.calibrate.bench_device import device_from_probes
from aidc.calibrate.bench_fit import fit_points
from aidc.calibrate.bench_predict import BenchPoint, covered, lookup, predict_s
from aidc.catalog.calibration import load_calibration, load_default_calibration
from aidc.catalog.loader import load_catalog
from aidc.catalog.schema import Precision

CAT = load_catalog()
LINKS = {lk.id: lk for lk in CAT.links}
DEV = "cpu-test-1t"
PROBES = [
    {
        "id": 1,
        "kind": "probe",
        "phase": "gemm_fp32",
        "device_id": DEV,
        "throughput_per_s": 1.0e11,
        "engine": "torch",
        "threads": 1,
    },
    {
        "id": 2,
        "kind": "probe",
        "phase": "gemm_fp32",
        "device_id": DEV,
        "throughput_per_s": 0.8e11,
        "engine": "torch",
        "threads": 1,
    },
    {
        "id": 3,
        "kind": "probe",
        "phase": "gemm_int8",
        "device_id": DEV,
        "throughput_per_s": 8.0e11,
        "engine": "ort",
        "threads": 1,
    },
    {
        "id": 4,
        "kind": "probe",
        "phase": "stream_copy",
        "device_id": DEV,
        "throughput_per_s": 3.0e10,
        "engine": "numpy",
        "threads": 1,
    },
    {
        "id": 5,
        "kind": "probe",
        "phase": "stream_copy",
        "device_id": "other",
        "throughput_per_s": 9.0e10,
    },
]
TRUE = {"compute_efficiency": 0.42, "memory_bw_efficiency": 0.9, "step_overhead_ms": 3.0}


def _device():
    d = device_from_probes(DEV, PROBES, memory_bytes=24e9)
    assert d is not None
    return d


def test_device_from_probes_keeps_the_best_probe_of_this_device():
    d = _device()
    assert d.peak_for(Precision.FP32) == 1.0e11
    assert d.peak_for(Precision.INT8) == 8.0e11
    assert d.peak_for(Precision.BF16) is None
    assert d.memory_bw_bytes_per_s == 3.0e10
    assert "measurement id 1" in d.how["fp32"]
    assert device_from_probes("nothing", PROBES, None) is None


def _points(device, noise: float, seed: int = 0) -> list[BenchPoint]:
    rng = np.random.default_rng(seed)
    pts = []
    shapes = (
        [("bert-base", "forward", b, s, None) for b in (1, 4, 16) for s in (32, 128)]
        + [("gpt2", "decode", b, s, 16) for b in (1, 4, 16) for s in (32, 128)]
        + [("gpt2", "prefill", 1, s, 16) for s in (32, 128, 256)]
    )
    for model, phase, b, s, g in shapes:
        arch = CAT.models.get(model)
        p = BenchPoint(DEV, model, arch, "pytorch", "fp32", phase, b, s, g, measured_s=1.0)
        t = float(predict_s(p, device, TRUE, LINKS)[0]) * float(np.exp(rng.normal(0, noise)))
        pts.append(BenchPoint(DEV, model, arch, "pytorch", "fp32", phase, b, s, g, measured_s=t))
    return pts


def _predict(device):
    return lambda p, v: np.atleast_1d(predict_s(p, device, v, LINKS))


def test_fit_recovers_known_efficiencies_from_noise_free_points():
    device = _device()
    pts = _points(device, noise=0.0)
    cal = load_default_calibration()

    def before(p):
        return float(predict_s(p, device, lookup(cal, p.device, p.engine, p.precision), LINKS)[0])

    report = fit_points(pts, _predict(device), before)
    (fit,) = report.fits
    assert fit.group == (DEV, "pytorch", "fp32")
    for k in ("compute_efficiency", "step_overhead_ms"):
        assert fit.values[k] == pytest.approx(TRUE[k], rel=0.05), k
    assert report.median_error("after") < 0.01
    assert report.median_error("loo") < 0.02
    # the shipped defaults are for GPUs; on this synthetic CPU they are far off
    assert report.median_error("before") > 0.1


def test_leave_one_out_error_reflects_noise():
    device = _device()
    report = fit_points(
        _points(device, noise=0.1, seed=1), _predict(device), lambda p: p.measured_s
    )
    loo = report.median_error("loo")
    assert 0.01 < loo < 0.2
    assert report.median_error("after") <= loo + 1e-9
    assert report.median_error("lomo") > 0  # bert-base held out, fitted on gpt2, and back


def test_coverage_batched_prefill_yes_unknown_precision_no():
    arch = CAT.models.get("gpt2")
    p = BenchPoint(DEV, "gpt2", arch, "pytorch", "fp32", "prefill", 4, 32, 8, 0.1)
    assert covered(p) is None
    q = BenchPoint(DEV, "gpt2", arch, "pytorch", "int3", "prefill", 4, 32, 8, 0.1)
    assert "int3" in (covered(q) or "")


def test_batched_prefill_costs_more_than_one_request():
    device = _device()
    arch = CAT.models.get("gpt2")
    one = BenchPoint(DEV, "gpt2", arch, "pytorch", "fp32", "prefill", 1, 128, 8, 0.1)
    four = BenchPoint(DEV, "gpt2", arch, "pytorch", "fp32", "prefill", 4, 128, 8, 0.1)
    values = {"compute_efficiency": 0.5, "memory_bw_efficiency": 0.7, "step_overhead_ms": 0.1}
    t1 = float(predict_s(one, device, values, LINKS)[0])
    t4 = float(predict_s(four, device, values, LINKS)[0])
    assert t1 < t4 < 4.5 * t1


def test_calibration_file_round_trip_and_key_precedence(tmp_path):
    device = _device()
    report = fit_points(
        _points(device, 0.0), _predict(device), lambda p: p.measured_s, holdout=False
    )
    cal = build_calibration(report, {DEV: device}, name="bench-test", source="unit test")
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(cal.model_dump(mode="json")))
    loaded = load_calibration(path)  # laid over the shipped defaults
    key = f"inference.{DEV}.pytorch.fp32.compute_efficiency"
    assert loaded.values[key].provenance == "measured"
    assert loaded.values[f"device.{DEV}.peak_fp32_tflops"].value == pytest.approx(0.1)
    got = lookup(loaded, DEV, "pytorch", "fp32")
    assert got["compute_efficiency"] == pytest.approx(TRUE["compute_efficiency"], rel=0.05)
    # another engine on this device falls back to the shipped inference.<param>
    default = load_default_calibration()
    assert lookup(loaded, DEV, "onnxruntime", "int8") == lookup(default, DEV, "onnxruntime", "int8")


def test_points_from_rows_merges_repeats_by_median():
    arch = CAT.models.get("bert-base").model_dump(mode="json")
    base = {
        "kind": "inference",
        "phase": "forward",
        "device_id": DEV,
        "model": "bert-base",
        "engine": "pytorch",
        "precision": "fp32",
        "batch": 1,
        "seq_len": 32,
        "gen_len": None,
        "extra": {"arch": arch},
    }
    rows = [{**base, "latency_p50_s": t} for t in (0.1, 0.3, 0.2)]
    rows.append({**base, "kind": "training", "latency_p50_s": 9.0})
    (p,) = points_from_rows(rows)
    assert p.measured_s == pytest.approx(0.2) and p.n_measurements == 3
