"""Calibrated collective times and fabric sizing: hand-checked cases and invariants."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidc.catalog import load_catalog
from aidc.model.network import (
    OPS,
    CurveParams,
    collective_time_s,
    hierarchical_allreduce_time_s,
)

PLAIN = CurveParams(base_latency_s=0.0, step_latency_s=1e-6, bus_efficiency=1.0)


def test_plain_curve_is_the_alpha_beta_ring():
    # 8 ranks, 1 GB, 100 GB/s, 1 us per step: 2*7*1e-6 + 2*7/8*1e9/1e11
    t = collective_time_s("all_reduce", 1e9, 8, 100e9, PLAIN)
    assert float(t) == pytest.approx(14e-6 + 0.0175)
    t = collective_time_s("all_gather", 1e9, 4, 100e9, PLAIN)
    assert float(t) == pytest.approx(3e-6 + 0.75 * 0.01)


def test_ramp_and_rank_terms_hand_checked():
    c = CurveParams(0.0, 0.0, bus_efficiency=0.5, rank_exponent=1.0, ramp_bytes=1e6)
    # eta at 1 MB on 4 ranks: 0.5 * (4/8)^1 / (1 + 1) = 0.125; time = 0.75 * 1e6 / (1e9 * 0.125)
    t = collective_time_s("reduce_scatter", 1e6, 4, 1e9, c)
    assert float(t) == pytest.approx(0.75e6 / 0.125e9)


def test_single_rank_costs_nothing():
    for op in OPS:
        assert float(collective_time_s(op, 1e9, 1, 1e9, PLAIN)) == 0.0


def _shipped(link: str, op: str) -> CurveParams:
    return CurveParams.of(load_catalog().collectives.get(f"{link}-{op.replace('_', '-')}"))


def test_shipped_h100_allreduce_matches_a_measured_point():
    # aiconfigurator-core NCCL 2.29.2, H100 SXM, 8 GPUs, 2**28 fp16 elements
    # (data/reference/nccl/aiconfigurator_nccl.csv); the fitted curve is within 15%.
    t = float(
        collective_time_s("all_reduce", 2 * 2**28, 8, 450e9, _shipped("nvlink4", "all_reduce"))
    )
    path = Path(__file__).resolve().parents[1] / "data/reference/nccl/aiconfigurator_nccl.csv"
    rows = [
        r
        for r in csv.DictReader(path.open())
        if r["system"] == "h100_sxm"
        and r["op_name"] == "all_reduce"
        and r["num_gpus"] == "8"
        and r["message_size"] == str(2**28)
    ]
    measured = float(rows[0]["latency"]) * 1e-3
    assert t == pytest.approx(measured, rel=0.15)


@given(
    n=st.floats(1e3, 1e10),
    p=st.integers(2, 4096),
    bw=st.floats(1e9, 1e12),
    factor=st.floats(1.0, 10.0),
    op=st.sampled_from(OPS),
    link=st.sampled_from(["nvlink3", "nvlink4", "nvlink5", "pcie5", "ib-ndr", "roce-400g"]),
)
@settings(max_examples=200, deadline=None)
def test_more_bandwidth_never_slower_and_bigger_messages_never_faster(n, p, bw, factor, op, link):
    c = _shipped(link, op)
    slow = collective_time_s(op, n, p, bw, c)
    assert collective_time_s(op, n, p, bw * factor, c) <= slow
    assert collective_time_s(op, n * factor, p, bw, c) >= slow


@given(
    n=st.floats(1e4, 1e10),
    nodes=st.integers(1, 512),
    g=st.sampled_from([1, 2, 4, 8]),
    factor=st.floats(1.0, 8.0),
)
@settings(max_examples=100, deadline=None)
def test_hierarchical_allreduce_more_bandwidth_never_slower(n, nodes, g, factor):
    intra = {op: _shipped("nvlink4", op) for op in OPS}
    inter = _shipped("ib-ndr", "all_reduce")
    p = nodes * g
    base = hierarchical_allreduce_time_s(n, p, g, 450e9, intra, 50e9, inter)
    assert hierarchical_allreduce_time_s(n, p, g, 450e9, intra, 50e9 * factor, inter) <= base
    assert hierarchical_allreduce_time_s(n, p, g, 450e9 * factor, intra, 50e9, inter) <= base


def test_hierarchical_within_one_node_is_the_intra_node_allreduce():
    intra = {op: _shipped("nvlink4", op) for op in OPS}
    inter = _shipped("ib-ndr", "all_reduce")
    one = hierarchical_allreduce_time_s(1e8, 8, 8, 450e9, intra, 50e9, inter)
    assert float(one) == pytest.approx(
        float(collective_time_s("all_reduce", 1e8, 8, 450e9, intra["all_reduce"]))
    )


def test_collective_arrays_broadcast():
    t = collective_time_s("alltoall", np.array([1e6, 1e9]), np.array([2, 64]), 50e9, PLAIN)
    assert t.shape == (2,) and np.all(t > 0)
