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


def test_a_post_event_estimate_is_made_again_only_while_its_window_runs():
    """A post-event pool's estimate is published every ``estimate_minutes`` while its window
    runs; once the window has closed none is due, so what donors see is made again at the
    same events as under a per-gift rule (openings, closes, day ends, display marks), not
    every minute (as when closed windows' estimates stayed due: 11,535 of 12,960 minutes)."""
    campaign = Campaign(tiny_cfg("policy=qf"))
    view, est = campaign.choice.view, campaign.cfg.scenario.response.estimate_minutes
    made: list[int] = []
    refresh = campaign.choice.refresh_view

    def counted(minute: int) -> None:
        made.append(minute)
        refresh(minute)

    campaign.choice.refresh_view = counted  # type: ignore[method-assign]
    campaign.run()
    pools = campaign.pools
    windows = [(int(pools.open_at[g]), int(pools.close_at[g])) for g in pools.post_rules]
    assert windows, "qf pays after its windows"
    # each window's hourly estimates, and at most one refresh a display mark besides
    hourly = sum((c - o) // est + 1 for o, c in windows)
    marks = campaign.cal.n_minutes // campaign.cfg.scenario.response.display_minutes
    assert len(made) <= hourly + marks, (len(made), hourly, marks)
    assert view.next_estimate(campaign.cal.n_minutes) == 2**62  # none due after the last
