"""The year x policy matrix, 2019-2021 (see ``test_year_policy_matrix.py``)."""

from __future__ import annotations

import pytest

from tests.model.test_year_policy_matrix import POLICIES, YEARS, cfg_of, runs_and_conserves

LATER = ["y2019", "y2020", "y2021"]


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("year", LATER)
def test_every_later_year_runs_under_every_policy(year, policy):
    runs_and_conserves(year, policy)


@pytest.mark.slow  # the covering set of the default suite composes and validates its cells
@pytest.mark.parametrize("year", YEARS)
def test_every_cell_of_the_matrix_composes_and_validates(year):
    for policy in POLICIES:
        cfg = cfg_of(year, policy)
        assert cfg.scenario.name == year and cfg.policy.name
