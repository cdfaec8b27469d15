"""Every policy of the library, end to end on a tiny campaign: it runs, it conserves money
to the fen, and the metrics a planner compares come out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model.campaign import Campaign
from sim.outputs.tables import summary, tables
from tests.conftest import tiny_cfg

POLICIES = sorted(
    p.stem for p in (Path(__file__).resolve().parents[2] / "conf" / "policy").glob("*.yaml")
)


def test_the_library_has_every_policy_the_planner_needs():
    assert set(POLICIES) >= {
        "none",
        "fixed_ratio",
        "random_match",
        "flower_tiers",
        "flower_multiplier",
        "y2021",
        "breadth",
        "pro_rata",
        "size_tiers",
        "threshold_prizes",
        "qf",
        "qf_proportional",
        "qf_pairwise",
        "long_term",
        "equity",
    }


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_conserves_money_to_the_fen(policy):
    c = Campaign(
        tiny_cfg(f"policy={policy}", "gaming=both", "policy.tranches=2", scale=0.001)
    ).run()
    p, pl = c.projects, c.pools
    f, e = pl.foundation, pl.is_enterprise
    # every fen paid by a pool is on exactly one project, and no pool paid more than it had
    assert (pl.remaining >= 0).all()
    np.testing.assert_array_equal(pl.paid + pl.remaining, pl.budget)
    assert p.foundation_match.sum() == pl.paid[f].sum()
    assert p.enterprise_match.sum() == pl.paid[e].sum()
    np.testing.assert_array_equal(p.foundation_match, pl.paid_by_project.sum(axis=0))
    # the gifts: series, projects and the money raised agree
    assert p.public.sum() == c.series.public_fen.sum()
    assert p.count.sum() == c.series.gifts.sum()
    assert c.series.foundation_fen.sum() == pl.paid[f].sum()
    assert 0 <= pl.gamed.sum() <= pl.paid.sum()
    m = summary(c, tables(c))["metrics"]
    assert m["total_raised_yuan"] == pytest.approx((p.public.sum() + pl.paid.sum()) / 100, abs=0.01)
    for k in (
        "pool_share_paid",
        "matched_donor_share",
        "org_gini",
        "top10_org_share",
        "match_share_less_developed",
        "projects_reaching_goal",
        "gaming_share_of_foundation_match",
        "matched_gift_share_first_hour",
    ):
        assert 0 <= m[k] <= 1, k
    if policy == "none":
        assert m["match_yuan"] == 0 and m["lifted_gifts"] == m["shifted_gifts"] == 0
    else:
        assert m["foundation_paid_yuan"] > 0
