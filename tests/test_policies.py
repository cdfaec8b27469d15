"""Each rule's arithmetic on hand-computed gifts (fen)."""

from __future__ import annotations

import pytest

from sim.config import ConfigError, RuleConfig
from sim.ledger import offer
from sim.policies import RULE_TYPES, make_rule
from sim.reference import offer_one


def rule(**kw):
    return make_rule(RuleConfig(**kw)).encode()


def kernel_offer(row, *args):
    """The kernel's offer, which reads the rule in place from a table of rules."""
    return offer(row.reshape(1, -1), 0, *args)


@pytest.mark.parametrize("impl", [kernel_offer, offer_one], ids=["kernel", "reference"])
class TestOffer:
    def test_fixed_ratio_with_gift_cap(self, impl):
        r = rule(type="fixed_ratio", ratio=0.5, gift_cap_yuan=30)
        assert impl(r, 4_000, 0, False, 0.5, 0.5, 0.5)[0] == 2_000  # 40 yuan -> 20
        assert impl(r, 10_000, 0, False, 0.5, 0.5, 0.5)[0] == 3_000  # 100 -> 50, cap 30

    def test_min_gift(self, impl):
        r = rule(type="fixed_ratio", ratio=1.0, min_gift_yuan=10)
        assert impl(r, 999, 0, False, 0, 0, 0)[0] == 0
        assert impl(r, 1_000, 0, False, 0, 0, 0)[0] == 1_000

    def test_random_match_lottery_and_fraction(self, impl):
        r = rule(type="random_match", probability=0.3, fraction_low=0.1, fraction_high=0.5)
        assert impl(r, 10_000, 0, False, 0.31, 0.0, 0.0) == (0, False)  # lost the lottery
        assert impl(r, 10_000, 0, False, 0.29, 0.0, 0.0)[0] == 1_000  # 10% of 100 yuan
        assert impl(r, 10_000, 0, False, 0.29, 0.999999, 0.0)[0] == 5_000  # 50%

    def test_friend_help_chance_raises_the_odds_and_is_spent(self, impl):
        r = rule(type="random_match", probability=0.1, chance_probability=0.9,
                 fraction_low=1, fraction_high=1)
        assert impl(r, 5_000, 0, False, 0.5, 0, 0) == (0, False)
        m, spent = impl(r, 5_000, 0, True, 0.5, 0, 0)
        assert (m, spent) == (5_000, True)

    def test_chance_ignored_by_rules_without_it(self, impl):
        r = rule(type="random_match", probability=0.1, fraction_low=1, fraction_high=1)
        assert impl(r, 5_000, 0, True, 0.5, 0, 0) == (0, False)

    def test_2018_flower_tiers(self, impl):
        # 2018: 39-98 flowers +5-10%, 99-198 +10-30% on a match received
        r = rule(type="random_match", probability=1.0, fraction_low=0.1, fraction_high=0.1,
                 flower_tiers=[[39, 0.05, 0.10], [99, 0.10, 0.30]])
        assert impl(r, 100_000, 38, False, 0, 0, 0.0)[0] == 10_000
        assert impl(r, 100_000, 39, False, 0, 0, 0.0)[0] == 10_500
        assert impl(r, 100_000, 99, False, 0, 0, 1 - 1e-12)[0] == 13_000

    def test_2020_flower_multiplier_worked_example(self, impl):
        # 200 yuan gift, base match 8 yuan (4%), 299 flowers, 5x -> 40 yuan [facts, 2020]
        r = rule(type="random_match", probability=1.0, fraction_low=0.04,
                 fraction_high=0.04, flower_multiplier=[299, 3, 10])
        u3 = (5 - 3) / 8 + 1e-9  # picks 5 of 3..10
        assert impl(r, 20_000, 298, False, 0, 0, u3)[0] == 800
        assert impl(r, 20_000, 299, False, 0, 0, u3)[0] == 4_000

    def test_no_match(self, impl):
        assert impl(rule(type="none"), 10_000, 500, True, 0, 0, 0) == (0, False)


def test_rule_types_check_their_parameters():
    with pytest.raises(ConfigError, match=r"k\.fraction_low/fraction_high"):
        RULE_TYPES["random_match"].check("k", RuleConfig(type="random_match", probability=0.5,
                                                         fraction_low=0.5, fraction_high=0.1))
    with pytest.raises(ConfigError, match=r"k\.gift_cap_yuan"):
        RULE_TYPES["fixed_ratio"].check("k", RuleConfig(type="fixed_ratio", ratio=1,
                                                        gift_cap_yuan=-1))
