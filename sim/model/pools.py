"""Matching pools: the Tencent Foundation's tranches and theme-day pool, and the
enterprises' own pools, as parallel arrays the settlement kernel reads.

A pool holds nothing until its tranche is released (a SimPy event at ``opens_at``); from then
``paid + remaining`` equals its budget. Foundation pools are global (any project); each
enterprise pool backs its own set of projects, and a project may have several enterprises
(the first with money left pays). Links (pool, project) carry their own paid counter, so a
per-project cap holds for a pool that backs several projects.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import N_FIELDS, F
from sim.model.calendar import Calendar
from sim.model.projects import Projects
from sim.model.result import PoolLedger
from sim.policies import make_rule
from sim.schema import PolicyConfig, PopulationConfig, RuleConfig, ScenarioConfig


class PoolState(NamedTuple):
    """The pools' arrays the settlement kernel reads and changes (views of :class:`Pools`)."""

    open_at: np.ndarray
    close_at: np.ndarray
    remaining: np.ndarray
    paid: np.ndarray
    depleted_at: np.ndarray
    gamed: np.ndarray
    rules: np.ndarray
    foundation: np.ndarray
    gp_paid: np.ndarray
    link_paid: np.ndarray


class LiveLists(NamedTuple):
    """The pools that may pay in the minute being settled (:func:`live_lists`)."""

    foundation: np.ndarray  # positions in Pools.foundation
    ptr: np.ndarray  # CSR over projects of the links that may pay:
    link: np.ndarray  # the link (an index into link_idx, link_paid)
    pool: np.ndarray  # and its pool, in priority order


@dataclass
class Pools:
    names: list[str]  # Foundation pools by name; enterprise pools are "enterprise:<id>"
    open_at: np.ndarray  # float64 minute
    close_at: np.ndarray  # float64 minute
    budget: np.ndarray  # int64 fen
    remaining: np.ndarray  # int64 fen, 0 until released
    paid: np.ndarray  # int64 fen
    depleted_at: np.ndarray  # float64 minute of the gift that emptied it, NaN if never
    rules: np.ndarray  # int64 [pool, RULE_FIELDS]
    foundation: np.ndarray  # int64 indices of the Foundation (global) pools
    is_enterprise: np.ndarray  # bool, the pools that back a set of projects
    own: np.ndarray  # bool, enterprise pools of the organisation's own money (2017 [P])
    link_ptr: np.ndarray  # CSR over projects: pools linked to project p are
    link_idx: np.ndarray  # link_idx[link_ptr[p]:link_ptr[p + 1]], in priority order
    link_project: np.ndarray  # int64 the project of each link
    link_paid: np.ndarray  # int64 fen each link's pool has paid to its project
    gp_paid: np.ndarray  # int64 [foundation pool, project] fen, for per-project caps
    gamed: np.ndarray  # int64 fen of each pool's match that went to gaming identities
    post_rules: dict  # Foundation pool index -> its PostEventRule (allocated at close)
    foundation_rules: list  # each Foundation pool's MatchRule (what donors can expect)
    # the pools that may pay in the minute being settled (see live_lists), refresh_live sets
    live: LiveLists | None = None
    # changes (a pool emptied, a cap reached) since the live lists were made: the run makes
    # them again once LIVE_REFRESH_CHANGES have piled up (or at the choice's next refresh)
    live_stale: int = 0

    @property
    def n(self) -> int:
        return self.budget.shape[0]

    def ledger(self) -> PoolLedger:
        """The pools as a finished campaign leaves them (read-only views)."""
        return PoolLedger(
            names=tuple(self.names),
            open_at=self.open_at,
            close_at=self.close_at,
            budget=self.budget,
            paid=self.paid,
            remaining=self.remaining,
            depleted_at=self.depleted_at,
            gamed=self.gamed,
            ratio=self.rules[:, F["ratio_bp"]] / 10_000,
            is_enterprise=self.is_enterprise,
            own=self.own,
            project_cap=self.rules[:, F["project_cap_fen"]],
            foundation=self.foundation,
            paid_by_project=self.gp_paid,
            link_pool=self.link_idx,
            link_project=self.link_project,
            link_paid=self.link_paid,
            links_per_project=np.diff(self.link_ptr),
        )

    def state(self) -> PoolState:
        """The arrays the settlement kernel reads and changes."""
        return PoolState(
            self.open_at,
            self.close_at,
            self.remaining,
            self.paid,
            self.depleted_at,
            self.gamed,
            self.rules,
            self.foundation,
            self.gp_paid,
            self.link_paid,
        )

    @classmethod
    def build(
        cls,
        sc: ScenarioConfig,
        policy: PolicyConfig,
        projects: Projects,
        scale: float,
        rng: np.random.Generator,
        cal: Calendar,
        expected_public_yuan: float,
    ) -> Pools:
        """Foundation pools as configured (budgets x scale) and the ``enterprise.count``
        enterprise pools that organisations recruit (:func:`_recruit`), their budgets
        adding up to ``enterprise.pledge_yuan x scale``, over as many projects as the
        year's ``expected_public_yuan`` (full scale, :func:`expected_public_yuan`) makes
        them need. Per-project caps x scale."""
        fp = _foundation_tranches(sc, policy, scale, cal)
        ent = sc.enterprise
        n_ent = ent.count
        n_f = len(fp)
        n = n_f + n_ent
        rules = np.zeros((n, N_FIELDS), dtype=np.int64)
        open_at = np.zeros(n)
        close_at = np.zeros(n)
        budget = np.zeros(n, dtype=np.int64)
        post_rules = {}
        foundation_rules = []
        for i, p in enumerate(fp):
            open_at[i], close_at[i], budget[i] = p["open"], p["close"], p["budget_fen"]
            rule = make_rule(per_project_scaled(p["rule"], scale))
            foundation_rules.append(rule)
            rules[i] = rule.encode()
            if rule.post_event:
                post_rules[i] = rule
        link_pool = np.zeros(0, dtype=np.int64)
        link_project = np.zeros(0, dtype=np.int64)
        own = np.zeros(n, dtype=bool)
        if n_ent:
            ratios = np.asarray(ent.ratios, dtype=float)
            w = np.asarray(ent.ratio_weights, dtype=float)
            ratio = ratios[rng.choice(len(ratios), n_ent, p=w / w.sum())]
            base = per_project_scaled(policy.rules[ent.rule], scale)
            for r in np.unique(ratio):
                rule_cfg = copy.copy(base)
                rule_cfg.ratio = float(r)
                rules[n_f:][ratio == r] = make_rule(rule_cfg).encode()
            if base.type != "fixed_ratio":  # the enterprise's own ratio only means something
                rules[n_f:, F["ratio_bp"]] = 0  # for a fixed-ratio rule
            open_at[n_f:] = cal.minute("scenario.enterprise.opens_at", ent.opens_at)
            close_at[n_f:] = cal.minute("scenario.enterprise.closes_at", ent.closes_at)
            link_pool, link_project, budget[n_f:] = _recruit(
                ent, projects, scale, rng, expected_public_yuan
            )
            link_pool += n_f
            own[n_f:] = rng.random(n_ent) < ent.own_share  # drawn last: the rest unchanged
        order = np.lexsort((link_pool, link_project))  # by project, then pool priority
        counts = np.bincount(link_project, minlength=projects.n)
        link_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        is_enterprise = np.zeros(n, dtype=bool)
        is_enterprise[n_f:] = True
        names = [p["name"] for p in fp] + [f"enterprise:{i}" for i in range(n_ent)]
        return cls(
            names=names,
            open_at=open_at,
            close_at=close_at,
            budget=budget,
            remaining=np.zeros(n, dtype=np.int64),
            paid=np.zeros(n, dtype=np.int64),
            depleted_at=np.full(n, np.nan),
            rules=rules,
            foundation=np.arange(n_f, dtype=np.int64),
            is_enterprise=is_enterprise,
            own=own,
            link_ptr=link_ptr,
            link_idx=link_pool[order],
            link_project=link_project[order],
            link_paid=np.zeros(order.shape[0], dtype=np.int64),
            gp_paid=np.zeros((n_f, projects.n), dtype=np.int64),
            gamed=np.zeros(n, dtype=np.int64),
            post_rules=post_rules,
            foundation_rules=foundation_rules,
        )

    def refresh_live(self, minute: int, released: bool) -> None:
        """Set the live lists the settlement kernel loops over from ``minute`` on (see
        :func:`live_lists`): from every pool and link if a pool was ``released`` since the
        last refresh (or on the first), else from the lists as they are, which only shrink."""
        live = self.live
        if live is None or released:
            live = LiveLists(
                np.arange(self.foundation.shape[0], dtype=np.int64),
                self.link_ptr.copy(),
                np.arange(self.link_idx.shape[0], dtype=np.int64),
                self.link_idx.copy(),
            )
        ng, nl = live_lists(minute, self.close_at, self.remaining, self.foundation, *live)
        self.live = LiveLists(live.foundation[:ng], live.ptr, live.link[:nl], live.pool[:nl])
        self.live_stale = 0


# Live lists that still hold an emptied pool give the same results, only longer loops: the
# settlement kernel and the view check every listed pool's money, window and caps (tested,
# tests/unit/test_settlement_properties.py). So a run makes them again once this many changes
# have piled up, not after every one: a tiny run made them 1,867 times (about 30 us each,
# 5% of its campaign), most for one pool of 12,500 emptied.
LIVE_REFRESH_CHANGES = 64


@njit(cache=True, nogil=True)
def live_lists(
    minute, close_at, remaining, foundation, live_global, live_ptr, live_link, live_pool
):
    """Keep in the live lists the pools that may pay from ``minute`` on, until one is
    released: those with money left (a pool holds none until released, and its money only
    goes down after) whose window has not closed. The lists are filtered in place, order
    kept: ``live_global`` positions in ``foundation``, and the CSR ``live_ptr`` over
    projects of links (``live_link``) with their pools (``live_pool``), in priority order.
    Returns the two new lengths. Opening times are left to the kernel, which checks every
    pool's window gift by gift."""
    ng = 0
    for i in range(live_global.shape[0]):
        k = live_global[i]
        g = foundation[k]
        if remaining[g] > 0 and close_at[g] > minute:
            live_global[ng] = k
            ng += 1
    q = 0
    start = live_ptr[0]
    for p in range(live_ptr.shape[0] - 1):
        end = live_ptr[p + 1]
        live_ptr[p] = q
        for i in range(start, end):
            e = live_pool[i]
            if remaining[e] > 0 and close_at[e] > minute:
                live_link[q] = live_link[i]
                live_pool[q] = e
                q += 1
        start = end
    live_ptr[live_ptr.shape[0] - 1] = q
    return ng, q


def per_project_scaled(rule: RuleConfig, scale: float) -> RuleConfig:
    """The rule with its per-project money (``project_cap_yuan``, ``min_project_public_yuan``)
    x ``scale``: a project's money scales with the donors, so a scaled-down run keeps the
    share of projects a cap or a threshold binds on (docs/model.md, "Scale"). Caps a gift or
    a donor (a person's) do not scale."""
    if scale == 1.0:
        return rule
    out = copy.copy(rule)
    if out.project_cap_yuan is not None:
        out.project_cap_yuan = max(0.01, round(out.project_cap_yuan * scale, 2))
    out.min_project_public_yuan = round(out.min_project_public_yuan * scale, 2)
    return out


def _foundation_tranches(
    sc: ScenarioConfig, policy: PolicyConfig, scale: float, cal: Calendar
) -> list[dict]:
    """The Foundation's pools as the policy runs them: the rule (``policy.foundation`` for
    all, else each pool's named rule), budgets scaled to ``policy.budget`` if set (the
    rounding remainder to the last pool, so the total is exact), split between the action
    days and the other pools by ``policy.action_share`` if set, and each pool split into
    ``policy.tranches`` equal parts released at evenly spaced whole minutes of the first
    ``policy.tranche_span`` of its window (money a tranche leaves stays available)."""
    fp = sc.foundation_pools
    budgets = np.array([round(p.budget_yuan * 100 * scale) for p in fp], dtype=np.int64)
    if policy.budget is not None and budgets.sum() > 0:
        budgets = _apportion(budgets, round(policy.budget * 100 * scale))
    if policy.action_share is not None:
        budgets = _split_action(budgets, [p.rule == "action" for p in fp], policy.action_share)
    out = []
    n_t = policy.tranches
    for i, p in enumerate(fp):
        key = f"scenario.foundation_pools[{i}]"
        o = cal.minute(f"{key}.opens_at", p.opens_at)
        c = cal.minute(f"{key}.closes_at", p.closes_at)
        rule = policy.foundation if policy.foundation is not None else policy.rules[p.rule]
        parts = np.full(n_t, budgets[i] // n_t, dtype=np.int64)
        parts[0] += budgets[i] - parts.sum()
        for k in range(n_t):
            out.append(
                {
                    "name": p.name if n_t == 1 else f"{p.name}/{k + 1}",
                    "open": float(o + np.floor(k * policy.tranche_span * (c - o) / n_t)),
                    "close": float(c),
                    "budget_fen": int(parts[k]),
                    "rule": rule,
                }
            )
    return out


def _apportion(weights: np.ndarray, total: int) -> np.ndarray:
    """``total`` fen in proportion to ``weights``, each part floored and the rounding
    remainder to the last, so the parts add up to ``total`` exactly."""
    parts = np.floor(weights * (total / weights.sum())).astype(np.int64)
    parts[-1] += total - parts.sum()
    return parts


def _split_action(budgets: np.ndarray, action: list[bool], share: float) -> np.ndarray:
    """The same total (fen) with ``share`` of it on the action-day pools and the rest on the
    others, each group in proportion to its budgets (equal parts where a group's are all
    0); the rounding remainder of each group to its last pool."""
    total = int(budgets.sum())
    is_action = np.asarray(action, dtype=bool)
    out = np.zeros_like(budgets)
    want_action = round(total * share)
    for mask, want in ((is_action, want_action), (~is_action, total - want_action)):
        idx = np.flatnonzero(mask)
        w = budgets[idx] if budgets[idx].sum() > 0 else np.ones(len(idx))
        out[idx] = _apportion(w, want)
    return out


def _recruit(
    ent, projects: Projects, scale: float, rng: np.random.Generator, expected_public_yuan: float
):
    """The enterprise pools' links and budgets (fen). Each pool is recruited by an
    organisation drawn in proportion to its reach ** ``recruit_exponent`` (ASSUMPTION: the
    larger fundraisers bring more partners) and backs max(1, Poisson(pledge a pool /
    (``pledge_cover`` x what a project is expected to raise in the year))) of that
    organisation's projects (by their reach; all of them if it has fewer): a pledge is
    spread over as many projects as it takes to raise it, so over more of them in a year
    whose projects raise less. Its budget is the pledge's share in proportion to what
    those projects are expected to raise (their reach, split evenly among the pools backing
    a project) times lognormal(0, ``budget_sigma``), the organisation's planning error; the
    budgets add up to the pledge x scale exactly."""
    n_ent = ent.count
    org_reach = projects.org_reach()
    w = org_reach**ent.recruit_exponent
    org = rng.choice(projects.n_orgs, n_ent, p=w / w.sum())
    per_project = ent.pledge_cover * expected_public_yuan / projects.n
    k_want = np.maximum(1, rng.poisson(ent.pledge_yuan / n_ent / per_project, n_ent))
    order = np.argsort(projects.org, kind="stable")  # projects by organisation
    start = np.searchsorted(projects.org[order], np.arange(projects.n_orgs + 1))
    k = np.minimum(k_want, (start[1:] - start[:-1])[org])
    cum = np.cumsum(projects.reach[order])  # within an organisation: differences
    link_project = _draw_own_projects(org, k, start, order, cum, rng.random(int(k.sum()) * 4))
    link_pool = np.repeat(np.arange(n_ent, dtype=np.int64), k)
    backers = np.bincount(link_project, minlength=projects.n)
    expected = np.bincount(
        link_pool, weights=projects.reach[link_project] / backers[link_project], minlength=n_ent
    )
    weight = expected * rng.lognormal(0.0, ent.budget_sigma, n_ent)
    total = round(ent.pledge_yuan * 100 * scale)
    budget = np.floor(weight / weight.sum() * total).astype(np.int64)
    budget[np.argmax(budget)] += total - budget.sum()
    return link_pool, link_project, budget


def expected_public_yuan(cal: Calendar, pop: PopulationConfig) -> float:
    """What the year's baseline gifts are expected to give at full scale (yuan), as the
    organisations planning their pledges would reckon it: each day's base gifts (its levels
    applied) x the expected gift, 1 yuan for the ``one_yuan_share`` and otherwise the
    lognormal mean at the day's size shift, each segment's size shift weighted by its
    share of the gifts (``rate x share``); the ``max_yuan`` cap and the match's lift are
    left out."""
    gs = pop.gift_size
    w = np.array([s.rate * s.share for s in pop.segments], dtype=float)
    seg = np.array([s.size_shift for s in pop.segments], dtype=float)
    var = gs.sigma**2 + gs.donor_sigma**2
    total = 0.0
    for d in cal.days:
        size = float(np.exp(gs.mu + d.gift_size_shift + seg + var / 2) @ (w / w.sum()))
        total += d.base_gifts_wan * 1e4 * ((1 - gs.one_yuan_share) * size + gs.one_yuan_share)
    return total


@njit(cache=True, nogil=True)
def _draw_own_projects(org, k, start, order, cum, u):
    """For each pool, ``k[i]`` distinct projects of its organisation ``org[i]`` drawn in
    proportion to reach without replacement (``order[start[o]:start[o + 1]]`` are
    organisation o's projects, ``cum`` their cumulative reach in that order): each draw is a
    binary search of the cumulative reach, a repeat is drawn again; the uniforms ``u`` are
    used in turn (4 a project asked for: past them, the largest project not yet chosen).
    Returns the projects, pool by pool, each pool's in increasing order."""
    out = np.empty(k.sum(), dtype=np.int64)
    q = 0
    j = 0
    for i in range(org.shape[0]):
        lo, hi = start[org[i]], start[org[i] + 1]
        base = cum[lo - 1] if lo > 0 else 0.0
        total = cum[hi - 1] - base
        first = q
        while q - first < k[i]:
            if j < u.shape[0]:
                x = base + u[j] * total
                j += 1
                a, b = lo, hi - 1
                while a < b:  # the first position whose cumulative reach passes x
                    m = (a + b) // 2
                    if cum[m] <= x:
                        a = m + 1
                    else:
                        b = m
                pick = order[a]
            else:  # out of uniforms (rare): the largest project not yet chosen
                pick = -1
                best = -1.0
                for t in range(lo, hi):
                    w = cum[t] - (cum[t - 1] if t > 0 else 0.0)
                    seen = False
                    for r in range(first, q):
                        if out[r] == order[t]:
                            seen = True
                    if not seen and w > best:
                        best, pick = w, order[t]
            dup = False
            for r in range(first, q):
                if out[r] == pick:
                    dup = True
            if not dup:
                out[q] = pick
                q += 1
        out[first:q] = np.sort(out[first:q])
    return out
