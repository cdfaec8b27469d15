"""The Foundation's pools as a policy runs them (sim.model.pools._foundation_tranches): the
tranches' timing (policy.tranche_span) and the budget's split between the action days and the
other pools (policy.action_share), to the fen; bad values are errors naming the key."""

from __future__ import annotations

import numpy as np
import pytest

from sim.checks import ConfigError
from sim.model.calendar import Calendar
from sim.model.pools import _foundation_tranches
from tests.conftest import tiny_cfg


def _pools(*overrides: str, scale: float = 1.0):
    cfg = tiny_cfg(*overrides, scale=0.001)
    sc = cfg.scenario
    return sc, _foundation_tranches(sc, cfg.policy, scale, Calendar.from_config(sc))


def test_the_default_span_and_split_are_the_scenarios():
    sc, fp = _pools("policy.tranches=4")
    _, again = _pools("policy.tranches=4", "policy.tranche_span=1.0")
    assert fp == again
    budgets = {p.name: round(p.budget_yuan * 100) for p in sc.foundation_pools}
    for name, fen in budgets.items():
        assert sum(t["budget_fen"] for t in fp if t["name"].startswith(name + "/")) == fen


def test_the_tranches_open_within_the_first_share_of_each_window():
    sc, fp = _pools("policy.tranches=4", "policy.tranche_span=0.25")
    cal = Calendar.from_config(sc)
    for i, p in enumerate(sc.foundation_pools):
        o = cal.minute("o", p.opens_at)
        c = cal.minute("c", p.closes_at)
        opens = [t["open"] for t in fp if t["name"].startswith(p.name + "/")]
        want = [o + np.floor(k * 0.25 * (c - o) / 4) for k in range(4)]
        assert opens == want and opens[-1] < o + 0.25 * (c - o), i


@pytest.mark.parametrize("share", [0.0, 0.5, 0.8, 1.0])
def test_the_action_days_get_their_share_and_the_total_is_kept_to_the_fen(share):
    sc, fp = _pools(f"policy.action_share={share}", "policy.budget=6e8", scale=0.1)
    action = {p.name for p in sc.foundation_pools if p.rule == "action"}
    on_action = sum(t["budget_fen"] for t in fp if t["name"] in action)
    total = sum(t["budget_fen"] for t in fp)
    assert total == round(6e8 * 100 * 0.1)
    assert on_action == round(total * share)
    # within a group, as the scenario splits it (2021's action days: 9999万, 1亿, 1亿)
    if 0 < share:
        parts = [t["budget_fen"] for t in fp if t["name"] in action]
        assert abs(parts[1] - parts[2]) < len(parts)  # the rounding remainder to the last
        assert abs(parts[0] / parts[1] - 0.9999) < 1e-6


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("policy.tranche_span=0", "policy.tranche_span=0.0 is not allowed"),
        ("policy.tranche_span=1.5", "policy.tranche_span=1.5 is not allowed"),
        ("policy.action_share=1.2", "policy.action_share=1.2 is not allowed"),
    ],
)
def test_bad_timing_or_split_is_an_error_naming_the_key(override, words):
    with pytest.raises(ConfigError, match=words):
        tiny_cfg(override)


def test_a_split_where_every_pool_is_an_action_day_is_an_error():
    # 2016: three daily pools, all under the action rule: nothing to split against
    with pytest.raises(ConfigError, match="null for scenario y2016"):
        tiny_cfg("scenario=y2016", "policy=y2016", "policy.action_share=0.5")
