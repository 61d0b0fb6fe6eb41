from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidc.model.collectives import allgather_time_s, allreduce_time_s, p2p_time_s


def test_ring_allreduce_hand_checked():
    # 8 ranks, 1 GB, 100 GB/s, 1 us: 2*7*1e-6 + 2*7/8*1e9/1e11 = 14e-6 + 0.0175
    t = allreduce_time_s(1e9, 8, 100e9, 1e-6)
    assert float(t) == pytest.approx(0.0175 + 14e-6)


def test_single_rank_costs_nothing():
    assert float(allreduce_time_s(1e9, 1, 1e9, 1e-6)) == 0.0
    assert float(allgather_time_s(1e9, 1, 1e9, 1e-6)) == 0.0


@given(
    n=st.floats(1e3, 1e11),
    p=st.integers(2, 4096),
    bw=st.floats(1e9, 1e12),
    factor=st.floats(1.0, 10.0),
)
def test_more_bandwidth_never_slower(n, p, bw, factor):
    for algo in ("ring", "tree"):
        slow = allreduce_time_s(n, p, bw, 1e-6, algorithm=algo)
        fast = allreduce_time_s(n, p, bw * factor, 1e-6, algorithm=algo)
        assert fast <= slow
    assert allgather_time_s(n, p, bw * factor, 1e-6) <= allgather_time_s(n, p, bw, 1e-6)
    assert p2p_time_s(n, bw * factor, 1e-6) <= p2p_time_s(n, bw, 1e-6)


def test_broadcasts_over_arrays():
    t = allreduce_time_s(np.array([1e6, 1e9]), np.array([2, 64]), 50e9, 5e-6)
    assert t.shape == (2,) and np.all(t > 0)
