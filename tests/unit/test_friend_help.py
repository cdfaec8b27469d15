"""The 2021 friend-help rule in the kernel, on hand-computed gifts: a 1-yuan gift gives the
friend it helps 5 chances; each later gift of the friend spends one; at most 30 helps a day."""

from __future__ import annotations

import numpy as np

from sim.policies import make_rule
from sim.schema import RuleConfig
from tests.unit.test_settlement_properties import settle

# matched only with a chance in hand, at 100% of the gift
CHANCE_ONLY = make_rule(
    RuleConfig(
        type="random_match",
        probability=0.0,
        chance_probability=1.0,
        fraction_low=1.0,
        fraction_high=1.0,
    )
).encode()


def world(donor, amount, helpee):
    n = len(donor)
    return {
        "n_donors": 3,
        "n_projects": 1,
        "n_global": 1,
        "rules": CHANCE_ONLY[None, :],
        "open": np.array([0.0]),
        "close": np.array([10.0]),
        "budget": np.array([10**9], dtype=np.int64),
        "links": [],
        "donor_cap": None,
        "t": np.linspace(0, 9, n),
        "donor": np.array(donor, dtype=np.int64),
        "project": np.zeros(n, dtype=np.int64),
        "amount": np.array(amount, dtype=np.int64),
        "helpee": np.array(helpee, dtype=np.int64),
        "u": np.full((3, n), 0.5),
    }


def test_a_one_yuan_gift_gives_the_friend_five_chances():
    # donor 1 gives before any help (no chance: unmatched), donor 0 gives 1 yuan helping
    # donor 1, then donor 1 gives 7 times: the first 5 are matched, the last 2 are not
    donor = [1, 0] + [1] * 7
    amount = [500, 100] + [1_000] * 7
    helpee = [-1, 1] + [-1] * 7
    s = settle(world(donor, amount, helpee))
    np.testing.assert_array_equal(s["out_f"], [0, 0] + [1_000] * 5 + [0, 0])
    assert s["chances"].tolist() == [0, 0, 0] and s["helps"].tolist() == [0, 1, 0]
    assert s["flowers"].tolist() == [1, 8, 0]  # a flower a gift


def test_at_most_thirty_helps_a_day():
    donor = [0] * 35
    s = settle(world(donor, [100] * 35, [2] * 35))
    assert s["helps"][2] == 30 and s["chances"][2] == 150
