"""Analytic p99 TTFT under continuous batching (:func:`aidc.model.serving_tail.ttft_tail_s`)
against the discrete-event simulation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.model.inference import build_deployment
from aidc.model.serve_format import serve_format
from aidc.model.serving_tail import with_slot_wait_s
from tests.serving_helpers import fast_and_simulated


def _deployment(**scale: float):  # type: ignore[no-untyped-def]
    cat = load_catalog()
    acc = cat.accelerators.get("H100-SXM")
    d = build_deployment(
        [cat.models.get("llama-3.3-70b")],
        [acc],
        [cat.software.get("vllm")],
        [serve_format("fp8")],
        tp=np.array([2.0]),
        pp=np.array([1.0]),
        links={lk.id: lk for lk in cat.links},
        efficiency=efficiency_columns(load_default_calibration(), [(acc.id, "vllm", "fp8")]),
    )
    eff = dataclasses.replace(d.eff, **{k: getattr(d.eff, k) * v for k, v in scale.items()})
    return dataclasses.replace(d, eff=eff)


TOLERANCE = 0.3
"""What the model honestly achieves against one replica (Poisson arrivals, as it assumes;
an hour of traffic so the simulated p99 is stable to a few percent): analytic / simulated
0.81-1.24 at these points over seeds 1, 2, 3 and 11 with the H100 calibration fitted freely;
1.26 at (3000, 100) half load (seed 11) since the H100's memory_bw_efficiency is the measured
weight-streaming share (0.83 instead of 0.62): faster decode leaves prefill, which the
analytic model overcharges, a larger share of each iteration. Fixed 3000-token prompts at half load
run ~20% high: the analytic step model charges a prefill ~15% more than the simulator's
linearised ``max(memory, compute)`` cost, and ``1 / (1 - λ E[Δ])`` amplifies it; short
prompts (200/500) run ~18% low."""


@pytest.mark.parametrize(
    ("scale", "shape", "load"),
    [
        ({}, (1000, 250, 3000, 800), 0.2),
        ({}, (1000, 250, 3000, 800), 0.5),
        ({}, (1000, 250, 3000, 800), 0.8),
        ({}, (3000, 100, None, None), 0.2),
        ({}, (3000, 100, None, None), 0.5),
        ({}, (200, 500, 600, 1500), 0.2),
        ({"step_overhead_s": 4.0}, (1000, 250, 3000, 800), 0.8),
        ({"compute": 0.5}, (1000, 250, 3000, 800), 0.5),
    ],
)
def test_analytic_p99_ttft_tracks_simulation(scale, shape, load):
    """p99 TTFT of the fast path within :data:`TOLERANCE` of the simulated one; the old
    rule (slot wait + one p99 prompt's prefill) ran 30-80% low at these points, as it left
    out the iteration in progress and the prompts sharing the arrival's iteration."""
    d = _deployment(**scale)
    lv, s = fast_and_simulated(
        d, shape, load, replicas=1, duration_s=3600.0, warmup_s=60.0, seed=11
    )
    assert lv.ttft_p99_s == pytest.approx(s["ttft_p99_s"], rel=TOLERANCE)


def test_slot_wait_adds_its_quantile_to_the_admitted_ttft():
    """Without waiting the p99 is the admitted one; with ``C = 0.5`` and ``θ = 10/s`` the
    wait's own p99 ``ln 50 / 10`` is added to the (mean-shifted) admitted TTFT; an
    unstable slot queue gives ``inf``."""
    assert with_slot_wait_s(0.3, 0.1, 0.01, 0.005, 10.0) == 0.3
    x = with_slot_wait_s(0.3, 0.1, 0.01, 0.5, 10.0)
    assert x == pytest.approx(math.log(50.0) / 10.0 + 0.1 + 0.05)
    assert with_slot_wait_s(0.3, 0.1, 0.01, 1.0, 0.0) == math.inf
