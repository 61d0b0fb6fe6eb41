"""``expert_efficiency``: a calibrated share of dense-GEMM speed for routed-expert GEMMs."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aidc.catalog import load_catalog
from aidc.catalog.calibration import load_default_calibration
from aidc.catalog.inference_calibration import efficiency_columns
from aidc.model.inference import build_deployment
from aidc.model.inference_step import decode_work, prefill_work, step_time
from aidc.model.serve_format import serve_format
from aidc.validation.inference_fit import BOUNDS, LEVEL_PARAMS, PRIORS

CAT = load_catalog()
CAL = load_default_calibration()
LINKS = {lk.id: lk for lk in CAT.links}


def dep(model: str, tp: int = 4):
    A = CAT.accelerators.get("H100-SXM")
    F = serve_format("fp8")
    return build_deployment(
        [CAT.models.get(model)],
        [A],
        [CAT.software.get("tensorrt-llm")],
        [F],
        tp=np.array([tp], float),
        pp=np.ones(1),
        links=LINKS,
        efficiency=efficiency_columns(CAL, [(A.id, "tensorrt-llm", F.name, A.kind)]),
    )


def with_expert(d, r: float):
    return replace(d, eff=replace(d.eff, expert=np.full(1, r)))


@pytest.mark.parametrize("work", [decode_work(64.0, 1024.0), prefill_work(4.0, 2048.0)])
def test_factor_divides_only_the_routed_expert_gemm_time(work):
    d = dep("llama-4-scout")
    one, half = step_time(with_expert(d, 1.0), work), step_time(with_expert(d, 0.5), work)
    # the routed-expert GEMMs take twice as long; nothing else in the step moves
    extra = half.gemm_s[0] - one.gemm_s[0]
    assert extra > 0.05 * one.gemm_s[0]
    for part in ("attention_s", "elementwise_s", "comm_s", "lm_head_s", "overhead_s"):
        assert getattr(half, part)[0] == pytest.approx(getattr(one, part)[0])
    # gemm = dense + expert GEMMs + permutation; doubling the expert GEMM time adds exactly
    # that time again, so a third run at 1/3 adds twice the extra of 1/2
    third = step_time(with_expert(d, 1.0 / 3.0), work)
    assert third.gemm_s[0] - one.gemm_s[0] == pytest.approx(2.0 * extra, rel=1e-9)


def test_dense_models_ignore_the_factor():
    d = dep("llama-3.3-70b", tp=2)
    for work in (decode_work(64.0, 1024.0), prefill_work(4.0, 2048.0)):
        a = step_time(with_expert(d, 1.0), work)
        b = step_time(with_expert(d, 0.3), work)
        assert b.stage_s[0] == a.stage_s[0]
        assert b.gemm_s[0] == a.gemm_s[0]


def test_fitted_per_device_and_bounded():
    assert PRIORS["expert_efficiency"] == 1.0
    lo, hi = BOUNDS["expert_efficiency"]
    assert lo < PRIORS["expert_efficiency"] < hi
    assert "expert_efficiency" in LEVEL_PARAMS["global"]
    assert "expert_efficiency" in LEVEL_PARAMS["accelerator"]
    # never per engine: what an engine changes is modelled, the kernels' share is the device's
    assert "expert_efficiency" not in LEVEL_PARAMS["engine"]
    # the shipped calibration has the key (a lookup for any device finds a value)
    d = dep("llama-4-scout")
    assert 0.2 <= float(d.eff.expert[0]) <= 2.0
