"""Every scenario runs under every policy of conf/policy/, with both kinds of gaming, at a
tiny scale (issue 14.3: y2020 ran under its own policy only: 19 of the 20 files failed
validation, so experiment=policy_sweep scenario=y2020 died on its first job).

The default suite runs a covering set: every policy under one year and every year under
three or four policies, a different pairing per policy (each composed and validated first,
which is where y2020 failed). With ``-m slow`` every cell of the year x policy matrix is
composed and validated (120 compositions, about 40 s of the tests' time) and the whole
matrix runs (120 runs, about 2.5 minutes on two cores): 2016-2018 here, 2019-2021 in
``test_year_policy_matrix_later.py`` (with the cells' check), so that the two test workers
share it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.model.campaign import Campaign
from tests.conftest import tiny_cfg

CONF = Path(__file__).resolve().parents[2] / "conf"
YEARS = sorted(p.stem for p in (CONF / "scenario").glob("y*.yaml"))
EARLIER = ["y2016", "y2017", "y2018"]
POLICIES = sorted(p.stem for p in (CONF / "policy").glob("*.yaml"))


def test_the_matrix_is_the_whole_library():
    from tests.model.test_year_policy_matrix_later import LATER

    assert sorted(EARLIER + LATER) == YEARS and len(POLICIES) == 20


def cfg_of(year: str, policy: str):
    return tiny_cfg(f"scenario={year}", f"policy={policy}", "gaming=both", scale=0.0005)


def runs_and_conserves(year: str, policy: str) -> None:
    res = Campaign(cfg_of(year, policy)).run()
    pl, p = res.pools, res.projects
    assert res.series.gifts.sum() > 0
    np.testing.assert_array_equal(pl.paid + pl.remaining, pl.budget)
    assert p.foundation_match.sum() == pl.paid[pl.foundation].sum()
    assert p.enterprise_match.sum() == pl.paid[pl.is_enterprise].sum()


COVER = [(YEARS[i % len(YEARS)], p) for i, p in enumerate(POLICIES)]


@pytest.mark.parametrize(("year", "policy"), COVER)
def test_a_covering_set_of_the_matrix_runs(year, policy):
    runs_and_conserves(year, policy)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("year", EARLIER)
def test_every_earlier_year_runs_under_every_policy(year, policy):
    runs_and_conserves(year, policy)
