"""The accepted set of behavioural draws (sim.studies.posterior, rejection ABC) on a synthetic
ensemble whose answer is known: the year's fitted figures miss in proportion to one parameter."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from sim.studies import decisions, planner, posterior
from tests.unit.test_sensitivity import PRIORS, ensemble_sweep


def _error(strong: float, seed: int) -> float:
    """A fitted figure's miss: 0 at p.strong = 0.3, 1 point more a 0.1 of p.strong, and a
    seed's noise that averages out over seeds 1 and 2."""
    return 0.1 * (strong - 0.3) + (0.001 if seed == 1 else -0.001)


def write_sweep(tmp_path):
    df, draws = ensemble_sweep()
    df["job"] = [f"job_{i:03d}" for i in range(len(df))]
    df["ensemble.draw"] = df["ensemble.draw"].astype(str)  # as a sweep's overrides give it
    strong = draws.set_index("draw")["p.strong"]
    for _, r in df[df.policy == "y2021"].iterrows():
        (tmp_path / r.job).mkdir()
        e = _error(strong[int(r["ensemble.draw"])], r.seed_run)
        pd.DataFrame(
            {
                "figure": ["public_donations_yuan", "donation_count", "top10_org_share"],
                "relative_error": [e / 2, e, 0.5],  # the last one is not fitted
                "role": ["fitted", "fitted", "not_fitted"],
            }
        ).to_csv(tmp_path / r.job / posterior.FILE, index=False)
    draws.to_csv(tmp_path / "draws.csv", index=False)
    conf = {
        "hydra": {
            "runtime": {"choices": {"scenario": "y2021"}},
            "sweeper": {
                "draws": len(draws),
                "sampler": "sobol",
                "priors": {
                    p.key: {"low": p.low, "high": p.high, "source": p.source} for p in PRIORS
                },
            },
        },
        "scale": 0.1,
    }
    (tmp_path / "multirun.yaml").write_text(yaml.safe_dump(conf), encoding="utf-8")
    return df, draws, strong


def test_a_draw_is_accepted_when_every_fitted_figure_is_within_the_tolerance(tmp_path):
    df, draws, strong = write_sweep(tmp_path)
    acc, post_dec = posterior.posterior(df, tmp_path, "y2021")
    by_hand = {d: abs(0.1 * (s - 0.3)) <= posterior.TOLERANCE for d, s in strong.items()}
    assert dict(zip(acc[posterior.DRAW], acc.accepted, strict=True)) == by_hand
    assert (acc.tolerance == 0.02).all()  # 2021's target; an earlier year's is 5%
    assert posterior.tolerance_for("y2018") == 0.05
    assert 0 < acc.accepted.sum() < len(acc)
    # the worst figure is the one that misses most, averaged over the seeds
    row = acc.set_index(posterior.DRAW).loc[int(strong.idxmax())]
    assert row.worst_figure == "donation_count" and row.seeds == 2
    assert row.worst_error == pytest.approx(0.1 * (strong.max() - 0.3))
    # the decisions over the accepted draws are the decision table of their blocks
    keep = [d for d, ok in by_hand.items() if ok]
    want = decisions.decision_table(df[df["ensemble.draw"].astype(int).isin(keep)])
    pd.testing.assert_frame_equal(post_dec.reset_index(drop=True), want.reset_index(drop=True))
    # the accepted draws' range of the parameter that decides them
    ranges = posterior.parameter_ranges(
        acc, draws, {p.key: {"low": p.low, "high": p.high} for p in PRIORS}
    ).set_index("parameter")
    assert (
        0.1
        <= ranges.loc["p.strong", "accepted_low"]
        <= ranges.loc["p.strong", "accepted_high"]
        <= 0.5
    )


def test_the_report_gives_the_decisions_under_the_accepted_draws(tmp_path):
    df, _, _ = write_sweep(tmp_path)
    planner.write(df, tmp_path, with_figures=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Under the draws that reproduce y2021 (an approximate posterior)" in md
    acc = pd.read_csv(tmp_path / "posterior.csv")
    assert f"{int(acc.accepted.sum())} of 16 behavioural draws reproduce" in md
    assert "| `p.strong` | 0–1 |" in md
    assert set(acc.columns) >= {"accepted", "worst_figure", "p.strong"}
    assert (tmp_path / "posterior.parquet").exists()
    assert len(pd.read_csv(tmp_path / "posterior_decisions.csv")) > 0


def test_no_draw_accepted_is_said_and_no_run_of_the_rules_is_no_posterior(tmp_path):
    df, _, _ = write_sweep(tmp_path)
    acc, post_dec = posterior.posterior(df, tmp_path, "y2021", tolerance=1e-6)
    assert not acc.accepted.any() and post_dec.empty
    blocks = planner.posterior_blocks(
        (acc, post_dec, pd.DataFrame()),
        decisions.decision_table(df),
        planner.sweep_settings(tmp_path),
    )
    assert "No draw is accepted" in planner.to_markdown(blocks)
    assert posterior.posterior(df[df.policy != "y2021"], tmp_path, "y2021") is None
    assert posterior.posterior(df.drop(columns="ensemble.draw"), tmp_path, "y2021") is None
