"""The eligible gifts of the pools paid after their window (the post-event rules of
:mod:`sim.policies.post_event`), collected while the window runs."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.codes import F
from sim.model.gifts import Gifts
from sim.model.pools import Pools
from sim.model.projects import Projects
from sim.policies.post_event import WindowSoFar, WindowStats, window_stats


class PostWindow:
    """The eligible gifts (the kernel let them through, at least the rule's minimum) of the
    post-event pools that share a window and a minimum gift, kept compact: 4-byte donor,
    project and amount per gift, and gift counts by (minute, project) for the matched-gift
    series. Summed by (donor, project) once, when the first of its pools closes."""

    def __init__(
        self,
        pools: list[int],
        open_at: int,
        close_at: int,
        min_fen: int,
        n_projects: int,
        amount_dtype,
    ):
        self.pools, self.open, self.close, self.min_fen = pools, open_at, close_at, min_fen
        self.n_projects = n_projects
        self._like = np.empty(0, amount_dtype)  # an empty array of the amounts' dtype
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.counts = np.zeros((close_at - open_at, n_projects), dtype=np.int32)
        # the window's gifts so far by project, for the estimate a platform publishes
        self.gifts = np.zeros(n_projects)
        self.yuan = np.zeros(n_projects)
        self.sum_sqrt = np.zeros(n_projects)
        self.last_minute = open_at - 1
        self._stats: WindowStats | None = None
        # a minute's sums by project (zeros between minutes) and the projects it touched
        self._minute = (
            np.zeros(n_projects, dtype=np.int64),
            np.zeros(n_projects),
            np.zeros(n_projects),
            np.empty(n_projects, dtype=np.int64),
        )

    @classmethod
    def for_pools(cls, pl: Pools, n_projects: int, amount_dtype) -> list[PostWindow]:
        """One window per (opening, closing, minimum gift) of the post-event pools."""
        groups: dict[tuple, list[int]] = {}
        for g in sorted(pl.post_rules):
            key = (int(pl.open_at[g]), int(pl.close_at[g]), int(pl.rules[g, F["min_gift_fen"]]))
            groups.setdefault(key, []).append(g)
        return [cls(gs, o, c, mn, n_projects, amount_dtype) for (o, c, mn), gs in groups.items()]

    def add(self, m: int, gifts: Gifts, ok: np.ndarray) -> None:
        """Keep minute ``m``'s eligible gifts (:func:`keep_eligible`)."""
        self.chunks.append(
            keep_eligible(
                ok,
                gifts.donor,
                gifts.project,
                gifts.amount,
                self.min_fen,
                self.counts[m - self.open],
                self.gifts,
                self.yuan,
                self.sum_sqrt,
                self._like,
                *self._minute,
            )
        )
        self.last_minute = m

    def so_far(self) -> WindowSoFar:
        """The window's eligible gifts so far, projected to its close at the rate so far."""
        elapsed = self.last_minute + 1 - self.open
        k = (self.close - self.open) / elapsed if elapsed > 0 else 0.0
        # (sum sqrt c)^2 grows with the square of the gifts, so sum sqrt c with their number
        return WindowSoFar(self.gifts * k, self.yuan * k, self.sum_sqrt * k)

    def stats(self, kind: np.ndarray, pr: Projects) -> WindowStats:
        """The window's gifts summed by (donor, project), computed once for its pools."""
        if self._stats is None:
            chunks = self.chunks or [(np.zeros(0, np.int32),) * 2 + (self._like,)]
            self.chunks = []
            self._stats = window_stats(
                [c[0] for c in chunks],
                [c[1] for c in chunks],
                [c[2] for c in chunks],
                kind,
                pr.n,
                pr.org,
                pr.n_orgs,
            )
        return self._stats

    def done(self, g: int) -> None:
        """Pool ``g`` is paid; the window is dropped by the engine when none is left."""
        self.pools.remove(g)


@njit(cache=True, nogil=True)
def keep_eligible(
    ok, donor, project, amount, min_fen, counts, gifts, yuan, sum_sqrt, like, c, y, r, touched
):
    """A minute's eligible gifts (``ok`` and at least ``min_fen``) as compact (donor,
    project, amount) arrays (int32, int32, ``like``'s dtype), their gifts by project added
    to ``counts`` (the minute's row) and to ``gifts``, their yuan and square roots of yuan
    to ``yuan`` and ``sum_sqrt``: the minute's sums by project first, each in the gifts'
    order (as ``np.bincount`` makes them), then added.

    ``c``, ``y`` and ``r`` (zeros, as long as the projects) hold the minute's sums and are
    zeros again on return; ``touched`` (as long) lists the projects the minute gave to, so
    that only theirs are added (adding a project's zeros changes nothing): a quiet minute
    no longer costs a pass over every project."""
    k = 0
    for i in range(ok.shape[0]):
        if ok[i] and amount[i] >= min_fen:
            k += 1
    out_d = np.empty(k, dtype=np.int32)
    out_p = np.empty(k, dtype=np.int32)
    out_a = np.empty(k, dtype=like.dtype)
    n_touched = 0
    j = 0
    for i in range(ok.shape[0]):
        if ok[i] and amount[i] >= min_fen:
            p = project[i]
            out_d[j] = donor[i]
            out_p[j] = p
            out_a[j] = amount[i]
            j += 1
            if c[p] == 0:
                touched[n_touched] = p
                n_touched += 1
            c[p] += 1
            v = amount[i] / 100.0
            y[p] += v
            r[p] += np.sqrt(v)
    for t in range(n_touched):
        p = touched[t]
        counts[p] += np.int32(c[p])
        gifts[p] += c[p]
        yuan[p] += y[p]
        sum_sqrt[p] += r[p]
        c[p] = 0
        y[p] = 0.0
        r[p] = 0.0
    return out_d, out_p, out_a
