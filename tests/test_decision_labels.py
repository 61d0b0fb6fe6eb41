"""Design labels: two designs of one plan shape must not read alike in explanations."""

from __future__ import annotations

from aidc.planner.decision import distinct_labels, label
from aidc.planner.result import Design


def _training(mb: int, zero: int) -> Design:
    plan = {
        "tp": 1, "pp": 1, "dp": 8, "micro_batch": mb, "grad_accum": 4, "zero_stage": zero,
        "recompute": "none", "optimizer": "adamw", "deployment": "cloud",
    }  # fmt: skip
    return Design("w", "training", "H100-SXM", 8, plan, {}, True)


def test_alike_designs_get_their_details_and_others_stay_short():
    a, b, c = _training(1, 1), _training(2, 3), _training(2, 3)
    c = Design("w", "training", "B200", 8, dict(c.plan), {}, True)
    got = distinct_labels([a, b, c])
    assert got[2] == label(c) == "B200 x 8 (TP1 PP1 DP8, cloud)"
    assert got[0] != got[1]
    assert got[0] == "H100-SXM x 8 (TP1 PP1 DP8, cloud; mb1x4 ZeRO-1 recompute none adamw)"
    assert "mb2x4 ZeRO-3" in got[1]
