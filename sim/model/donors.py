"""Donors: a population held as numpy arrays, the state the settlement changes per donor,
and the compiled passes over the whole table.

Per-donor state: flowers (小红花), friend-help chances and helps received today, match
received today (for daily caps), gifts made so far and a status (matched, banned); each is
a field view of one 16-byte record array (:data:`sim.codes.DONOR_RECORD`), so settling a
gift touches one cache line of its donor. What the build fixes, a personal gift-size
level, the kind (honest or gaming) and the tenure, is kept in arrays of its own. Donors are
laid out by engagement segment, each in two halves by gift-size level (the groups), so
drawing "a donor of group g" is one uniform integer.

How donors respond to the match they can expect (whether and when they give) is
:mod:`sim.model.response`; where, :mod:`sim.model.choice`; gift size never depends on the
match or its ratio (Karlan & List 2007), though the early are those with more at stake.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.codes import BANNED, DONOR_RECORD, MATCHED
from sim.schema import PopulationConfig


def segment_sizes(cfg: PopulationConfig, scale: float) -> np.ndarray:
    """The number of honest donors in each engagement segment at ``scale``; their sum is
    the honest population (gaming identities are numbered after it). ``cfg``: a year's
    population (:func:`sim.checks.year_population`), its donors set."""
    assert cfg.donors is not None, "the year's population has its donors"
    n = max(len(cfg.segments), round(cfg.donors * scale))
    shares = np.array([s.share for s in cfg.segments])
    sizes = np.maximum(1, np.round(shares * n).astype(np.int64))
    sizes[-1] = max(1, n - sizes[:-1].sum())
    return sizes


@dataclass
class Donors:
    """The donor population. A donor's engagement is its segment (members are laid out
    segment by segment); the state the settlement changes are field views of one record
    array (``records``), what the build fixes are arrays of their own."""

    # int64 the first member of each group, and the population's size last: a group is a
    # segment's lower or upper half by gift-size level (what a donor has at stake)
    group_start: np.ndarray
    base_share: np.ndarray  # float64 each group's share of the baseline gifts
    attraction: np.ndarray  # float64 beta by segment
    level: np.ndarray  # float32 log-yuan shift of each donor's gifts
    tenure: np.ndarray  # int8 years of giving before this event (long-term matching)
    has_tenure: bool  # whether tenure was drawn (else all 0)
    kind: np.ndarray  # int8 KIND_*: gaming identities follow the honest population
    flowers: np.ndarray  # int32
    chances: np.ndarray  # int16 friend-help chances held today
    helps_today: np.ndarray  # int8 helps received today
    match_today: np.ndarray  # int32 fen of capped match received today
    gifts_made: np.ndarray  # int32
    status: np.ndarray  # int8 bits MATCHED (a gift got match), BANNED (no more match)
    records: np.ndarray  # int64 [donor, 2]: the record array above, as words
    mu: float
    sigma: float
    one_yuan_share: float
    max_fen: int

    @property
    def n(self) -> int:
        """The honest population (gaming identities, if any, follow it)."""
        return int(self.group_start[-1])

    @property
    def matched(self) -> np.ndarray:
        """Whether any gift of each donor got a match."""
        return (self.status & MATCHED) != 0

    @property
    def banned(self) -> np.ndarray:
        """Whether each account broke the rate limit (no more match for the event)."""
        return (self.status & BANNED) != 0

    @classmethod
    def build(
        cls,
        cfg: PopulationConfig,
        scale: float,
        rng: np.random.Generator,
        gaming_kinds: np.ndarray | None = None,
        with_tenure: bool = True,
    ) -> Donors:
        """A population of ``cfg.donors x scale`` donors split into the configured segments,
        followed by one record for each gaming identity (``gaming_kinds``: their kinds)."""
        sizes = segment_sizes(cfg, scale)
        seg_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        n = int(seg_start[-1])
        # each segment in two halves, the lower and the upper gift-size levels
        half = seg_start[:-1] + sizes // 2
        group_start = np.append(np.ravel(np.column_stack([seg_start[:-1], half])), n)
        rate = np.array([s.rate for s in cfg.segments]) * sizes
        extra = np.zeros(0, dtype=np.int8) if gaming_kinds is None else gaming_kinds
        if n + extra.shape[0] >= 2**31:  # sim.model.settlement.batch_rows packs ids in 32 bits
            raise ValueError(
                f"population.donors x scale: {n + extra.shape[0]:,} donors and "
                "gaming identities; at most 2,147,483,647 are allowed"
            )
        # zeros written, not left to calloc: the table's pages are faulted in here, in one
        # sequential pass, not one at random by the run's first gifts (a read of an untouched
        # page, then a copy on the write back); on a thread of its own, beside the levels
        # (numpy lets go of the interpreter lock for both)
        state = np.empty(n + extra.shape[0], dtype=DONOR_RECORD)
        zeroing = threading.Thread(
            target=state.view(np.int64).fill, args=(0,), name="sim-zero-donors"
        )
        zeroing.start()
        level = np.zeros(n + extra.shape[0], dtype=np.float32)
        rng.standard_normal(dtype=np.float32, out=level[:n])
        # a normal level, its sign by the half: the lower half's below the segment's mean
        np.abs(level[:n], out=level[:n])
        level[:n] *= np.float32(cfg.gift_size.donor_sigma)
        for s, seg in enumerate(cfg.segments):
            level[seg_start[s] : half[s]] *= np.float32(-1)
            level[seg_start[s] : seg_start[s + 1]] += np.float32(seg.size_shift)
        # kind and tenure: zeros the honest donors and the runs without tenure never write,
        # so their pages stay the kernel's shared zero page (read, never allocated)
        tenure = np.zeros(n + extra.shape[0], dtype=np.int8)
        has_tenure = with_tenure and cfg.tenure_q > 0
        if has_tenure:  # P(tenure >= k) = q**k, at most 7 years
            # drawn last, and only when a rule reads it: the other draws stay the same
            u = rng.random(n)
            tenure[:n] = np.minimum(7, np.floor(np.log1p(-u) / np.log(cfg.tenure_q)))
        kind = np.zeros(n + extra.shape[0], dtype=np.int8)
        kind[n:] = extra
        zeroing.join()
        gs = cfg.gift_size
        return cls(
            group_start=group_start,
            base_share=np.repeat(rate / rate.sum(), 2)
            * (np.diff(group_start) / np.repeat(sizes, 2)),
            attraction=np.array([s.match_attraction for s in cfg.segments], dtype=float),
            level=level,
            tenure=tenure,
            has_tenure=has_tenure,
            kind=kind,
            flowers=state["flowers"],
            chances=state["chances"],
            helps_today=state["helps_today"],
            match_today=state["match_today"],
            gifts_made=state["gifts_made"],
            status=state["status"],
            records=state.view(np.int64).reshape(-1, DONOR_RECORD.itemsize // 8),
            mu=gs.mu,
            sigma=gs.sigma,
            one_yuan_share=gs.one_yuan_share,
            max_fen=int(gs.max_yuan) * 100,
        )

    def new_day(self) -> None:
        """Daily counters start again at midnight (caps, helps and chances are per day)."""
        reset_daily(self.match_today, self.chances, self.helps_today)


@njit(cache=True, nogil=True)
def reset_daily(match_today, chances, helps_today):
    """Zero the daily counters in one pass over the donor records (three ``fill`` calls
    would stream the 720 MB table three times)."""
    for i in range(match_today.shape[0]):
        match_today[i] = 0
        chances[i] = 0
        helps_today[i] = 0


@njit(cache=True, nogil=True)
def giving_counts(gifts_made, status, n_honest):
    """In one pass over the donor records: the records that made a gift, and of the first
    ``n_honest`` (the honest donors) those that made one and those of them matched."""
    gave = gave_honest = matched_honest = 0
    for i in range(gifts_made.shape[0]):
        if gifts_made[i] > 0:
            gave += 1
            if i < n_honest:
                gave_honest += 1
                if status[i] & MATCHED:
                    matched_honest += 1
    return gave, gave_honest, matched_honest


FLOWER_THRESHOLDS = np.array([39, 99, 199, 299], dtype=np.int64)  # 2018 tiers, 2020's 299
FLOWER_EDGES = np.array([0, 1, 5, 10, 20, 39, 99, 199, 299, 500, 1000], dtype=np.int64)


@njit(cache=True, nogil=True)
def flower_counts(flowers, gifts_made, status, n_honest, thresholds, edges):
    """In one pass over the honest donors who gave: how many hold at least each of
    ``thresholds`` flowers, and of them how many were matched; both by the bins of
    ``edges`` (lower edges); the most flowers any donor holds."""
    nt, nb = thresholds.shape[0], edges.shape[0]
    at = np.zeros(nt, dtype=np.int64)
    matched_at = np.zeros(nt, dtype=np.int64)
    hist = np.zeros(nb, dtype=np.int64)
    hist_m = np.zeros(nb, dtype=np.int64)
    most = 0
    for i in range(n_honest):
        f = flowers[i]
        if f > most:
            most = f
        if gifts_made[i] <= 0:
            continue
        m = (status[i] & MATCHED) != 0
        for k in range(nt):
            if f >= thresholds[k]:
                at[k] += 1
                if m:
                    matched_at[k] += 1
        b = nb - 1
        while b > 0 and f < edges[b]:
            b -= 1
        hist[b] += 1
        if m:
            hist_m[b] += 1
    return at, matched_at, hist, hist_m, most
