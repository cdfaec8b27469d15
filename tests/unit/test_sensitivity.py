"""Which assumption decides it (sim.studies.sensitivity) and the planner's report
(sim.studies.planner) on synthetic sweeps whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.studies import decisions, planner, sensitivity
from sim.studies.ensemble import Prior, draw_parameters
from sim.studies.gather import AIMS

PRIORS = [
    Prior("p.strong", 0.0, 1.0, "a paper"),
    Prior("p.weak", 0.0, 1.0, "x"),
    Prior("p.none", 0.0, 1.0, "y"),
]


def test_the_parameter_that_drives_a_response_ranks_first():
    draws = draw_parameters(PRIORS, 64, "sobol", seed=3)
    x = draws[[p.key for p in PRIORS]].to_numpy()
    rng = np.random.default_rng(0)
    y = 5.0 * x[:, 0] + 0.8 * x[:, 1] + rng.normal(0.0, 0.2, len(x))
    t = sensitivity.first_order(x, y, [p.key for p in PRIORS]).set_index("parameter")
    assert t.S1.idxmax() == "p.strong" and t.loc["p.strong", "S1"] > 0.7
    assert t.loc["p.none", "S1"] < 0.15 < t.loc["p.strong", "S1"] - t.loc["p.strong", "S1_conf"]
    assert (t.S1_conf > 0).all()
    # the same data and seed, the same indices
    again = sensitivity.first_order(x, y, [p.key for p in PRIORS]).set_index("parameter")
    pd.testing.assert_frame_equal(t, again)
    flat = sensitivity.first_order(x, np.ones(len(x)), [p.key for p in PRIORS])
    assert (flat.S1 == 0).all()
    with pytest.raises(ValueError, match="at least 4 points"):
        sensitivity.first_order(x[:2], y[:2], [p.key for p in PRIORS])


def ensemble_sweep(n_draws: int = 16, seeds=(1, 2)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Policies a and y2021 under each draw: a raises more than y2021 where p.strong is high and less
    where it is low; every other aim's metric is noise around a constant."""
    draws = draw_parameters(PRIORS, n_draws, "sobol", seed=1)
    rng = np.random.default_rng(5)
    rows = []
    for seed in seeds:
        for _, d in draws.iterrows():
            base = 100.0 + rng.normal(0, 1)
            for p in ("none", "a", "y2021"):
                row = {"policy": p, "seed_run": seed, "ensemble.draw": int(d.draw)}
                for metric, *_ in AIMS.values():
                    row[metric] = 0.5 + rng.normal(0, 0.01)
                row["total_raised_yuan"] = (
                    base + {"none": 0.0, "a": 20.0 * (d["p.strong"] - 0.4), "y2021": 0.0}[p]
                )
                row["total_raised_yuan"] += rng.normal(0, 0.1) + (5.0 if p != "none" else 0.0)
                row["lifted_public_yuan"] = row["total_raised_yuan"] - base
                row["shifted_public_yuan"] = 3.0
                rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["settings"] = ["policy"]
    return df, draws


def test_the_assumption_that_decides_a_pick_is_named_with_its_source():
    df, draws = ensemble_sweep()
    sens = sensitivity.sensitivity(df, draws)
    assert set(sens.aim) == set(AIMS) and set(sens.response) == {"metric", "difference"}
    assert (sens.groupby(["aim", "response", "policy", "versus"]).size() == 3).all()
    dec = decisions.decision_table(df)
    top = sensitivity.top_assumptions(sens, dec, k=2)
    money = top[top.aim == "most money"]
    assert money.parameter.iloc[0] == "p.strong" and money.S1.iloc[0] > 0.6
    assert set(money.policy) | set(money.versus) == {"a", "y2021"}
    text = sensitivity.markdown(sens, dec, {"p.strong": "a paper"})
    assert "| most money |" in text and "| p.strong | " in text and "| a paper |" in text
    # too few blocks: no index, said so
    few, few_draws = ensemble_sweep(n_draws=3, seeds=(1,))
    assert sensitivity.sensitivity(few, few_draws).empty
    assert "Not estimated" in sensitivity.markdown(pd.DataFrame(), dec)


def test_values_read_as_a_planner_reads_them():
    assert planner.value_text("total_raised_yuan", 3.4567e8) == "3.457亿"
    assert planner.value_text("lifted_public_yuan", 1.2345e7, signed=True) == "+1234.5万"
    assert planner.value_text("lifted_public_yuan", -250.0, signed=True) == "-250 元"
    assert planner.value_text("matched_donor_share", 0.7734) == "77.3%"
    assert planner.value_text("gaming_share_of_foundation_match", 0.012, signed=True) == "+1.2 pt"
    assert planner.value_text("org_gini", 0.91234) == "0.912"
    assert planner.value_text("org_gini", float("nan")) == "n/a"


def test_the_report_is_one_page_that_holds_its_figures(tmp_path):
    df, draws = ensemble_sweep()
    draws.to_csv(tmp_path / "draws.csv", index=False)
    df.to_parquet(tmp_path / "sweep.parquet", index=False)
    planner.write(df, tmp_path)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# The planner's report")
    first_page = md.split("## Every policy")[0]
    assert "| most money | **a** |" in first_page and "p.strong (" in first_page
    assert "not been checked at full scale" in first_page
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3 and "src='http" not in page
    for name in ("paired", "ranks", "best", "main_table", "sensitivity"):
        assert len(pd.read_parquet(tmp_path / f"{name}.parquet")) > 0
        assert (tmp_path / f"{name}.csv").exists()
    main = pd.read_parquet(tmp_path / "main_table.parquet").set_index(["policy", "metric"])
    want = df[df.policy == "a"].total_raised_yuan
    assert main.loc[("a", "total_raised_yuan"), "mean"] == pytest.approx(want.mean())
    assert "## Which assumption decides it" in (tmp_path / "decisions.md").read_text(
        encoding="utf-8"
    )
    # written again, the same report (nothing appended twice)
    planner.write(df, tmp_path, with_figures=False)
    assert (tmp_path / "decisions.md").read_text(encoding="utf-8").count("## Which assumption") == 1


def test_a_sweep_that_also_varies_a_policy_setting_gets_its_report(tmp_path):
    df, _ = ensemble_sweep(n_draws=4, seeds=(1,))
    df = df.drop(columns="ensemble.draw")
    df["seed_run"] = np.tile(np.repeat(np.arange(4), 3), 1)
    df["policy.budget"] = 3e8
    df.attrs["settings"] = ["policy", "policy.budget"]
    planner.write(df, tmp_path, with_figures=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Against 2021's rules" not in md  # no label is plain "y2021" here
    assert "the seeds' noise only" in md and "| most money | **a, 300000000.0** |" in md


def test_the_full_scale_check_keeps_the_sweeps_own_settings():
    settings = {
        "choices": {"gaming": "both", "scenario": "y2020"},
        "task": [
            "experiment=ensemble",
            "seed=1,2",
            "scale=0.1",
            "policy=none,qf",
            "policy.budget=6e8",
            "gaming=both",
            "+output.record_gifts=false",
            "p.strong=0.3",
            "hydra.sweeper.draws=64",
        ],
        "sources": {"p.strong": "a paper"},
    }
    assert planner.full_scale_overrides(settings) == [
        "gaming=both",
        "scenario=y2020",
        "policy.budget=6e8",
        "+output.record_gifts=false",
    ]
