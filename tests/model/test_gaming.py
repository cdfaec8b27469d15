"""Bad actors take match, and each counter-measure catches the kind it is meant for."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.campaign import Campaign
from sim.outputs.tables import summary, tables
from tests.conftest import tiny_cfg
from tests.unit.test_post_event import run as allocate_window

SCALE = 0.004


def metrics(*overrides):
    c = Campaign(tiny_cfg(*overrides, scale=SCALE))
    res = c.run()
    return summary(res, tables(res))["metrics"], c


@pytest.fixture(scope="module")
def machines():
    return {
        label: metrics("scenario=y2017", "gaming=machines", *extra)
        for label, extra in {
            "open": (),
            "rate_limit": ("policy.countermeasures.rate_limit_per_minute=4",),
            "honest": ("gaming=none",),
        }.items()
    }


def test_machine_donors_take_match_from_a_first_come_first_served_pool(machines):
    """2017's machines [P]: 234,775 gifts of 25,244 accounts, more than 7M yuan, 3.71M of
    match (0.53 a yuan): one burst an account, matched by the rules as any gift."""
    m, c = machines["open"]
    gaming_ids = c.donors.kind > 0
    made = c.donors.gifts_made[gaming_ids]
    assert (made > 0).all()  # every account fires, once
    assert made.mean() == pytest.approx(9.3, rel=0.1)
    assert m["gaming_gifts"] == pytest.approx(234_775 * SCALE, rel=0.1)
    per_yuan = m["gaming_match_yuan"] / m["gaming_public_yuan"]
    assert 0.2 < per_yuan < 1.0, per_yuan  # matched as honest gifts of their minutes are
    assert m["gaming_share_of_match"] > 0.001


def test_a_rate_limit_stops_machines_and_spares_honest_donors(machines):
    open_, limited, honest = (machines[k][0] for k in ("open", "rate_limit", "honest"))
    # a burst's first 4 gifts pass (about 4 of 9.3) and the rest are refused, the account
    # banned: the machines keep under half of their match
    ratio = limited["gaming_match_yuan"] / open_["gaming_match_yuan"]
    assert 0.25 < ratio < 0.55, ratio
    # honest donors rarely give 5 times in a minute: their matched share barely moves
    assert limited["matched_donor_share"] == pytest.approx(honest["matched_donor_share"], abs=0.02)


@pytest.fixture(scope="module")
def rings():
    return {
        # pools that last (donors rush a 1:1 match: the scenario's run out in minutes), with
        # no cap a project (a ring aims at one project)
        label: metrics(
            "gaming=rings",
            "policy=fixed_ratio",
            "policy.budget=3e9",
            "policy.foundation.project_cap_yuan=null",
            *extra,
        )
        for label, extra in {
            "open": (),
            "freeze": ("policy.countermeasures.freeze_after_detections=5",),
        }.items()
    }


def test_rings_take_match_and_freezing_on_detection_cuts_it(rings):
    (open_, _), (frozen, c_frozen) = rings["open"], rings["freeze"]
    assert open_["gaming_match_yuan"] > 0 and open_["projects_frozen"] == 0
    assert frozen["projects_frozen"] >= 1
    assert frozen["gaming_match_yuan"] < 0.5 * open_["gaming_match_yuan"]
    # the frozen projects are the rings' own, and they got no match after freezing
    ring_projects = np.unique(c_frozen.gaming.target)
    frozen_projects = np.flatnonzero(c_frozen.projects.frozen)
    assert np.isin(frozen_projects, ring_projects).mean() > 0.9


def test_the_pairwise_bound_stops_two_colluders_taking_the_pool():
    # 100 honest donors give 1 yuan to project 0; two colluders give 10,000 each to project 1
    gifts = [(d, 0, 1) for d in range(100)] + [(1000, 1, 10_000), (1001, 1, 10_000)]
    plain = allocate_window({"type": "quadratic"}, gifts, budget_yuan=10_000)
    bound = allocate_window(
        {"type": "pairwise_quadratic", "pairwise_m_yuan": 100}, gifts, budget_yuan=10_000
    )
    # plain QF: subsidies 9,900 and 20,000 -> the pair takes two thirds of the pool
    assert plain.per_project[1] / plain.per_project.sum() == pytest.approx(20 / 29.9, abs=1e-3)
    # bounded: the pair's term is 2 x 10,000 x 100 / 10,100 = 198 against 9,802
    assert bound.per_project[1] / bound.per_project.sum() == pytest.approx(198 / 10_000, abs=1e-3)


def test_honest_gifts_are_the_same_with_and_without_gaming():
    """Gaming gifts come from their own random stream (common random numbers): where
    gaming changes nothing donors can see (quadratic funding pays at the close, and its
    estimate is first published an hour into the window), the honest gifts are the same;
    the rings' projects then get more of the pool. After that, the fake gifts are in the
    published estimate, and donors respond to it."""
    (m_g, with_g), (m_0, without) = (metrics("policy=qf", *g) for g in (("gaming=both",), ()))
    honest = slice(0, without.donors.n)
    np.testing.assert_array_equal(with_g.donors.level[honest], without.donors.level[honest])
    g, g0 = with_g.series.counts, without.series.counts
    first = int(with_g.pools.open_at[0]) + with_g.cfg.scenario.response.estimate_minutes
    np.testing.assert_array_equal((g["gifts"] - g["gaming_gifts"])[:first], g0["gifts"][:first])
    # and their money: public giving is the honest gifts' plus the gaming identities'
    np.testing.assert_array_equal(
        (g["public_fen"] - g["gaming_public_fen"])[:first], g0["public_fen"][:first]
    )
    assert (g["gaming_gifts"][:first] > 0).any() and m_g["gaming_public_yuan"] > 0
    assert m_0["gaming_public_yuan"] == 0
    assert m_g["gaming_match_yuan"] > 0 and m_0["gaming_match_yuan"] == 0
    assert m_g["foundation_paid_yuan"] == pytest.approx(m_0["foundation_paid_yuan"], rel=1e-3)
