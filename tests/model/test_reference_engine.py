"""The batched engine and the one-event-per-gift reference engine give the same ledger."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.campaign import Campaign
from sim.model.recorder import MemoryRecorder
from sim.model.reference import ReferenceCampaign
from sim.model.series import COUNTS
from tests.conftest import tiny_cfg

# The 2021 rules, and a stricter variant where every kind of cap and flower rule binds often.
# caps a project are per full scale (x the run's 0.001: 300 and 40 yuan)
STRICT = (
    "policy.rules.action.donor_daily_cap_yuan=15",
    "policy.rules.action.project_cap_yuan=300000",
    "policy.rules.theme.donor_daily_cap_yuan=5",
    "policy.rules.daily.flower_tiers=[[2.0,0.05,0.1],[4.0,0.1,0.3]]",
    "policy.rules.enterprise.donor_daily_cap_yuan=8",
    "policy.rules.enterprise.project_cap_yuan=40000",
)


# Bad actors and every counter-measure, under the per-gift rules of the policy library.
GAMING = (
    "gaming=both",
    "policy.countermeasures.rate_limit_per_minute=4",
    "policy.countermeasures.freeze_after_detections=3",
    "gaming.rings.detect_probability=0.2",
    "policy.budget=1e8",
)


@pytest.mark.parametrize(
    "overrides",
    [
        (),
        STRICT,
        ("policy=equity", *GAMING),
        ("policy=long_term", *GAMING),
        ("policy=size_tiers", "policy.tranches=4", "gaming=machines"),
        # collections on a match, the 299-flower multiplier's top-ups and the pacing
        ("scenario=y2020", "policy=y2020", "scenario.flowers.max_helps_per_day=12"),
        # the collection before the event, the flower tiers and the pacing
        ("scenario=y2018", "policy=y2018"),
    ],
    ids=[
        "y2021",
        "strict-caps",
        "equity-gaming",
        "long-term-gaming",
        "size-tiers-tranches",
        "y2020-collections",
        "y2018-before-event",
    ],
)
def test_reference_engine_gives_the_identical_ledger(overrides):
    cfg = tiny_cfg(*overrides, scale=0.001)
    rec = MemoryRecorder()
    batched_campaign = Campaign(cfg, rec)
    batched = batched_campaign.run()
    ref_campaign = ReferenceCampaign(cfg, rec)
    ref = ref_campaign.run()
    for k in ("foundation_match", "enterprise_match", "enterprise_pool"):
        np.testing.assert_array_equal(ref_campaign.out[k], rec.column(k), err_msg=k)
    for a, b in ((batched.projects, ref.projects),):
        for k in (
            "public",
            "count",
            "foundation_match",
            "enterprise_match",
            "frozen",
            "detections",
        ):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    for k in ("remaining", "paid", "depleted_at", "paid_by_project", "link_paid", "gamed"):
        np.testing.assert_array_equal(getattr(batched.pools, k), getattr(ref.pools, k), err_msg=k)
    for k in (
        "flowers",
        "chances",
        "helps_today",
        "match_today",
        "gifts_made",
        "matched",
        "banned",
    ):
        np.testing.assert_array_equal(
            getattr(batched_campaign.donors, k), getattr(ref_campaign.donors, k), err_msg=k
        )
    assert batched.donors == ref.donors
    for k in COUNTS:  # the reference engine keeps the counts, not the levels
        np.testing.assert_array_equal(getattr(batched.series, k), getattr(ref.series, k), err_msg=k)
    dep = lambda c: sorted((e.minute, e.pool) for e in c.events if e.kind == "pool_depleted")  # noqa: E731
    assert dep(batched) == dep(ref)
    # the comparison is only worth something if pools ran out inside a batch and matches paid
    assert np.isfinite(batched.pools.depleted_at[batched.pools.foundation]).any()
    assert rec.column("foundation_match").sum() > 0 and rec.column("enterprise_match").sum() > 0
    if overrides == STRICT:
        assert (batched.pools.paid_by_project == 30_000).any()  # a project cap bound
        assert (batched.pools.link_paid == 4_000).any()  # an enterprise's project cap bound
    if "policy=y2020" in overrides:  # collections launched and the multiplier topped up
        assert batched.flowers.collections.sum() > 0 and batched.flowers.donors_at[-1] > 0
        assert batched.flowers.pacing
    if "gaming=both" in overrides:  # every counter-measure acted, and gaming got match
        assert batched_campaign.donors.banned.any() and batched.projects.frozen.any()
        assert batched.pools.gamed.sum() > 0
