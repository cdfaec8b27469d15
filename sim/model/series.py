"""The campaign's per-minute series: what each settled minute adds up to, the pools' levels
at its end, and the gift-size histogram.

A minute's sums are made in one compiled pass (:func:`minute_totals`); on two threads they
are made on the other thread and recorded with the next minute, or before anything reads
the series (:meth:`MinuteSeries.flush`: a day's end, a post-event allocation, the run's end).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numba import njit

from sim.model.gifts import Gifts
from sim.model.pools import Pools
from sim.model.result import Series
from sim.model.settlement import Settled

# Gift-size histogram: ten bins a decade from 1 yuan to 10 million yuan, in fen.
SIZE_EDGES_FEN = np.round(100 * 10 ** (np.arange(0, 71) / 10)).astype(np.int64)
# The bin of every amount below 1万 yuan, looked up instead of searched (1 MB).
_SIZE_LUT = np.searchsorted(SIZE_EDGES_FEN, np.arange(1_000_000), side="right").astype(np.int8)
COUNTS = (
    "gifts",
    "public_fen",
    "foundation_fen",
    "enterprise_fen",
    "flowers",
    "matched_gifts",
    "foundation_matched_gifts",
    "gaming_gifts",
    "gaming_public_fen",
    "shifted_gifts",
    "shifted_public_fen",
    "lifted_gifts",
    "lifted_public_fen",
)


@njit(cache=True, nogil=True)
def minute_totals(
    amount,
    foundation_match,
    enterprise_match,
    reason,
    donor,
    first_gaming,
    size_lut,
    size_edges,
    size_hist,
):
    """A settled minute's sums: (public fen, Foundation match, enterprise match, matched
    gifts, Foundation-matched gifts, gaming gifts (donor >= ``first_gaming``), their public
    fen, shifted gifts, their public fen, lifted gifts, their public fen) (``reason``: 1 shifted, 2
    lifted); each gift's size is counted in ``size_hist`` (bin by ``size_lut`` below its
    length, else by the ``size_edges``)."""
    public = fm = em = matched = fmatched = gaming = gaming_public = 0
    shifted = shifted_public = lifted = lifted_public = 0
    n_lut = size_lut.shape[0]
    for i in range(amount.shape[0]):
        a = amount[i]
        public += a
        fm += foundation_match[i]
        em += enterprise_match[i]
        if foundation_match[i] + enterprise_match[i] != 0:
            matched += 1
        if foundation_match[i] != 0:
            fmatched += 1
        if donor[i] >= first_gaming:
            gaming += 1
            gaming_public += a
        if reason[i] == 1:
            shifted += 1
            shifted_public += a
        elif reason[i] == 2:
            lifted += 1
            lifted_public += a
        if a < n_lut:
            size_hist[size_lut[a]] += 1
        else:
            size_hist[np.searchsorted(size_edges, a, side="right")] += 1
    return (
        public,
        fm,
        em,
        matched,
        fmatched,
        gaming,
        gaming_public,
        shifted,
        shifted_public,
        lifted,
        lifted_public,
    )


class MinuteSeries:
    """The series of a campaign as it runs (int64 a minute; money in fen)."""

    def __init__(self, n_minutes: int, n_foundation: int, flowers_per_gift: int, first_gaming: int):
        self.counts = {k: np.zeros(n_minutes, dtype=np.int64) for k in COUNTS}
        self.lost_intents = np.zeros(n_minutes)  # expected, of the response (not gifts)
        self.levels = np.zeros((n_foundation, n_minutes), dtype=np.int64)
        self.enterprise_remaining = np.zeros(n_minutes, dtype=np.int64)
        self.size_hist = np.zeros(SIZE_EDGES_FEN.shape[0] + 1, dtype=np.int64)
        self.flowers_per_gift = flowers_per_gift
        self.first_gaming = first_gaming  # donors from here on are gaming identities
        self.executor: ThreadPoolExecutor | None = None  # the other thread, if any
        self._pending: tuple[int, Future] | None = None  # a minute whose sums are being made

    def record(self, m: int, gifts: Gifts, res: Settled, flowers: int, pools: Pools) -> None:
        """Record settled minute ``m``: its gifts and flowers and the pools' levels now;
        its sums now on one thread, else on the other (recorded by the next :meth:`flush`)."""
        s = self.counts
        n = gifts.t.shape[0]
        s["gifts"][m] = n
        s["flowers"][m] = n * self.flowers_per_gift + flowers
        nf = self.levels.shape[0]  # the Foundation's pools come first (Pools.build)
        self.levels[:, m] = pools.remaining[:nf]
        self.enterprise_remaining[m] = pools.remaining[nf:].sum()
        args = (
            gifts.amount,
            res.foundation_match,
            res.enterprise_match,
            gifts.reason,
            gifts.donor,
            self.first_gaming,
            _SIZE_LUT,
            SIZE_EDGES_FEN,
            self.size_hist,
        )
        self.flush()
        if self.executor is None:
            self._store(m, minute_totals(*args))
        else:
            self._pending = (m, self.executor.submit(minute_totals, *args))

    def flush(self) -> None:
        """Record the sums of the minute whose sums are being made on the other thread."""
        if self._pending is not None:
            m, future = self._pending
            self._pending = None
            self._store(m, future.result())

    def _store(self, m: int, totals: tuple) -> None:
        s = self.counts
        (
            public,
            f_sum,
            e_sum,
            matched,
            f_matched,
            gaming,
            gaming_public,
            shifted,
            shifted_public,
            lifted,
            lifted_public,
        ) = totals
        s["public_fen"][m] = public
        s["foundation_fen"][m] += f_sum  # post-event pay may be there
        s["enterprise_fen"][m] = e_sum
        s["matched_gifts"][m] += matched
        s["foundation_matched_gifts"][m] += f_matched
        s["gaming_gifts"][m] = gaming
        s["gaming_public_fen"][m] = gaming_public
        s["shifted_gifts"][m] = shifted
        s["shifted_public_fen"][m] = shifted_public
        s["lifted_gifts"][m] = lifted
        s["lifted_public_fen"][m] = lifted_public

    def add_post_payment(
        self, minute: int, fen: int, first: int, matched_gifts: np.ndarray
    ) -> None:
        """A post-event pool's payment of ``fen`` at the end of ``minute``, and the gifts it
        matched, minute by minute from ``first`` (their projects got an allocation)."""
        self.flush()
        s = self.counts
        s["foundation_fen"][minute] += fen
        fmg = s["foundation_matched_gifts"]
        fmg[first : first + matched_gifts.shape[0]] += matched_gifts
        np.minimum(fmg, s["gifts"], out=fmg)  # pools with overlapping windows

    def freeze(self) -> Series:
        """The finished series, read-only."""
        self.flush()
        return Series(
            **self.counts,
            foundation_levels=self.levels,
            enterprise_remaining=self.enterprise_remaining,
            size_hist=self.size_hist,
            size_edges=SIZE_EDGES_FEN,
            lost_intents=self.lost_intents,
        )
