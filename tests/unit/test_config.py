"""The real config composes and validates; bad input stops before any work, naming the key."""

from __future__ import annotations

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigAttributeError, ValidationError

from sim.checks import validate, year_population
from sim.schema import ConfigError
from tests.conftest import compose_cfg


def test_default_config_is_2021_at_full_scale():
    cfg = compose_cfg()
    obj = validate(cfg)
    assert obj.scale == 1.0
    assert obj.scenario.name == "y2021" and obj.policy.name == "y2021"
    assert obj.scenario.donors == 45_000_000 and obj.population.donors is None
    assert obj.scenario.enterprise.count > 12_000
    budgets = sum(p.budget_yuan for p in obj.scenario.foundation_pools)
    assert budgets == pytest.approx(6e8, rel=1e-3)  # the Foundation's 6亿 [P]


def test_every_reported_figure_names_its_source():
    obj = validate(compose_cfg())
    for key, fig in obj.scenario.reported.items():
        assert fig.source.startswith("["), key


@pytest.mark.parametrize(
    "override, key",
    [
        ("scale=0", "scale"),
        ("scale=-0.5", "scale"),
        ("scale=2", "scale"),
        ("scenario.foundation_pools.6.budget_yuan=-1", "scenario.foundation_pools[6].budget_yuan"),
        (
            "scenario.foundation_pools.0.opens_at=2021-08-31T10:00",
            "scenario.foundation_pools[0].opens_at",
        ),
        (
            "scenario.foundation_pools.0.closes_at=2021-09-11T00:00",
            "scenario.foundation_pools[0].closes_at",
        ),
        ("scenario.foundation_pools.0.rule=lottery", "scenario.foundation_pools[0].rule"),
        ("policy.rules.action.type=quadratic_voting", "policy.rules.action.type"),
        ("policy.rules.action.probability=1.5", "policy.rules.action.probability"),
        ("policy.rules.enterprise.ratio=0", "policy.rules.enterprise.ratio"),
        ("scenario.days.0.kind=holiday", "scenario.days[0].kind"),
        ("scenario.enterprise.opens_at=2022-09-07T10:00", "scenario.enterprise.opens_at"),
        ("population.segments.0.share=0.5", "population.segments[].share"),
        ("population.gift_size.one_yuan_share=1.2", "population.gift_size.one_yuan_share"),
        # the network, the collections and the pacing (issue 16)
        ("population.network.exponent=1.0", "population.network.exponent"),
        ("population.network.team_share=1.5", "population.network.team_share"),
        ("population.network.max_friends=5", "population.network.max_friends"),
        ("scenario.flowers.collections.launch=always", "scenario.flowers.collections.launch"),
        (
            "scenario.flowers.collections.flowers_per_help=[5,2]",
            "scenario.flowers.collections.flowers_per_help",
        ),
        ("policy.pacing.minutes=0", "policy.pacing.minutes"),
        ("policy.pacing.max_intensity=0.5", "policy.pacing.min_intensity/max_intensity"),
        # the widths of a donor record's daily counters (sim.donors.DONOR_RECORD)
        ("scenario.flowers.max_helps_per_day=128", "scenario.flowers.max_helps_per_day"),
        (
            "policy.rules.action.donor_daily_cap_yuan=21474837",
            "policy.rules.action.donor_daily_cap_yuan",
        ),
        # a number that is not finite passes a range check, or none (a run of zeros, or of
        # sums that overflow)
        ("scenario.levels.gifts=inf", "scenario.levels.gifts"),
        ("population.gift_size.sigma=inf", "population.gift_size.sigma"),
        ("population.projects.goal_reach_exponent=nan", "population.projects.goal_reach_exponent"),
        ("scenario.days.3.gift_size_shift=-inf", "scenario.days[3].gift_size_shift"),
        ("population.segments.0.rate=nan", "population.segments[0].rate"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(override, key):
    with pytest.raises(ConfigError) as err:
        validate(compose_cfg(override))
    msg = str(err.value)
    assert msg.startswith(key + "=")
    assert "allowed" in msg or "ISO" in msg


def test_a_perturbation_by_an_infinite_factor_is_refused():
    with pytest.raises(ConfigError) as err:
        validate(compose_cfg("perturb.key=policy.tranches", "perturb.factor=inf"))
    assert str(err.value).startswith("perturb.factor=inf is not allowed")


def test_chances_a_day_must_fit_a_donor_record():
    with pytest.raises(ConfigError) as err:
        validate(
            compose_cfg(
                "scenario.flowers.max_helps_per_day=100",
                "scenario.flowers.chances_per_help_gift=1000",
            )
        )
    msg = str(err.value)
    assert msg.startswith("scenario.flowers.chances_per_help_gift=1000")
    assert "at most 32767 chances a day" in msg and "here 100000" in msg


def test_misspelt_key_fails_at_composition():
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg("scenario.match_uplfit=0.3")
    assert "match_uplfit" in str(err.value)


def test_wrong_type_fails_at_composition():
    with pytest.raises((ConfigCompositionException, ValidationError)) as err:
        compose_cfg("scale=lots")
    assert "scale" in str(err.value)


def test_unknown_policy_lists_the_options():
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg("policy=quadratic")
    assert "y2021" in str(err.value) and "none" in str(err.value)


def test_schema_rejects_unknown_key_in_code():
    cfg = compose_cfg()
    with pytest.raises(ConfigAttributeError):
        cfg.scenario.not_a_key = 1


# --------------------------------------------------------------------------- issue 14


@pytest.mark.parametrize(
    "override, key, near",
    [
        ("+policy.rules.action.gift_capp=5", "policy.rules.action.gift_capp", "gift_cap_yuan"),
        ("++policy.rules.action.gift_capp=5", "policy.rules.action.gift_capp", "gift_cap_yuan"),
        ("+scal=0.1", "scal", "scale"),
        ("+population.projects.cuont=3", "population.projects.cuont", "count"),
        (
            "+scenario.foundation_pools.0.budgett=3",
            "scenario.foundation_pools[0].budgett",
            "budget_yuan",
        ),
        ("+gaming.machines.acounts=5", "gaming.machines.acounts", "accounts"),
    ],
)
def test_a_key_the_schema_does_not_have_is_refused_not_dropped(override, key, near):
    """Issue 14.1: ``+``/``++`` overrides of keys no part of the model reads used to be
    dropped without a word (the run said complete)."""
    with pytest.raises(ConfigError) as err:
        validate(compose_cfg(override))
    msg = str(err.value)
    assert msg.startswith(f"{key} is not a setting of the config (did you mean {near}?)")


@pytest.mark.parametrize(
    "overrides, key",
    [
        # issue 14.6: an int64 overflow gave a complete run with -6.17e16 yuan of public giving
        (
            ("population.gift_size.mu=50", "population.gift_size.max_yuan=100000000000000000"),
            "population.gift_size.max_yuan",
        ),
        (("population.gift_size.mu=50",), "population.gift_size.mu"),
        # and a raw OverflowError that named no key
        (("policy.rules.action.gift_cap_yuan=1e20",), "policy.rules.action.gift_cap_yuan"),
        (("policy.rules.theme.project_cap_yuan=1e20",), "policy.rules.theme.project_cap_yuan"),
        (
            ("scenario.foundation_pools.0.budget_yuan=1e20",),
            "scenario.foundation_pools[0].budget_yuan",
        ),
        (("policy.budget=1e20",), "policy.budget"),
        (("scenario.enterprise.pledge_yuan=1e20",), "scenario.enterprise.pledge_yuan"),
        (("scenario.enterprise.pledge_cover=0",), "scenario.enterprise.pledge_cover"),
        (("scenario.enterprise.own_share=1.5",), "scenario.enterprise.own_share"),
        (("gaming.machines.timing=later",), "gaming.machines.timing"),
        (("gaming.machines.gifts_per_account=0",), "gaming.machines.gifts_per_account"),
        (
            ("gaming.rings.reimbursement_budget_yuan=-1",),
            "gaming.rings.reimbursement_budget_yuan",
        ),
        (("population.projects.head_organisations=-1",), "population.projects.head_organisations"),
        (("scenario.enterprise.budget_sigma=40",), "scenario.enterprise.budget_sigma"),
        (("gaming.rings.gift_yuan=1e12",), "gaming.rings.gift_yuan"),
        (
            ("policy=flower_multiplier", "policy.foundation.flower_multiplier=[299,3,1e9]"),
            "policy.foundation",
        ),
        (("scenario.donors=3000000000",), "scenario.donors"),
    ],
)
def test_money_that_could_overflow_is_refused_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        validate(compose_cfg(*overrides))
    assert str(err.value).startswith(key)


def test_a_scale_that_would_draw_no_gift_is_refused():
    """Issue 14.7: a scale so small that no gift is drawn completed without a word."""
    with pytest.raises(
        ConfigError,
        match=r"^scale=1e-09 is not allowed: a scale at which the "
        r"run expects a gift \(here 0\.\d+ expected gifts",
    ):
        validate(compose_cfg("scale=1e-9"))


@pytest.mark.parametrize("year", [2016, 2017, 2018, 2019, 2020, 2021])
def test_population_overrides_reach_the_population_of_every_year(year):
    """Issue 14.1: for y2016-y2020, population.donors and population.projects.count were
    ignored (the year's own values won), and projects.count changed the organisations."""
    cfg = validate(
        compose_cfg(
            f"scenario=y{year}", "population.donors=1234567", "population.projects.count=20000"
        )
    )
    pop = year_population(cfg)
    assert pop.donors == 1234567 and pop.projects.count == 20000
    assert pop.projects.organisations == 5000  # one for every 4 projects, as in 2021
    own = year_population(validate(compose_cfg(f"scenario=y{year}")))
    assert own.donors == cfg.scenario.donors and own.projects.count == cfg.scenario.projects
    orgs = validate(compose_cfg(f"scenario=y{year}", "population.projects.organisations=7"))
    assert year_population(orgs).projects.organisations == 7


@pytest.mark.parametrize(
    "overrides",
    [
        # (all 120 year x policy cells were checked once, 2026-12-06; these keep the kinds)
        ("policy=qf", "gaming=both"),
        ("scenario=y2017", "gaming=machines", "policy.countermeasures.rate_limit_per_minute=4"),
        ("policy=long_term", "perturb.key=scenario.response.pull_strength", "perturb.factor=1.2"),
        ("policy=size_tiers", "scenario=y2018", "experiment=ensemble", "ensemble.draw=3"),
    ],
)
def test_the_config_text_is_omegaconfs(overrides):
    """What a run writes to config.yaml (and compares to resume) is the text OmegaConf
    writes of the same config, made without it (sim.schema.config_text)."""
    from omegaconf import OmegaConf

    from sim.schema import config_text

    obj = validate(compose_cfg(*overrides))
    assert config_text(obj) == OmegaConf.to_yaml(OmegaConf.structured(obj))


def test_the_config_text_writes_an_int_given_for_a_float_as_omegaconf_does():
    from dataclasses import replace

    from omegaconf import OmegaConf

    from sim.schema import config_text

    obj = validate(compose_cfg())
    obj = replace(obj, scale=1, policy=replace(obj.policy, budget=300_000_000))
    assert isinstance(obj.scale, int)
    text = config_text(obj)
    assert text == OmegaConf.to_yaml(OmegaConf.structured(obj))
    assert "scale: 1.0\n" in text
