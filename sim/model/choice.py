"""Where donors choose: the project a gift goes to.

A gift's project is drawn in proportion to reach_j x (1 + beta_s x matched_j), where
``matched_j`` says whether a paying pool can still match project j and beta_s is the
attraction of a visible match for the donor's segment (Fang, Tan, Xiao & Tan 2021: warm
donors 3x, cold donors 2x likelier to give to a matched project). One Walker alias table a
segment, laid end to end (:class:`ChoiceTable`); the draw itself is in the minute's kernel
(:func:`sim.model.arrivals.make_gifts`). The tables are made again only when the set of
matched projects changes (:meth:`Choice.refresh`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.pools import Pools


class ChoiceTable(NamedTuple):
    """Alias tables of every segment, laid end to end: segment s's table is entries
    ``s x n_projects`` to ``(s + 1) x n_projects``; ``alias`` holds global entries."""

    prob: np.ndarray  # float64
    alias: np.ndarray  # int64
    n_projects: int


@njit(cache=True, nogil=True)
def alias_table(w):
    """Walker/Vose alias table for drawing index i with probability w[i] / sum(w):
    take k = floor(u n) and keep it if the fraction of u n is below ``prob[k]``, else
    ``alias[k]``. Returns (prob, alias)."""
    n = w.shape[0]
    prob = w * (n / w.sum())
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0
    return prob, alias


class Choice:
    """The choice tables of a campaign, kept in step with the pools that may pay."""

    def __init__(self, reach: np.ndarray, attraction: np.ndarray, pools: Pools):
        self.reach, self.attraction, self.pools = reach, attraction, pools
        self.table: ChoiceTable | None = None
        self.foundation_live = False  # whether a Foundation pool is paying
        self._avail: np.ndarray | None = None  # the matched projects of ``table``

    def refresh(self, minute: int, released: bool) -> None:
        """Recompute the pools that may pay from ``minute`` on (:meth:`Pools.refresh_live`;
        ``released``: a pool was released since the last refresh), which projects are
        matched, whether a Foundation pool is paying and, if the matched projects changed,
        the tables (a new :class:`ChoiceTable`; the old one is never changed in place)."""
        n = self.reach.shape[0]
        self.pools.refresh_live(minute, released)
        avail, self.foundation_live = self.pools.matched_projects(minute, n)
        if self._avail is not None and np.array_equal(avail, self._avail):
            return
        self._avail = avail
        prob, alias = [], []
        for s, beta in enumerate(self.attraction):
            pr, al = alias_table(self.reach * (1.0 + beta * avail))
            prob.append(pr)
            alias.append(al + s * n)
        self.table = ChoiceTable(np.concatenate(prob), np.concatenate(alias), n)
