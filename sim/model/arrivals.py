"""Arrivals: a minute's expected acts and its random part, made into flower events and gifts.

A minute's expected gifts are planned by the donors' response to the match they can expect
(:mod:`sim.model.response`: baseline, shifted and lifted gifts, each with its own segment
mix). Its random numbers are counter-based: the ``i``-th number of row ``r`` of minute
``m`` is SplitMix64's output at position ``i`` of a sequence started from a hash of (the
seed, ``m``, ``r``) (:func:`counter_uniforms`), so a minute's numbers are a pure function of
the seed and the minute, drawn inside one compiled call (:func:`draw_minute_kernel`) with no
generator object to carry, and made into the minute's flower events and gifts in one pass
(:func:`make_gifts`). Counts are Poisson (:func:`poisson`: numpy's methods, inversion below a
mean of 10 and PTRS above), a gift's size is lognormal through the inverse normal CDF of
one uniform (:func:`sim.model.donors.inverse_normal`), its time a uniform in its own
slice of the minute (the ``i``-th of ``n`` gifts in ``[i / n, (i + 1) / n)``).

:class:`GiftStream` makes the next minute's gifts on a second thread while this one
settles, where there is one; the numbers are the same either way.
"""

from __future__ import annotations

import math
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.calendar import Calendar
from sim.model.choice import Choice, ChoiceTable
from sim.model.donors import Donors, inverse_normal
from sim.model.gifts import FlowerEvents, Gifts
from sim.model.network import (
    GAMMA,
    Network,
    friend_at,
    group_of,
    hash_key,
    leader_index,
    mix64,
    some_friend,
    team_leader,
    uniform,
    unit,
)
from sim.model.response import Plan, Response
from sim.schema import SimConfig


class Rates(NamedTuple):
    """A minute's expected acts (Poisson means)."""

    quiz: float
    steps: float
    help: float
    base: float  # baseline gifts
    shift: float  # gifts moved to this minute
    lift: float  # gifts the match brings


class Crowd(NamedTuple):
    """What a minute's draw needs of the donor population."""

    one_share: float  # share of gifts that are 1-yuan friend-help gifts
    mixes: np.ndarray  # [reason, group] cumulative shares of each reason's gifts
    group_start: np.ndarray  # int64 first member of each group, the population last
    level: np.ndarray  # float32 each donor's log-yuan level
    size_shift: float  # the gift-size mu plus the day's shift
    sigma: float  # spread of a donor's gifts (log scale)
    max_yuan: int  # the largest gift
    net: tuple  # the friendship network (sim.model.network.Network)
    team_share: float  # share of the gifts not 1-yuan helps that join a friend's team (一起捐)
    per_segment: int  # groups a segment: group g is in segment g // per_segment


@njit(cache=True, inline="always")
def _member(u_seg, u_member, row, seg_start):
    """A segment by cumulative mix ``row`` (the first whose share reaches past
    ``u_seg``, found by bisection; the last if none), then a uniform member of it
    (population laid out segment by segment). Returns (segment, donor)."""
    lo, hi = 0, row.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if u_seg < row[mid]:
            hi = mid
        else:
            lo = mid + 1
    s = lo
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
def helped_friends(net, helper, u):
    """The friend each helper helps: the ``u[i]``-th along its friend list."""
    out = np.empty(helper.shape[0], dtype=np.int64)
    for i in range(helper.shape[0]):
        f = some_friend(net, helper[i], u[i])
        out[i] = f if f >= 0 else helper[i]
    return out


@njit(cache=True, inline="always")
def _alias(u, block, alias_prob, alias, n_projects):
    """A project by the alias table of ``block`` from one uniform."""
    x = u * n_projects
    k = np.int64(x)
    if k > n_projects - 1:
        k = n_projects - 1
    x -= k
    k += block * n_projects
    return (k if x < alias_prob[k] else alias[k]) - block * n_projects


@njit(cache=True, nogil=True)
def make_gifts(minute, draws, p_reason, crowd, choice, out):
    """A minute's gifts, in timestamp order, from its random numbers ``draws`` =
    (u_reason, u_pick, u_time, u_one, z, u_help, u_project), into ``out`` = (t, donor,
    project, amount, helpee, reason, team).

    Gift i is baseline if ``u_reason[i] < p_reason[0]``, shifted if below ``p_reason[0] +
    p_reason[1]``, else lifted (thinning one Poisson stream); its donor comes from its
    reason's group mix (``u_pick[:, i]``: a group, then a uniform member of it; group g is
    in segment g // per_segment); its time is ``minute + (i + u_time[i]) / n``, uniform
    within its own ``n``-th of the minute, so the times come sorted (and never rounded up to
    ``minute + 1``). A Poisson stream's ``n`` times in a minute are ``n`` sorted uniforms;
    these spread over the minute the same way to within ``1 / n`` of it, without the ``n``
    logarithms of exponential spacings (a minute's times only order its gifts and stamp the
    gift that empties a pool). It is a 1-yuan friend-help gift if ``u_one[i] < one_share``,
    and the j-th of those helps the friend drawn from ``u_help[:, j]``; else its size is
    lognormal around its donor's level, whole yuan in [1, ``max_yuan``]: the float32 sum
    ``size_shift + level`` plus ``sigma z``. Its project is drawn by the alias table of its
    segment and kind (``u_project``: one uniform; lifted gifts use the second half of the
    tables, the match-directed ones), unless it joins a team (``u_one[i]``, above
    ``one_share``, in the next ``team_share`` of what is left): then its project is its
    leader's (a leader drawn in proportion to its friends, its project a pure function of
    the leader) and ``team`` the leader's index (-1: no team). The 1-yuan help's friend is
    the ``u_help``-th along the donor's friend list (:mod:`sim.model.network`). The
    arguments are plain tuples in the orders of :class:`Crowd` and
    :class:`~sim.model.choice.ChoiceTable` (:mod:`sim.model.settlement` says why)."""
    u_reason, u_pick, u_time, u_one, z, u_help, u_project = draws
    t, donor, project, amount, helpee, reason, team = out
    one_share, mixes, group_start, level, size_shift, sigma, max_yuan, net, team_share, k = crowd
    alias_prob, alias, n_projects, n_seg = choice
    n = u_reason.shape[0]
    slice_ = 1.0 / n if n else 0.0
    last = np.nextafter(np.float64(minute + 1), np.float64(minute))  # the minute's last time
    grp = np.empty(n, dtype=np.int64)
    p0, p01 = p_reason[0], p_reason[0] + p_reason[1]
    for i in range(n):
        t[i] = min(minute + (i + u_time[i]) * slice_, last)  # never rounded up to minute + 1
        r = 0 if u_reason[i] < p0 else (1 if u_reason[i] < p01 else 2)
        reason[i] = r
        grp[i], donor[i] = _member(u_pick[0, i], u_pick[1, i], mixes[r], group_start)
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
            helpee[i] = friend_at(net, grp[i], donor[i], u_help[0, j])
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
        team[i] = -1
        # a team gift: the uniform that says a gift is not a 1-yuan help, in the next
        # ``team_share`` of its range (no draw of its own for the 97% that are not)
        if one_share <= u_one[i] < one_share + team_share * (1.0 - one_share):
            tk = net[6]
            leader = team_leader(net, uniform(tk, minute, 2 * i), uniform(tk, minute, 2 * i + 1))
            team[i] = leader_index(net, leader)
            block = group_of(group_start, leader) // k  # the leader's own project
            project[i] = _alias(uniform(tk, -1, leader), block, alias_prob, alias, n_projects)
        else:
            block = grp[i] // k + (n_seg if reason[i] == 2 else 0)
            project[i] = _alias(u_project[i], block, alias_prob, alias, n_projects)


MINUTE_SALT = 0x6D696E757465  # "minute": the key of the minutes' numbers (network.hash_key)
# The rows of a minute's numbers: the Poisson counts (quiz, steps, helps, gifts), then
# the flower events' (segment and member of a quiz answer, of a step donation, of a
# helper, and the friend helped), then the gifts' (reason, segment and member, time in
# its slice of the minute, 1-yuan help or not, size, the friend a help goes to, then
# project, match, fraction, bonus, detection)
ROW_COUNTS, ROW_QUIZ, ROW_STEPS, ROW_HELP, ROW_GIFT = 0, 4, 6, 8, 11


@njit(cache=True, inline="always")
def _word(start, i):
    """The ``i``-th word of the sequence from ``start``: SplitMix64's output
    ``mix64(start + i x GAMMA)``, a pure function of (``start``, ``i``)."""
    return mix64(start + np.uint64(i) * GAMMA)


@njit(cache=True, inline="always")
def row_start(base, row):
    """Where row ``row`` of the minute keyed ``base`` starts its sequence."""
    return _word(base, row)


@njit(cache=True, inline="always")
def minute_base(key, minute):
    """The key of minute ``minute``'s numbers (``key``: the seed's, :data:`MINUTE_SALT`)."""
    return mix64(key ^ mix64(np.uint64(minute) * GAMMA))


@njit(cache=True, nogil=True)
def counter_uniforms(start, n):
    """The first ``n`` numbers of the sequence from ``start`` as uniforms in [0, 1)
    (:func:`_word`)."""
    out = np.empty(n)
    for i in range(n):
        out[i] = unit(_word(start, i))
    return out


@njit(cache=True, nogil=True)
def counter_rows(base, first, n_rows, n):
    """Rows ``first`` to ``first + n_rows - 1`` of the minute keyed ``base``, ``n``
    uniforms each, as one (n_rows, n) array (row ``j`` is :func:`counter_uniforms` of
    row ``first + j``)."""
    out = np.empty((n_rows, n))
    for j in range(n_rows):
        start = row_start(base, first + j)
        for i in range(n):
            out[j, i] = unit(_word(start, i))
    return out


@njit(cache=True, nogil=True)
def poisson(start, lam):
    """A Poisson count of mean ``lam`` from the sequence at ``start``, by numpy's methods:
    multiplied uniforms below a mean of 10, Hormann's PTRS (transformed rejection with
    squeeze) from 10 on."""
    if not lam > 0.0:
        return 0
    i = 0
    if lam < 10.0:
        enlam = math.exp(-lam)
        k = 0
        prod = 1.0
        while True:
            prod *= unit(_word(start, i))
            i += 1
            if prod > enlam:
                k += 1
            else:
                return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = unit(_word(start, i)) - 0.5
        v = unit(_word(start, i + 1))
        i += 2
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if v > 0.0 and (math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b)) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return np.int64(k)


@njit(cache=True, inline="always")
def _picks(base, row, n, mix, group_start):
    """``n`` donors by the segment mix ``mix`` (:func:`pick_members`) from rows ``row``
    (their segments) and ``row + 1`` (their members) of the minute keyed ``base``."""
    return pick_members(
        counter_uniforms(row_start(base, row), n),
        counter_uniforms(row_start(base, row + 1), n),
        mix,
        group_start,
    )


@njit(cache=True, nogil=True)
def draw_minute_kernel(key, minute, rates, crowd, choice):
    """A minute's random part from its counter-based numbers (``key``: the seed's key of
    the minutes; the module docstring says how a number is made), in one compiled call.

    The flower events, donors by the baseline segment mix (quiz answers, step donations,
    then friend helps: helper and friend), Poisson counts at ``rates``; then the gifts
    (Poisson at the sum of the three reasons' rates) and their numbers, row by row, made
    into gifts by :func:`make_gifts`: a gift's size from a standard normal (the inverse CDF
    of a uniform in (0, 1)), its time a uniform in its own slice of the minute. Returns
    (quiz, steps, helper, helped, t, donor, project, amount, helpee, reason, team, u) with
    ``u`` the four uniforms a gift's settlement uses (match, fraction, bonus, detection),
    one row each. The groups are plain tuples in the orders of :class:`Rates`,
    :class:`Crowd` and :class:`~sim.model.choice.ChoiceTable` (see
    :mod:`sim.model.settlement` on why)."""
    lam_quiz, lam_steps, lam_help, lam_base, lam_shift, lam_lift = rates
    one_share, mixes, group_start, net = crowd[0], crowd[1], crowd[2], crowd[7]
    mix = mixes[0]
    base = minute_base(key, minute)
    lam = lam_base + lam_shift + lam_lift
    n_quiz = poisson(row_start(base, ROW_COUNTS), lam_quiz)
    n_steps = poisson(row_start(base, ROW_COUNTS + 1), lam_steps)
    n_help = poisson(row_start(base, ROW_COUNTS + 2), lam_help)
    n = poisson(row_start(base, ROW_COUNTS + 3), lam)
    quiz = _picks(base, ROW_QUIZ, n_quiz, mix, group_start)
    steps = _picks(base, ROW_STEPS, n_steps, mix, group_start)
    helper = _picks(base, ROW_HELP, n_help, mix, group_start)
    helped = helped_friends(net, helper, counter_uniforms(row_start(base, ROW_HELP + 2), n_help))
    r = ROW_GIFT
    u_reason = counter_uniforms(row_start(base, r), n)
    u_pick = counter_rows(base, r + 1, 2, n)
    u_time = counter_uniforms(row_start(base, r + 3), n)
    u_one = counter_uniforms(row_start(base, r + 4), n)
    z = np.empty(n)
    start = row_start(base, r + 5)
    for i in range(n):  # a uniform in (0, 1), never 0 or 1, made normal
        x = _word(start, i)
        z[i] = inverse_normal((np.float64(x >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0))
    p_reason = np.zeros(2)
    if n:
        p_reason[0] = lam_base / lam
        p_reason[1] = lam_shift / lam
    n_one = 0
    for i in range(n):
        if u_one[i] < one_share:
            n_one += 1
    u_help = counter_uniforms(row_start(base, r + 6), n_one).reshape(1, n_one)
    u_rest = counter_rows(base, r + 7, 5, n)
    t = np.empty(n)
    donor = np.empty(n, dtype=np.int64)
    project = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.int64)
    helpee = np.empty(n, dtype=np.int64)
    reason = np.empty(n, dtype=np.int8)
    team = np.empty(n, dtype=np.int64)
    make_gifts(
        minute,
        (u_reason, u_pick, u_time, u_one, z, u_help, u_rest[0]),
        p_reason,
        crowd,
        choice,
        (t, donor, project, amount, helpee, reason, team),
    )
    return quiz, steps, helper, helped, t, donor, project, amount, helpee, reason, team, u_rest[1:]


class Arrivals:
    """A campaign's expected acts minute by minute, and each minute's random part."""

    def __init__(self, cfg: SimConfig, cal: Calendar, donors: Donors, net: Network):
        self.seed, self.scale = cfg.seed, cfg.scale
        self.key = np.uint64(hash_key(cfg.seed, MINUTE_SALT))  # of every minute's numbers
        self.cal, self.donors, self.net = cal, donors, net
        self.team_share = float(cfg.population.network.team_share)

    def per_minute(self, minute: int) -> float:
        """What a daily figure in 万 becomes in this minute of the day, at this scale."""
        return self.cal.minute_weight(minute) * 1e4 * self.scale

    def draw(self, minute: int, plan: Plan, choice: ChoiceTable) -> tuple[FlowerEvents, Gifts]:
        """The random part of one minute: who answers a quiz, makes a step donation or
        helps whom (flower events, not gifts) and every gift, in timestamp order (gaming
        gifts are added later); drawn by :func:`draw_minute_kernel`.

        A pure function of its arguments and of what the build fixed (the population, its
        levels), so it can be made ahead, on another thread, and give the same arrays: the
        minute's numbers are its own (a function of the seed and the minute), and the
        state it depends on is passed in, the minute's
        plan of gifts by reason (:meth:`sim.model.response.Response.plan`) and the choice
        tables. Its gifts are one Poisson stream, each gift given its reason with
        probability in proportion to the reasons' rates (thinning); the ``i``-th of its
        ``n`` gifts is at a uniform time in the ``i``-th ``n``-th of the minute."""
        day = self.cal.day(minute)
        w = self.per_minute(minute)
        rates = Rates(
            day.quiz_answers_wan * w,
            day.step_donations_wan * w,
            day.friend_helps_wan * w,
            plan.base,
            plan.shift,
            plan.lift,
        )
        d = self.donors
        crowd = (
            d.one_yuan_share,
            plan.mixes,
            d.group_start,
            d.level,
            d.mu + day.gift_size_shift,
            d.sigma,
            d.max_fen // 100,
            tuple(self.net),
            self.team_share,
            d.per_segment,
        )
        (quiz, steps, helper, helped, t, donor, project, amount, helpee, reason, team, u) = (
            draw_minute_kernel(self.key, minute, tuple(rates), crowd, tuple(choice))
        )
        return (
            FlowerEvents(quiz, steps, helper, helped),
            Gifts(t, donor, project, amount, helpee, u[0], u[1], u[2], u[3], reason, team),
        )


class GiftStream:
    """Each minute's flower events, gifts and numbered donors, made on this thread or, with
    an ``executor`` (a second thread), the next minute's made there while this one settles.

    A minute made ahead is planned and drawn from the state as it is before this minute
    settles; it is used only if the state it read is still the same when that minute comes
    (the same effect of the match now and at the next opening, the same choice tables, the
    response's state the one this minute left), and made again here otherwise. Either way a
    minute's gifts are the same arrays, and the response's state is committed for the
    minute used."""

    def __init__(
        self,
        arrivals: Arrivals,
        response: Response,
        choice: Choice,
        number_here,
        number_ahead,
        executor: ThreadPoolExecutor | None,
    ):
        self.arrivals, self.response, self.choice = arrivals, response, choice
        self.executor = executor
        self.number_here, self.number_ahead = number_here, number_ahead  # one a thread
        self._ahead: tuple[tuple, Future] | None = None  # (its inputs, its future)
        self.lost = 0.0  # the intents the last minute's plan expects lost

    def _inputs(self, minute: int) -> tuple[float, float, float, ChoiceTable]:
        table = self.choice.table
        assert table is not None, "the choice tables are made before the first minute"
        view = self.choice.view
        return view.mean_lift, view.mean, self.choice.anticipated(minute), table

    def _make(self, minute: int, inputs: tuple, state, number) -> tuple:
        lift, a, a_next, table = inputs
        plan = self.response.plan(minute, lift, a, a_next, state)
        fe, gifts = self.arrivals.draw(minute, plan, table)
        return plan, fe, gifts, number(gifts)

    def minute(self, m: int, n_minutes: int, before_next=None) -> tuple:
        """Minute ``m``'s (flower events, gifts, rows), its plan committed to the response;
        then ``before_next(m)`` (on either thread count: what minute ``m + 1`` is drawn
        from may change there), and minute ``m + 1`` started on the other thread if there
        is one."""
        inputs = self._inputs(m)
        ahead = self._ahead
        state = self.response.state
        if ahead is not None and _same_inputs(ahead[0], (inputs, state)):
            made = ahead[1].result()
        else:  # made again here, while the other thread ends the draw that is not used
            made = self._make(m, inputs, state, self.number_here)
        self._ahead = None
        plan = made[0]
        self.response.commit(plan)
        self.lost = plan.lost
        if before_next is not None:
            before_next(m)
        if self.executor is not None and m + 1 < n_minutes:
            nxt = self._inputs(m + 1)
            self._ahead = (
                (nxt, plan.after),
                self.executor.submit(self._make, m + 1, nxt, plan.after, self.number_ahead),
            )
        return made[1:]


def _same_inputs(a: tuple, b: tuple) -> bool:
    """Whether two minutes' inputs are the same: the effects equal, the choice tables the
    same object (they are replaced, never changed in place), the response's state the
    same object (a plan's state is a new one)."""
    (a_inputs, a_state), (b_inputs, b_state) = a, b
    return a_inputs[:3] == b_inputs[:3] and a_inputs[3] is b_inputs[3] and a_state is b_state
