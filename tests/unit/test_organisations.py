"""Organisations, the enterprise pools they recruit, and the gaming identities (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.checks import year_population
from sim.codes import KIND_MACHINE
from sim.model.calendar import Calendar
from sim.model.gaming import Gaming, _rank_within
from sim.model.pools import _recruit, expected_public_yuan
from sim.model.projects import Projects, org_landscape
from sim.model.streams import stream
from tests.conftest import tiny_cfg


def test_the_landscape_head_is_the_same_in_every_seed_and_the_tail_is_drawn():
    a = org_landscape(2000, 2.4, 100, np.random.default_rng(1))
    b = org_landscape(2000, 2.4, 100, np.random.default_rng(2))
    np.testing.assert_array_equal(a[:100], b[:100])
    assert not np.array_equal(a[100:], b[100:])
    assert (np.diff(a) <= 0).all()  # largest first, the tail below the head
    # the head at the lognormal's quantiles: the largest of 2,000 at the 99.975th percentile
    assert a[0] == pytest.approx(np.exp(2.4 * 3.4807), rel=1e-3)


def test_every_organisation_and_project_is_built_at_any_scale():
    """The same projects at every scale; a goal, money a project raises, scales with it (to
    the yuan, at least 1 yuan), as the per-project caps do."""
    cfg = tiny_cfg("scenario=y2018")
    full = Projects.build(year_population(cfg).projects, stream(cfg.seed, "projects"))
    for scale in (0.002, 0.1):
        cfg = tiny_cfg("scenario=y2018", scale=scale)
        p = Projects.build(year_population(cfg).projects, stream(cfg.seed, "projects"), scale)
        assert p.n == cfg.scenario.projects and p.n_orgs == round(p.n / 4)
        np.testing.assert_array_equal(p.org, full.org)
        want = np.maximum(1, np.round(full.goal / 100 * scale)) * 100
        assert np.abs(p.goal - want).max() <= 100  # the full goal is itself rounded to the yuan


@pytest.mark.parametrize("scale", [0.002, 0.05, 1.0])
def test_enterprise_pools_back_one_organisation_and_hold_the_pledge_exactly(scale):
    cfg = tiny_cfg("scenario=y2017", scale=scale)
    ent = cfg.scenario.enterprise
    projects = Projects.build(year_population(cfg).projects, stream(1, "projects"))
    expected = expected_public_yuan(Calendar.from_config(cfg.scenario), year_population(cfg))
    pool, project, budget = _recruit(ent, projects, scale, stream(1, "enterprises"), expected)
    assert budget.sum() == round(ent.pledge_yuan * 100 * scale)  # to the fen
    assert (budget >= 0).all() and np.unique(pool).size == ent.count
    orgs = [np.unique(projects.org[project[pool == i]]) for i in range(ent.count)]
    assert all(o.size == 1 for o in orgs)
    # about one project per 0.39 x 12.9万 pledged (2017: 103万 a pool), as far as the
    # organisation has
    per_pool = np.bincount(pool)
    assert per_pool.mean() > 3
    # larger organisations recruit more pools (in proportion to reach)
    reach = np.bincount(projects.org, weights=projects.reach, minlength=projects.n_orgs)
    recruited = np.bincount([o[0] for o in orgs], minlength=projects.n_orgs)
    top = np.argsort(-reach)[:50]
    assert recruited[top].sum() > 0.2 * ent.count


@pytest.mark.parametrize(("year", "reported"), [(2016, 3.05e8), (2018, 8.30e8), (2021, 35.69e8)])
def test_what_organisations_expect_to_raise_is_the_year_without_the_match(year, reported):
    """The baseline's expected public gifts: below the reported total (the match lifts
    giving) by less than 15% in the years whose total is fitted."""
    cfg = tiny_cfg(f"scenario=y{year}")
    expected = expected_public_yuan(Calendar.from_config(cfg.scenario), year_population(cfg))
    assert 0.85 * reported < expected < reported


def test_a_pledge_is_spread_over_more_projects_where_projects_raise_less():
    cfg = tiny_cfg("scenario=y2017", scale=1.0)
    ent = cfg.scenario.enterprise
    projects = Projects.build(year_population(cfg).projects, stream(1, "projects"))
    expected = expected_public_yuan(Calendar.from_config(cfg.scenario), year_population(cfg))
    links = [
        _recruit(ent, projects, 1.0, stream(1, "enterprises"), expected * f)[0].size
        for f in (0.5, 1.0, 2.0)
    ]
    assert links[0] > 1.5 * links[1] > 2.0 * links[2]
    # 2017: about one project per 0.39 x 12.9万 pledged, as far as the organisations have
    assert links[1] == pytest.approx(ent.pledge_yuan / (0.39 * expected / projects.n), rel=0.25)


def test_a_machine_account_fires_once_in_one_burst_of_about_nine_gifts():
    cfg = tiny_cfg("scenario=y2017", "gaming=machines", scale=0.5)
    projects = Projects.build(year_population(cfg).projects, stream(1, "projects"))
    g = Gaming.build(cfg, projects, 1000, stream(1, "gaming"))
    traffic = np.ones(3 * 1440)
    g.plan(traffic, np.array([540.0, 1980.0, 3420.0]))
    minute_of = np.repeat(np.arange(traffic.size), np.diff(g.burst_ptr))
    acc = g.burst_account
    assert g.n_machines == round(25244 * 0.5) and acc.size == g.burst_ptr[-1]
    # one minute an account, every gift of its burst in it
    first = np.full(g.n_machines, -1)
    first[acc] = minute_of
    assert (minute_of == first[acc]).all()
    assert np.bincount(acc).mean() == pytest.approx(9.3, rel=0.03)
    # aimed at the projects of the hiring organisations only
    assert np.unique(projects.org[g.target[: g.n_machines]]).size <= cfg.gaming.machines.hirers
    assert (g.kinds[: g.n_machines] == KIND_MACHINE).all()


@given(st.lists(st.integers(0, 5), max_size=60))
def test_rank_within_counts_the_earlier_equal_entries(xs):
    r = np.asarray(xs, dtype=np.int64)
    want = [xs[:i].count(x) for i, x in enumerate(xs)]
    assert _rank_within(r).tolist() == want


def test_a_ring_stops_when_its_organiser_has_paid_back_its_budget():
    from sim.model.gifts import Gifts

    cfg = tiny_cfg("scenario=y2021", "gaming=rings", scale=0.01)
    projects = Projects.build(year_population(cfg).projects, stream(1, "projects"))
    g = Gaming.build(cfg, projects, 0, stream(1, "gaming"))
    g.plan(np.ones(10), np.zeros(0))
    budget = g.ring_budget_gifts
    # 1 ring of 300 identities at scale 0.01 pays back 5万 / 10 yuan gifts
    assert g.ring_gifts.size == 1 and budget == 5000
    empty = Gifts(
        *(
            np.zeros(0, dt)
            for dt in (
                float,
                np.int64,
                np.int64,
                np.int64,
                np.int64,
                float,
                float,
                float,
                float,
                np.int8,
                np.int64,
            )
        )
    )
    made = sum(
        g.add_gifts(empty, m % 10, np.random.default_rng(m), True).t.shape[0] for m in range(6000)
    )
    assert made == budget and g.ring_gifts[0] == budget
    assert g.add_gifts(empty, 0, np.random.default_rng(0), False).t.shape[0] == 0


def test_a_pool_draws_its_organisations_projects_by_reach_without_repeats():
    from sim.model.pools import _draw_own_projects

    reach = np.array([0.5, 0.3, 0.15, 0.05])
    order, start, cum = np.arange(4), np.array([0, 4]), np.cumsum(reach)
    n = 40_000
    rng = np.random.default_rng(3)
    one = _draw_own_projects(
        np.zeros(n, np.int64), np.ones(n, np.int64), start, order, cum, rng.random(4 * n)
    )
    np.testing.assert_allclose(np.bincount(one, minlength=4) / n, reach, atol=0.01)
    # all four asked for: each pool gets every project once, whatever the uniforms
    four = _draw_own_projects(
        np.zeros(50, np.int64), np.full(50, 4), start, order, cum, rng.random(4 * 200)
    )
    assert (four.reshape(50, 4) == np.arange(4)).all()
