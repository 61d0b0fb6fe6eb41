"""Measured weight-streaming bandwidth share as the serving fit's per-device prior."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.efficiency import load_kernel_efficiency
from aidc.catalog.loader import load_catalog
from aidc.validation.inference_fit import (
    fit_calibration,
    fit_data,
    measured_streaming_bw,
    priors_calibration,
)
from aidc.validation.inference_predict import prepare
from aidc.validation.inference_score import parse_rows

CSV = Path(__file__).resolve().parents[1] / "data" / "reference" / "inference.csv"
KEY = "memory_bw_efficiency"


def test_measured_share_comes_from_the_record_listing_the_accelerator():
    measured = measured_streaming_bw(load_kernel_efficiency())
    h100 = next(r for r in load_kernel_efficiency() if "H100-SXM" in r.accelerators)
    assert measured["H100-SXM"] == h100.streaming_bw_efficiency
    assert "T4" not in measured  # no kernel record: keeps the global value as its parent
    default = next(r for r in load_kernel_efficiency() if r.id == "default")
    assert default.streaming_bw_efficiency is None


def _h100_rows():
    cat = load_catalog()
    rows = [r for r in csv.DictReader(CSV.open()) if r["hardware"].startswith("H100")]
    parsed = parse_rows(rows, cat)
    prep = prepare(parsed.specs, cat, priors_calibration(load_default_calibration()))
    return fit_data(prep, parsed.measured)


def test_prior_sets_or_pulls_the_device_value_and_covers_devices_without_rows():
    data = _h100_rows()
    levels = ("global", "accelerator")
    prior = {"H100-SXM": 0.9, "B300": 0.77}
    fixed = fit_calibration(data, levels=levels, streaming_bw=prior, fit_measured_bw=False)
    assert fixed[f"inference.H100-SXM.{KEY}"] == 0.9
    assert fixed[f"inference.B300.{KEY}"] == 0.77  # no rows: the measurement is its value
    free = fit_calibration(data, levels=levels, streaming_bw={}, fit_measured_bw=True)
    pulled = fit_calibration(data, levels=levels, streaming_bw=prior, fit_measured_bw=True)
    # shrinkage: the fitted value moves from the unanchored fit toward the measurement
    a, b = free[f"inference.H100-SXM.{KEY}"], pulled[f"inference.H100-SXM.{KEY}"]
    assert abs(np.log(b / 0.9)) < abs(np.log(a / 0.9))
