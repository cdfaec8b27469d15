"""The tables' times and lists made at once are what the plain, one-at-a-time reading
gives (sim.outputs.tables, Calendar.iso_many)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.calendar import Calendar
from sim.outputs.tables import enterprise_table, event_table, yuan

CAL = Calendar(datetime(2021, 9, 1), [], {})

minutes = st.lists(
    st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False),
        st.integers(0, 12_960).map(lambda m: m + 0.5 / 60),  # half a second: to even
        st.integers(0, 12_960),
        st.sampled_from([float("nan"), float("inf")]),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(minutes, st.booleans())
def test_times_made_at_once_are_the_times_made_one_by_one(ms, aware):
    cal = CAL
    if aware:  # an offset in the campaign's start: carried into every time
        cal = dataclasses.replace(CAL, start=CAL.start.replace(tzinfo=timezone(timedelta(hours=8))))
    assert cal.iso_many(np.array(ms, dtype=np.float64)) == [cal.iso(m) for m in ms]
    assert cal.iso_many(ms) == [cal.iso(m) for m in ms]


def test_the_enterprise_and_event_tables_are_the_plain_reading(tiny_run):
    c = tiny_run[0]
    pl, cal = c.pools, c.calendar
    df = enterprise_table(c)
    idx = np.flatnonzero(pl.is_enterprise)
    assert len(df) == idx.size > 0
    for k in range(0, idx.size, max(1, idx.size // 50)):  # row k is pool idx[k]
        row = df.iloc[k]
        mine = pl.link_pool == idx[k]  # the links of the pool, in their order
        assert row.projects == pl.link_project[mine].tolist(), k
        assert row.paid_by_project_yuan == yuan(pl.link_paid[mine]).tolist(), k
    # the times as the plain reading gives them, in a table made the same way
    plain = pd.DataFrame(
        {
            "opens_at": [cal.iso(x) for x in pl.open_at[idx]],
            "depleted_at": [cal.iso(x) for x in pl.depleted_at[idx]],
        }
    )
    assert df.opens_at.equals(plain.opens_at) and df.depleted_at.equals(plain.depleted_at)
    assert df.depleted_at.isna().any() and df.depleted_at.notna().any()
    ev = event_table(c)
    events = sorted(c.events, key=lambda e: (e.minute, e.kind))
    plain_ev = pd.DataFrame(
        {
            "time": [cal.iso(e.minute) for e in events],
            "minute": [e.minute for e in events],
            "kind": [e.kind for e in events],
            "pool": [e.pool for e in events],
        }
    )
    assert len(ev) > 100 and ev.equals(plain_ev)


def test_a_run_without_enterprise_pools_has_an_empty_enterprise_table(tiny_run):
    c = tiny_run[0]
    pools = SimpleNamespace(
        n=c.pools.n, **{f.name: getattr(c.pools, f.name) for f in dataclasses.fields(c.pools)}
    )
    pools.is_enterprise = np.zeros_like(c.pools.is_enterprise)
    df = enterprise_table(SimpleNamespace(pools=pools, calendar=c.calendar))
    assert len(df) == 0 and "projects" in df.columns
