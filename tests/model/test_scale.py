"""A scaled-down run keeps the answer (tests/scale): at ``scale=0.1`` the top-10
organisations' share, the Gini across organisations, each Foundation pool's exhaustion time
and the share of projects a per-project cap stops agree with full-scale runs kept as data
(``tests/scale/reference.json``, seeds 1-5), within the full-scale seed spread; where a
scale-down is known to move a figure (``SCALE_BIAS``: the share of projects a cap stops,
about one point more), around the full-scale figure plus that."""

from __future__ import annotations

import math

import pytest

from tests.scale import CASES, FLOOR, SCALE_BIAS, figures, kind, load

SCALE = 0.1


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tenth_of_the_donors_keeps_the_full_scale_answer(case, tmp_path):
    ref = load()[case]
    assert ref["overrides"] == CASES[case], (
        "tests/scale/reference.json is stale: python -m tests.scale"
    )
    got = figures(CASES[case], SCALE, 1, tmp_path)
    assert got.keys() == ref["figures"].keys()
    for name, full in ref["figures"].items():
        x = got[name]
        if full["mean"] is None:  # never exhausted at full scale: nor here
            assert math.isnan(x), (name, x)
            continue
        assert not math.isnan(x), (name, "exhausted at full scale, not at scale 0.1")
        # the seed spread of full scale, at least the floor (shares in points, minutes),
        # around the full-scale mean plus what a scale-down is known to add (SCALE_BIAS)
        tol = max(4 * full["sd"], FLOOR[kind(name)])
        want = full["mean"] + SCALE_BIAS.get(name, 0.0)
        assert abs(x - want) <= tol, (name, x, full["mean"], SCALE_BIAS.get(name), tol)
