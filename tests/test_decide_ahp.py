"""AHP weights from pairwise judgements and Saaty's consistency check."""

from __future__ import annotations

import itertools

import pytest

from aidc.decide.ahp import ahp_weights
from aidc.decide.metrics import PRINCIPLES
from aidc.errors import AidcInputError
from aidc.spec.load import scenario_from_data


def consistent(weights: dict[str, float]) -> dict[str, float]:
    return {f"{a}>{b}": weights[a] / weights[b] for a, b in itertools.combinations(weights, 2)}


def test_consistent_matrix_returns_its_weights():
    w = dict(zip(PRINCIPLES, (0.4, 0.2, 0.2, 0.1, 0.1), strict=True))
    res = ahp_weights(consistent(w))
    assert res.weights == pytest.approx(w, abs=1e-9)
    assert res.consistency_ratio == pytest.approx(0.0, abs=1e-9)
    assert res.lambda_max == pytest.approx(5.0)


def test_subset_of_principles_gets_the_rest_zero():
    res = ahp_weights({"performance>cost_effectiveness": 3})
    assert res.weights["performance"] == pytest.approx(0.75)
    assert res.weights["cost_effectiveness"] == pytest.approx(0.25)
    assert res.weights["security"] == 0.0
    assert res.compared == ("performance", "cost_effectiveness")


def test_mildly_inconsistent_is_accepted_with_its_ratio():
    # Saaty's textbook-style example: a little off from consistent, CR well under 0.1
    res = ahp_weights(
        {
            "performance>scalability": 3,
            "performance>cost_effectiveness": 5,
            "scalability>cost_effectiveness": 2,
        }
    )
    assert 0 < res.consistency_ratio < 0.1
    assert (
        res.weights["performance"] > res.weights["scalability"] > res.weights["cost_effectiveness"]
    )


@pytest.mark.parametrize(
    ("judgements", "needle"),
    [
        ({"performance>securty": 3}, "unknown principle 'securty'"),
        ({"performance-security": 3}, "must look like"),
        ({"performance>performance": 3}, "with itself"),
        ({"performance>security": 12}, "off Saaty's scale"),
        ({"performance>security": 3, "security>performance": 2}, "must be reciprocal"),
        (
            {"performance>security": 3, "security>cost_effectiveness": 3},
            "missing pair 'performance>cost_effectiveness'",
        ),
        (
            {
                "performance>security": 3,
                "security>cost_effectiveness": 3,
                "performance>cost_effectiveness": 0.2,
            },
            "consistency ratio",
        ),
    ],
)
def test_bad_judgements_name_the_pair(judgements, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        ahp_weights(judgements)


def scenario(prefs: dict) -> dict:
    return {
        "name": "t",
        "workloads": {
            "inference": [
                {
                    "name": "qa",
                    "model": "bert-base",
                    "task": "qa",
                    "traffic": {"peak_rps": 5, "input_tokens": {"mean": 64}},
                    "slo": {"p99_latency_ms": 100},
                }
            ]
        },
        "preferences": prefs,
    }


def test_scenario_reports_one_line_naming_the_field_and_pair():
    bad = {"method": "ahp", "ahp_pairwise": {"performance>security": 3, "security>performance": 3}}
    with pytest.raises(AidcInputError) as err:
        scenario_from_data(scenario(bad), origin="s.yaml")
    msg = str(err.value)
    assert "\n" not in msg
    assert "preferences.ahp_pairwise" in msg and "'security>performance'" in msg


def test_scenario_ahp_weights_are_the_weights_in_force():
    sc = scenario_from_data(
        scenario({"method": "ahp", "ahp_pairwise": {"performance>security": 4}}), origin="s"
    )
    assert sc.preferences.normalised()["performance"] == pytest.approx(0.8)
    with pytest.raises(AidcInputError, match="needs ahp_pairwise"):
        scenario_from_data(scenario({"method": "ahp"}), origin="s")
