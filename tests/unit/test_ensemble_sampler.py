"""The ensemble's parameter draws (sim.studies.ensemble): reproducible by seed, inside their
priors, and bad priors named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.studies import ensemble

SPEC = {
    "scenario.response.loss_share": {"low": 0.0, "high": 0.5, "source": "Meier (2007)"},
    "scenario.response.presence_match": {
        "low": 0.01,
        "high": 0.2,
        "log": True,
        "source": "ASSUMPTION",
    },
}


@pytest.mark.parametrize("sampler", ensemble.SAMPLERS)
def test_the_draws_are_reproducible_by_seed_and_inside_their_ranges(sampler):
    priors = ensemble.priors_from(SPEC)
    a = ensemble.draw_parameters(priors, 20, sampler, seed=3)
    b = ensemble.draw_parameters(priors, 20, sampler, seed=3)
    c = ensemble.draw_parameters(priors, 20, sampler, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert a.draw.tolist() == list(range(20))
    loss, pres = a["scenario.response.loss_share"], a["scenario.response.presence_match"]
    assert loss.between(0.0, 0.5).all() and pres.between(0.01, 0.2).all()
    # a space-filling design: every fifth of each range holds 4 of the 20 draws (Latin
    # hypercube exactly; Sobol's first 20 of 32 within one)
    for col, lo, hi, log in ((loss, 0.0, 0.5, False), (pres, 0.01, 0.2, True)):
        u = (np.log(col / lo) / np.log(hi / lo)) if log else (col - lo) / (hi - lo)
        counts = np.bincount((u * 5).astype(int), minlength=5)
        assert counts.min() >= (4 if sampler == "lhs" else 2), counts


def test_the_overrides_name_the_draw_and_its_values():
    draws = ensemble.draw_parameters(ensemble.priors_from(SPEC), 2, "sobol", 0)
    ov = ensemble.draw_overrides(draws)
    assert ov[1][0] == "ensemble.draw=1"
    assert ov[1][1] == f"scenario.response.loss_share={draws.iloc[1, 1]:.9g}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"a.b": {"low": 0, "high": 1}}, r"ensemble prior a.b: missing \['source'\]"),
        ({"a.b": {"low": 1, "high": 1, "source": "x"}}, "low 1.0 must be below high 1.0"),
        ({"a.b": {"low": 0, "high": 1, "log": True, "source": "x"}}, "needs low > 0"),
        ({}, "the ensemble has no priors"),
    ],
)
def test_a_bad_prior_is_named(spec, message):
    with pytest.raises(ValueError, match=message):
        ensemble.priors_from(spec)


def test_a_bad_sampler_or_count_is_named():
    priors = ensemble.priors_from(SPEC)
    with pytest.raises(
        ValueError, match=r"sampler: 'halton'; allowed values are \['sobol', 'lhs'\]"
    ):
        ensemble.draw_parameters(priors, 4, "halton", 0)
    with pytest.raises(ValueError, match="draws: 0; at least 1"):
        ensemble.draw_parameters(priors, 0, "sobol", 0)
