"""The compiled loops of a minute: gifts from draws, the batch's donor records compacted and
written back, and the minute's totals, each against the plain numpy it replaces."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.codes import DONOR_RECORD, MATCHED
from sim.model.arrivals import Crowd, Rates, draw_minute_kernel, make_gifts
from sim.model.choice import ChoiceTable, alias_table
from sim.model.donors import giving_counts
from sim.model.series import _SIZE_LUT, SIZE_EDGES_FEN, minute_totals
from sim.model.settlement import batch_rows, flower_events, gather_records, restore_donors


def numpy_gifts(
    minute,
    u_added,
    p_added,
    u_pick,
    spacings,
    u_one,
    one_share,
    z,
    u_help,
    u_project,
    mixes,
    seg_start,
    level,
    size_shift,
    sigma,
    max_yuan,
    prob,
    alias,
    n_p,
):
    """The chain of numpy operations make_gifts replaced (the engine before 2026-11-22)."""

    def pick(u, which):
        row = mixes[which]
        seg = (u[0][:, None] >= row[:, :-1]).sum(axis=1) if row.ndim == 2 else None
        size = seg_start[seg + 1] - seg_start[seg]
        k = np.minimum((u[1] * size).astype(np.int64), size - 1)
        return seg, seg_start[seg] + k

    n = u_added.shape[0]
    added = u_added < p_added
    seg, donor = pick(u_pick, added.astype(np.int64))
    gaps = np.cumsum(spacings)
    t = minute + gaps[:n] / gaps[n]
    one = u_one < one_share
    log_yuan = size_shift + level[donor] + sigma * z
    yuan = np.rint(np.exp(np.minimum(log_yuan, 30.0)))
    amount = np.clip(yuan, 1, max_yuan).astype(np.int64) * 100
    amount[one] = 100
    helpee = np.full(n, -1, dtype=np.int64)
    helpee[one] = pick(u_help, np.zeros(int(one.sum()), dtype=np.int64))[1]
    x = u_project * n_p
    k = np.minimum(x.astype(np.int64), n_p - 1)
    x -= k
    k += seg * n_p
    project = np.where(x < prob[k], k, alias[k]) - seg * n_p
    return {
        "t": t,
        "donor": donor,
        "project": project,
        "amount": amount,
        "helpee": helpee,
        "added": added,
    }


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
    p_added=st.floats(0, 1),
    one_share=st.floats(0, 0.5),
)
def test_make_gifts_is_the_numpy_chain(n, seed, p_added, one_share):
    rng = np.random.default_rng(seed)
    seg_start = np.array([0, 7, 40, 41, 100])
    mixes = np.array([[0.1, 0.5, 0.6, 1.0], [0.4, 0.9, 0.95, 1.0]])
    level = rng.normal(0, 1, 100).astype(np.float32)
    n_p = 13
    w = np.concatenate([rng.lognormal(0, 1, n_p) * (1 + s) for s in range(4)])
    tables = [alias_table(w[s * n_p : (s + 1) * n_p]) for s in range(4)]
    prob = np.concatenate([t[0] for t in tables])
    alias = np.concatenate([t[1] + s * n_p for s, t in enumerate(tables)])
    u_one = rng.random(n)
    draws = dict(
        u_added=rng.random(n),
        u_pick=rng.random((2, n)),
        spacings=rng.standard_exponential(n + 1),
        u_one=u_one,
        z=rng.standard_normal(n) * 3,
        u_help=rng.random((2, int(np.count_nonzero(u_one < one_share)))),
        u_project=rng.random(n),
    )
    out = {
        "t": np.empty(n),
        "donor": np.empty(n, np.int64),
        "project": np.empty(n, np.int64),
        "amount": np.empty(n, np.int64),
        "helpee": np.empty(n, np.int64),
        "added": np.empty(n, np.bool_),
    }
    d = draws
    make_gifts(
        17,
        (d["u_added"], d["u_pick"], d["spacings"], d["u_one"], d["z"], d["u_help"], d["u_project"]),
        p_added,
        Crowd(one_share, mixes, seg_start, level, 3.1, 1.4, 5000),
        ChoiceTable(prob, alias, n_p),
        (out["t"], out["donor"], out["project"], out["amount"], out["helpee"], out["added"]),
    )
    ref = numpy_gifts(
        17,
        d["u_added"],
        p_added,
        d["u_pick"],
        d["spacings"],
        d["u_one"],
        one_share,
        d["z"],
        d["u_help"],
        d["u_project"],
        mixes,
        seg_start,
        level,
        3.1,
        1.4,
        5000,
        prob,
        alias,
        n_p,
    )
    for k, v in ref.items():
        np.testing.assert_array_equal(out[k], v, err_msg=k)
    assert np.all(np.diff(out["t"]) >= 0) and np.all((out["t"] >= 17) & (out["t"] < 18))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lam=st.lists(st.sampled_from([0.0, 0.4, 3.0, 25.0, 310.5]), min_size=5, max_size=5),
    one_share=st.floats(0, 0.5),
)
def test_the_minute_kernel_draws_numpys_numbers(seed, lam, one_share):
    """draw_minute_kernel takes a minute's numbers from its Generator in numba: the same
    numbers numpy's calls, in the same order, give (both Poisson methods, below and above
    a mean of 10), made into the same gifts, and the stream left where numpy leaves it. A
    numba that drew otherwise would change every run."""
    seg_start = np.array([0, 7, 40, 41, 100])
    mixes = np.array([[0.1, 0.5, 0.6, 1.0], [0.4, 0.9, 0.95, 1.0]])
    level = np.random.default_rng(1).normal(0, 1, 100).astype(np.float32)
    n_p = 13
    tables = [alias_table(np.arange(1.0, n_p + 1) ** s) for s in range(4)]
    prob = np.concatenate([t[0] for t in tables])
    alias = np.concatenate([t[1] + s * n_p for s, t in enumerate(tables)])
    lam_quiz, lam_steps, lam_help, lam_base, lam_extra = lam
    rng = np.random.Generator(np.random.PCG64(seed))
    got = draw_minute_kernel(
        rng,
        17,
        Rates(lam_quiz, lam_steps, lam_help, lam_base, lam_extra),
        Crowd(one_share, mixes, seg_start, level, 3.1, 1.4, 5000),
        ChoiceTable(prob, alias, n_p),
    )

    ref = np.random.Generator(np.random.PCG64(seed))  # the engine's calls before the kernel
    picks = []
    for lam_events, rows in ((lam_quiz, 2), (lam_steps, 2), (lam_help, 4)):
        u = ref.random((rows, ref.poisson(lam_events)))
        for r in range(0, rows, 2):
            seg = (u[r][:, None] >= mixes[0][:-1]).sum(axis=1)
            size = seg_start[seg + 1] - seg_start[seg]
            picks.append(seg_start[seg] + np.minimum((u[r + 1] * size).astype(np.int64), size - 1))
    n = ref.poisson(lam_base + lam_extra)
    u = ref.random((3, n))
    spacings = ref.standard_exponential(n + 1)
    u_one = ref.random(n)
    z = ref.standard_normal(n)
    u_help = ref.random((2, int(np.count_nonzero(u_one < one_share))))
    rest = ref.random((5, n))
    gifts = numpy_gifts(
        17,
        u[0],
        lam_extra / (lam_base + lam_extra) if n else 0.0,
        u[1:],
        spacings,
        u_one,
        one_share,
        z,
        u_help,
        rest[0],
        mixes,
        seg_start,
        level,
        3.1,
        1.4,
        5000,
        prob,
        alias,
        n_p,
    )
    want = [
        *picks,
        gifts["t"],
        gifts["donor"],
        gifts["project"],
        gifts["amount"],
        gifts["helpee"],
        gifts["added"],
        rest[1:],
    ]
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=str(i))
    assert rng.random() == ref.random()


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, 49), min_size=0, max_size=120),
    helps=st.lists(st.integers(-1, 49), min_size=0, max_size=120),
)
def test_batch_rows_gather_and_restore_round_trip(ids, helps):
    """Every donor and friend of a batch gets one row (repeats share it), the rows are the
    population's records (with their kind and tenure), the table is left empty, and
    writing back changes only them."""
    n = len(ids)
    donor = np.array(ids, dtype=np.int64)
    helpee = np.array((helps + [-1] * n)[:n], dtype=np.int64)
    rng = np.random.default_rng(n)
    records = rng.integers(-(2**62), 2**62, (50, 2))
    kind = rng.integers(0, 3, 50).astype(np.int8)
    tenure = rng.integers(0, 8, 50).astype(np.int8)
    before = records.copy()
    table = np.full(1 << max(4, (4 * n - 1).bit_length()), -1, dtype=np.int64)
    ld, lh = np.empty(n, np.int64), np.empty(n, np.int64)
    rows = batch_rows(donor, helpee, table, ld, lh)
    local, local_kind, local_tenure = gather_records(records, kind, tenure, 0, rows)
    assert (table == -1).all()
    assert len(set(rows.tolist())) == rows.shape[0]
    assert set(rows.tolist()) == set(donor.tolist()) | set(helpee[helpee >= 0].tolist())
    np.testing.assert_array_equal(rows[ld], donor)
    np.testing.assert_array_equal(np.where(lh >= 0, rows[np.maximum(lh, 0)], -1), helpee)
    np.testing.assert_array_equal(local, records[rows])
    np.testing.assert_array_equal(local_kind, kind[rows])
    np.testing.assert_array_equal(local_tenure, tenure[rows])
    # kinds before ``first_kind`` are 0 unread, an empty tenure is 0 for all
    first = 25
    _, local_kind, local_tenure = gather_records(
        records, np.where(np.arange(50) < first, 0, kind).astype(np.int8), tenure[:0], first, rows
    )
    np.testing.assert_array_equal(local_kind, np.where(rows < first, 0, kind[rows]))
    assert (local_tenure == 0).all()
    local += 1
    restore_donors(records, local, rows)
    expect = before.copy()
    expect[rows] += 1
    np.testing.assert_array_equal(records, expect)
    assert DONOR_RECORD.itemsize == 16  # two int64 words a donor


def test_minute_totals_against_numpy():
    rng = np.random.default_rng(5)
    n = 2000
    amount = rng.choice([100, 500, 10_000, 999_900, 1_000_000, 5 * 10**9], n)
    fm = np.where(rng.random(n) < 0.3, rng.integers(1, 1000, n), 0)
    em = np.where(rng.random(n) < 0.2, rng.integers(1, 1000, n), 0)
    added = rng.random(n) < 0.1
    donor = rng.integers(0, 120, n)
    hist = np.zeros(SIZE_EDGES_FEN.shape[0] + 1, dtype=np.int64)
    got = minute_totals(amount, fm, em, added, donor, 100, _SIZE_LUT, SIZE_EDGES_FEN, hist)
    assert got == (
        amount.sum(),
        fm.sum(),
        em.sum(),
        np.count_nonzero(fm + em),
        np.count_nonzero(fm),
        np.count_nonzero(donor >= 100),
        amount[added].sum(),
    )
    expect = np.bincount(
        np.searchsorted(SIZE_EDGES_FEN, amount, side="right"), minlength=hist.shape[0]
    )
    np.testing.assert_array_equal(hist, expect)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_flower_events_are_the_numpy_they_replace(data):
    """Flowers by quiz, step donation and help (a donor may be listed more than once), and
    chances to friends helped, at most max_helps a day, helps counted in list order."""
    n = data.draw(st.integers(1, 8))
    ids = st.lists(st.integers(0, n - 1), max_size=20)
    quiz, steps, helper, helpee = (np.array(data.draw(ids), dtype=np.int64) for _ in range(4))
    max_helps = data.draw(st.integers(0, 3))
    flowers = np.array(
        data.draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=np.int32
    )
    helps = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int16)
    chances = np.zeros(n, dtype=np.int32)
    want_flowers, want_helps, want_chances = flowers.copy(), helps.copy(), chances.copy()
    for who, per in ((quiz, 1), (steps, 2), (helper, 3)):
        np.add.at(want_flowers, who, per)
    for h in helpee:  # in order: the cap binds at the help that reaches it
        if want_helps[h] < max_helps:
            want_helps[h] += 1
            want_chances[h] += 5
    earned = flower_events(
        quiz, steps, helper, helpee, flowers, helps, chances, 1, 2, 3, max_helps, 5
    )
    assert earned == quiz.size + 2 * steps.size + 3 * helper.size
    np.testing.assert_array_equal(flowers, want_flowers)
    np.testing.assert_array_equal(helps, want_helps)
    np.testing.assert_array_equal(chances, want_chances)


def test_giving_counts_against_numpy():
    rng = np.random.default_rng(9)
    gifts_made = rng.integers(0, 3, 500).astype(np.int32)
    status = rng.integers(0, 4, 500).astype(np.int8)
    gave = gifts_made > 0
    honest = np.arange(500) < 400
    assert giving_counts(gifts_made, status, 400) == (
        np.count_nonzero(gave),
        np.count_nonzero(gave & honest),
        np.count_nonzero(gave & honest & (status & MATCHED > 0)),
    )
