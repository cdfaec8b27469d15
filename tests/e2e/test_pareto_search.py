"""The Pareto search end to end on a tiny scale (experiment=pareto): every trial a run in its
own folder, the front written and holding no dominated point, 2021's rules run beside it,
and the same command resuming a killed search (finishing the trial that was running when it
was killed) to the same trials as a search never killed.

The killed and resumed search is ``slow`` (about 25 s; CI runs the slow tier too); the
default suite runs a search and its front through the docs' commands
(``tests/e2e/test_docs.py``, ``docs/sweeps.md``) and the check of a bad objective here."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.studies import pareto
from tests.conftest import TINY

OBJECTIVES = {
    "total_raised_yuan": "maximize",
    "lifted_public_yuan": "maximize",
    "matched_donor_share": "maximize",
    "org_gini": "minimize",
    "gaming_share_of_foundation_match": "minimize",
}


def _search(d, n_trials: int, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            "experiment=pareto",
            f"scale={TINY}",
            f"hydra.sweeper.pareto.n_trials={n_trials}",
            "hydra.sweeper.pareto.population_size=2",
            *extra,
            "hydra/launcher=basic",
            f"hydra.sweep.dir={d}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def _kill_after_ask(d, number: int) -> dict:
    """What a search killed while trial ``number`` ran leaves: the trial asked (its values
    in the journal, RUNNING) and no run of it."""
    conf = yaml.safe_load((d / "multirun.yaml").read_text(encoding="utf-8"))["hydra"]["sweeper"]
    space, _ = pareto.space_from(conf["params"])
    conditions = pareto.conditions_from(conf["pareto"]["when"], space)
    import optuna

    study = pareto.load_study(d)
    study = optuna.load_study(
        study_name=pareto.STUDY_NAME,
        storage=study._storage,
        sampler=pareto.sampler_for(conf["pareto"]["seed"], number, 2),
    )
    trial = study.ask()
    assert trial.number == number
    return pareto.suggest(trial, space, conditions)


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    d = tmp_path_factory.mktemp("pareto")
    res = _search(d, 2)
    assert res.returncode == 0, res.stderr[-3000:]
    asked = _kill_after_ask(d, 2)
    res = _search(d, 4)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "finishing 1 trials that were running" in res.stdout + res.stderr
    return d, asked


@pytest.mark.slow
def test_every_trial_is_a_run_and_the_front_is_written(resumed):
    d, _ = resumed
    trials = pd.read_csv(d / "trials.csv")
    assert trials.trial.tolist() == [0, 1, 2, 3] and (trials.state == "COMPLETE").all()
    for t in trials.to_dict("records"):
        cfg = yaml.safe_load((d / t["run"] / "config.yaml").read_text(encoding="utf-8"))
        assert cfg["scale"] == TINY and cfg["policy"]["name"] == "search"
        assert cfg["policy"]["foundation"]["type"] == t["policy.foundation.type"]
        assert cfg["policy"]["tranches"] == t["policy.tranches"]
    ref = yaml.safe_load((d / "reference" / "config.yaml").read_text(encoding="utf-8"))
    assert ref["policy"]["name"] == "y2021" and ref["scale"] == TINY
    for f in ("front.csv", "front.md", "front.png"):
        assert (d / f).stat().st_size > 0
    text = (d / "front.md").read_text(encoding="utf-8")
    assert "**Knee**" in text and "2021's rules" in text and "np.float64" not in text


@pytest.mark.slow
def test_the_front_holds_no_dominated_point(resumed):
    d, _ = resumed
    trials = pd.read_csv(d / "trials.csv")
    front = pd.read_csv(d / "front.csv")
    names = list(OBJECTIVES)
    sign = np.array([1.0 if v == "maximize" else -1.0 for v in OBJECTIVES.values()])
    for f in front[names].to_numpy():
        for t in trials[names].to_numpy():
            assert not ((sign * t >= sign * f).all() and (sign * t > sign * f).any())
    # ... and every trial off the front is dominated by one on it
    off = trials[~trials.trial.isin(front.trial)][names].to_numpy()
    for t in off:
        assert any(
            (sign * f >= sign * t).all() and (sign * f > sign * t).any()
            for f in front[names].to_numpy()
        )
    assert front.knee.sum() == 1


@pytest.mark.slow
def test_the_trial_that_was_running_is_finished_with_its_values(resumed):
    d, asked = resumed
    row = pd.read_csv(d / "trials.csv").set_index("trial").loc[2]
    for k, v in asked.items():
        assert row[k] == pytest.approx(v) if isinstance(v, float) else row[k] == v
    cfg = yaml.safe_load((d / "trial_0002" / "config.yaml").read_text(encoding="utf-8"))
    assert cfg["policy"]["tranches"] == asked["policy.tranches"]


@pytest.mark.slow
def test_a_resumed_search_is_the_search_never_killed(resumed, tmp_path):
    d, _ = resumed
    res = _search(tmp_path, 4)
    assert res.returncode == 0, res.stderr[-3000:]
    a, b = pd.read_csv(d / "trials.csv"), pd.read_csv(tmp_path / "trials.csv")
    pd.testing.assert_frame_equal(a, b)


def test_a_bad_objective_stops_the_search_before_any_run(tmp_path):
    # an objective added to the experiment's five, as a planner would add one
    res = _search(tmp_path, 4, "+hydra.sweeper.pareto.objectives.raised=maximize")
    assert res.returncode == 2, res.stderr[-3000:]
    assert "raised" in res.stderr and "allowed metrics" in res.stderr
    assert not list(tmp_path.glob("*/summary.json"))
