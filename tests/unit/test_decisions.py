"""Paired differences, best-policy chances and ranks (sim.studies.decisions) against a hand
computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.studies import decisions

# total_raised_yuan by (seed, policy); org_gini lower is better
RAISED = {
    "none": [100.0, 110.0, 90.0, 105.0],
    "a": [120.0, 125.0, 100.0, 130.0],
    "b": [118.0, 131.0, 104.0, 130.0],
}
GINI = {"none": [0.9] * 4, "a": [0.5, 0.6, 0.5, 0.4], "b": [0.6, 0.5, 0.5, 0.7]}


def sweep(**extra_cols) -> pd.DataFrame:
    rows = []
    for p in RAISED:
        for i in range(4):
            rows.append(
                {
                    "policy": p,
                    "seed_run": i + 1,
                    "total_raised_yuan": RAISED[p][i],
                    "org_gini": GINI[p][i],
                    **{k: v[i] for k, v in extra_cols.items()},
                }
            )
    df = pd.DataFrame(rows)
    df.attrs["settings"] = ["policy"]
    return df


def test_paired_differences_by_seed():
    t = decisions.paired(sweep(), "total_raised_yuan", "none").set_index("policy")
    d = np.array([20.0, 15.0, 10.0, 25.0])  # a - none, seed by seed
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2.0
    assert t.loc["a", "mean_difference"] == pytest.approx(17.5)
    assert t.loc["a", "ci95_low"] == pytest.approx(17.5 - half)
    assert t.loc["a", "ci95_high"] == pytest.approx(17.5 + half)
    assert t.loc["a", "blocks"] == 4 and t.loc["a", "share_above_zero"] == 1.0
    # b against a: -2, +6, +4, 0: above zero in 2 of 4 blocks
    ab = decisions.paired(sweep(), "total_raised_yuan", "a").set_index("policy")
    assert ab.loc["b", "mean_difference"] == pytest.approx(2.0)
    assert ab.loc["b", "share_above_zero"] == 0.5


def test_a_block_missing_a_policy_is_left_out():
    df = sweep()
    df = df[~((df.policy == "b") & (df.seed_run == 4))]
    df.attrs["settings"] = ["policy"]
    t = decisions.paired(df, "total_raised_yuan", "none").set_index("policy")
    assert t.loc["a", "blocks"] == 3
    assert t.loc["a", "mean_difference"] == pytest.approx(15.0)


def test_best_chances_split_ties_and_leave_out_no_match():
    pb = decisions.best_probability(sweep())
    money = pb[pb.metric == "total_raised_yuan"].set_index("policy").p_best
    # seeds: a, b, b, tie -> a 1.5/4, b 2.5/4; "none" is never a pick
    assert money.to_dict() == pytest.approx({"a": 0.375, "b": 0.625})
    gini = pb[pb.metric == "org_gini"].set_index("policy").p_best
    # lowest Gini: a, b, tie, a -> a 2.5/4, b 1.5/4
    assert gini.to_dict() == pytest.approx({"a": 0.625, "b": 0.375})


def test_ranks_and_the_decision_table():
    r = decisions.ranks(sweep())
    money = r[r.aim == "most money"].set_index("policy")
    # ranks of a: 1, 2, 2, 1.5 -> mean 1.625; most frequent 2 (2 of 4)
    assert money.loc["a", "mean_rank"] == pytest.approx(1.625)
    assert money.loc["a", "modal_rank"] == 2.0 and money.loc["a", "share_at_modal_rank"] == 0.5
    dec = decisions.decision_table(sweep()).set_index("aim")
    row = dec.loc["most money"]
    assert (row.pick, row.runner_up) == ("b", "a")
    assert row.p_best == pytest.approx(0.625)
    # b beats a in seeds 2 and 3, loses seed 1, ties seed 4: (2 + 0.5) / 4
    assert row.p_pick_beats_runner_up == pytest.approx(0.625)
    text = decisions.markdown(sweep())
    assert "| most money | b | 62% |" in text and "## Against none, paired by block" in text


def test_a_tie_in_the_chance_of_being_best_goes_to_the_better_mean():
    """Each best in two of four blocks: the pick is the one with the better mean, whatever
    the policies' names (here the later name, for both a high and a low aim)."""
    df = sweep()
    df.loc[df.policy == "a", "total_raised_yuan"] = [140.0, 100.0, 140.0, 100.0]
    df.loc[df.policy == "b", "total_raised_yuan"] = [130.0, 150.0, 130.0, 150.0]
    df.loc[df.policy == "a", "org_gini"] = [0.3, 0.6, 0.3, 0.6]
    df.loc[df.policy == "b", "org_gini"] = [0.4, 0.2, 0.4, 0.2]
    dec = decisions.decision_table(df).set_index("aim")
    for aim in ("most money", "most equal (lowest Gini across organisations)"):
        row = dec.loc[aim]
        assert row.p_best == pytest.approx(0.5) and row.runner_up_p_best == pytest.approx(0.5)
        assert (row.pick, row.runner_up) == ("b", "a"), aim


def test_an_ensemble_pairs_by_seed_and_draw():
    df = pd.concat(
        [sweep(**{"ensemble.draw": [0] * 4}), sweep(**{"ensemble.draw": [1] * 4})],
        ignore_index=True,
    )
    df.loc[(df["ensemble.draw"] == 1) & (df.policy == "a"), "total_raised_yuan"] += 100.0
    df.attrs["settings"] = ["policy"]
    t = decisions.paired(df, "total_raised_yuan", "none").set_index("policy")
    assert t.loc["a", "blocks"] == 8
    assert t.loc["a", "mean_difference"] == pytest.approx(67.5)


def test_a_sweep_without_a_policy_setting_is_an_error():
    df = sweep()
    df.attrs["settings"] = []
    with pytest.raises(ValueError, match="no policy setting"):
        decisions.paired(df, "total_raised_yuan", "none")
    with pytest.raises(ValueError, match="reference policy 'y2021' is not in the sweep"):
        decisions.paired(sweep(), "total_raised_yuan", "y2021")
