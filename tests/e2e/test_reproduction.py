"""The researcher's report from finished sweeps: the table's means and intervals are the
seeds', predictions have no error, the sensitivity is against the base run with the same
seed, and the report and its figures are written. The experiment configs sweep what the
report expects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy import stats

from sim.runner import run
from sim.studies.reproduction import SENSITIVITY, collect, figure_table, write_report
from tests.conftest import compose_cfg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    base = tmp_path_factory.mktemp("sweeps")
    runs, sens = base / "reproduce", base / "sensitivity"
    for year in (2016, 2019, 2021):
        for seed in (1, 2, 3):
            run(
                compose_cfg(
                    f"scenario=y{year}",
                    f"seed={seed}",
                    "scale=0.002",
                    "output.figures=false",
                    "output.progress=false",
                ),
                runs / f"scenario=y{year},seed={seed}",
            )
    for f in (0.8, 1.2):
        run(
            compose_cfg(
                "scenario=y2021",
                "seed=1",
                "scale=0.002",
                "output.figures=false",
                "output.progress=false",
                "perturb.key=scenario.levels.gifts",
                f"perturb.factor={f}",
            ),
            sens / f"perturb.factor={f},perturb.key=scenario.levels.gifts",
        )
    (runs / "scenario=y2016,seed=9").mkdir()  # a job that never finished
    (runs / "scenario=y2016,seed=9" / "config.yaml").write_text("seed: 9\n")
    return runs, sens


def test_the_table_gives_each_figure_its_mean_and_interval_over_seeds(sweeps):
    runs, _ = sweeps
    df, left_out = collect(runs)
    assert left_out == [("scenario=y2016,seed=9", "no status.json (never started, or not a run)")]
    assert df.job.nunique() == 9
    t = figure_table(df)
    row = t[(t.year == 2021) & (t.figure == "public_donations_yuan")].iloc[0]
    x = df[(df.year == 2021) & (df.figure == "public_donations_yuan")].simulated
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / np.sqrt(3)
    assert row.simulated_mean == pytest.approx(x.mean())
    assert row.ci95_high - row.simulated_mean == pytest.approx(half)
    assert row.relative_error == pytest.approx((x.mean() - 3.569e9) / 3.569e9)
    assert row.role == "fitted" and row.seeds == 3
    pred = t[(t.year == 2019) & (t.figure == "public_donations_yuan")].iloc[0]
    assert pd.isna(pred.reported) and pd.isna(pred.relative_error) and pred.simulated_mean > 0
    assert set(t.year) == {2016, 2019, 2021}


def test_the_report_is_written_with_its_figures_and_sensitivity(sweeps, tmp_path):
    runs, sens = sweeps
    path = write_report(runs, sens, tmp_path)
    text = path.read_text()
    for part in (
        "## Fitted figures",
        "## Figures the model was not fitted to",
        "## The calibration",
        "## Foundation pools by year",
        "## Sensitivity (2021)",
        "## The predictions against the platform's whole year",
        "| 2019 |",
        "prediction",
    ):
        assert part in text
    for f in (
        "reported_vs_simulated.png",
        "daily_2021.png",
        "pools_by_year.png",
        "concentration_by_year.png",
    ):
        assert (tmp_path / f).stat().st_size > 10_000 and f"({f})" in text
    s = pd.read_csv(tmp_path / "sensitivity.csv")
    assert list(s.parameter) == [
        "(base)",
        "scenario.levels.gifts",
        "scenario.levels.gifts",
    ]
    up = s[s.factor == 1.2].iloc[0]
    # the fitted gift level of 2021 (conf/fit/y2021/scenario.yaml)
    fit = OmegaConf.load(Path(__file__).parents[2] / "conf" / "fit" / "y2021" / "scenario.yaml")
    assert up.base_value == pytest.approx(fit.scenario.levels.gifts)
    # a higher gift level, more gifts, against the base run of the same seed
    assert up["donation_count:change"] > 0 > s[s.factor == 0.8].iloc[0]["donation_count:change"]
    t = pd.read_csv(tmp_path / "figures.csv")
    assert {
        "year",
        "figure",
        "reported",
        "simulated_mean",
        "ci95_low",
        "ci95_high",
        "relative_error",
        "role",
    } <= set(t.columns)


def _sweep_params(experiment: str):
    path = ROOT / "conf" / "experiment" / f"{experiment}.yaml"
    return OmegaConf.load(path).hydra.sweeper.params


def test_the_experiments_sweep_every_year_and_every_sensitivity_parameter():
    rep = _sweep_params("reproduce")
    assert rep.scenario.split(",") == [f"y{y}" for y in range(2016, 2022)]
    assert len(str(rep.seed).split(",")) >= 3
    sens = _sweep_params("sensitivity")
    assert sens["perturb.key"].split(",") == list(SENSITIVITY)
    assert [float(f) for f in str(sens["perturb.factor"]).split(",")] == [0.8, 1.2]
    for key in SENSITIVITY:  # each is a numeric value of the 2021 config
        assert isinstance(OmegaConf.select(compose_cfg("scenario=y2021"), key), int | float)


@pytest.mark.slow
def test_the_reproduce_command_end_to_end(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.studies.reproduction",
            "scale=0.002",
            "--seeds",
            "1,2",
            "--runs",
            str(tmp_path / "r"),
            "--sensitivity",
            str(tmp_path / "s"),
            "--out",
            str(tmp_path / "o"),
            "hydra/launcher=basic",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "o" / "report.md").exists()
    assert len(pd.read_csv(tmp_path / "o" / "sensitivity.csv")) == 1 + 2 * len(SENSITIVITY)
