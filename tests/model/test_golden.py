"""Back-tests: a fresh run of every golden case gives exactly the checked-in results.

A failure here means the numbers moved. If that was meant, write the baselines again
(``python -m uv run python -m tests.golden``) and say in CHANGELOG.md which moved and why."""

from __future__ import annotations

import pytest

from tests.golden import CASES, fingerprint, load

BASELINES = load()


def test_every_case_has_a_baseline():
    assert sorted(BASELINES) == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_fresh_run_matches_its_baseline(case, tmp_path):
    want = BASELINES[case]
    assert want["overrides"] == CASES[case]
    got = fingerprint(CASES[case], tmp_path)
    assert got["summary"] == want["summary"]
    for name, digest in want["tables"].items():
        assert got["tables"][name] == digest, f"table {name} moved"
