"""Donors: a population held as numpy arrays, the state the settlement changes per donor,
and the compiled passes over the whole table.

Per-donor state: flowers (小红花), friend-help chances and helps received today, match
received today (for daily caps), gifts made so far and a status (matched, banned); each is
a field view of one 16-byte record array (:data:`sim.codes.DONOR_RECORD`), so settling a
gift touches one cache line of its donor. What the build fixes, a personal gift-size
level, the kind (honest or gaming) and the tenure, is kept in arrays of its own. Donors are
laid out by engagement segment, each in ``gift_size.level_groups`` equal groups by gift-size
level (quantile bins of the level: the groups), so drawing "a donor of group g" is one uniform
integer, and a group's expected gift (its *stake*, :func:`group_stakes`) is known exactly.

How donors respond to the match they can expect (whether and when they give) is
:mod:`sim.model.response`; where, :mod:`sim.model.choice`; gift size never depends on the
match or its ratio (Karlan & List 2007), though the early are those with more at stake.
"""

from __future__ import annotations

import gc
import math
import mmap
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numba import njit
from scipy.special import ndtr, ndtri

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

    # int64 the first member of each group, and the population's size last: a group is one
    # of a segment's ``per_segment`` quantile bins by gift-size level (what a donor has at stake)
    group_start: np.ndarray
    per_segment: int  # groups a segment (group g is in segment g // per_segment)
    stake: np.ndarray  # float64 each group's expected gift relative to its segment's
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
        # each segment in ``level_groups`` groups by gift-size level, lowest first
        k = int(cfg.gift_size.level_groups)
        group_start = group_starts(seg_start, k)
        rate = np.array([s.rate for s in cfg.segments]) * sizes
        extra = np.zeros(0, dtype=np.int8) if gaming_kinds is None else gaming_kinds
        if n + extra.shape[0] >= 2**31:  # sim.model.settlement.batch_rows packs ids in 32 bits
            raise ValueError(
                f"population.donors x scale: {n + extra.shape[0]:,} donors and "
                "gaming identities; at most 2,147,483,647 are allowed"
            )
        has_tenure = with_tenure and cfg.tenure_q > 0
        key = (repr(cfg), float(scale), repr(rng.bit_generator.state), extra.tobytes())
        state, level, tenure, kind = POPULATIONS.get(
            key, cfg, seg_start, group_start, extra, has_tenure, rng
        )
        gs = cfg.gift_size
        return cls(
            group_start=group_start,
            per_segment=k,
            stake=np.tile(group_stakes(k, gs.donor_sigma), len(sizes)),
            base_share=np.repeat(rate / rate.sum(), k)
            * (np.diff(group_start) / np.repeat(sizes, k)),
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


class PopulationCache:
    """The last population this process built, kept for the next build of the same.

    What a build draws (the gift-size levels, the tenure) is a pure function of the
    population config, the scale, the generator's state and the gaming identities: a build
    of the same key takes the arrays drawn before (read only by the run: a run never writes
    them) instead of drawing them again. The records (the state a run changes) are the
    run's own: the cached table is zeroed and lent to the next build if no earlier
    population still uses it (a donor array of a live :class:`Donors` or of anything made
    from it), else a new one is made.

    Why: on this kind of machine (a virtual machine that hands freed memory back to its
    host) the first touch of fresh memory costs about 3 ms a MB, so a full-scale build spent
    2.1 s zeroing a new 720 MB table and 1.1 s drawing 180 MB of levels; the same table
    zeroed again in place takes 0.03 s. A sweep's jobs run one after another in each
    worker process (joblib's, Ray's), so the jobs of a worker that share a seed and a
    population build it once (``experiment=policy_sweep`` orders its jobs seed by seed).
    One entry only: a build of another key lets the last one go first."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._key: tuple | None = None
        self._level: np.ndarray | None = None
        self._kind: np.ndarray | None = None
        self._tenure: np.ndarray | None = None  # drawn on the first build that reads it
        # the generator's state after the levels (where the tenure's draws start)
        self._after_levels: Mapping[str, Any] | None = None
        self._buf: mmap.mmap | None = None  # the records table's memory
        self.hits = 0  # builds that took the cached draws (for the tests and the log)

    def clear(self) -> None:
        """Let the cached population go."""
        with self._lock:
            self._key = self._level = self._kind = self._tenure = None
            self._after_levels = self._buf = None

    def _buf_free(self) -> bool:
        """Whether nothing but this cache holds the records table: the attribute and
        getrefcount's argument are its references, and every array made from the buffer
        (so every view of one) adds one. A finished campaign is freed by the cyclic
        collector (its SimPy processes refer to it), so one collection is made first."""
        if self._buf is None:
            return False
        if sys.getrefcount(self._buf) > 2:
            gc.collect()
        return sys.getrefcount(self._buf) <= 2

    def _build(
        self,
        key: tuple,
        cfg: PopulationConfig,
        seg_start: np.ndarray,
        group_start: np.ndarray,
        extra: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        """Draw a population's levels into the cache and make its records table."""
        n = int(seg_start[-1])
        n_total = n + extra.shape[0]
        buf = _new_buffer(n_total)
        # zeros written, not left to the kernel: the table's pages are faulted in here, in
        # one sequential pass, not one at random by the run's first gifts; on a thread of
        # its own, beside the levels (numpy lets go of the interpreter lock for both)
        zeroing = threading.Thread(
            target=_records(buf, n_total).view(np.int64).fill, args=(0,), name="sim-zero-donors"
        )
        zeroing.start()
        level = _draw_levels(cfg, seg_start, group_start, n_total, rng)
        # kind and tenure: zeros the honest donors and the runs without tenure never write,
        # so their pages stay the kernel's shared zero page (read, never allocated)
        kind = np.zeros(n_total, dtype=np.int8)
        kind[n:] = extra
        zeroing.join()
        self._key, self._level, self._kind, self._buf = key, level, kind, buf
        self._after_levels = rng.bit_generator.state

    def get(
        self,
        key: tuple,
        cfg: PopulationConfig,
        seg_start: np.ndarray,
        group_start: np.ndarray,
        extra: np.ndarray,
        has_tenure: bool,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(records, level, tenure, kind) of a population laid out by ``seg_start`` (its
        segments) and ``group_start`` (their groups) followed by the gaming identities of kinds
        ``extra``, drawn from ``rng`` as a fresh build draws them (levels, then tenure if
        ``has_tenure``)."""
        n = int(seg_start[-1])
        n_total = n + extra.shape[0]
        with self._lock:
            if key != self._key:
                self.clear()
                self._build(key, cfg, seg_start, group_start, extra, rng)
                assert self._buf is not None
                state = _records(self._buf, n_total)  # zeroed by the build
            else:
                self.hits += 1
                # the cached table if nothing else holds it (its pages resident: zeroed
                # again in 0.03 s at full scale), else one of this run's own
                buf = self._buf if self._buf_free() else _new_buffer(n_total)
                assert buf is not None
                state = _records(buf, n_total)
                state.view(np.int64).fill(0)
            assert self._level is not None and self._kind is not None
            level, kind = self._level, self._kind
            if not has_tenure:
                return state, level, np.zeros(n_total, dtype=np.int8), kind
            if self._tenure is None:
                # drawn after the levels, and only when a rule reads it: the other draws
                # stay the same
                assert self._after_levels is not None
                rng.bit_generator.state = dict(self._after_levels)
                self._tenure = _draw_tenure(cfg, n, n_total, rng)
            return state, level, self._tenure, kind


def _new_buffer(n_total: int) -> mmap.mmap:
    """Private anonymous memory for ``n_total`` records, in huge pages where the kernel
    gives them on request (as numpy asks for its own large arrays)."""
    buf = mmap.mmap(
        -1, max(1, n_total) * DONOR_RECORD.itemsize, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    )
    if hasattr(mmap, "MADV_HUGEPAGE"):
        buf.madvise(mmap.MADV_HUGEPAGE)
    return buf


def _records(buf: mmap.mmap, n_total: int) -> np.ndarray:
    return np.frombuffer(buf, dtype=DONOR_RECORD, count=n_total)


def group_starts(seg_start: np.ndarray, per_segment: int) -> np.ndarray:
    """The first member of each group, the population's size last: each segment (laid out
    by ``seg_start``) in ``per_segment`` groups as equal as whole donors allow."""
    sizes = np.diff(seg_start)
    k = np.arange(per_segment)
    starts = seg_start[:-1, None] + (sizes[:, None] * k[None, :]) // per_segment
    return np.append(starts.reshape(-1), seg_start[-1]).astype(np.int64)


def group_stakes(per_segment: int, donor_sigma: float) -> np.ndarray:
    """Each of a segment's groups' expected gift relative to the segment's: the mean of
    exp(donor_sigma Z) over the group's quantile bin of the standard normal Z, over its
    mean on the whole line, which is per_segment (Phi(b - sigma) - Phi(a - sigma)) for the
    bin (a, b)."""
    edges = ndtri(np.linspace(0.0, 1.0, per_segment + 1))
    return per_segment * np.diff(ndtr(edges - donor_sigma))


def _draw_levels(
    cfg: PopulationConfig,
    seg_start: np.ndarray,
    group_start: np.ndarray,
    n_total: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each donor's log-yuan gift-size level, 0 for the gaming identities after the honest
    donors: ``donor_sigma`` Z plus the segment's shift, with Z a standard normal drawn in
    the quantile bin of the donor's group (one float32 uniform a donor, inverted:
    :func:`_normal_levels`), so each segment's levels are normal and its groups ordered by
    level. The build's first draws."""
    n = int(seg_start[-1])
    level = np.zeros(n_total, dtype=np.float32)
    rng.random(dtype=np.float32, out=level[:n])
    k = (group_start.shape[0] - 1) // (seg_start.shape[0] - 1)
    shifts = np.repeat([seg.size_shift for seg in cfg.segments], k)
    _normal_levels(level, group_start, k, cfg.gift_size.donor_sigma, shifts)
    return level


@njit(cache=True, nogil=True)
def _normal_levels(level, group_start, per_segment, sigma, shifts):
    """In place: the uniform ``level[i]`` of a member of group g becomes
    ``sigma x Phi^-1((g % per_segment + u') / per_segment) + shifts[g]`` in float32, u' the
    uniform moved off 0 by half its resolution (2**-25), so the quantile is never 0 or 1."""
    sigma32 = np.float32(sigma)
    for g in range(group_start.shape[0] - 1):
        k = g % per_segment
        shift = np.float32(shifts[g])
        for i in range(group_start[g], group_start[g + 1]):
            p = (k + np.float64(level[i]) + 2.0**-25) / per_segment
            level[i] = np.float32(inverse_normal(p)) * sigma32 + shift


@njit(cache=True, inline="always")
def inverse_normal(p):
    """Phi^-1(p) for p in (0, 1), by Acklam's rational approximation (relative error
    below 1e-8 against scipy's ndtri, measured: finer than a float32 level and than a
    whole-yuan gift size)."""
    if p < 0.02425:
        return _normal_tail(p)
    if p > 1.0 - 0.02425:
        return -_normal_tail(1.0 - p)
    q = p - 0.5
    r = q * q
    num = (-3.969683028665376e01 * r + 2.209460984245205e02) * r - 2.759285104469687e02
    num = ((num * r + 1.383577518672690e02) * r - 3.066479806614716e01) * r + 2.506628277459239
    den = (-5.447609879822406e01 * r + 1.615858368580409e02) * r - 1.556989798598866e02
    den = ((den * r + 6.680131188771972e01) * r - 1.328068155288572e01) * r + 1.0
    return num * q / den


@njit(cache=True, inline="always")
def _normal_tail(p):
    """Phi^-1(p) for p below 0.02425 (Acklam's lower region)."""
    q = math.sqrt(-2.0 * math.log(p))
    num = (-7.784894802462951e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838
    num = ((num * q - 2.549732539343734) * q + 4.374664141464968) * q + 2.938163982698783
    den = (7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996
    den = (den * q + 3.754408661907416) * q + 1.0
    return num / den


def _draw_tenure(
    cfg: PopulationConfig, n: int, n_total: int, rng: np.random.Generator
) -> np.ndarray:
    """Years of giving before the event: P(tenure >= k) = q**k, at most 7."""
    tenure = np.zeros(n_total, dtype=np.int8)
    u = rng.random(n)
    tenure[:n] = np.minimum(7, np.floor(np.log1p(-u) / np.log(cfg.tenure_q)))
    return tenure


POPULATIONS = PopulationCache()


@njit(cache=True, nogil=True)
def reset_daily(match_today, chances, helps_today):
    """Zero the daily counters in one pass over the donor records (three ``fill`` calls
    would stream the 720 MB table three times)."""
    for i in range(match_today.shape[0]):
        match_today[i] = 0
        chances[i] = 0
        helps_today[i] = 0


FLOWER_THRESHOLDS = np.array([39, 99, 199, 299], dtype=np.int64)  # 2018 tiers, 2020's 299
FLOWER_EDGES = np.array([0, 1, 5, 10, 20, 39, 99, 199, 299, 500, 1000], dtype=np.int64)


class DonorCounts(NamedTuple):
    """What the donor table says at the run's end (:func:`donor_counts`)."""

    gave: int  # records that made a gift (gaming identities too)
    gave_honest: int  # honest donors who gave
    matched_honest: int  # of them, those matched
    at: np.ndarray  # int64 honest donors who gave holding at least each threshold's flowers
    matched_at: np.ndarray  # int64 of them, those matched
    hist: np.ndarray  # int64 honest donors who gave, by the bins of the edges (lower edges)
    hist_matched: np.ndarray  # int64 of them, those matched
    most: int  # the most flowers an honest donor holds


@njit(cache=True, nogil=True)
def _count_records(flowers, gifts_made, status, n_honest, thresholds, bin_of, n_bins, lo, hi):
    """:class:`DonorCounts` of records ``lo`` to ``hi - 1``, in one pass; ``bin_of[f]`` is
    the bin of ``f`` flowers below its length (the last bin from there on)."""
    nt = thresholds.shape[0]
    at = np.zeros(nt, dtype=np.int64)
    matched_at = np.zeros(nt, dtype=np.int64)
    hist = np.zeros(n_bins, dtype=np.int64)
    hist_m = np.zeros(n_bins, dtype=np.int64)
    gave = gave_honest = matched_honest = 0
    most = 0
    n_lut = bin_of.shape[0]
    for i in range(lo, hi):
        honest = i < n_honest
        f = flowers[i] if honest else 0
        if f > most:
            most = f
        if gifts_made[i] <= 0:
            continue
        gave += 1
        if not honest:
            continue
        gave_honest += 1
        m = (status[i] & MATCHED) != 0
        if m:
            matched_honest += 1
        for k in range(nt):
            if f >= thresholds[k]:
                at[k] += 1
                if m:
                    matched_at[k] += 1
        b = bin_of[f] if 0 <= f < n_lut else (n_bins - 1 if f >= n_lut else 0)
        hist[b] += 1
        if m:
            hist_m[b] += 1
    return gave, gave_honest, matched_honest, at, matched_at, hist, hist_m, most


def donor_counts(
    donors: Donors,
    thresholds: np.ndarray = FLOWER_THRESHOLDS,
    edges: np.ndarray = FLOWER_EDGES,
    parts: int = 1,
) -> DonorCounts:
    """In one pass over the donor records (720 MB at full scale): the records that made a
    gift; of the honest donors who gave, those matched, those holding at least each of
    ``thresholds`` flowers and those matched among them, both by the bins of ``edges``
    (lower edges, increasing); the most flowers an honest donor holds. ``parts`` > 1 splits
    the records into as many ranges, each but the first counted on a thread of its own;
    the counts are summed, so the result is the same."""
    d = donors
    n = d.gifts_made.shape[0]
    bin_of = np.maximum(0, np.searchsorted(edges, np.arange(edges[-1]), side="right") - 1)
    cuts = [n * k // parts for k in range(parts + 1)]
    args = (d.flowers, d.gifts_made, d.status, d.n, thresholds, bin_of, edges.shape[0])

    def count(k: int) -> tuple:
        return _count_records(*args, cuts[k], cuts[k + 1])

    if parts == 1:
        made = [count(0)]
    else:
        with ThreadPoolExecutor(parts - 1, "sim-count") as pool:
            rest = [pool.submit(count, k) for k in range(1, parts)]
            made = [count(0), *(f.result() for f in rest)]
    return DonorCounts(
        sum(int(c[0]) for c in made),
        sum(int(c[1]) for c in made),
        sum(int(c[2]) for c in made),
        np.sum([c[3] for c in made], axis=0),
        np.sum([c[4] for c in made], axis=0),
        np.sum([c[5] for c in made], axis=0),
        np.sum([c[6] for c in made], axis=0),
        max(int(c[7]) for c in made),
    )
