"""The eligible gifts of the pools paid after their window (the post-event rules of
:mod:`sim.policies.post_event`), collected while the window runs."""

from __future__ import annotations

import numpy as np

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
        self.amount_dtype = amount_dtype
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.counts = np.zeros((close_at - open_at, n_projects), dtype=np.int32)
        # the window's gifts so far by project, for the estimate a platform publishes
        self.gifts = np.zeros(n_projects)
        self.yuan = np.zeros(n_projects)
        self.sum_sqrt = np.zeros(n_projects)
        self.last_minute = open_at - 1
        self._stats: WindowStats | None = None

    @classmethod
    def for_pools(cls, pl: Pools, n_projects: int, amount_dtype) -> list[PostWindow]:
        """One window per (opening, closing, minimum gift) of the post-event pools."""
        groups: dict[tuple, list[int]] = {}
        for g in sorted(pl.post_rules):
            key = (int(pl.open_at[g]), int(pl.close_at[g]), int(pl.rules[g, F["min_gift_fen"]]))
            groups.setdefault(key, []).append(g)
        return [cls(gs, o, c, mn, n_projects, amount_dtype) for (o, c, mn), gs in groups.items()]

    def add(self, m: int, gifts: Gifts, ok: np.ndarray) -> None:
        """Keep minute ``m``'s eligible gifts."""
        sel = ok & (gifts.amount >= self.min_fen)
        project = gifts.project[sel]
        self.chunks.append(
            (
                gifts.donor[sel].astype(np.int32),
                project.astype(np.int32),
                gifts.amount[sel].astype(self.amount_dtype),
            )
        )
        counts = np.bincount(project, minlength=self.n_projects)
        self.counts[m - self.open] += counts.astype(np.int32)
        yuan = gifts.amount[sel] / 100.0
        self.gifts += counts
        self.yuan += np.bincount(project, weights=yuan, minlength=self.n_projects)
        self.sum_sqrt += np.bincount(project, weights=np.sqrt(yuan), minlength=self.n_projects)
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
            donor, project, amount = (
                np.concatenate([c[i] for c in self.chunks])
                if self.chunks
                else np.zeros(0, np.int32)
                for i in range(3)
            )
            self.chunks = []
            self._stats = window_stats(
                donor,
                project,
                amount.astype(np.int64),
                kind[donor] if donor.size else np.zeros(0, np.int8),
                pr.n,
                pr.org,
                pr.n_orgs,
            )
        return self._stats

    def done(self, g: int) -> None:
        """Pool ``g`` is paid; the window is dropped by the engine when none is left."""
        self.pools.remove(g)
