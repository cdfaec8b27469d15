"""The six years as scenarios: each composes with its own rules and the facts file's inputs,
runs, and keeps every fen; 2020's restricted pools pay only the projects they may; the
per-year levels and the sensitivity perturbation do what they say."""

from __future__ import annotations

import numpy as np
import pytest

from sim.checks import validate
from sim.codes import FLAG_JOINT_APPEAL
from sim.model.calendar import Calendar, leveled_day
from sim.model.campaign import Campaign
from sim.schema import ConfigError
from tests.conftest import compose_cfg, tiny_cfg

YEARS = [2016, 2017, 2018, 2019, 2020, 2021]
# the Foundation's money of each year (99-giving-day.md section 2), without 2018's 1亿
# growth fund (not a match)
FOUNDATION_YUAN = {
    2016: 1.9999e8,
    2017: 2.9999e8,
    2018: 2.9999e8,
    2019: 3.9999e8,
    2020: 3.9999e8,
    2021: 6.0e8,
}


@pytest.mark.parametrize("year", YEARS)
def test_each_year_runs_under_its_own_rules_and_inputs(year):
    cfg = tiny_cfg(f"scenario=y{year}")
    sc = cfg.scenario
    assert sc.year == year and cfg.policy.name == f"y{year}"  # the year's rules by default
    assert sum(p.budget_yuan for p in sc.foundation_pools) == pytest.approx(FOUNDATION_YUAN[year])
    assert len(sc.days) == (9 if year == 2021 else 3)  # Sept 7-9 before 2021
    c = Campaign(cfg).run()
    pl, p = c.pools, c.projects
    np.testing.assert_array_equal(pl.paid + pl.remaining, pl.budget)
    assert (pl.remaining >= 0).all()
    assert p.foundation_match.sum() == pl.paid[pl.foundation].sum()
    assert p.enterprise_match.sum() == pl.paid[pl.is_enterprise].sum()
    assert p.public.sum() == c.series.public_fen.sum() > 0


def test_the_rules_follow_the_years():
    rules = {y: tiny_cfg(f"scenario=y{y}").policy for y in YEARS}
    action = {y: r.rules["action"] for y, r in rules.items()}
    assert action[2016].type == action[2017].type == "fixed_ratio"
    assert action[2018].type == "random_match"
    assert action[2018].donor_daily_cap_yuan == 999  # the 2018 cap
    assert action[2018].flower_tiers  # and the flower tiers
    assert all(r.foundation is None for r in rules.values())  # each pool names its rule
    assert rules[2020].rules["action"].flower_multiplier[0] == 299  # 2020's multiplier
    assert rules[2020].rules["nonrestricted_joint"].projects == "joint_appeal"
    assert rules[2020].rules["nonrestricted_top"].min_project_public_yuan == 1e6
    # another policy can still be named for any year
    assert tiny_cfg("scenario=y2016", "policy=qf").policy.name == "qf"


def test_2020s_restricted_pools_pay_only_the_projects_they_may():
    c = Campaign(tiny_cfg("scenario=y2020", scale=0.01)).run()
    pl, p = c.pools, c.projects
    paid = {pl.names[g]: pl.paid_by_project[k] for k, g in enumerate(pl.foundation)}
    joint = (p.flags & FLAG_JOINT_APPEAL) > 0
    assert joint.any() and (~joint).any()
    assert paid["non-restricted-joint"].sum() > 0
    assert (paid["non-restricted-joint"][~joint] == 0).all()
    top = paid["non-restricted-100wan"]
    # 100万 of public gifts, x the scale as a project's money is (docs/model.md, "Scale")
    assert top.sum() > 0 and (top[p.public < 100 * 1_000_000 * 0.01] == 0).all()
    assert (paid["non-restricted-all"] > 0).sum() > (top > 0).sum()
    for name in ("non-restricted-all", "non-restricted-100wan", "non-restricted-joint"):
        g = pl.names.index(name)
        assert pl.paid[g] == pl.budget[g]  # pro rata pays the whole pool at the close


def test_levels_scale_the_days_and_the_gift_size():
    sc = tiny_cfg(
        "scenario=y2021",
        "scenario.levels.gifts=2.0",
        "scenario.levels.theme_gifts=1.5",
        "scenario.levels.gift_size_shift=0.3",
        "scenario.levels.theme_size_shift=-0.1",
        "scenario.levels.flower_acts=0.5",
    ).scenario
    for raw in sc.days:
        d = leveled_day(sc, raw)
        theme = raw.kind == "theme"
        assert d.base_gifts_wan == pytest.approx(raw.base_gifts_wan * 2 * (1.5 if theme else 1))
        assert d.gift_size_shift == pytest.approx(0.3 - (0.1 if theme else 0))
        assert d.friend_helps_wan == raw.friend_helps_wan * 0.5
        assert d.step_donations_wan == raw.step_donations_wan * 0.5
        assert d.quiz_answers_wan == raw.quiz_answers_wan  # reported: not scaled
    assert Calendar.from_config(sc).days[4].base_gifts_wan == pytest.approx(
        sc.days[4].base_gifts_wan * 3
    )


def test_a_larger_gift_level_raises_money_by_its_factor():
    base = Campaign(tiny_cfg("scenario=y2016", "scenario.levels.gift_size_shift=0.0")).run()
    up = Campaign(tiny_cfg("scenario=y2016", "scenario.levels.gift_size_shift=0.5")).run()
    per_gift = [c.series.public_fen.sum() / c.series.gifts.sum() for c in (base, up)]
    assert per_gift[1] / per_gift[0] == pytest.approx(np.exp(0.5), rel=0.05)


@pytest.mark.parametrize(
    "override, key",
    [
        ("scenario.levels.gifts=-1", "scenario.levels.gifts"),
        ("scenario.levels.gift_size_shift=9", "scenario.levels.gift_size_shift"),
        ("scenario.donors=0", "scenario.donors"),
        ("scenario.projects=0", "scenario.projects"),
        (
            "policy.rules.nonrestricted_joint.projects=friends",
            "policy.rules.nonrestricted_joint.projects",
        ),
        ("policy.rules.action.projects=joint_appeal", "policy.rules.action.type"),
        ("perturb.key=scenario.name", "perturb.key"),
        ("perturb.key=scenario.nothing_here", "perturb.key"),
    ],
)
def test_bad_year_inputs_are_named(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose_cfg("scenario=y2020", override))


def test_perturb_multiplies_one_value_once_and_records_it():
    cfg = tiny_cfg("perturb.key=scenario.response.pull_strength", "perturb.factor=1.2")
    base = tiny_cfg().scenario.response.pull_strength
    assert cfg.scenario.response.pull_strength == pytest.approx(base * 1.2)
    assert cfg.perturb.base == pytest.approx(base)
    again = validate(cfg)  # a validated config is not perturbed twice
    assert again.scenario.response.pull_strength == pytest.approx(base * 1.2)
    ints = tiny_cfg("perturb.key=scenario.donors", "perturb.factor=0.8")
    assert ints.scenario.donors == 36_000_000 and isinstance(ints.scenario.donors, int)
