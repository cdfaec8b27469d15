"""The Pareto search's parts (sim.studies.pareto): the search space from Hydra's sweep
grammar, conditional keys, the sampler by seed, the front against a brute-force check and
its knee."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.studies import pareto

SPACE_TEXT = {
    "policy.name": "search",
    "policy.foundation.type": "choice(fixed_ratio, random_match)",
    "policy.foundation.ratio": "interval(0.25, 2.0)",
    "policy.foundation.probability": "interval(0.1, 1.0)",
    "policy.foundation.gift_cap_yuan": "tag(log, interval(5.0, 999.0))",
    "policy.tranches": "range(1, 7)",
}
WHEN = {
    "policy.foundation.ratio": "policy.foundation.type=fixed_ratio",
    "policy.foundation.probability": "policy.foundation.type=random_match",
}


def test_the_sweep_grammar_becomes_optuna_distributions():
    space, fixed = pareto.space_from(SPACE_TEXT)
    assert fixed == ["policy.name=search"]
    d = optuna.distributions
    assert space["policy.foundation.type"] == d.CategoricalDistribution(
        ["fixed_ratio", "random_match"]
    )
    assert space["policy.foundation.ratio"] == d.FloatDistribution(0.25, 2.0)
    assert space["policy.foundation.gift_cap_yuan"] == d.FloatDistribution(5.0, 999.0, log=True)
    # range(1, 7) stops before 7, as Python's range
    assert space["policy.tranches"] == d.IntDistribution(1, 6)
    # a float range keeps its last value below the stop, as Python's range would
    assert pareto.space_from({"x": "range(0, 1, 0.3)"})[0]["x"].high == pytest.approx(0.9)
    assert pareto.space_from({"x": "range(0.0, 1.0, 0.25)"})[0]["x"].high == pytest.approx(0.75)
    assert pareto.corner(space, 0)["policy.tranches"] == 1
    assert pareto.corner(space, 1)["policy.foundation.type"] == "random_match"


def test_the_points_checked_before_a_search_hold_every_choice_and_both_ends():
    d = optuna.distributions
    space = {
        "policy.tranches": d.CategoricalDistribution([1, 0, 2, 4]),
        "policy.foundation.type": d.CategoricalDistribution(["fixed_ratio", "random_match"]),
        "policy.budget": d.FloatDistribution(1e8, 6e8),
    }
    points = pareto.check_points(space)
    assert {p["policy.tranches"] for p in points} == {0, 1, 2, 4}  # the middle 0 too
    assert {p["policy.foundation.type"] for p in points} == {"fixed_ratio", "random_match"}
    assert {p["policy.budget"] for p in points} == {1e8, 6e8}
    assert points[:2] == [pareto.corner(space, 0), pareto.corner(space, 1)]
    assert len(points) == len({tuple(sorted(p.items())) for p in points})  # none twice


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"policy.tranches": "interval(3, 3)"}, "is empty"),
        ({"policy.tranches": "glob(*)"}, "allowed are interval"),
    ],
)
def test_a_space_it_cannot_search_is_an_error_naming_the_key(params, words):
    with pytest.raises(ValueError, match=words) as e:
        pareto.space_from(params)
    assert "policy.tranches" in str(e.value)


def test_bad_objectives_and_conditions_are_errors_naming_the_key():
    with pytest.raises(ValueError, match="allowed metrics"):
        pareto.check_objectives({"total_raised_yuan": "maximize", "raised": "maximize"})
    with pytest.raises(ValueError, match="maximize"):
        pareto.check_objectives({"total_raised_yuan": "maximize", "org_gini": "lowest"})
    space, _ = pareto.space_from(SPACE_TEXT)
    with pytest.raises(ValueError, match="policy.foundation.ratio"):
        pareto.conditions_from({"policy.foundation.ratio": "policy.foundation.type=qf"}, space)
    later, _ = pareto.space_from({"a": "interval(0, 1)", "b": "choice(x, y)"})
    with pytest.raises(ValueError, match="b must come before a"):
        pareto.conditions_from({"a": "b=x"}, later)


def _ask(seed: int, n: int, population: int = 4) -> list[dict]:
    """n trials of a study in memory, told a made-up pair of objectives of their values."""
    space, _ = pareto.space_from(SPACE_TEXT)
    conditions = pareto.conditions_from(WHEN, space)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, directions=["maximize", "minimize"])
    out = []
    for number in range(n):
        study = optuna.load_study(
            study_name=study.study_name,
            storage=storage,
            sampler=pareto.sampler_for(seed, number, population),
        )
        trial = study.ask()
        values = pareto.suggest(trial, space, conditions)
        out.append(values)
        if number % population == population - 1:  # a generation is told when it is whole
            for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                cap = t.params["policy.foundation.gift_cap_yuan"]
                study.tell(t.number, [cap, t.params["policy.tranches"]])
    return out


def test_the_sampler_is_reproducible_by_seed_and_keeps_conditions():
    a, b, c = _ask(0, 12), _ask(0, 12), _ask(1, 12)
    assert a == b and a != c
    for values in a:
        rule = values["policy.foundation.type"]
        assert ("policy.foundation.ratio" in values) == (rule == "fixed_ratio")
        assert ("policy.foundation.probability" in values) == (rule == "random_match")
    overrides = pareto.trial_overrides(7, a[0], ["policy.name=search"])
    assert overrides[-1] == "hydra.sweep.subdir=trial_0007" and "policy.name=search" in overrides


def _dominated_brute_force(v: np.ndarray, maximize: list[bool]) -> set[int]:
    sign = np.where(maximize, 1.0, -1.0)
    out = set()
    for i, j in itertools.permutations(range(len(v)), 2):
        a, b = sign * v[j], sign * v[i]
        if all(a >= b) and any(a > b):
            out.add(i)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 25).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 5), min_size=3, max_size=3), min_size=n, max_size=n
        )
    ),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_the_front_holds_no_dominated_point_and_every_undominated_one(rows, maximize):
    v = np.array(rows, dtype=float)
    keep = pareto.non_dominated(v, maximize)
    assert set(np.flatnonzero(~keep)) == _dominated_brute_force(v, maximize)
    front = v[keep]
    k = pareto.knee(front, maximize)
    assert 0 <= k < len(front)


def test_the_knee_is_the_point_nearest_the_best_of_every_aim():
    # maximize both: (0, 10) and (10, 0) are ends, (6, 6) is nearest (10, 10) once scaled
    front = np.array([[0.0, 10.0], [6.0, 6.0], [10.0, 0.0], [9.0, 2.0]])
    assert pareto.knee(front, [True, True]) == 1
    # the second aim minimized: its best is 0, so (10, 0) is best on both
    assert pareto.knee(front, [True, False]) == 2


def test_the_front_reads_like_the_planners_report():
    """The front's values and the knee's differences are written as the report writes them
    (sim.studies.planner.value_text): 亿 / 万, percentages, points for a difference of shares."""
    import pandas as pd

    from sim.studies.planner import value_text

    objectives = {
        "total_raised_yuan": "maximize",
        "lifted_public_yuan": "maximize",
        "matched_donor_share": "maximize",
    }
    front = pd.DataFrame(
        {
            "trial": [45],
            "state": ["COMPLETE"],
            "run": ["trial_0045"],
            "policy.tranches": [3],
            "total_raised_yuan": [4.712e8],
            "lifted_public_yuan": [3.019e7],
            "matched_donor_share": [0.833],
        }
    )
    reference = {
        "total_raised_yuan": 4.682e8,
        "lifted_public_yuan": 1.707e7,
        "matched_donor_share": 0.773,
    }
    text = pareto.front_markdown(front, objectives, 0, reference, 0.1, 1)
    assert "| 4.712亿 | 4.682亿 | +300.0万 |" in text
    assert f"| {value_text('lifted_public_yuan', 3.019e7)} | 1707.0万 | +1312.0万 |" in text
    assert "| 83.3% | 77.3% | +6.0 pt |" in text
    assert "`trial_0045` | 3 | 4.712亿 | 3019.0万 | 83.3% |" in text
