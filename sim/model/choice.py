"""Where donors choose: the project a gift goes to.

A baseline or shifted gift's project is drawn in proportion to reach_j x (1 + beta_s x a_j),
where ``a_j`` is the effect of the match project j offers now (what the donor can see:
:mod:`sim.model.match_view`) and beta_s the attraction of a visible match for the donor's
segment (Fang, Tan, Xiao & Tan 2021: warm donors 3x, cold donors 2x likelier to give to a
matched project): a match draws gifts only while it is visible, and by how much it is worth.
A lifted gift (one the match brought) goes to a project in proportion to reach_j x a_j:
the projects whose match brought it. One Walker alias table a segment and kind, laid end to
end (:class:`ChoiceTable`); the draw itself is in the minute's kernel
(:func:`sim.model.arrivals.make_gifts`). The tables are made again only when the view's
effects change (:meth:`Choice.refresh`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.match_view import MatchView
from sim.model.pools import Pools


class ChoiceTable(NamedTuple):
    """Alias tables of every segment and kind, laid end to end: block ``kind x n_seg + s``
    (kind 0: baseline and shifted gifts, 1: lifted gifts) is entries ``block x n_projects``
    to ``(block + 1) x n_projects``; ``alias`` holds global entries."""

    prob: np.ndarray  # float64
    alias: np.ndarray  # int64
    n_projects: int
    n_seg: int


@njit(cache=True, nogil=True)
def alias_table(w):
    """Walker/Vose alias table for drawing index i with probability w[i] / sum(w):
    take k = floor(u n) and keep it if the fraction of u n is below ``prob[k]``, else
    ``alias[k]``. Returns (prob, alias)."""
    n = w.shape[0]
    prob = np.empty(n)
    alias = np.empty(n, dtype=np.int64)
    _alias_into(w, prob, alias, 0, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))
    return prob, alias


@njit(cache=True, nogil=True)
def _alias_into(w, prob, alias, offset, small, large):
    """:func:`alias_table` of ``w`` written into ``prob`` and ``alias`` (its entries +
    ``offset``), with ``small`` and ``large`` (as long as ``w``) to work in."""
    n = w.shape[0]
    total = w.sum()
    if not np.isfinite(n / total):  # a total so small (below n / 1.8e308) that n / total
        w = w / w.max()  # overflows: the weights in units of the largest (others: unchanged)
        total = w.sum()
    c = n / total
    ns = nl = 0
    for i in range(n):
        p = w[i] * c
        prob[i] = p
        alias[i] = i + offset
        if p < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g + offset
        prob[g] -= 1.0 - prob[s]
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0


@njit(cache=True, nogil=True)
def choice_tables(reach, attraction, a, lifted):
    """Every block's alias table (:func:`alias_table`) laid end to end, in one call: block
    ``s`` (a segment, baseline and shifted gifts) of the weights ``reach x (1 + beta_s x
    a)``, ``beta_s`` = ``attraction[s]`` (made once for segments of the same attraction),
    then one block a segment of the weights ``lifted`` (the same table each). Returns
    (prob, alias) with global entries."""
    n, n_seg = reach.shape[0], attraction.shape[0]
    prob = np.empty(2 * n_seg * n)
    alias = np.empty(2 * n_seg * n, dtype=np.int64)
    w = np.empty(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    for s in range(n_seg):
        beta = attraction[s]
        same = -1  # an earlier segment of the same attraction has the same table
        for r in range(s):
            if attraction[r] == beta:
                same = r
                break
        if same >= 0:
            prob[s * n : (s + 1) * n] = prob[same * n : (same + 1) * n]
            alias[s * n : (s + 1) * n] = alias[same * n : (same + 1) * n] + (s - same) * n
            continue
        for j in range(n):
            w[j] = reach[j] * (1.0 + beta * a[j])
        _alias_into(w, prob[s * n : (s + 1) * n], alias[s * n : (s + 1) * n], s * n, small, large)
    s = n_seg
    _alias_into(lifted, prob[s * n : (s + 1) * n], alias[s * n : (s + 1) * n], s * n, small, large)
    for r in range(n_seg + 1, 2 * n_seg):
        prob[r * n : (r + 1) * n] = prob[s * n : (s + 1) * n]
        alias[r * n : (r + 1) * n] = alias[s * n : (s + 1) * n] + (r - s) * n
    return prob, alias


class Choice:
    """The choice tables of a campaign, kept in step with what donors can see of the match
    (``view``, a :class:`~sim.model.match_view.MatchView`)."""

    def __init__(
        self, reach: np.ndarray, attraction: np.ndarray, pools: Pools, view: MatchView, horizon
    ):
        self.reach, self.attraction, self.pools, self.view = reach, attraction, pools, view
        self.horizon = horizon  # minute -> the next opening after it
        self.table: ChoiceTable | None = None
        self.next_refresh = 0  # when a published estimate is next due
        self._anticipated: dict[int, float] = {}

    @property
    def foundation_live(self) -> bool:
        """Whether a Foundation pool is paying."""
        return self.view.foundation_live

    def anticipated(self, minute: int) -> float:
        """The effect donors can anticipate of the next opening after ``minute``."""
        h = self.horizon(minute)
        if h not in self._anticipated:
            self._anticipated[h] = self.view.anticipated(h)
        return self._anticipated[h]

    def refresh(self, minute: int, released: bool) -> None:
        """Recompute the pools that may pay from ``minute`` on (:meth:`Pools.refresh_live`;
        ``released``: a pool was released since the last refresh), what donors can see of
        the match and, if its effects changed, the tables (a new :class:`ChoiceTable`; the
        old one is never changed in place)."""
        self.pools.refresh_live(minute, released)
        self.refresh_view(minute)

    def refresh_view(self, minute: int) -> None:
        """What donors see of the match from ``minute`` on, from the live lists as they
        are, and the tables if its effects changed."""
        changed = self.view.update(minute)
        self.next_refresh = self.view.next_estimate(minute)
        if self.table is not None and not changed:
            return
        matched = self.reach * self.view.lift
        lifted = matched if matched.sum() > 0 else self.reach
        prob, alias = choice_tables(self.reach, self.attraction, self.view.attraction, lifted)
        self.table = ChoiceTable(prob, alias, self.reach.shape[0], self.attraction.shape[0])
