"""The behavioural ensemble end to end on a tiny scale (experiment=ensemble): every policy
under each parameter draw on common random numbers, the draws written, the decisions paired
by (seed, draw), which assumption decides them, the planner's report, and a second run of
the same command resumes (runs nothing).

The 24-run ensemble and its checks are ``slow`` (about 80 s of the default suite's time; CI
runs the slow tier too); the default suite runs a 4-run ensemble and its planner's report
through the docs' commands (``tests/e2e/test_docs.py``, ``docs/sweeps.md``) and the check
of a bad draw here."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from tests.conftest import TINY


def _ensemble(d, policies="none,fixed_ratio,y2021", draws=4, *extra, seeds="1,2"):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            "experiment=ensemble",
            f"scale={TINY}",
            f"policy={policies}",
            f"seed={seeds}",
            f"hydra.sweeper.draws={draws}",
            *extra,
            "hydra/launcher=basic",
            f"hydra.sweep.dir={d}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    d = tmp_path_factory.mktemp("ensemble")
    res = _ensemble(d)
    assert res.returncode == 0, res.stderr[-3000:]
    return d


@pytest.mark.slow
def test_every_policy_runs_under_every_draw(ran):
    draws = pd.read_csv(ran / "draws.csv")
    assert draws.draw.tolist() == [0, 1, 2, 3] and draws.shape[1] == 8
    df = pd.read_parquet(ran / "sweep.parquet")
    assert len(df) == 24 and set(df.policy) == {"none", "fixed_ratio", "y2021"}
    assert sorted(df["ensemble.draw"].astype(int).unique()) == [0, 1, 2, 3]
    # the draw's values are the run's: its config holds them
    row = df[(df.policy == "y2021") & (df["ensemble.draw"].astype(int) == 1)].iloc[0]
    assert row.job.startswith("ensemble.draw=1,")
    cfg = (ran / row.job / "config.yaml").read_text(encoding="utf-8")
    assert f"lift_scale: {float(draws.loc[1, 'scenario.response.lift_scale']):.9g}" in cfg
    # common random numbers: with no match the behaviour drawn changes nothing
    none = df[df.policy == "none"]
    assert (none.groupby("seed_run").total_raised_yuan.nunique() == 1).all()
    # ... and with a match it does
    assert df[df.policy == "y2021"].total_raised_yuan.nunique() == 8


@pytest.mark.slow
def test_the_decisions_pair_by_seed_and_draw(ran):
    dec = pd.read_csv(ran / "decisions.csv")
    assert (dec.blocks == 8).all() and set(dec.pick) <= {"fixed_ratio", "y2021"}
    comp = pd.read_csv(ran / "comparison.csv")
    assert comp.set_index("policy").runs.to_dict() == {"fixed_ratio": 8, "none": 8, "y2021": 8}
    text = (ran / "decisions.md").read_text(encoding="utf-8")
    assert "share seed_run, ensemble.draw (common random numbers)" in text
    assert "## Which assumption decides it" in text and "Meier (2007)" in text


@pytest.mark.slow
def test_the_report_says_what_to_pick_which_assumption_decides_it_and_its_scale(ran):
    sens = pd.read_parquet(ran / "sensitivity.parquet")
    assert set(sens.parameter) == set(pd.read_csv(ran / "draws.csv").columns[1:])
    assert (sens.points == 8).all() and sens.S1.between(0, 1).all()
    md = (ran / "report.md").read_text(encoding="utf-8")
    first = md.split("## Every policy")[0]
    assert "24 runs: 3 policies × 4 behavioural draws (sobol) × 2 seeds" in first
    assert f"every run at scale {TINY:g}" in first and "--check-full-scale" in first
    assert "| most money | **" in first and "the assumptions that would change it" in first
    assert "moved in time (shift)" in md and ("万" in md or "亿" in md)
    page = (ran / "report.html").read_text(encoding="utf-8")
    assert "<table>" in page and page.count("data:image/png;base64,") == 3
    for name in ("paired", "ranks", "best", "main_table", "sweep"):
        assert len(pd.read_parquet(ran / f"{name}.parquet")) > 0
    # the draws that reproduce 2021's fitted figures (rejection ABC), each judged on its seeds
    acc = pd.read_parquet(ran / "posterior.parquet")
    assert acc["ensemble.draw"].tolist() == [0, 1, 2, 3] and (acc.seeds == 2).all()
    n_ok = int(acc.accepted.sum())
    assert f"{n_ok} of 4 behavioural draws reproduce y2021's fitted figures" in first


@pytest.mark.slow
def test_the_same_command_again_resumes(ran):
    before = {p.parent.name: p.stat().st_mtime_ns for p in ran.glob("*/summary.json")}
    res = _ensemble(ran)
    assert res.returncode == 0, res.stderr[-3000:]
    after = {p.parent.name: p.stat().st_mtime_ns for p in ran.glob("*/summary.json")}
    assert after == before and len(after) == 24


def test_a_draw_outside_the_allowed_values_stops_the_sweep_before_any_run(tmp_path):
    res = _ensemble(
        tmp_path,
        "none,y2021",
        4,
        "hydra.sweeper.priors={scenario.response.lift_scale:{low:20,high:30,source:x}}",
    )
    assert res.returncode == 2, res.stderr[-3000:]
    assert "scenario.response.lift_scale" in res.stderr and "from 0 to 10" in res.stderr
    assert not list(tmp_path.glob("*/summary.json"))
