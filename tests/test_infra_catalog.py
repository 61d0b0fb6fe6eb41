"""Consistency of the infrastructure catalog files: gear, collective curves, facts."""

from __future__ import annotations

from aidc.catalog import load_catalog
from aidc.model.network import OPS
from aidc.planner.infra_facts import FACT_IDS, FRONTEND_LINK, TRAINING_SCALEOUT_LINK, infra_facts
from aidc.spec.scenario import PriceOverrides


def test_every_scale_out_link_has_a_switch_nic_and_link():
    cat = load_catalog()
    scale_out = {lk.id for lk in cat.links if lk.scope == "scale-out"}
    for link in scale_out:
        kinds = {g.kind for g in cat.network_gear if g.link == link}
        assert {"switch", "nic", "cable"} <= kinds, link
    for g in cat.network_gear:
        assert g.link in cat.links, g.id
    assert {TRAINING_SCALEOUT_LINK, FRONTEND_LINK} <= scale_out


def test_every_collective_curve_names_a_known_link_and_is_monotone():
    cat = load_catalog()
    for c in cat.collectives:
        assert c.link in cat.links, c.id
        assert 0 < c.ramp_exponent <= 1, c.id
    # every scale-out link and every fitted scale-up link has all four collectives
    for link in {c.link for c in cat.collectives}:
        for op in OPS:
            assert f"{link}-{op.replace('_', '-')}" in cat.collectives


def test_infrastructure_facts_resolve_and_are_positive():
    cat = load_catalog()
    for key, fact_id in FACT_IDS.items():
        assert cat.facility.get(fact_id).value > 0, key
    f = infra_facts(cat, PriceOverrides())
    assert f.failure_rate_per_device_s > 0 and f.flash.usd_per_byte > 0
    assert f.space_usd_per_w_per_s > 0 and f.facility_build_usd_per_w == 0
    built = infra_facts(cat, PriceOverrides(facility="build"))
    assert built.space_usd_per_w_per_s == 0 and built.facility_build_usd_per_w > 0
