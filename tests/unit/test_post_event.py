"""Post-event rules on hand-computed windows, and their conservation to the fen."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba.typed import List

from sim.policies import make_rule
from sim.policies.post_event import (
    MAX_CLASSES,
    _pairwise,
    allocate,
    pair_sums,
    pairwise_subsidy,
    radix_order,
    water_fill,
    whole_fen,
    window_stats,
)
from sim.schema import RuleConfig


def window(gifts, n_projects=2, org=None, kinds=None):
    """gifts: (donor, project, yuan) triples; kinds: each gift's donor's kind."""
    d, p, y = (np.array(x) for x in zip(*gifts, strict=True))
    kind = np.zeros(d.max() + 1, np.int8)
    if kinds is not None:
        kind[d] = kinds
    org = np.arange(n_projects, dtype=np.int32) if org is None else np.asarray(org, np.int32)
    return window_stats(
        d.astype(np.int64),
        p.astype(np.int64),
        (y * 100).astype(np.int64),
        kind,
        n_projects,
        org,
        int(org.max()) + 1,
    )


def run(rule_kw, gifts, budget_yuan, n_projects=2, flags=None, frozen=None, **kw):
    r = make_rule(RuleConfig(**rule_kw))
    st_ = window(gifts, n_projects, **kw)
    flags = np.zeros(n_projects, np.int8) if flags is None else np.asarray(flags, np.int8)
    frozen = np.zeros(n_projects, np.int8) if frozen is None else np.asarray(frozen, np.int8)
    return allocate(r, r.encode(), st_, budget_yuan * 100, flags, frozen)


FOUR_OF_ONE_VS_ONE_OF_FOUR = [(0, 0, 1), (1, 0, 1), (2, 0, 1), (3, 0, 1), (4, 1, 4)]


def test_quadratic_funding_four_gifts_of_1_against_one_gift_of_4():
    # S = (4 x sqrt 1)^2 - 4 = 12 for the four donors; (sqrt 4)^2 - 4 = 0 for the one
    a = run({"type": "quadratic"}, FOUR_OF_ONE_VS_ONE_OF_FOUR, budget_yuan=1000)
    np.testing.assert_array_equal(a.per_project, [1_200, 0])  # 12 yuan, alpha = 1
    # the pool binds: alpha = 6 / 12
    a = run({"type": "quadratic"}, FOUR_OF_ONE_VS_ONE_OF_FOUR, budget_yuan=6)
    np.testing.assert_array_equal(a.per_project, [600, 0])


def test_quadratic_funding_proportional_variant_gives_the_single_gift_a_share():
    # weights (sum sqrt c)^2: 16 and 4 -> 80% and 20% of the whole pool
    a = run(
        {"type": "quadratic", "qf_variant": "proportional"},
        FOUR_OF_ONE_VS_ONE_OF_FOUR,
        budget_yuan=10,
    )
    np.testing.assert_array_equal(a.per_project, [800, 200])


def test_one_donor_giving_four_times_is_one_contribution_of_4():
    a = run({"type": "quadratic"}, [(0, 0, 1)] * 4 + [(1, 1, 1), (2, 1, 1)], budget_yuan=100)
    # project 0: one donor, c = 4: no subsidy; project 1: (1 + 1)^2 - 2 = 2
    np.testing.assert_array_equal(a.per_project, [0, 200])


def test_pairwise_bound_shrinks_each_pair_term():
    # two donors of 1 yuan on one project: term 2 sqrt(1) = 2, bounded by M / (M + 1)
    s = pairwise_subsidy(np.array([0, 0]), np.array([1.0, 1.0]), 1, m=1.0)
    assert s[0] == pytest.approx(2 * 1 / 2)
    s = pairwise_subsidy(np.array([0, 0, 0]), np.array([1.0, 1.0, 4.0]), 1, m=1e12)
    assert s[0] == pytest.approx(2 * (1 + 2 + 2))  # unbounded: = (sum sqrt c)^2 - sum c
    a = run(
        {"type": "pairwise_quadratic", "pairwise_m_yuan": 1.0},
        FOUR_OF_ONE_VS_ONE_OF_FOUR,
        budget_yuan=1000,
    )
    np.testing.assert_array_equal(a.per_project, [600, 0])  # 6 pairs x 2 x 1/2


def test_breadth_splits_by_distinct_donors():
    a = run({"type": "breadth"}, [(0, 0, 100), (0, 0, 100), (1, 0, 1), (2, 1, 5)], budget_yuan=30)
    np.testing.assert_array_equal(a.per_project, [2_000, 1_000])


def test_pro_rata_with_an_organisation_cap():
    gifts = [(0, 0, 90), (1, 1, 5), (2, 2, 5)]
    a = run({"type": "pro_rata"}, gifts, budget_yuan=100, n_projects=3)
    np.testing.assert_array_equal(a.per_project, [9_000, 500, 500])
    a = run({"type": "pro_rata", "org_cap_share": 0.5}, gifts, budget_yuan=100, n_projects=3)
    np.testing.assert_array_equal(a.per_project, [5_000, 2_500, 2_500])


def test_threshold_prizes_split_equally_among_winners():
    gifts = [(d, 0, 1) for d in range(3)] + [(d, 1, 1) for d in range(10, 11)]
    a = run(
        {"type": "threshold_prizes", "donor_thresholds": [[1, 0.5], [3, 0.5]]},
        gifts,
        budget_yuan=100,
    )
    np.testing.assert_array_equal(a.per_project, [7_500, 2_500])


def test_frozen_projects_and_equity_weights():
    gifts = [(0, 0, 10), (1, 1, 10)]
    a = run({"type": "pro_rata"}, gifts, 10, frozen=[1, 0])
    np.testing.assert_array_equal(a.per_project, [0, 1_000])
    a = run({"type": "pro_rata", "equity_region": 1.0}, gifts, 9, flags=[1, 0])
    np.testing.assert_array_equal(a.per_project, [600, 300])


def test_gaming_share_is_attributed_by_contribution():
    gifts = [(0, 0, 1), (1, 0, 1), (2, 0, 1), (3, 0, 1)]
    a = run({"type": "quadratic"}, gifts, 1000, n_projects=1, kinds=[1, 1, 0, 0])
    assert a.per_project[0] == 1_200 and a.gamed_fen == 600


def test_water_fill_caps_and_redistributes():
    np.testing.assert_allclose(water_fill(np.array([90.0, 5, 5]), 0.5), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(water_fill(np.array([1.0, 1, 1]), 0.2), [0.2, 0.2, 0.2])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 4), st.integers(1, 5_000)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(
        [
            "quadratic",
            "pairwise_quadratic",
            "breadth",
            "pro_rata",
            "threshold_prizes",
            "proportional",
        ]
    ),
    st.integers(0, 10**7),
    st.sampled_from([None, 3, 500]),
    st.lists(st.integers(0, 1), min_size=5, max_size=5),
)
def test_every_post_event_rule_conserves_money_to_the_fen(gifts, kind, budget_fen, cap, frozen):
    kw = {"type": kind, "project_cap_yuan": cap, "equity_small_org": 0.5}
    if kind == "proportional":
        kw.update(type="quadratic", qf_variant="proportional")
    if kind == "threshold_prizes":
        kw["donor_thresholds"] = [[1, 0.3], [2, 0.7]]
    if kind == "pro_rata":
        kw["org_cap_share"] = 0.4
    r = make_rule(RuleConfig(**kw))
    st_ = window(gifts, 5, org=[0, 0, 1, 2, 2])
    frozen = np.array(frozen, np.int8)
    a = allocate(r, r.encode(), st_, budget_fen, np.array([0, 2, 2, 0, 1], np.int8), frozen)
    assert a.per_project.dtype == np.int64 and (a.per_project >= 0).all()
    assert a.per_project.sum() <= budget_fen  # never more than the pool
    assert (a.per_project[frozen > 0] == 0).all()
    if cap is not None:
        assert (a.per_project <= cap * 100).all()
    assert (a.per_project[st_.n_donors == 0] == 0).all()  # only to projects given to
    assert 0 <= a.gamed_fen <= a.per_project.sum()
    if (
        kind in ("breadth", "pro_rata", "proportional")
        and cap is None
        and (st_.n_donors * (frozen == 0) > 0).any()
        and kind != "pro_rata"
    ):
        assert a.per_project.sum() == budget_fen  # weight rules spend the whole pool


@given(
    st.lists(st.floats(0, 1e6, allow_subnormal=False), min_size=1, max_size=30),
    st.integers(0, 10**8),
)
def test_whole_fen_hits_the_total_exactly(ideal, total):
    ideal = np.array(ideal)
    if ideal.sum() < 1e-6:  # no share to scale up
        return
    ideal = ideal * (total / ideal.sum())
    out = whole_fen(ideal, total)
    assert out.sum() == total
    assert (np.abs(out - ideal) <= 1.0 + 1e-6).all()


def test_pairwise_classes_for_projects_with_many_distinct_contributions():
    rng = np.random.default_rng(0)
    proj = rng.integers(0, 5, 200_000)
    c = np.rint(np.exp(rng.normal(3.5, 1.3, proj.shape[0]))) + 1
    order = np.lexsort((c, proj))
    starts = np.concatenate([[0], np.cumsum(np.bincount(proj, minlength=5))]).astype(np.int64)
    exact = _pairwise(c[order], starts, 100.0, 10**9)
    grouped = _pairwise(c[order], starts, 100.0, MAX_CLASSES)
    assert len(np.unique(c[proj == 0])) > MAX_CLASSES  # the grouping is exercised
    np.testing.assert_allclose(grouped, exact, rtol=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(0, 2**62), max_size=300),
    small=st.booleans(),
)
def test_radix_order_is_a_stable_argsort(keys, small):
    """radix_order gives the order numpy's stable argsort gives, ties in their first order
    (many ties where the keys are small), on every key width up to 63 bits."""
    k = np.array([x % 7 for x in keys] if small else keys, dtype=np.int64)
    np.testing.assert_array_equal(radix_order(k), np.argsort(k, kind="stable"))


@settings(max_examples=40, deadline=None)
@given(
    gifts=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 4), st.integers(1, 10_000)),
        max_size=200,
    )
)
def test_window_stats_are_those_of_a_sort_by_pair(gifts):
    """The window's sums by (donor, project) pair are those of numpy's argsort by pair,
    summed in numpy: the same pairs, in the same order, to the last bit."""
    d = np.array([g[0] for g in gifts], np.int64)
    p = np.array([g[1] for g in gifts], np.int64)
    fen_ = np.array([g[2] for g in gifts], np.int64)
    donor_kind = (np.arange(51) >= 45).astype(np.int8)
    kind = donor_kind[d]
    org = np.array([0, 0, 1, 1, 2], np.int32)
    got = window_stats(d, p, fen_, donor_kind, 5, org, 3)
    key = d * 5 + p
    order = np.argsort(key, kind="stable")
    ks = key[order]
    first = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]])) if ks.size else ks
    c = np.add.reduceat(fen_[order], first) / 100.0 if ks.size else np.zeros(0)
    np.testing.assert_array_equal(got.pair_donor, ks[first] // 5)
    np.testing.assert_array_equal(got.pair_project, ks[first] % 5)
    np.testing.assert_array_equal(got.pair_c, c)
    np.testing.assert_array_equal(got.pair_kind, kind[order][first])
    np.testing.assert_array_equal(got.sum_c, np.bincount(ks[first] % 5, weights=c, minlength=5))
    np.testing.assert_array_equal(
        got.sum_sqrt, np.bincount(ks[first] % 5, weights=np.sqrt(c), minlength=5)
    )


@settings(max_examples=30, deadline=None)
@given(
    gifts=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 4), st.integers(1, 10_000)),
        min_size=1,
        max_size=120,
    ),
    cuts=st.lists(st.integers(0, 120), max_size=4),
)
def test_a_window_in_chunks_sums_as_one_put_together(gifts, cuts):
    """A window's minutes (chunks) read where they are or put together first (a small
    window, post_event.JOIN_CHUNKS_BELOW) give the same sums, to the last bit."""
    from sim.policies import post_event

    d, p, fen_ = (np.array([g[k] for g in gifts], np.int32) for k in range(3))
    edges = sorted({0, len(gifts), *(min(c, len(gifts)) for c in cuts)})
    spans = list(zip(edges[:-1], edges[1:], strict=True))
    chunks = [[x[a:b] for a, b in spans] for x in (d, p, fen_)]
    donor_kind = np.zeros(51, np.int8)
    org = np.array([0, 0, 1, 1, 2], np.int32)
    joined = window_stats(*chunks, donor_kind, 5, org, 3)
    below, post_event.JOIN_CHUNKS_BELOW = post_event.JOIN_CHUNKS_BELOW, 0
    try:
        apart = window_stats(*chunks, donor_kind, 5, org, 3)
    finally:
        post_event.JOIN_CHUNKS_BELOW = below
    for field in ("pair_donor", "pair_project", "pair_c", "n_donors", "sum_c", "sum_sqrt"):
        np.testing.assert_array_equal(getattr(joined, field), getattr(apart, field), field)


@settings(max_examples=60, deadline=None)
@given(
    gifts=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 4), st.integers(0, 10_000)),
        max_size=200,
    ),
    form=st.sampled_from(["fen", "whole yuan", "wide keys", "int32"]),
)
def test_pair_sums_are_those_of_a_stable_argsort_on_every_path(gifts, form):
    """pair_sums gives numpy's sums by pair whichever way it takes: the key and the amount
    packed in one word (in fen, or in yuan where every gift is whole yuan), or, where
    they do not fit one word (donors far apart), the keys sorted with the gifts' order;
    for int32 inputs as a window keeps them."""
    d = np.array([g[0] for g in gifts], np.int64)
    p = np.array([g[1] for g in gifts], np.int64)
    fen_ = np.array([g[2] for g in gifts], np.int64)
    if form == "whole yuan":
        fen_ = fen_ * 100
    elif form == "wide keys":
        d = d * 2**50  # 53 bits of key and 14 of amount: more than a word
    elif form == "int32":
        d, p, fen_ = d.astype(np.int32), p.astype(np.int32), fen_.astype(np.int32)
    cut = sorted({0, d.shape[0] // 3, d.shape[0] // 2, d.shape[0]})  # in chunks, as kept
    spans = list(pairwise(cut)) or [(0, 0)]
    got = pair_sums(*(List([x[a:b] for a, b in spans]) for x in (d, p, fen_)), 5)
    key = d.astype(np.int64) * 5 + p
    order = np.argsort(key, kind="stable")
    ks = key[order]
    first = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]])) if ks.size else ks
    c = np.add.reduceat(fen_[order].astype(np.int64), first) if ks.size else np.zeros(0)
    np.testing.assert_array_equal(got[0], ks[first] // 5)
    np.testing.assert_array_equal(got[1], ks[first] % 5)
    np.testing.assert_array_equal(got[2], c / 100.0)


@settings(max_examples=30, deadline=None)
@given(
    minutes=st.lists(
        st.lists(
            st.tuples(st.integers(0, 30), st.integers(0, 3), st.integers(1, 500), st.booleans()),
            max_size=40,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_a_window_keeps_its_eligible_gifts_as_numpy_would(minutes):
    """A post-event window's minute (keep_eligible, compiled) keeps the gifts and sums
    what numpy's masks and bincounts would, to the last bit."""
    from sim.model.gifts import Gifts
    from sim.model.post_windows import PostWindow

    n_p = 4
    win = PostWindow([0], 10, 20, 100, n_p, np.int32)
    counts = np.zeros((10, n_p), np.int32)
    n_gifts, yuan, roots = np.zeros(n_p), np.zeros(n_p), np.zeros(n_p)
    kept = []
    for m, rows in enumerate(minutes, start=10):
        d, p, a, ok = (np.array(x) for x in zip(*rows, strict=True)) if rows else ([],) * 4
        d, p = np.asarray(d, np.int64), np.asarray(p, np.int64)
        a, ok = np.asarray(a, np.int64) * 10, np.asarray(ok, bool)
        z = np.zeros(d.shape[0])
        gifts = Gifts(z, d, p, a, d, z, z, z, z, z.astype(np.int8), d)
        win.add(m, gifts, ok)
        sel = ok & (a >= 100)
        kept.append((d[sel], p[sel], a[sel]))
        c = np.bincount(p[sel], minlength=n_p)
        counts[m - 10] += c.astype(np.int32)
        n_gifts += c
        yuan += np.bincount(p[sel], weights=a[sel] / 100.0, minlength=n_p)
        roots += np.bincount(p[sel], weights=np.sqrt(a[sel] / 100.0), minlength=n_p)
    np.testing.assert_array_equal(win.counts, counts)
    np.testing.assert_array_equal(win.gifts, n_gifts)
    np.testing.assert_array_equal(win.yuan, yuan)
    np.testing.assert_array_equal(win.sum_sqrt, roots)
    for (d, p, a), chunk in zip(kept, win.chunks, strict=True):
        np.testing.assert_array_equal(chunk[0], d)
        np.testing.assert_array_equal(chunk[1], p)
        np.testing.assert_array_equal(chunk[2], a)
        assert [x.dtype for x in chunk] == [np.int32, np.int32, np.int32]


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(0, 6), st.integers(1, 300)), max_size=150),
    fen=st.booleans(),
)
def test_pairwise_subsidy_is_that_of_a_lexsort_by_project_and_amount(pairs, fen):
    """pairwise_subsidy sorts whole-fen amounts as one word a pair: the same subsidies as
    numpy's lexsort by (project, amount), to the last bit; amounts that are not whole fen
    take the lexsort."""
    p = np.array([x[0] for x in pairs], np.int64)
    c = np.array([x[1] for x in pairs], np.int64) / (100.0 if fen else 7.0)
    order = np.lexsort((c, p))
    starts = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=7))]).astype(np.int64)
    want = _pairwise(c[order], starts, 50.0, MAX_CLASSES)
    np.testing.assert_array_equal(pairwise_subsidy(p, c, 7, 50.0), want)
