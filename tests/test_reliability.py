"""Reliability and goodput: hand-checked cases, a published validation point, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aidc.catalog import load_catalog
from aidc.model import reliability as rel
from aidc.units import DAY, HOUR, TERA


def test_mtbf_and_interruptions_hand_checked():
    # 1,000 devices at 1e-5 per device-hour: one failure per 100 h
    rate = 1e-5 / HOUR
    assert float(rel.job_mtbf_s(1000, rate)) == pytest.approx(100 * HOUR)
    assert float(rel.expected_interruptions(1000, 50 * HOUR, rate)) == pytest.approx(0.5)
    assert math.isinf(float(rel.job_mtbf_s(1000, 0.0)))


def test_young_and_daly_intervals():
    # d = 60 s, M = 10 h: Young sqrt(2*60*36000) = 2078.5 s; Daly adds the higher-order
    # terms and subtracts d: 2078.5 (1 + sqrt(60/72000)/3 + (60/72000)/9) - 60
    young = float(rel.young_interval_s(60.0, 36000.0))
    assert young == pytest.approx(math.sqrt(2 * 60 * 36000))
    x = 60 / 72000
    daly = float(rel.daly_interval_s(60.0, 36000.0))
    assert daly == pytest.approx(young * (1 + math.sqrt(x) / 3 + x / 9) - 60)
    # a checkpoint longer than twice the MTBF: checkpoint every MTBF
    assert float(rel.daly_interval_s(100.0, 40.0)) == pytest.approx(40.0)


def test_goodput_hand_checked():
    # tau = 1000 s, d = 10 s, R = 100 s, M = 10,000 s, no planned stops:
    # (1 - (100 + 505) / 10000) / (1 + 10 / 1000) = 0.9395 / 1.01
    g = float(rel.goodput(1000.0, 10.0, 100.0, 10000.0))
    assert g == pytest.approx(0.9395 / 1.01)
    # a job that loses more than it gains never finishes
    assert float(rel.goodput(1000.0, 10.0, 20000.0, 10000.0)) == 0.0


def test_llama3_405b_effective_training_time_matches_the_report():
    """Meta reports >90% effective training time on 16,384 H100s (Llama 3 paper, 3.3.4)
    with the catalog's failure rates; checkpoints of 405e9 x 14 B written to Tectonic at
    its stated 2 TB/s sustained throughput; restart overhead from the catalog."""
    cat = load_catalog()
    lam = cat.facility_value("failure-rate-llama3-h100") / HOUR
    lam_p = cat.facility_value("planned-interruption-rate-llama3-h100") / HOUR
    restart = cat.facility_value("restart-overhead-checkpoint-restart")
    ckpt = 405e9 * 14
    d = ckpt / (2 * TERA)
    g, _ = rel.training_goodput(16384, lam, lam_p, d, restart + d)
    assert 0.88 <= float(g) <= 0.95
    # 419 interruptions expected over the 54-day snapshot (by construction of the rate)
    assert float(rel.expected_interruptions(16384, 54 * DAY, lam)) == pytest.approx(419, rel=1e-3)


@given(
    n=st.integers(1, 100_000),
    more=st.integers(1, 100_000),
    d=st.floats(0.1, 600),
    r=st.floats(1, 3600),
)
@settings(max_examples=200, deadline=None)
def test_more_devices_never_raise_goodput(n, more, d, r):
    lam = 2e-5 / HOUR
    g1, _ = rel.training_goodput(n, lam, 0.0, d, r)
    g2, _ = rel.training_goodput(n + more, lam, 0.0, d, r)
    assert float(g2) <= float(g1) + 1e-12


@given(d=st.floats(1, 600), m=st.floats(3600, 1e7), r=st.floats(1, 3600))
@settings(max_examples=200, deadline=None)
def test_daly_interval_is_near_optimal(d, m, r):
    """Where checkpoints cost well under the MTBF (the first-order regime of both the
    interval and the goodput formula), no nearby interval does better."""
    assume(d <= m / 100 and r <= m / 20)
    tau = float(rel.daly_interval_s(d, m))
    g = float(rel.goodput(tau, d, r, m))
    for f in (0.5, 0.8, 1.25, 2.0):
        assert g >= float(rel.goodput(tau * f, d, r, m)) - 1e-3


@given(
    k=st.integers(1, 50), n_extra=st.integers(0, 10), more=st.integers(1, 5), a=st.floats(0.5, 1.0)
)
@settings(max_examples=200, deadline=None)
def test_more_replicas_never_lower_availability(k, n_extra, more, a):
    base = rel.k_of_n_availability(k, k + n_extra, a)
    assert rel.k_of_n_availability(k, k + n_extra + more, a) >= base - 1e-12


def test_availability_hand_checked_and_spares():
    # 1 of 2 needed at 0.99 each: 1 - 0.01^2
    assert rel.k_of_n_availability(1, 2, 0.99) == pytest.approx(1 - 1e-4)
    # 2 of 2 at 0.99: 0.9801 < 0.999, 2 of 3: 3*0.99^2*0.01 + 0.99^3 = 0.999702
    assert rel.k_of_n_availability(2, 3, 0.99) == pytest.approx(3 * 0.99**2 * 0.01 + 0.99**3)
    assert rel.spares_for_availability(2, 0.99, 0.999) == 1
    assert rel.spares_for_availability(2, 0.99, 0.9999) == 2
    a = rel.replica_availability(np.array([4.0]), 1e-5 / HOUR, 600.0)
    mtbf = HOUR / 4e-5
    assert float(a[0]) == pytest.approx(mtbf / (mtbf + 600.0))
