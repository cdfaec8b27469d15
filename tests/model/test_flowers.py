"""Flowers that reach the rules' thresholds, in tiny campaigns: the network and the
collection before the event shared by every policy of a seed (common random numbers), the
2018 tiers and the 2020 multiplier firing, and what a run reports of them."""

from __future__ import annotations

import numpy as np

from sim.model.campaign import Campaign
from sim.model.network import friends_of
from tests.conftest import tiny_cfg


def test_the_network_and_the_collection_are_the_same_for_every_policy_of_a_seed():
    a = Campaign(tiny_cfg("scenario=y2018", "policy=y2018", scale=0.002))
    b = Campaign(tiny_cfg("scenario=y2018", "policy=none", scale=0.002))
    c = Campaign(tiny_cfg("scenario=y2018", "policy=y2018", "seed=2", scale=0.002))
    assert tuple(a.net)[0] == tuple(b.net)[0] != tuple(c.net)[0]
    for d in (0, 17, 30_000):
        np.testing.assert_array_equal(friends_of(a.net, d, 40), friends_of(b.net, d, 40))
    np.testing.assert_array_equal(a.donors.flowers, b.donors.flowers)  # held at the opening
    assert a.collections.before == b.collections.before and a.collections.before[0] > 0


def test_the_2018_tiers_fire_and_the_2020_multiplier_tops_up():
    """Collections before 2018's event take some donors past 39 and 99 flowers, so the
    tiers change the match (flower_tiers against random_match, same seed); 2020's
    collections take donors to 299 and the top-ups pay out of the day pools."""
    runs = {
        p: Campaign(tiny_cfg("scenario=y2018", f"policy={p}", scale=0.005)).run()
        for p in ("random_match", "flower_tiers")
    }
    tiers, plain = runs["flower_tiers"], runs["random_match"]
    assert tiers.flowers.donors_at[0] > 0 and tiers.flowers.donors_at[1] > 0
    assert tiers.flowers.matched_at[0] > 0
    assert not np.array_equal(tiers.projects.foundation_match, plain.projects.foundation_match)
    y2020 = Campaign(tiny_cfg("scenario=y2020", "policy=y2020", scale=0.005)).run()
    f = y2020.flowers
    assert f.collections.sum() > 0 and f.collection_helps > 0
    assert f.donors_at[-1] > 0 and f.matched_at[-1] > 0  # 299 reached, by matched donors
    pools = y2020.pools
    day = [g for g in pools.foundation if pools.names[g].startswith("day-")]
    # the pacing spends the day pools (demand fills them)
    assert pools.paid[day].sum() >= 0.97 * pools.budget[day].sum()
    assert (pools.paid <= pools.budget).all()
