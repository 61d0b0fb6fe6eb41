"""Constraints: the first failing one in the declared order, with value, limit and excess."""

from __future__ import annotations

import numpy as np
import pytest

from aidc.decide.constraints import Check, Rejection, fail_counts, first_failures


def describe(i, v, lim, ex):
    return f"{v:g} over {lim:g} by {ex:g}"


def test_first_failure_follows_the_declared_order_not_the_list_order():
    power = Check("power", np.array([5.0, 15.0, 15.0]), 10.0, "max", "W", describe)
    memory = Check(
        "memory", np.array([1.0, 1.0, 3.0]), np.array([2.0, 2.0, 2.0]), "max", "B", describe
    )
    out = first_failures([power, memory], 3)
    assert out[0] is None
    assert out[1].constraint == "power" and out[1].excess == pytest.approx(5.0)
    assert out[1].excess_fraction == pytest.approx(0.5)
    # candidate 2 fails both: memory comes before power
    assert out[2].constraint == "memory"
    assert (out[2].value, out[2].limit, out[2].unit) == (3.0, 2.0, "B")
    assert fail_counts(out) == {"memory": 1, "power": 1}


def test_floor_flag_and_nan():
    floor = Check("slo.throughput", np.array([3.0, 1.0, np.nan]), 2.0, "min", "1", describe)
    flag = Check(
        "software_status",
        np.array([False, False, True]),
        "active",
        "flag",
        "status",
        lambda i, *_: "tgi is deprecated",
    )
    out = first_failures([floor, flag], 3)
    assert out[0] is None
    assert out[1].constraint == "slo.throughput" and out[1].excess == pytest.approx(1.0)
    # NaN cannot be evaluated and passes; the flag rejects it
    assert out[2].constraint == "software_status" and out[2].message == "tgi is deprecated"
    assert str(out[2]) == "software_status: tgi is deprecated"


def test_prior_verdicts_compete_in_the_same_order():
    power = Check("power", np.array([15.0, 15.0]), 10.0, "max", "W", describe)
    prior = [Rejection("memory", "does not fit"), Rejection("price", "no price")]
    out = first_failures([power], 2, prior)
    assert out[0].constraint == "memory"  # earlier than power
    assert out[1].constraint == "power"  # power comes before missing price data


def test_rejection_from_planner_text():
    r = Rejection.from_text("memory: the model does not fit this device")
    assert (r.constraint, r.message) == ("memory", "the model does not fit this device")
    assert Rejection.from_text("something odd happened").constraint == "planner"
