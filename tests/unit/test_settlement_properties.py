"""Properties of the settlement kernel on arbitrary small worlds (hypothesis).

Nothing lost: every fen donated or matched lands on exactly one project (the gift's), a pool
never pays more than it holds, caps are never exceeded, nothing is matched outside a window,
and a bigger pool never pays less.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.codes import BANNED, MATCHED, F
from sim.model.gifts import Gifts
from sim.model.pools import LiveLists, PoolState, live_lists
from sim.model.projects import ProjectState
from sim.model.settlement import BatchDonors, Settled, SettleRules, settle_batch
from sim.policies import make_rule
from sim.schema import RuleConfig


@st.composite
def rules(draw, linked: bool):
    kind = draw(
        st.sampled_from(
            ["fixed_ratio", "random_match", "none", "size_tiers", "long_term", "equity_weighted"]
        )
    )
    caps = {
        "gift_cap_yuan": draw(st.sampled_from([None, 1, 30, 500])),
        "project_cap_yuan": draw(st.sampled_from([None, 5, 200])),
        "equity_region": draw(st.sampled_from([0.0, 0.5])),
        "equity_small_org": draw(st.sampled_from([0.0, 1.0])),
    }
    if kind == "fixed_ratio":
        return RuleConfig(type=kind, ratio=draw(st.sampled_from([0.5, 1.0, 3.0])), **caps)
    if kind == "equity_weighted":
        caps["equity_region"] = 0.5
        return RuleConfig(type=kind, ratio=draw(st.sampled_from([0.5, 1.0])), **caps)
    if kind == "size_tiers":
        return RuleConfig(type=kind, size_tiers=[[1, 0.2], [50, 0.3], [500, 0.4]], **caps)
    if kind == "long_term":
        return RuleConfig(type=kind, ratio=0.5, long_term_years=2, long_term_ratio=2.0, **caps)
    if kind == "random_match":
        lo = draw(st.floats(0, 1.5))
        return RuleConfig(
            type=kind,
            probability=draw(st.floats(0, 1)),
            chance_probability=draw(st.sampled_from([None, 0.9])),
            fraction_low=lo,
            fraction_high=lo + draw(st.floats(0, 1)),
            flower_tiers=draw(st.sampled_from([[], [[2, 0.05, 0.5]]])),
            flower_multiplier=draw(st.sampled_from([[], [4, 2, 5]])),
            **caps,
        )
    return RuleConfig(type="none")


@st.composite
def worlds(draw):
    n_donors = draw(st.integers(1, 6))
    n_projects = draw(st.integers(1, 4))
    n_global = draw(st.integers(0, 3))
    n_linked = draw(st.integers(0, 4))
    donor_cap = draw(st.sampled_from([None, 10, 100]))
    rule_rows, opens, closes, budgets = [], [], [], []
    for k in range(n_global + n_linked):
        r = draw(rules(linked=k >= n_global))
        if k < n_global:
            r.donor_daily_cap_yuan = donor_cap
        rule_rows.append(make_rule(r).encode())
        o = draw(st.integers(0, 9))
        opens.append(o)
        closes.append(draw(st.integers(o + 1, 10)))
        budgets.append(draw(st.integers(0, 50_000)))
    n = draw(st.integers(0, 60))
    t = np.sort(np.array(draw(st.lists(st.floats(0, 9.999), min_size=n, max_size=n))))
    return {
        "n_donors": n_donors,
        "n_projects": n_projects,
        "n_global": n_global,
        "rules": np.array(rule_rows, dtype=np.int64).reshape(-1, len(F)),
        "open": np.array(opens, dtype=float),
        "close": np.array(closes, dtype=float),
        "budget": np.array(budgets, dtype=np.int64),
        # each linked pool backs a set of projects: (pool, project) links
        "links": [
            (n_global + k, p)
            for k in range(n_linked)
            for p in sorted(
                draw(st.sets(st.integers(0, n_projects - 1), min_size=1, max_size=n_projects))
            )
        ],
        "donor_cap": donor_cap,
        "t": t,
        "donor": np.array(
            draw(st.lists(st.integers(0, n_donors - 1), min_size=n, max_size=n)), dtype=np.int64
        ),
        "project": np.array(
            draw(st.lists(st.integers(0, n_projects - 1), min_size=n, max_size=n)), dtype=np.int64
        ),
        "amount": np.array(
            draw(st.lists(st.integers(1, 1_000_000), min_size=n, max_size=n)), dtype=np.int64
        ),
        "helpee": np.array(
            draw(st.lists(st.integers(-1, n_donors - 1), min_size=n, max_size=n)), dtype=np.int64
        ),
        "u": np.array(
            draw(st.lists(st.floats(0, 0.999999), min_size=4 * n, max_size=4 * n)), dtype=float
        ).reshape(4, n),
        "tenure": np.array(
            draw(st.lists(st.integers(0, 7), min_size=n_donors, max_size=n_donors)), dtype=np.int8
        ),
        "kind": np.array(
            draw(st.lists(st.integers(0, 2), min_size=n_donors, max_size=n_donors)), dtype=np.int8
        ),
        "flags": np.array(
            draw(st.lists(st.integers(0, 3), min_size=n_projects, max_size=n_projects)),
            dtype=np.int8,
        ),
        "rate_limit": draw(st.sampled_from([0, 1, 3])),
        "freeze_after": draw(st.sampled_from([0, 1, 4])),
        "detect_ppm": np.array(
            draw(st.sampled_from([[0, 0, 0], [0, 5e5, 1e6], [1e5, 1e6, 1e6]])), dtype=float
        ),
    }


def settle(w, budget=None, minute=None):
    """Run the kernel on a world, with the live lists of ``minute`` if given, else with
    every pool; returns every array it touched. A world may leave out the gaming parts (no
    gaming, no counter-measures)."""
    n = w["t"].shape[0]
    w = {
        "tenure": np.zeros(w["n_donors"], np.int8),
        "kind": np.zeros(w["n_donors"], np.int8),
        "flags": np.zeros(w["n_projects"], np.int8),
        "rate_limit": 0,
        "freeze_after": 0,
        "detect_ppm": np.zeros(3),
        **w,
    }
    if w["u"].shape[0] < 4:
        w["u"] = np.vstack([w["u"], np.full((4 - w["u"].shape[0], n), 0.5)])
    budget = w["budget"] if budget is None else budget
    n, nd, npj, ng = w["t"].shape[0], w["n_donors"], w["n_projects"], w["n_global"]
    links = np.array(w["links"], dtype=np.int64).reshape(-1, 2)
    order = np.lexsort((links[:, 0], links[:, 1]))
    link_pool, link_project = links[order, 0], links[order, 1]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(link_project, minlength=npj))])
    s = {
        "flowers": np.zeros(nd, np.int32),
        "chances": np.zeros(nd, np.int32),
        "helps": np.zeros(nd, np.int16),
        "match_today": np.zeros(nd, np.int64),
        "gifts_made": np.zeros(nd, np.int32),
        "batch_gifts": np.zeros(nd, np.int16),
        "status": np.zeros(nd, np.int8),
        "frozen": np.zeros(npj, np.int8),
        "detect": np.zeros(npj, np.int64),
        "gamed": np.zeros_like(budget),
        "public": np.zeros(npj, np.int64),
        "count": np.zeros(npj, np.int64),
        "fmatch": np.zeros(npj, np.int64),
        "ematch": np.zeros(npj, np.int64),
        "remaining": budget.copy(),
        "paid": np.zeros_like(budget),
        "depleted": np.full(budget.shape[0], np.nan),
        "gp_paid": np.zeros((ng, npj), np.int64),
        "link_project": link_project,
        "link_pool": link_pool,
        "link_paid": np.zeros(link_pool.shape[0], np.int64),
        "out_f": np.zeros(n, np.int64),
        "out_e": np.zeros(n, np.int64),
        "out_ep": np.zeros(n, np.int64),
        "out_ok": np.zeros(n, np.bool_),
    }
    # every pool, every link: the kernel checks each gift by gift
    live = (
        np.arange(ng, dtype=np.int64),
        ptr.astype(np.int64),
        np.arange(link_pool.shape[0], dtype=np.int64),
        link_pool.copy(),
    )
    if minute is not None:  # the engine's live lists for a batch within [minute, minute + 1)
        k, q = live_lists(minute, w["close"], s["remaining"], np.arange(ng, dtype=np.int64), *live)
        live = (live[0][:k], live[1], live[2][:q], live[3][:q])
    gifts = Gifts(
        w["t"],
        w["donor"],
        w["project"],
        w["amount"],
        w["helpee"],
        w["u"][0],
        w["u"][1],
        w["u"][2],
        w["u"][3],
        np.zeros(n, np.int8),
        np.full(n, -1, np.int64),
    )
    donors = BatchDonors(
        s["flowers"],
        s["chances"],
        s["helps"],
        s["match_today"],
        s["gifts_made"],
        s["status"],
        w["tenure"],
        w["kind"],
        s["batch_gifts"],
    )
    projects = ProjectState(
        s["public"], s["count"], s["fmatch"], s["ematch"], w["flags"], s["frozen"], s["detect"]
    )
    pools = PoolState(
        w["open"],
        w["close"],
        s["remaining"],
        s["paid"],
        s["depleted"],
        s["gamed"],
        w["rules"],
        np.arange(ng, dtype=np.int64),
        s["gp_paid"],
        s["link_paid"],
    )
    rules = SettleRules(1, 5, 30, w["rate_limit"], w["freeze_after"], w["detect_ppm"])
    out = Settled(s["out_f"], s["out_e"], s["out_ep"], s["out_ok"])
    settle_batch(
        gifts, w["donor"], w["helpee"], donors, projects, pools, LiveLists(*live), rules, out
    )
    return s


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_every_fen_lands_on_one_project_and_no_pool_overpays(w):
    s = settle(w)
    ng, npj = w["n_global"], w["n_projects"]
    # public money: each gift's amount on its own project, and nowhere else
    np.testing.assert_array_equal(
        s["public"], np.bincount(w["project"], weights=w["amount"], minlength=npj)
    )
    assert s["public"].sum() == w["amount"].sum()
    # match: per gift on the gift's project; project totals equal pool payouts
    np.testing.assert_array_equal(
        s["fmatch"], np.bincount(w["project"], weights=s["out_f"], minlength=npj)
    )
    np.testing.assert_array_equal(
        s["ematch"], np.bincount(w["project"], weights=s["out_e"], minlength=npj)
    )
    assert s["fmatch"].sum() == s["paid"][:ng].sum()
    assert s["ematch"].sum() == s["paid"][ng:].sum()
    assert (
        s["fmatch"].sum() + s["ematch"].sum() + s["public"].sum()
        == w["amount"].sum() + s["paid"].sum()
    )
    # pools: never below zero, never more than the budget, emptied exactly when depleted
    assert (s["remaining"] >= 0).all()
    np.testing.assert_array_equal(s["paid"] + s["remaining"], w["budget"])
    emptied = (s["remaining"] == 0) & (s["paid"] > 0)
    np.testing.assert_array_equal(np.isfinite(s["depleted"]), emptied)
    # an enterprise match comes from a pool linked to the gift's project, and the links
    # account for every fen the linked pools paid
    for i in np.flatnonzero(s["out_e"]):
        assert (s["out_ep"][i], w["project"][i]) in w["links"]
    np.testing.assert_array_equal(
        np.bincount(s["link_pool"], weights=s["link_paid"], minlength=len(w["budget"]))[ng:],
        s["paid"][ng:],
    )
    # gaming: what gaming donors got is counted, and is part of what was paid
    got = s["out_f"] + s["out_e"]
    gaming = w["kind"][w["donor"]] > 0
    assert s["gamed"].sum() == got[gaming].sum()
    assert (s["gamed"] <= s["paid"]).all()
    # the batch counters are left clean, and matched donors are exactly those who got match
    assert (s["batch_gifts"] == 0).all()
    np.testing.assert_array_equal(
        s["status"] & MATCHED > 0, np.bincount(w["donor"], weights=got, minlength=w["n_donors"]) > 0
    )


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_counter_measures_hold(w):
    s = settle(w)
    got = s["out_f"] + s["out_e"]
    # rate limit: from an account's first gift beyond the limit in the batch on, nothing
    if w["rate_limit"]:
        seen: dict[int, int] = {}
        banned = set()
        for i, d in enumerate(w["donor"].tolist()):
            seen[d] = seen.get(d, 0) + 1
            if seen[d] > w["rate_limit"]:
                banned.add(d)
            if d in banned:
                assert got[i] == 0 and not s["out_ok"][i]
        assert set(np.flatnonzero(s["status"] & BANNED).tolist()) == banned
    # freezing: once a project is frozen, none of its later gifts is matched
    if w["freeze_after"]:
        assert ((s["detect"] >= w["freeze_after"]) == (s["frozen"] > 0)).all()
    assert (got[~s["out_ok"]] == 0).all()


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_caps_and_windows_are_never_exceeded(w):
    s = settle(w)
    ng = w["n_global"]
    rules = w["rules"]
    if w["donor_cap"] is not None and ng:
        per_donor = np.bincount(w["donor"], weights=s["out_f"], minlength=w["n_donors"])
        assert (per_donor <= w["donor_cap"] * 100).all()
    for k in range(ng):
        cap = rules[k, F["project_cap_fen"]]
        if cap:
            assert (s["gp_paid"][k] <= cap).all()
    link_caps = rules[s["link_pool"], F["project_cap_fen"]]
    capped = link_caps > 0
    assert (s["link_paid"][capped] <= link_caps[capped]).all()
    gift_caps = rules[:, F["gift_cap_fen"]]
    if ng and (gift_caps[:ng] > 0).all():
        assert (s["out_f"] <= gift_caps[:ng].sum()).all()
    if (gift_caps[ng:] > 0).all() and rules.shape[0] > ng:
        assert (s["out_e"] <= gift_caps[ng:].max()).all()
    t = w["t"][:, None]
    in_global = ((w["open"][:ng] <= t) & (t < w["close"][:ng])).any(axis=1)
    assert (s["out_f"][~in_global] == 0).all()
    in_linked = ((w["open"][ng:] <= t) & (t < w["close"][ng:])).any(axis=1)
    assert (s["out_e"][~in_linked] == 0).all()


@settings(max_examples=300, deadline=None)
@given(worlds(), st.integers(0, 10), st.integers(1, 100_000))
def test_a_bigger_pool_never_pays_less(w, which, extra):
    if w["budget"].shape[0] == 0:
        return
    g = which % w["budget"].shape[0]
    bigger = w["budget"].copy()
    bigger[g] += extra
    small, big = settle(w), settle(w, bigger)
    assert big["paid"][g] >= small["paid"][g]
    if w["budget"].shape[0] == 1:  # one pool: the total matched cannot fall either
        assert (
            big["out_f"].sum() + big["out_e"].sum() >= small["out_f"].sum() + small["out_e"].sum()
        )


@settings(max_examples=300, deadline=None)
@given(worlds(), st.integers(0, 9), st.data())
def test_the_live_lists_change_nothing(w, minute, data):
    """The engine settles a minute against the pools that may pay in it (sim.model.pools.live_lists):
    the result is the same as against every pool, spent and closed ones included."""
    n = w["t"].shape[0]
    w["t"] = minute + np.sort(
        np.array(data.draw(st.lists(st.floats(0, 0.999), min_size=n, max_size=n)), dtype=float)
    )
    spent = np.array(
        data.draw(
            st.lists(st.booleans(), min_size=w["budget"].shape[0], max_size=w["budget"].shape[0])
        ),
        dtype=bool,
    )
    w["budget"] = np.where(spent, 0, w["budget"])
    every, live = settle(w), settle(w, minute=minute)
    assert every.keys() == live.keys()
    for k in every:
        np.testing.assert_array_equal(every[k], live[k], err_msg=k)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(1, 10)), max_size=12),
    st.integers(0, 9),
    st.integers(0, 9),
    st.lists(st.integers(1, 10), min_size=3, max_size=3),
    st.lists(st.integers(0, 2), min_size=3, max_size=3),
)
def test_the_live_lists_filtered_twice_are_filtered_once(links, first, then, close, remaining):
    """The engine filters its live lists again from what they were (until a release):
    that is the same as filtering every pool at the later minute."""
    first, then = min(first, then), max(first, then)
    n_pools, n_projects = 3, 4
    links = sorted(links)  # (project, pool, ...) in priority order within a project
    project = np.array([p for p, _, _ in links], dtype=np.int64)
    pool = np.array([e for _, e, _ in links], dtype=np.int64)
    close = np.array(close, dtype=float)
    remaining = np.array(remaining, dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(project, minlength=n_projects))])

    def fresh():
        return (
            np.arange(n_pools, dtype=np.int64),
            ptr.astype(np.int64),
            np.arange(len(links), dtype=np.int64),
            pool.copy(),
        )

    once = fresh()
    k1, q1 = live_lists(then, close, remaining, np.arange(n_pools), *once)
    twice = fresh()
    k, q = live_lists(first, close, remaining, np.arange(n_pools), *twice)
    twice = (twice[0][:k], twice[1], twice[2][:q], twice[3][:q])
    k2, q2 = live_lists(then, close, remaining, np.arange(n_pools), *twice)
    assert (k1, q1) == (k2, q2)
    for a, b, m in zip(once, twice, (k1, None, q1, q1), strict=True):
        np.testing.assert_array_equal(a[:m], b[:m])
    for i in range(q1):  # what is left: links of pools with money and an open window
        assert remaining[once[3][i]] > 0 and close[once[3][i]] > then
