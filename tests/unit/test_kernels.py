"""The compiled loops of a minute: gifts from draws, the batch's donor records compacted and
written back, and the minute's totals, each against the plain numpy it replaces."""

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim.codes import DONOR_RECORD, MATCHED
from sim.model.arrivals import (
    MINUTE_SALT,
    ROW_COUNTS,
    ROW_GIFT,
    ROW_HELP,
    ROW_QUIZ,
    ROW_STEPS,
    Rates,
    counter_uniforms,
    draw_minute_kernel,
    make_gifts,
    minute_base,
    pick_members,
    poisson,
    row_start,
)
from sim.model.choice import alias_table, choice_tables
from sim.model.donors import FLOWER_EDGES, FLOWER_THRESHOLDS, donor_counts, inverse_normal
from sim.model.network import Network, hash_key, some_friend
from sim.model.series import _SIZE_LUT, SIZE_EDGES_FEN, minute_totals
from sim.model.settlement import batch_rows, flower_events, gather_records, restore_donors

# eight groups: four segments, each in a lower and an upper half
GROUP_START = np.array([0, 3, 7, 20, 40, 41, 42, 70, 100])
MIXES = np.array(
    [
        [0.05, 0.1, 0.3, 0.5, 0.55, 0.6, 0.8, 1.0],
        [0.2, 0.4, 0.6, 0.9, 0.92, 0.95, 0.97, 1.0],
        [0.0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 1.0],
    ]
)
N_P = 13
# a small network over the 100 members (sim.model.network)
NET = tuple(Network(np.uint64(12345), GROUP_START, 2.0, 2.0, 50, 0.1, np.uint64(99)))


def friends_along(helper, u):
    """The friend each helper helps, the u-th along its list (the network's own function:
    the network's law is tested in test_network_collections_pacing.py)."""
    return np.array(
        [some_friend(NET, int(h), float(x)) for h, x in zip(helper, u, strict=True)], np.int64
    )


def tables(w_of_block):
    """Alias tables of 2 kinds x 4 segments laid end to end."""
    made = [alias_table(w_of_block(b)) for b in range(8)]
    return (
        np.concatenate([t[0] for t in made]),
        np.concatenate([t[1] + b * N_P for b, t in enumerate(made)]),
    )


def numpy_gifts(
    minute,
    u_reason,
    p_reason,
    u_pick,
    u_time,
    u_one,
    one_share,
    z,
    u_help,
    u_project,
    level,
    size_shift,
    sigma,
    max_yuan,
    prob,
    alias,
):
    """The gifts of make_gifts, in plain numpy."""

    def pick(u, which):
        rows = MIXES[which]
        seg = (u[0][:, None] >= rows[:, :-1]).sum(axis=1)
        size = GROUP_START[seg + 1] - GROUP_START[seg]
        k = np.minimum((u[1] * size).astype(np.int64), size - 1)
        return seg, GROUP_START[seg] + k

    n = u_reason.shape[0]
    reason = np.where(
        u_reason < p_reason[0], 0, np.where(u_reason < p_reason[0] + p_reason[1], 1, 2)
    ).astype(np.int8)
    group, donor = pick(u_pick, reason.astype(np.int64))
    seg = group // 2
    last = np.nextafter(np.float64(minute + 1), minute)
    t = np.minimum(minute + (np.arange(n) + u_time) * (1.0 / n if n else 0.0), last)
    one = u_one < one_share
    log_yuan = (np.float32(size_shift) + level[donor]).astype(np.float64) + sigma * z
    yuan = np.rint(np.exp(np.minimum(log_yuan, 30.0)))
    amount = np.clip(yuan, 1, max_yuan).astype(np.int64) * 100
    amount[one] = 100
    helpee = np.full(n, -1, dtype=np.int64)
    helpee[one] = friends_along(donor[one], u_help[0])
    block = seg + np.where(reason == 2, 4, 0)
    x = u_project * N_P
    k = np.minimum(x.astype(np.int64), N_P - 1)
    x -= k
    k += block * N_P
    project = np.where(x < prob[k], k, alias[k]) - block * N_P
    return {
        "t": t,
        "donor": donor,
        "project": project,
        "amount": amount,
        "helpee": helpee,
        "reason": reason,
        "team": np.full(n, -1, dtype=np.int64),
    }


def _crowd(one_share, level):
    return (one_share, MIXES, GROUP_START, level, 3.1, 1.4, 5000, NET, 0.0, 2)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
    p0=st.floats(0, 1),
    p1=st.floats(0, 1),
    one_share=st.floats(0, 0.5),
)
def test_make_gifts_is_the_numpy_chain(n, seed, p0, p1, one_share):
    rng = np.random.default_rng(seed)
    level = rng.normal(0, 1, 100).astype(np.float32)
    w = rng.lognormal(0, 1, (8, N_P))
    prob, alias = tables(lambda b: w[b])
    p_reason = np.array([p0, (1 - p0) * p1])
    u_reason, u_one = rng.random(n), rng.random(n)
    d = dict(
        u_reason=u_reason,
        u_pick=rng.random((2, n)),
        u_time=rng.random(n),
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
        "reason": np.empty(n, np.int8),
        "team": np.empty(n, np.int64),
    }
    make_gifts(
        17,
        (
            d["u_reason"],
            d["u_pick"],
            d["u_time"],
            d["u_one"],
            d["z"],
            d["u_help"],
            d["u_project"],
        ),
        p_reason,
        _crowd(one_share, level),
        (prob, alias, N_P, 4),
        (
            out["t"],
            out["donor"],
            out["project"],
            out["amount"],
            out["helpee"],
            out["reason"],
            out["team"],
        ),
    )
    ref = numpy_gifts(
        17,
        d["u_reason"],
        p_reason,
        d["u_pick"],
        d["u_time"],
        d["u_one"],
        one_share,
        d["z"],
        d["u_help"],
        d["u_project"],
        level,
        3.1,
        1.4,
        5000,
        prob,
        alias,
    )
    for k, v in ref.items():
        np.testing.assert_array_equal(out[k], v, err_msg=k)
    assert np.all(np.diff(out["t"]) >= 0) and np.all((out["t"] >= 17) & (out["t"] < 18))


@pytest.mark.parametrize("minute", [0, 17, 12_959])
@pytest.mark.parametrize("n", [1, 2, 999_983])
def test_a_gifts_time_is_uniform_in_its_slice_and_never_the_next_minute(minute, n):
    """Gift i of n is at minute + (i + u) / n: sorted, and inside the minute even where the
    sum would round up to minute + 1 (u as close to 1 as a uniform gets)."""
    rng = np.random.default_rng(n)
    u_time = rng.random(n)
    u_time[-1] = 1.0 - 2.0**-53
    prob, alias = tables(lambda b: np.ones(N_P))
    t = np.empty(n)
    make_gifts(
        minute,
        (
            np.zeros(n),
            np.zeros((2, n)),
            u_time,
            np.ones(n),
            np.zeros(n),
            np.zeros((1, 0)),
            np.zeros(n),
        ),
        np.array([1.0, 0.0]),
        _crowd(0.0, np.zeros(100, dtype=np.float32)),
        (prob, alias, N_P, 4),
        (
            t,
            np.empty(n, np.int64),
            np.empty(n, np.int64),
            np.empty(n, np.int64),
            np.empty(n, np.int64),
            np.empty(n, np.int8),
            np.empty(n, np.int64),
        ),
    )
    assert t[0] >= minute and t[-1] < minute + 1 and np.all(np.diff(t) > 0)
    slot = np.floor((t - minute) * n)  # each in its own n-th of the minute, to rounding
    assert np.abs(slot - np.arange(n)).max() <= 1


def np_mix64(x):
    """SplitMix64's finaliser on uint64 arrays, in numpy (wrapping arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def np_row(base, row, n):
    """Row ``row`` of the minute keyed ``base``: its first ``n`` words, in numpy."""
    g = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        start = np_mix64(np.array([base + np.uint64(row) * g], dtype=np.uint64))[0]
        return np_mix64(start + np.arange(n, dtype=np.uint64) * g)


def np_unit(x):
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    minute=st.integers(0, 12_959),
    lam=st.lists(st.sampled_from([0.0, 0.4, 3.0, 25.0, 310.5]), min_size=6, max_size=6),
    one_share=st.floats(0, 0.5),
)
def test_the_minute_kernel_draws_the_minutes_counter_numbers(seed, minute, lam, one_share):
    """draw_minute_kernel's numbers are the minute's counter-based rows (SplitMix64 from a
    hash of the seed, the minute and the row), recomputed here in numpy, made into the
    same gifts: a pure function of (seed, minute), whatever drew before it. The counts
    are the kernel's own Poisson draws from their rows (their law is tested below)."""
    level = np.random.default_rng(1).normal(0, 1, 100).astype(np.float32)
    prob, alias = tables(lambda b: np.arange(1.0, N_P + 1) ** (b % 4) * (1 + b))
    lam_quiz, lam_steps, lam_help, lam_base, lam_shift, lam_lift = lam
    key = np.uint64(hash_key(seed, MINUTE_SALT))
    got = draw_minute_kernel(
        key, minute, tuple(Rates(*lam)), _crowd(one_share, level), (prob, alias, N_P, 4)
    )
    again = draw_minute_kernel(
        key, minute, tuple(Rates(*lam)), _crowd(one_share, level), (prob, alias, N_P, 4)
    )
    for a, b in zip(got, again, strict=True):
        np.testing.assert_array_equal(a, b)

    base = np.uint64(minute_base(key, minute))
    total = lam_base + lam_shift + lam_lift
    counts = [
        poisson(np.uint64(row_start(base, ROW_COUNTS + j)), x)
        for j, x in enumerate((lam_quiz, lam_steps, lam_help, total))
    ]
    picks = []
    for j, (row, rows) in enumerate(((ROW_QUIZ, 2), (ROW_STEPS, 2), (ROW_HELP, 3))):
        u = [np_unit(np_row(base, row + k, counts[j])) for k in range(rows)]
        seg = (u[0][:, None] >= MIXES[0][:-1]).sum(axis=1)
        size = GROUP_START[seg + 1] - GROUP_START[seg]
        picks.append(GROUP_START[seg] + np.minimum((u[1] * size).astype(np.int64), size - 1))
        if rows == 3:  # a help: its helper, and the friend it helps along the network
            picks.append(friends_along(picks[-1], u[2]))
    n = counts[3]
    g = [np_row(base, ROW_GIFT + k, n) for k in range(13)]
    u_one = np_unit(g[4])
    n_one = int(np.count_nonzero(u_one < one_share))
    z = np.array([inverse_normal(float(x)) for x in ((g[5] >> np.uint64(11)) + 0.5) * 2.0**-53])
    u_time = np_unit(np_row(base, ROW_GIFT + 3, n))
    rest = np.array([np_unit(g[7 + j]) for j in range(5)]).reshape(5, n)
    p_reason = np.array([lam_base / total, lam_shift / total]) if n else np.zeros(2)
    gifts = numpy_gifts(
        minute,
        np_unit(g[0]),
        p_reason,
        np.array([np_unit(g[1]), np_unit(g[2])]).reshape(2, n),
        u_time,
        u_one,
        one_share,
        z,
        np_unit(np_row(base, ROW_GIFT + 6, n_one)).reshape(1, n_one),
        rest[0],
        level,
        3.1,
        1.4,
        5000,
        prob,
        alias,
    )
    want = [
        *picks,
        gifts["t"],
        gifts["donor"],
        gifts["project"],
        gifts["amount"],
        gifts["helpee"],
        gifts["reason"],
        gifts["team"],
        rest[1:],
    ]
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        if i == 4:  # times: a cumulative sum, numpy's in another order of additions
            np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=str(i))
        else:
            np.testing.assert_array_equal(a, b, err_msg=str(i))


def test_a_draw_past_the_last_cumulative_share_picks_from_the_last_group():
    """A cumulative mix that rounding left short of 1 (here 1 - 2^-52): the largest
    uniforms, at or past its last share, pick a member of the last group, never past the
    population; the others pick as the shares say."""
    short = 1.0 - 2.0**-52
    mix = np.array([0.05, 0.1, 0.3, 0.5, 0.55, 0.6, 0.8, short])
    top = 1.0 - 2.0**-53  # the largest uniform the counter numbers give
    u_seg = np.array([short, top, 0.0, 0.07, 0.79])
    u_member = np.array([0.0, top, 0.0, 0.0, top])
    got = pick_members(u_seg, u_member, mix, GROUP_START)
    np.testing.assert_array_equal(got, [70, 99, 0, 3, 69])


@pytest.mark.parametrize("lam", [0.0, 0.4, 3.0, 9.99, 10.0, 25.0, 310.5, 16_632.0, 896_000.0])
def test_poisson_counts_have_the_poisson_law(lam):
    """4,000 counts from distinct rows: their mean and variance within 5 standard errors
    of ``lam`` (both methods: below a mean of 10 and from 10 on), never negative."""
    key = np.uint64(hash_key(3, MINUTE_SALT))
    x = np.array([poisson(np.uint64(row_start(key, i)), lam) for i in range(4_000)], float)
    assert (x >= 0).all()
    if lam == 0:
        assert (x == 0).all()
        return
    n = x.shape[0]
    assert abs(x.mean() - lam) < 5 * np.sqrt(lam / n)
    # the variance of a sample variance of a Poisson law: (lam + 2 lam^2 (n / (n - 1))) / n
    assert abs(x.var(ddof=1) - lam) < 5 * np.sqrt((lam + 2 * lam**2) / n)


def test_the_counter_numbers_are_uniform_and_normal():
    """A minute's rows are uniform on [0, 1) and its sizes' normals standard normal
    (Kolmogorov-Smirnov, 200,000 numbers each; two rows and two minutes uncorrelated);
    the inverse normal agrees with scipy's to 1e-8 (relative; measured 5.4e-9 at most, in
    the tails)."""
    from scipy import stats
    from scipy.special import ndtri

    key = np.uint64(hash_key(7, MINUTE_SALT))
    base = np.uint64(minute_base(key, 600))
    u = counter_uniforms(np.uint64(row_start(base, 11)), 200_000)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    v = counter_uniforms(np.uint64(row_start(base, 12)), 200_000)
    w = counter_uniforms(np.uint64(row_start(np.uint64(minute_base(key, 601)), 11)), 200_000)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01 and abs(np.corrcoef(u, w)[0, 1]) < 0.01
    p = (np.arange(1, 200_001) - 0.5) / 200_000
    z = np.array([inverse_normal(x) for x in p[::97]])
    np.testing.assert_allclose(z, ndtri(p[::97]), rtol=1e-8, atol=1e-12)
    zs = np.array([inverse_normal(x) for x in (u[:50_000] * (1 - 2**-53) + 2**-54)])
    assert stats.kstest(zs, "norm").pvalue > 1e-4


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
    donor = rng.integers(0, 120, n)
    hist = np.zeros(SIZE_EDGES_FEN.shape[0] + 1, dtype=np.int64)
    reason = rng.integers(0, 3, n).astype(np.int8)
    got = minute_totals(amount, fm, em, reason, donor, 100, _SIZE_LUT, SIZE_EDGES_FEN, hist)
    assert got == (
        amount.sum(),
        fm.sum(),
        em.sum(),
        np.count_nonzero(fm + em),
        np.count_nonzero(fm),
        np.count_nonzero(donor >= 100),
        amount[donor >= 100].sum(),
        np.count_nonzero(reason == 1),
        amount[reason == 1].sum(),
        np.count_nonzero(reason == 2),
        amount[reason == 2].sum(),
    )
    expect = np.bincount(
        np.searchsorted(SIZE_EDGES_FEN, amount, side="right"), minlength=hist.shape[0]
    )
    np.testing.assert_array_equal(hist, expect)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_flower_events_are_the_numpy_they_replace(data):
    """Flowers by quiz and step donation (a donor may be listed more than once); a help
    credits the friend helped (flowers and chances), at most max_helps a day, helps counted
    in list order, and nothing to the helper."""
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
    for who, per in ((quiz, 1), (steps, 2)):
        np.add.at(want_flowers, who, per)
    helped = 0
    for h in helpee:  # in order: the cap binds at the help that reaches it
        if want_helps[h] < max_helps:
            want_helps[h] += 1
            want_chances[h] += 5
            want_flowers[h] += 3
            helped += 1
    # the helpers are drawn but not given: a help credits only the friend helped
    earned = flower_events(quiz, steps, helpee, flowers, helps, chances, 1, 2, 3, max_helps, 5)
    assert earned == quiz.size + 2 * steps.size + 3 * helped
    assert (helps <= max(max_helps, 3)).all()
    np.testing.assert_array_equal(flowers, want_flowers)
    np.testing.assert_array_equal(helps, want_helps)
    np.testing.assert_array_equal(chances, want_chances)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(0, 600))
def test_the_donor_counts_are_numpys_in_any_number_of_parts(seed, parts, n):
    """donor_counts: the records that gave, the honest donors who gave and were matched,
    those at each flower threshold and in each bin, the most flowers, as numpy counts
    them; the same whether the records are counted in one range or in several."""
    rng = np.random.default_rng(seed)
    n_honest = int(rng.integers(0, n + 1))
    flowers = rng.integers(0, 1200, n).astype(np.int32) * (rng.random(n) < 0.9)
    gifts_made = (rng.integers(0, 3, n) * (rng.random(n) < 0.7)).astype(np.int32)
    status = rng.integers(0, 4, n).astype(np.int8)
    donors = SimpleNamespace(flowers=flowers, gifts_made=gifts_made, status=status, n=n_honest)
    got = donor_counts(donors, FLOWER_THRESHOLDS, FLOWER_EDGES, parts)
    gave = gifts_made > 0
    honest = np.arange(n) < n_honest
    matched = (status & MATCHED) > 0
    counted = gave & honest
    f = flowers[counted]
    bins = np.searchsorted(FLOWER_EDGES, f, side="right") - 1
    assert (got.gave, got.gave_honest, got.matched_honest) == (
        np.count_nonzero(gave),
        np.count_nonzero(counted),
        np.count_nonzero(counted & matched),
    )
    at = [np.count_nonzero(f >= t) for t in FLOWER_THRESHOLDS]
    m_at = [np.count_nonzero((f >= t) & matched[counted]) for t in FLOWER_THRESHOLDS]
    np.testing.assert_array_equal(got.at, at)
    np.testing.assert_array_equal(got.matched_at, m_at)
    np.testing.assert_array_equal(got.hist, np.bincount(bins, minlength=FLOWER_EDGES.shape[0]))
    np.testing.assert_array_equal(
        got.hist_matched,
        np.bincount(bins[matched[counted]], minlength=FLOWER_EDGES.shape[0]),
    )
    assert got.most == (int(flowers[:n_honest].max()) if n_honest else 0)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
    st.booleans(),
    st.booleans(),
)
def test_the_choice_tables_are_each_blocks_alias_table_end_to_end(n, n_seg, seed, zeros, same):
    """choice_tables (one call a refresh) gives the arrays the blocks' alias tables made one
    by one and laid end to end give, to the last bit (the choice's draws stay the same),
    also where segments share an attraction (``same``: their table is made once)."""
    rng = np.random.default_rng(seed)
    reach = rng.random(n) + 0.01
    beta = rng.choice([2.0, 1.0, -0.2], n_seg) if same else rng.random(n_seg) * 3.0
    a = np.round(rng.random(n), 3) * (rng.random(n) < 0.5)
    lifted = reach * np.round(rng.random(n), 3) * (rng.random(n) < 0.5)
    if zeros or lifted.sum() == 0:
        lifted = reach
    made = [alias_table(reach * (1.0 + b * a)) for b in beta]
    made += [alias_table(lifted)] * n_seg
    prob, alias = choice_tables(reach, beta, a, lifted)
    assert np.array_equal(prob, np.concatenate([t[0] for t in made]))
    assert np.array_equal(alias, np.concatenate([t[1] + k * n for k, t in enumerate(made)]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=1, max_size=60).filter(lambda w: sum(w) > 0))
@example([0.0, 2.225073858507e-311])  # a subnormal total: n / total overflows (CI, 2026-12-06)
@example([1e-308] * 60)
def test_an_alias_table_draws_each_index_by_its_weight(w):
    """Index k is drawn with probability w[k] / sum(w): prob[k] / n from its own slot and
    (1 - prob[j]) / n from each slot j that aliases it."""
    w = np.array(w)
    prob, alias = alias_table(w)
    n = w.shape[0]
    p = prob / n + np.bincount(alias, weights=(1.0 - prob) / n, minlength=n)
    assert np.allclose(p, w / w.sum(), atol=1e-9)
