"""Data-center compositions: enumeration, pooled spares, sums and limits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from aidc.decide.datacenter import Limits, WorkloadOptions, check, evaluate, pools_of
from aidc.search.datacenter_space import enumerate_compositions, share_pools, trim_options


def opts(name, accs, deps, n, spares, power, capex, tco, sec=1.0, mig=False):
    k = len(accs)
    return WorkloadOptions(
        workload=name,
        design_ids=[f"{name}-{i}" for i in range(k)],
        labels=[f"{a} x {m}" for a, m in zip(accs, n, strict=True)],
        accelerator=list(accs),
        deployment=list(deps),
        software=["vllm"] * k,
        n_devices=np.array(n, float),
        spare_devices=np.array(spares, float),
        facility_power_w=np.array(power, float),
        capex_usd=np.array(capex, float),
        tco_3y_usd=np.array(tco, float),
        principle_scores=np.full((k, 5), 0.5),
        security_score=np.full(k, sec),
        isolation=np.full(k, mig),
    )


LIMITS = Limits(None, None, None, None, None, None, False, 1.5)


def test_enumeration_and_trimming():
    idx = enumerate_compositions([2, 3])
    assert idx.tolist() == [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]
    assert trim_options([30, 30, 30], 1000) == [10, 10, 10]
    assert math.prod(trim_options([50, 3, 40], 2000)) <= 2000


def test_share_pools_keeps_the_largest_spares_once():
    keys = np.array([[7, 7, 3], [1, 2, 3]])
    spares = np.array([[1.0, 2.0, 1.0], [1.0, 2.0, 1.0]])
    sh = share_pools(keys, spares)
    assert sh.n_pools.tolist() == [2, 3]
    assert sh.pool_of[0].tolist() == [0, 0, 1]
    # in the shared pool workload 1 keeps its 2 spares, workload 0's one is pooled away
    assert sh.keeps_spares[0].tolist() == [False, True, True]
    assert sh.keeps_spares[1].all()


def test_shared_pool_saves_spares_and_their_cost():
    a = opts(
        "qa",
        ["H100", "MI300X"],
        ["on-prem", "on-prem"],
        [4, 2],
        [1, 1],
        [4e3, 3e3],
        [4e5, 2e5],
        [5e5, 3e5],
    )
    b = opts("chat", ["H100"], ["on-prem"], [8], [2], [8e3], [8e5], [1e6])
    idx = enumerate_compositions([2, 1])
    ded = evaluate([a, b], idx, "dedicated", LIMITS)
    sh = evaluate([a, b], idx, "shared", LIMITS)
    assert ded.columns["dc_devices"].tolist() == [12, 10]
    # H100 + H100 share: qa's 1 spare is pooled (chat keeps 2); MI300X + H100 cannot share
    assert sh.columns["spare_devices_pooled"].tolist() == [1, 0]
    assert sh.columns["dc_devices"].tolist() == [11, 10]
    assert sh.columns["dc_tco_3y_usd"][0] == pytest.approx(5e5 * 3 / 4 + 1e6)
    assert sh.columns["dc_capex_usd"][0] == pytest.approx(4e5 * 3 / 4 + 8e5)
    assert ded.columns["accelerator_types"].tolist() == [1, 2]
    pools = pools_of(sh, 0, [a, b])
    assert pools == [
        {
            "accelerator": "H100",
            "deployment": "on-prem",
            "workloads": ["qa", "chat"],
            "devices": 11,
            "spare_devices_pooled": 1,
        }
    ]


def test_cloud_designs_draw_no_facility_power_and_count_as_cloud_spend():
    a = opts("qa", ["H100"], ["cloud"], [4], [1], [4e3], [0.0], [3.6e5])
    ev = evaluate([a], enumerate_compositions([1]), "dedicated", LIMITS)
    assert ev.columns["dc_facility_power_w"][0] == 0
    assert ev.columns["dc_cloud_usd_per_month"][0] == pytest.approx(1e4)


def test_limits_name_the_first_failure_and_isolation_applies_to_shared_pools():
    a = opts("qa", ["A10"], ["on-prem"], [4], [1], [4e3], [4e5], [5e5], mig=False)
    b = opts("chat", ["A10"], ["on-prem"], [8], [2], [8e3], [8e5], [1e6], mig=False)
    idx = enumerate_compositions([1, 1])
    lim = Limits(5e3, None, None, 1e6, None, None, True, 1.5)
    ded = evaluate([a, b], idx, "dedicated", lim)
    r = check(ded, [a, b], lim)[0]
    assert r.constraint == "power" and r.excess == pytest.approx(12e3 - 5e3)
    sh = evaluate([a, b], idx, "shared", lim)
    assert check(sh, [a, b], lim)[0].constraint == "isolation"
    with_mig = [
        opts(o.workload, ["A100"], ["on-prem"], [4], [1], [1e3], [1e5], [1e5], mig=True)
        for o in (a, b)
    ]
    sh2 = evaluate(with_mig, idx, "shared", lim)
    assert check(sh2, with_mig, lim)[0] is None
