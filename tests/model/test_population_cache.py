"""The population cache (sim.model.donors.PopulationCache): a build that takes the last
population's draws and table gives the same numbers as a fresh build."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from sim.checks import year_population
from sim.model.campaign import Campaign
from sim.model.donors import POPULATIONS, Donors
from sim.model.streams import stream
from sim.outputs.tables import summary, tables
from tests.conftest import tiny_cfg

FIELDS = ("level", "tenure", "kind", "records", "group_start", "base_share", "attraction")


def _build(cfg, with_tenure=False, kinds=(1, 2, 2)):
    return Donors.build(
        year_population(cfg),
        cfg.scale,
        stream(cfg.seed, "donors"),
        np.array(kinds, dtype=np.int8),
        with_tenure=with_tenure,
    )


def _fresh(cfg, **kw):
    POPULATIONS.clear()
    return _build(cfg, **kw)


def _same(a: Donors, b: Donors) -> None:
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.has_tenure == b.has_tenure


@pytest.mark.parametrize("with_tenure", [False, True])
def test_a_cached_build_is_a_fresh_build(with_tenure):
    cfg = tiny_cfg()
    fresh = _fresh(cfg, with_tenure=with_tenure)
    fresh_copy = {f: np.array(getattr(fresh, f)) for f in FIELDS}
    del fresh
    POPULATIONS.clear()
    # the first build of the key, without tenure: a later one with tenure draws it after
    # the levels, as a fresh build does
    _build(cfg)
    gc.collect()
    hits = POPULATIONS.hits
    again = _build(cfg, with_tenure=with_tenure)
    assert POPULATIONS.hits == hits + 1
    for f in FIELDS:
        np.testing.assert_array_equal(getattr(again, f), fresh_copy[f], err_msg=f)


def test_the_table_is_zeroed_and_never_shared_with_a_live_population():
    cfg = tiny_cfg()
    first = _fresh(cfg)
    first.flowers[:10] = 7
    first.gifts_made[-3:] = 2
    second = _build(cfg)  # a hit, but the first still holds the table: a table of its own
    assert not np.shares_memory(first.records, second.records)
    assert not second.records.any()
    assert first.flowers[:10].tolist() == [7] * 10
    addr = first.records.ctypes.data
    del first
    gc.collect()
    second.status[:5] = 1
    del second
    third = _build(cfg)  # nothing holds the cached table now: lent again, zeroed
    assert third.records.ctypes.data == addr
    assert not third.records.any()


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 2},
        {"kinds": (1, 2)},
        {"overrides": ("population.gift_size.donor_sigma=0.5",)},
        {"scale": 0.003},
    ],
)
def test_another_key_is_built_again(change):
    cfg = tiny_cfg()
    _fresh(cfg)
    other = tiny_cfg(
        f"seed={change.get('seed', 1)}",
        *change.get("overrides", ()),
        scale=change.get("scale", cfg.scale),
    )
    hits = POPULATIONS.hits
    built = _build(other, kinds=change.get("kinds", (1, 2, 2)))
    assert POPULATIONS.hits == hits
    _same(built, _fresh(other, kinds=change.get("kinds", (1, 2, 2))))


@pytest.mark.parametrize("overrides", [("gaming=both", "policy=long_term"), ("scenario=y2018",)])
def test_a_run_on_a_cached_population_gives_the_same_numbers(overrides):
    """The second run of a process on the population its first run changed: every figure,
    and the donor table at the end, those of a run on a fresh build."""
    cfg = tiny_cfg(*overrides)
    POPULATIONS.clear()
    fresh = Campaign(cfg)
    r_fresh = fresh.run()
    s_fresh, records = summary(r_fresh, tables(r_fresh)), fresh.donors.records.copy()
    del fresh, r_fresh
    gc.collect()
    hits = POPULATIONS.hits
    again = Campaign(tiny_cfg(*overrides))
    assert POPULATIONS.hits == hits + 1
    r = again.run()
    s = summary(r, tables(r))
    s.pop("wall_seconds"), s_fresh.pop("wall_seconds")
    assert s == s_fresh
    np.testing.assert_array_equal(again.donors.records, records)
