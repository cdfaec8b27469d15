"""Arrivals: how many gifts and other acts a minute expects, and the minute's random part.

A minute's expected gifts are the day's base gifts spread by the intraday profile, plus the
gifts live matching adds (:meth:`Arrivals.added_gifts`: ``match_uplift`` x the base while a
Foundation pool is paying, and a burst after each window opens). Its random numbers are
drawn from its own numpy Generator (:mod:`sim.model.streams`), block by block, always in the
same order (so the numbers are those of the minute's own stream, whatever is done with
them), inside one compiled call (:func:`draw_minute_kernel`: numba draws what numpy's calls
would), and made into the minute's flower events and gifts in one pass
(:func:`make_gifts`). At full scale (6870万 gifts in 12,960 minutes) the chain of numpy
operations this replaced cost more than the draws.

:class:`GiftStream` makes the next minute's gifts on a second thread while this one
settles, where there is one; the numbers are the same either way.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import F
from sim.model.calendar import MINUTES_PER_DAY, Calendar
from sim.model.choice import Choice, ChoiceTable
from sim.model.donors import Donors
from sim.model.pools import Pools
from sim.model.streams import stream
from sim.schema import SimConfig

_MODE = F["mode"]


class FlowerEvents(NamedTuple):
    """A minute's acts that earn flowers but are not gifts: the donors who answered a quiz,
    made a step donation, or helped a friend (``helper``, with the friend ``helpee``)."""

    quiz: np.ndarray
    steps: np.ndarray
    helper: np.ndarray
    helpee: np.ndarray


class Gifts(NamedTuple):
    """A minute's gifts in timestamp order, one entry each, with the uniforms their
    settlement uses."""

    t: np.ndarray  # float64 minute of the campaign (fractions within the minute)
    donor: np.ndarray  # int64 population id
    project: np.ndarray  # int64
    amount: np.ndarray  # int64 fen
    helpee: np.ndarray  # int64 the friend a 1-yuan friend-help gift helps, -1 for none
    u_match: np.ndarray  # float64 whether a random match is won
    u_fraction: np.ndarray  # float64 the size of a random match
    u_bonus: np.ndarray  # float64 a flower bonus or multiple
    u_detect: np.ndarray  # float64 whether the platform flags the gift
    added: np.ndarray  # bool the gift is one that live matching added


class Rates(NamedTuple):
    """A minute's expected acts (Poisson means)."""

    quiz: float
    steps: float
    help: float
    base: float  # ordinary gifts
    extra: float  # gifts live matching adds


class Crowd(NamedTuple):
    """What a minute's draw needs of the donor population."""

    one_share: float  # share of gifts that are 1-yuan friend-help gifts
    mixes: np.ndarray  # [2, segment] cumulative shares: ordinary gifts, gifts matching adds
    seg_start: np.ndarray  # int64 first member of each segment, the population last
    level: np.ndarray  # float32 each donor's log-yuan level
    size_shift: float  # the gift-size mu plus the day's shift
    sigma: float  # spread of a donor's gifts (log scale)
    max_yuan: int  # the largest gift


@njit(cache=True, inline="always")
def _member(u_seg, u_member, row, seg_start):
    """A segment by cumulative mix ``row``, then a uniform member of it (population laid
    out segment by segment). Returns (segment, donor)."""
    n_seg = row.shape[0]
    s = 0
    while s < n_seg - 1 and u_seg >= row[s]:
        s += 1
    size = seg_start[s + 1] - seg_start[s]
    k = np.int64(u_member * size)
    return s, seg_start[s] + (k if k < size else size - 1)


@njit(cache=True, nogil=True)
def pick_members(u_seg, u_member, mix, seg_start):
    """Donors by the cumulative segment mix ``mix``: for each i, the segment of
    ``u_seg[i]``, then a uniform member of it by ``u_member[i]``."""
    out = np.empty(u_seg.shape[0], dtype=np.int64)
    for i in range(u_seg.shape[0]):
        out[i] = _member(u_seg[i], u_member[i], mix, seg_start)[1]
    return out


@njit(cache=True, nogil=True)
def make_gifts(minute, draws, p_added, crowd, choice, out):
    """A minute's gifts, in timestamp order, from its random numbers ``draws`` =
    (u_added, u_pick, spacings, u_one, z, u_help, u_project), into ``out`` = (t, donor,
    project, amount, helpee, added).

    Gift i is one the matching adds if ``u_added[i] < p_added`` (thinning one Poisson
    stream); its donor comes from the segment mix of its kind (``u_pick[:, i]``); its time
    is ``minute`` plus the normalised cumulative sum of ``n + 1`` exponential ``spacings``
    (sorted uniform times); it is a 1-yuan friend-help gift if ``u_one[i] < one_share``,
    and the j-th of those helps the friend drawn from ``u_help[:, j]``, else its size is
    lognormal around its donor's level, whole yuan in [1, ``max_yuan``]: the float32 sum
    ``size_shift + level`` plus ``sigma z``; its project is drawn by its segment's alias
    table (one uniform, ``u_project``). The arithmetic is the numpy chain's it replaces,
    operation for operation."""
    u_added, u_pick, spacings, u_one, z, u_help, u_project = draws
    t, donor, project, amount, helpee, added = out
    one_share, mixes, seg_start, level, size_shift, sigma, max_yuan = crowd  # Crowd's order
    alias_prob, alias, n_projects = choice  # ChoiceTable's order
    n = u_added.shape[0]
    total = 0.0
    for i in range(n + 1):
        total += spacings[i]
        if i < n:
            t[i] = total
    seg = np.empty(n, dtype=np.int64)
    for i in range(n):
        t[i] = minute + t[i] / total
        a = u_added[i] < p_added
        added[i] = a
        seg[i], donor[i] = _member(u_pick[0, i], u_pick[1, i], mixes[1 if a else 0], seg_start)
    # The donors' levels in a loop of their own: the loads are independent, so the CPU
    # overlaps their cache misses (in the loop below, each would wait for the one before).
    lv = np.empty(n, dtype=np.float32)
    for i in range(n):
        lv[i] = level[donor[i]]
    shift32 = np.float32(size_shift)
    j = 0
    for i in range(n):
        if u_one[i] < one_share:
            amount[i] = 100
            helpee[i] = _member(u_help[0, j], u_help[1, j], mixes[0], seg_start)[1]
            j += 1
        else:
            log_yuan = np.float64(shift32 + lv[i]) + sigma * z[i]
            yuan = np.rint(math.exp(min(log_yuan, 30.0)))
            if yuan < 1.0:
                yuan = 1.0
            elif yuan > max_yuan:
                yuan = np.float64(max_yuan)
            amount[i] = np.int64(yuan) * 100
            helpee[i] = -1
        s = seg[i]
        x = u_project[i] * n_projects
        k = np.int64(x)
        if k > n_projects - 1:
            k = n_projects - 1
        x -= k
        k += s * n_projects
        project[i] = (k if x < alias_prob[k] else alias[k]) - s * n_projects


@njit(cache=True, nogil=True)
def draw_minute_kernel(rng, minute, rates, crowd, choice):
    """A minute's random part from its stream ``rng`` (a numpy Generator; numba draws the
    same numbers numpy would, and leaves the stream where numpy would), in one compiled
    call instead of a score of numpy calls each holding the interpreter lock.

    In this order: the flower events, donors by the ordinary segment mix (quiz answers,
    step donations, then friend helps: helper and friend), Poisson counts at ``rates``;
    then the gifts (Poisson at ``rates.base + rates.extra``) and their numbers, block by
    block, made into gifts by :func:`make_gifts`. Returns (quiz, steps, helper, helped, t,
    donor, project, amount, helpee, added, u) with ``u`` the four uniforms a gift's
    settlement uses (match, fraction, bonus, detection), one row each. The groups are plain
    tuples in the orders of :class:`Rates`, :class:`Crowd` and
    :class:`~sim.model.choice.ChoiceTable` (see :mod:`sim.model.settlement` on why)."""
    lam_quiz, lam_steps, lam_help, lam_base, lam_extra = rates
    one_share, mixes, seg_start = crowd[0], crowd[1], crowd[2]
    mix = mixes[0]
    u = rng.random((2, rng.poisson(lam_quiz)))
    quiz = pick_members(u[0], u[1], mix, seg_start)
    u = rng.random((2, rng.poisson(lam_steps)))
    steps = pick_members(u[0], u[1], mix, seg_start)
    u = rng.random((4, rng.poisson(lam_help)))
    helper = pick_members(u[0], u[1], mix, seg_start)
    helped = pick_members(u[2], u[3], mix, seg_start)
    n = rng.poisson(lam_base + lam_extra)
    u_added_pick = rng.random((3, n))
    spacings = rng.standard_exponential(n + 1)
    u_one = rng.random(n)
    z = rng.standard_normal(n)
    n_one = 0
    for i in range(n):
        if u_one[i] < one_share:
            n_one += 1
    u_help = rng.random((2, n_one))
    u_rest = rng.random((5, n))
    t = np.empty(n)
    donor = np.empty(n, dtype=np.int64)
    project = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.int64)
    helpee = np.empty(n, dtype=np.int64)
    added = np.empty(n, dtype=np.bool_)
    p_added = lam_extra / (lam_base + lam_extra) if n else 0.0
    make_gifts(
        minute,
        (u_added_pick[0], u_added_pick[1:], spacings, u_one, z, u_help, u_rest[0]),
        p_added,
        crowd,
        choice,
        (t, donor, project, amount, helpee, added),
    )
    return quiz, steps, helper, helped, t, donor, project, amount, helpee, added, u_rest[1:]


class Arrivals:
    """A campaign's expected acts minute by minute, and each minute's random part."""

    def __init__(self, cfg: SimConfig, cal: Calendar, donors: Donors, pools: Pools):
        self.seed, self.scale, self.uplift = cfg.seed, cfg.scale, cfg.scenario.match_uplift
        self.cal, self.donors, self.pools = cal, donors, pools
        self.burst_pools = [int(g) for g in pools.foundation if pools.burst[g] > 0]
        self._crowds: dict[int, Crowd] = {}  # by day: the population as the draws need it

    def per_minute(self, minute: int) -> float:
        """What a daily figure in 万 becomes in this minute of the day, at this scale."""
        return self.cal.minute_weight[minute % MINUTES_PER_DAY] * 1e4 * self.scale

    def base_gifts(self, minute: int, day) -> float:
        """Expected ordinary gifts in this minute."""
        return day.base_gifts_wan * self.per_minute(minute)

    def added_gifts(self, minute: int, foundation_live: bool) -> float:
        """Expected gifts added by live matching in this minute (the state it reads: whether
        a Foundation pool is live, and which are paying)."""
        if not foundation_live:
            return 0.0
        extra = self.base_gifts(minute, self.cal.day(minute)) * self.uplift
        p = self.pools
        for g in self.burst_pools:  # paying: open, released, not empty, a rule that matches
            if (
                p.open_at[g] <= minute < p.close_at[g]
                and p.remaining[g] > 0
                and p.rules[g, _MODE] != 0
            ):
                x = (minute - p.open_at[g]) / p.burst_minutes[g]
                extra += p.burst[g] * (np.exp(-x) - np.exp(-x - 1 / p.burst_minutes[g]))
        return extra

    def draw(
        self, minute: int, lam_extra: float, choice: ChoiceTable
    ) -> tuple[FlowerEvents, Gifts]:
        """The random part of one minute: who answers a quiz, makes a step donation or
        helps whom (flower events, not gifts) and every ordinary gift, in timestamp order
        (gaming gifts are added later); drawn by :func:`draw_minute_kernel`.

        A pure function of its arguments and of what the build fixed (the population, its
        levels and mixes), so it can be made ahead, on another thread, and give the same
        arrays: the minute's stream is its own, and the state it depends on is passed in,
        the expected gifts that live matching adds (``lam_extra``) and the choice tables.

        The ordinary and the matching-added gifts are one Poisson stream, each gift
        matching-added with probability extra / (base + extra) (thinning); sorted
        timestamps come from normalised cumulative exponential spacings."""
        day = self.cal.day(minute)
        w = self.per_minute(minute)
        rates = Rates(
            day.quiz_answers_wan * w,
            day.step_donations_wan * w,
            day.friend_helps_wan * w,
            self.base_gifts(minute, day),
            lam_extra,
        )
        crowd = self._crowds.get(minute // MINUTES_PER_DAY)
        if crowd is None:
            d = self.donors
            crowd = self._crowds[minute // MINUTES_PER_DAY] = Crowd(
                d.one_yuan_share,
                d.mixes,
                d.seg_start,
                d.level,
                d.mu + day.gift_size_shift,
                d.sigma,
                d.max_fen // 100,
            )
        (quiz, steps, helper, helped, t, donor, project, amount, helpee, added, u) = (
            draw_minute_kernel(
                stream(self.seed, "minute", minute),
                minute,
                tuple(rates),
                tuple(crowd),
                tuple(choice),
            )
        )
        return (
            FlowerEvents(quiz, steps, helper, helped),
            Gifts(t, donor, project, amount, helpee, u[0], u[1], u[2], u[3], added),
        )


class GiftStream:
    """Each minute's flower events, gifts and numbered donors, made on this thread or, with
    an ``executor`` (a second thread), the next minute's made there while this one settles.

    A minute made ahead is made from the state as it is before this minute settles; it is
    used only if the state it read is still the same when that minute comes (the same
    expected added gifts and the same choice tables), and made again here otherwise.
    Either way a minute's gifts are the same arrays."""

    def __init__(
        self,
        arrivals: Arrivals,
        choice: Choice,
        number_here,
        number_ahead,
        executor: ThreadPoolExecutor | None,
    ):
        self.arrivals, self.choice, self.executor = arrivals, choice, executor
        self.number_here, self.number_ahead = number_here, number_ahead  # one a thread
        self._ahead: tuple[tuple, Future] | None = None  # (its inputs, its future)

    def _inputs(self, minute: int) -> tuple[float, ChoiceTable]:
        table = self.choice.table
        assert table is not None, "the choice tables are made before the first minute"
        return (self.arrivals.added_gifts(minute, self.choice.foundation_live), table)

    def _make(self, minute: int, inputs: tuple, number) -> tuple:
        fe, gifts = self.arrivals.draw(minute, *inputs)
        return fe, gifts, number(gifts)

    def minute(self, m: int, n_minutes: int) -> tuple:
        """Minute ``m``'s (flower events, gifts, rows); starts minute ``m + 1`` on the other
        thread if there is one."""
        inputs = self._inputs(m)
        ahead = self._ahead
        if ahead is not None and _same_inputs(ahead[0], inputs):
            made = ahead[1].result()
        else:  # made again here, while the other thread ends the draw that is not used
            made = self._make(m, inputs, self.number_here)
        self._ahead = None
        if self.executor is not None and m + 1 < n_minutes:
            nxt = self._inputs(m + 1)
            self._ahead = (nxt, self.executor.submit(self._make, m + 1, nxt, self.number_ahead))
        return made


def _same_inputs(a: tuple, b: tuple) -> bool:
    """Whether two minutes' inputs to :meth:`Arrivals.draw` are the same: the expected
    added gifts equal, the choice tables the same object (they are replaced, never changed
    in place)."""
    return a[0] == b[0] and a[1] is b[1]
