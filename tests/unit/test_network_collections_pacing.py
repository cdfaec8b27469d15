"""The friendship network made on demand, the flower collections and the platform's pacing,
each on its own, against hand computations and laws."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.codes import F
from sim.model.collections import collect_before, complete, launch
from sim.model.network import Network, degrees, friends_of, n_leaders, team_leader, uniform
from sim.policies import make_rule
from sim.schema import NetworkConfig, RuleConfig


def net_of(n: int, seed: int = 7, groups: int = 8, **kw) -> Network:
    cuts = np.linspace(0, n, groups + 1).round().astype(np.int64)
    return Network.build(seed, cuts, NetworkConfig(**kw))


def test_the_network_is_the_seeds_and_heavy_tailed():
    """Same seed, same friends; another seed, others. Degrees have the configured mean and
    a heavy tail (the largest hundreds of times the median), within the friend limit."""
    a, b, c = net_of(200_000), net_of(200_000), net_of(200_000, seed=8)
    ids = np.arange(200_000)
    np.testing.assert_array_equal(friends_of(a, 12_345, 50), friends_of(b, 12_345, 50))
    assert (friends_of(a, 12_345, 50) != friends_of(c, 12_345, 50)).mean() > 0.9
    deg = degrees(a, ids)
    assert abs(deg.mean() - 20) < 2.0  # mean_friends (the floor of whole friends)
    assert deg.max() <= 5000 and deg.max() > 100 * np.median(deg)
    assert deg.min() >= 1
    # gaming identities (beyond the honest population) have no friends
    assert degrees(a, np.array([200_000, 200_001]))[0] == 0


def test_friends_are_drawn_in_proportion_to_their_friends():
    """Chung-Lu: how often a donor is somebody's friend grows with its own degree, one to
    one (in-degree = out-degree in expectation)."""
    net = net_of(20_000, groups=4)
    ids = np.arange(20_000)
    deg = degrees(net, ids)
    seen = np.zeros(20_000, dtype=np.int64)
    for d in range(20_000):
        np.add.at(seen, friends_of(net, d, int(deg[d])), 1)
    top, rest = deg >= 200, deg < 40
    ratio_top = seen[top].sum() / deg[top].sum()
    ratio_rest = seen[rest].sum() / deg[rest].sum()
    assert 0.8 < ratio_top < 1.25 and 0.8 < ratio_rest < 1.25


def test_team_leaders_are_the_first_of_each_group_drawn_by_their_friends():
    net = net_of(100_000, team_leader_friends=200)
    n = n_leaders(net)
    assert 0 < n < 100_000 * 0.01
    picks = np.array(
        [team_leader(net, uniform(net.key, i, 0), uniform(net.key, i, 1)) for i in range(5000)]
    )
    deg = degrees(net, picks)
    assert deg.min() >= 195  # leaders only (whole friends below the exact threshold)


def test_the_collection_before_the_event_is_poisson_in_degree_and_capped():
    """Each collector's helps: Poisson(degree x p), at most max_helps; flowers U[lo, hi]
    each, all to the collector; the totals add up; the same seed gives the same flowers."""
    net = net_of(50_000)
    flowers = np.zeros(50_000, dtype=np.int32)
    n, helps, total = collect_before(net, np.uint64(3), 5000, 0.3, 1, 10, 40, flowers)
    assert n == 5000 and total == flowers.sum()
    assert helps <= 5000 * 40 and 1 * helps <= total <= 10 * helps
    assert flowers.max() <= 40 * 10 * 3  # a donor drawn at most a few times
    again = np.zeros(50_000, dtype=np.int32)
    collect_before(net, np.uint64(3), 5000, 0.3, 1, 10, 40, again)
    np.testing.assert_array_equal(flowers, again)
    # about 0.3 x the mean degree helps a collector
    assert 0.25 * 20 < helps / 5000 < 0.35 * 20


@settings(max_examples=40, deadline=None)
@given(
    n_gifts=st.integers(1, 60),
    max_helps=st.integers(0, 30),
    seed=st.integers(0, 2**31),
    helped_before=st.integers(0, 30),
)
def test_a_collection_never_takes_a_donor_past_the_daily_help_limit(
    n_gifts, max_helps, seed, helped_before
):
    """Every launched collection counts its helps against its donor's day: however many
    gifts a donor's collections launch, helps received today stay within the limit."""
    net = net_of(1000, seed=seed)
    rng = np.random.default_rng(seed)
    donor = rng.integers(0, 5, n_gifts).astype(np.int64)
    helps_today = np.full(1000, min(helped_before, max_helps), dtype=np.int8)
    flowers = np.zeros(1000, dtype=np.int32)
    out = tuple(np.empty(n_gifts, dtype=np.int64) for _ in range(6)) + (np.empty(n_gifts),)
    j, helps = launch(
        5,
        np.uint64(seed),
        (donor, np.zeros(n_gifts, np.int64)),
        np.full(n_gifts, 800, np.int64),
        flowers,
        helps_today,
        net,
        (1.0, 1.0, 10, 30, 60.0, max_helps),
        out,
    )
    assert j == n_gifts  # every matched gift launched one (share 1)
    assert (helps_today <= max_helps).all()
    assert helps == int(helps_today.sum()) - 1000 * min(helped_before, max_helps)
    assert ((out[0][:j] >= 0) & (out[0][:j] < 8)).all()  # a delay class each
    assert (10 * 0 <= out[2][:j]).all() and (out[2][:j] <= 30 * max_helps).all()


def _pools(budget_fen, rule_cfg):
    rules = make_rule(RuleConfig(**rule_cfg)).encode()[None, :]
    return (
        np.array([0.0]),
        np.array([100.0]),
        np.array([budget_fen], dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        np.full(1, np.nan),
        rules,
        np.array([0], dtype=np.int64),
        np.zeros((1, 1), dtype=np.int64),
    )


MULTIPLIER = dict(
    type="random_match",
    probability=1.0,
    fraction_low=0.02,
    fraction_high=0.10,
    gift_cap_yuan=99,
    donor_daily_cap_yuan=999,
    flower_multiplier=[299.0, 3.0, 10.0],
)


def test_the_worked_example_of_2020():
    """200 yuan, a base match of 8 yuan, 15 friends' help to 299 flowers, x5: the match
    becomes 40 yuan, a top-up of 32 yuan from the pool (99-giving-day.md section 3)."""
    pools = _pools(10**8, MULTIPLIER)
    flowers = np.array([1], dtype=np.int32)  # the gift's own flower
    match_today = np.array([800], dtype=np.int32)
    proj = np.array([800], dtype=np.int64)
    # u = 0.3: 3 + int(0.3 x 8) = 5
    items = (
        np.array([0]),
        np.array([298]),
        np.array([800]),
        np.array([0]),
        np.array([1]),
        np.array([0.3]),
    )
    got_flowers, top, emptied = complete(10, items, flowers, match_today, pools, proj)
    assert (got_flowers, top, emptied) == (298, 3200, 0)
    assert flowers[0] == 299 and proj[0] == 4000 and match_today[0] == 4000
    assert pools[2][0] == 10**8 - 3200 and pools[3][0] == 3200
    # short of 299, no top-up; and a pool never pays more than it holds
    items2 = items[:1] + (np.array([100]),) + items[2:]
    assert complete(11, items2, np.array([1], np.int32), match_today, pools, proj)[1] == 0
    small = _pools(1000, MULTIPLIER)
    res = complete(10, items, np.array([1], np.int32), np.zeros(1, np.int32), small, proj)
    assert res[1] == 1000 and small[2][0] == 0 and res[2] == 1 and small[4][0] == 10.0


def test_the_pacing_never_overspends_and_spends_what_demand_can_fill():
    """The controller alone, against a stand-in for the settlement: each minute's gifts
    matched at the rule's current odds x fraction, bounded by what is left. With demand to
    fill it, the tranche is spent by the close (97% or more), never beyond its budget; with
    too little demand, the odds reach their ceiling and the pool is never overdrawn."""
    from types import SimpleNamespace

    from sim.model.pacing import Pacing
    from sim.schema import PacingConfig

    for budget, expect_full in ((2_000_000, True), (500_000_000, False)):
        rule = make_rule(
            RuleConfig(type="random_match", probability=0.3, fraction_low=0.1, fraction_high=1.0)
        )
        rows = rule.encode()[None, :].copy()
        pools = SimpleNamespace(
            rules=rows,
            foundation=np.array([0]),
            open_at=np.array([60.0]),
            close_at=np.array([1440.0]),
            remaining=np.array([budget], dtype=np.int64),
            paid=np.zeros(1, dtype=np.int64),
        )
        weight = 1.0 + np.sin(np.arange(1440) / 229.0) ** 2  # the platform's forecast
        pacing = Pacing(PacingConfig(), pools, np.concatenate([[0.0], np.cumsum(weight)]))
        for m in range(1440):
            pacing.step(m)
            public = int(100_000 * weight[m] * (3.0 if 60 <= m < 120 else 1.0))
            if 60 <= m < 1440:
                p = rows[0, F["p_ppm"]] / 1e6
                f = (rows[0, F["frac_lo_bp"]] + rows[0, F["frac_hi_bp"]]) / 2e4
                pay = min(int(public * p * f), int(pools.remaining[0]))
                pools.remaining[0] -= pay
                pools.paid[0] += pay
            pacing.observe(m, public)
            assert pools.paid[0] <= budget and pools.remaining[0] >= 0
        assert rows[0, F["p_ppm"]] <= 1_000_000 and rows[0, F["frac_hi_bp"]] <= 10_000
        if expect_full:
            assert pools.paid[0] >= 0.97 * budget
        else:
            assert pacing.x[0] == PacingConfig().max_intensity
            assert pools.paid[0] < budget
