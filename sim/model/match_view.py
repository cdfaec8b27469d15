"""What a donor can see of the match: the match each project offers a gift now, as the
platform shows it (open pools, their rules, "matched" badges, a published estimate), and
how attractive that is (:func:`sim.model.response.effect`).

For each project j: the expected match of a reference gift, as a share of it, summed over
the pools that would pay it now (a gift gets the Foundation's and an enterprise's match):

- a Foundation pool settled gift by gift, open and with money: its rule's expected share
  (:meth:`sim.policies.base.MatchRule.expected_match`) x the odds, discounted by
  ``odds ** risk_weight`` for an uncertain (random) match; 0 for a project at the pool's
  cap; x the rule's equity weights for flagged projects;
- a Foundation pool paid after its window: the rule's published estimate from the window's
  gifts so far (:meth:`sim.policies.post_event.PostEventRule.estimate`), refreshed every
  ``estimate_minutes``, x ``post_event_certainty``, on the projects it may pay;
- the first enterprise pool backing the project that is open, has money and is below its
  cap: its ratio (within its cap a gift).

``attraction[j]`` = presence(expected share): where gifts go (sim.model.choice), and its
reach-weighted mean over projects, ``mean``: what a donor about to give can expect, when
gifts come; ``lift[j]`` = effect(expected share) and its mean ``mean_lift``: whether a gift
comes at all, and where the gifts a match brings go (sim.model.response).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.codes import FLAG_LESS_DEVELOPED, FLAG_SMALL_ORG, MODE_FIXED, MODE_NONE, F
from sim.model.pools import Pools
from sim.model.post_windows import PostWindow
from sim.model.projects import Projects
from sim.model.response import effect, presence
from sim.schema import ResponseConfig

E_MAX = 3.0  # an expected share beyond 3x the gift counts as 3x (the effect is full long before)


class MatchView:
    """The match each project offers now, and its effect."""

    def __init__(
        self,
        cfg: ResponseConfig,
        pools: Pools,
        projects: Projects,
        post_windows: list[PostWindow],
        tenure_q: float,
    ):
        self.cfg, self.pools, self.projects = cfg, pools, projects
        self.post_windows = post_windows
        ref = cfg.reference_gift_yuan
        n_f = pools.foundation.shape[0]
        self.per_gift = np.zeros(n_f)  # certainty-weighted expected share, per-gift rules
        for k, rule in enumerate(pools.foundation_rules):
            share, odds = rule.expected_match(ref, tenure_q)
            self.per_gift[k] = share * odds * odds**cfg.risk_weight
        flags = projects.flags
        self.weights = np.array(
            [  # equity weights of each Foundation pool's rule, by project
                1.0
                + pools.rules[g, F["eq_region_bp"]] / 1e4 * ((flags & FLAG_LESS_DEVELOPED) > 0)
                + pools.rules[g, F["eq_small_bp"]] / 1e4 * ((flags & FLAG_SMALL_ORG) > 0)
                for g in range(n_f)
            ]
        ).reshape(n_f, projects.n)
        # an enterprise pool's share: its own ratio within its cap a gift (fixed-ratio rules)
        r = pools.rules
        cap = r[:, F["gift_cap_fen"]] / 100.0
        share = np.where(
            cap > 0, np.minimum(r[:, F["ratio_bp"]] / 1e4, cap / ref), r[:, F["ratio_bp"]] / 1e4
        )
        self.link_share = np.where(r[:, F["mode"]] == MODE_FIXED, share, 0.0)
        self._estimates: dict[int, tuple[int, np.ndarray]] = {}  # pool -> (minute, share)
        self.attraction = np.zeros(projects.n)
        self.lift = np.zeros(projects.n)
        # each project's expected share when its effects were last made (NaN: never)
        self._share = np.full(projects.n, np.nan)
        self.mean = self.mean_lift = 0.0
        self.foundation_live = False

    def update(self, minute: int) -> bool:
        """Recompute the view for ``minute`` (the live lists refreshed for it); returns
        whether the projects' attraction changed."""
        p, pr, cfg = self.pools, self.projects, self.cfg
        paying = []  # Foundation pools paying now, by position
        per_gift_paying = []  # of them, those settled gift by gift
        post = np.zeros(pr.n)  # the published estimates of those paid after their window
        for k in range(p.foundation.shape[0]):
            g = int(p.foundation[k])
            if not (
                p.open_at[g] <= minute < p.close_at[g]
                and p.remaining[g] > 0
                and p.rules[g, F["mode"]] != MODE_NONE
            ):
                continue
            if g in p.post_rules:
                post += self._estimate(g, minute) * cfg.post_event_certainty
            else:
                per_gift_paying.append(k)
            paying.append(k)
        self.foundation_live = bool(paying)
        live = p.live
        assert live is not None, "refresh_live comes first"
        # the new effects are written in place: the old arrays are the choice tables' inputs
        # only until Choice.refresh makes new tables, right after
        a, lift = self.attraction.copy(), self.lift.copy()
        changed, self.mean, self.mean_lift = _view(
            minute,
            np.array(per_gift_paying, dtype=np.int64),
            self.per_gift,
            self.weights,
            p.rules[:, F["project_cap_fen"]],
            p.foundation,
            p.gp_paid,
            pr.frozen,
            post,
            live.ptr,
            live.link,
            live.pool,
            p.open_at,
            p.close_at,
            p.remaining,
            p.link_paid,
            self.link_share,
            pr.reach,
            cfg.steepness,
            cfg.half_response_match,
            cfg.presence_match,
            E_MAX,
            self._share,
            a,
            lift,
        )
        self.attraction, self.lift = a, lift
        return changed

    def _estimate(self, g: int, minute: int) -> np.ndarray:
        """A post-event pool's published estimate, refreshed every ``estimate_minutes``."""
        made = self._estimates.get(g)
        if made is not None and minute - made[0] < self.cfg.estimate_minutes:
            return made[1]
        p, pr = self.pools, self.projects
        if minute - p.open_at[g] < self.cfg.estimate_minutes:  # no estimate from no gifts
            self._estimates[g] = (int(p.open_at[g]), np.zeros(pr.n))
            return self._estimates[g][1]
        win = next(w for w in self.post_windows if g in w.pools)
        rule = p.post_rules[g]
        est = rule.estimate(win.so_far(), p.remaining[g] / 100.0, self.cfg.reference_gift_yuan)
        est = np.minimum(np.nan_to_num(est, nan=E_MAX, posinf=E_MAX), E_MAX)
        est = est * rule.eligible(pr.flags, pr.public) * (pr.frozen == 0)
        self._estimates[g] = (minute, est)
        return est

    def anticipated(self, opening: int) -> float:
        """The effect a donor can anticipate of the Foundation pools opening at minute
        ``opening``, from their rules as published (a pool paid after its window has no
        estimate before it opens: no one waits for it)."""
        p = self.pools
        best = 0.0
        for k in range(p.foundation.shape[0]):
            g = int(p.foundation[k])
            if (
                p.open_at[g] == opening
                and p.rules[g, F["mode"]] != MODE_NONE
                and g not in p.post_rules
            ):
                best = max(best, self.per_gift[k])
        return presence(min(best, E_MAX), self.cfg.presence_match)

    def next_estimate(self, minute: int) -> int:
        """The minute the next published estimate is due (the campaign's end if none): an
        estimate is published while its pool's window runs, none once it has closed."""
        close = self.pools.close_at
        due = [
            made[0] + self.cfg.estimate_minutes
            for g, made in self._estimates.items()
            if made[0] + self.cfg.estimate_minutes < close[g]
        ]
        return min(due) if due else 2**62


@njit(cache=True, nogil=True)
def _view(
    minute,
    paying,
    per_gift,
    weights,
    cap,
    foundation,
    gp_paid,
    frozen,
    post,
    ptr,
    link,
    pool,
    open_at,
    close_at,
    remaining,
    link_paid,
    link_share,
    reach,
    steepness,
    half,
    presence_c,
    e_max,
    share,
    a,
    lift,
):
    """Each project's expected share (see :class:`MatchView`) made into its effects,
    written into ``a`` (presence) and ``lift`` (effect), rounded to 0.001. Returns whether
    any changed and their reach-weighted means. ``share`` holds each project's share when
    ``a`` and ``lift`` were made from it (NaN: not yet), kept up to date here: a project
    whose share is the same keeps its effects (the same numbers, without making them)."""
    n = a.shape[0]
    changed = False
    mean_a = mean_l = 0.0
    for j in range(n):
        e = post[j]
        if frozen[j] == 0:
            for i in range(paying.shape[0]):  # the per-gift pools paying now
                k = paying[i]
                c = cap[foundation[k]]
                if c <= 0 or gp_paid[k, j] < c:
                    e += per_gift[k] * weights[k, j]
        for q in range(ptr[j], ptr[j + 1]):  # the first enterprise link that would pay
            p_ = pool[q]
            if (
                open_at[p_] <= minute < close_at[p_]
                and remaining[p_] > 0
                and (cap[p_] <= 0 or link_paid[link[q]] < cap[p_])
            ):
                e += link_share[p_]
                break
        e = min(max(e, 0.0), e_max)
        if e == share[j]:
            new_a, new_l = a[j], lift[j]
        else:
            share[j] = e
            new_a = np.round(presence(e, presence_c), 3)
            new_l = np.round(effect(e, steepness, half), 3)
            if new_a != a[j] or new_l != lift[j]:
                changed = True
                a[j] = new_a
                lift[j] = new_l
        mean_a += reach[j] * new_a
        mean_l += reach[j] * new_l
    return changed, mean_a, mean_l
