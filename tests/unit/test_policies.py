"""Each rule's arithmetic on hand-computed gifts (fen)."""

from __future__ import annotations

import pytest

from sim.policies import RULE_TYPES, make_rule
from sim.policies.per_gift import offer, offer_one
from sim.schema import ConfigError, RuleConfig


def rule(**kw):
    return make_rule(RuleConfig(**kw)).encode()


def kernel_offer(row, amount, flowers, has_chance, u1, u2, u3, tenure=0, pflags=0):
    """The kernel's offer, which reads the rule in place from a table of rules."""
    return offer(row.reshape(1, -1), 0, amount, flowers, has_chance, u1, u2, u3, tenure, pflags)


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
        r = rule(
            type="random_match",
            probability=0.1,
            chance_probability=0.9,
            fraction_low=1,
            fraction_high=1,
        )
        assert impl(r, 5_000, 0, False, 0.5, 0, 0) == (0, False)
        m, spent = impl(r, 5_000, 0, True, 0.5, 0, 0)
        assert (m, spent) == (5_000, True)

    def test_chance_ignored_by_rules_without_it(self, impl):
        r = rule(type="random_match", probability=0.1, fraction_low=1, fraction_high=1)
        assert impl(r, 5_000, 0, True, 0.5, 0, 0) == (0, False)

    def test_2018_flower_tiers(self, impl):
        # 2018: 39-98 flowers +5-10%, 99-198 +10-30% on a match received
        r = rule(
            type="random_match",
            probability=1.0,
            fraction_low=0.1,
            fraction_high=0.1,
            flower_tiers=[[39, 0.05, 0.10], [99, 0.10, 0.30]],
        )
        assert impl(r, 100_000, 38, False, 0, 0, 0.0)[0] == 10_000
        assert impl(r, 100_000, 39, False, 0, 0, 0.0)[0] == 10_500
        assert impl(r, 100_000, 99, False, 0, 0, 1 - 1e-12)[0] == 13_000

    def test_2020_flower_multiplier_worked_example(self, impl):
        # 200 yuan gift, base match 8 yuan (4%), 299 flowers, 5x -> 40 yuan [facts, 2020]
        r = rule(
            type="random_match",
            probability=1.0,
            fraction_low=0.04,
            fraction_high=0.04,
            flower_multiplier=[299, 3, 10],
        )
        u3 = (5 - 3) / 8 + 1e-9  # picks 5 of 3..10
        assert impl(r, 20_000, 298, False, 0, 0, u3)[0] == 800
        assert impl(r, 20_000, 299, False, 0, 0, u3)[0] == 4_000

    def test_no_match(self, impl):
        assert impl(rule(type="none"), 10_000, 500, True, 0, 0, 0) == (0, False)

    def test_size_tiers_20_30_40_percent(self, impl):
        r = rule(type="size_tiers", size_tiers=[[1, 0.2], [100, 0.3], [500, 0.4]])
        assert impl(r, 5_000, 0, False, 0, 0, 0)[0] == 1_000  # 50 yuan x 20%
        assert impl(r, 10_000, 0, False, 0, 0, 0)[0] == 3_000  # 100 yuan x 30%
        assert impl(r, 60_000, 0, False, 0, 0, 0)[0] == 24_000  # 600 yuan x 40%

    def test_long_term_donors_get_their_ratio(self, impl):
        r = rule(type="long_term", ratio=0.5, long_term_years=3, long_term_ratio=2.0)
        assert impl(r, 10_000, 0, False, 0, 0, 0, 2)[0] == 5_000
        assert impl(r, 10_000, 0, False, 0, 0, 0, 3)[0] == 20_000

    def test_equity_weights_by_project_flags(self, impl):
        r = rule(
            type="equity_weighted",
            ratio=1.0,
            equity_region=0.5,
            equity_small_org=1.0,
            gift_cap_yuan=1000,
        )
        assert impl(r, 10_000, 0, False, 0, 0, 0, 0, 0)[0] == 10_000
        assert impl(r, 10_000, 0, False, 0, 0, 0, 0, 1)[0] == 15_000  # less developed
        assert impl(r, 10_000, 0, False, 0, 0, 0, 0, 2)[0] == 20_000  # small organisation
        assert impl(r, 10_000, 0, False, 0, 0, 0, 0, 3)[0] == 25_000  # both

    def test_post_event_rules_offer_nothing_at_the_gift(self, impl):
        for t in ("quadratic", "breadth", "pro_rata"):
            assert impl(rule(type=t), 10_000, 0, False, 0, 0, 0) == (0, False)


def test_rule_types_check_their_parameters():
    with pytest.raises(ConfigError, match=r"k\.fraction_low/fraction_high"):
        RULE_TYPES["random_match"].check(
            "k",
            RuleConfig(type="random_match", probability=0.5, fraction_low=0.5, fraction_high=0.1),
        )
    with pytest.raises(ConfigError, match=r"k\.gift_cap_yuan"):
        RULE_TYPES["fixed_ratio"].check(
            "k", RuleConfig(type="fixed_ratio", ratio=1, gift_cap_yuan=-1)
        )
