"""How donors respond to the match they can expect: whether they give (lift) and when
(shift), in place of a switch that added gifts while a pool held money.

The evidence (``../shared/facts/matching-evidence.md``) and the values are in
``conf/scenario/common/behaviour.yaml``; what a donor can expect of the match is
:mod:`sim.model.match_view`. Per group s (one of an engagement segment's groups by gift-size
level, :mod:`sim.model.donors`) and minute t:

- the **effects** of an expected match e (a share of the gift): on whether a donor gives,
  :func:`effect`, rising steeply around ``half_response_match`` and full from 1:1 on
  (Meier 2007; Karlan & List 2007); on when (and where) a donor who gives anyway gives,
  :func:`presence`, which a small match already moves (moving a gift costs nothing);
  ``l(t)`` and ``a(t)`` are those a donor about to give can expect now, ``a_next`` the
  timing effect of the next announced opening;
- **baseline** b_s(t): the gifts due at t with no match anywhere (the day's base gifts, the
  day kind's intraday profile, the segment's share);
- **shift**: intents due later, up to the next opening (the horizon), are pulled to a live
  match at the hazard ``pull_strength x timing_s x a(t) x attention(t)`` (``timing_s``: the
  segment's timing x stake_s ** stake_elasticity, normalised to a mean of 1 over the
  segment's groups, stake_s the group's expected gift relative to its segment's: who comes
  first is who has more at stake, nearly continuously in the gift), where attention
  decays after each opening (``attention_minutes``) to ``attention_floor``; what is pulled
  is owed by the intents due later in the horizon, which give less (in proportion) until it
  is repaid, so a pulled gift is one moved in time, not a new one. Intents due in the
  ``wait_minutes`` before an opening that is anticipated to be more attractive than now
  wait for it (``wait_share x timing_s x (a_next - a(t))`` of them) and come after it opens,
  at the attention's hazard; ``loss_share x (1 - a(t))`` of those that come when the match
  is gone are not given (Meier 2007's post-match penalty);
- **lift**: ``b_s(t) x lift_s x l(t)`` gifts that would not have been made.

Every gift of a minute is baseline, shifted or lifted (:data:`REASONS`); the expected intents
lost are counted apart. The state (what is owed, what waits) is a tuple of arrays that a
minute's plan (:meth:`Response.plan`) does not change, so that a minute can be planned ahead
on another thread and committed only if its inputs held (:class:`sim.model.arrivals.GiftStream`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.calendar import Calendar
from sim.schema import ResponseConfig, SegmentConfig

REASONS = ("baseline", "shifted", "lifted")  # a gift's reason code, by index


@njit(cache=True, inline="always")
def effect(e: float, steepness: float, half: float) -> float:
    """The effect of an expected match ``e`` (a share of the gift) on whether a donor gives
    (lift), in [0, 1]: e^k / (e^k + e50^k) (k ``steepness``, e50 ``half_response_match``),
    scaled to be 1 at e = 1 and capped there (a ratio above 1:1 adds nothing; a quarter of
    the gift does little: Meier 2007)."""
    e = max(e, 0.0)
    half_k = half**steepness
    at_one = 1.0 / (1.0 + half_k)
    ek = e**steepness
    return min(1.0, ek / (ek + half_k) / at_one)


@njit(cache=True, inline="always")
def presence(e: float, c: float) -> float:
    """The effect of an expected match ``e`` on when and where a donor who gives anyway
    gives, in [0, 1]: e / (e + c), scaled to be 1 at e = 1 and capped there. Moving a gift
    in time or to another project costs the donor nothing, so even a small match moves it
    (``presence_match`` = c, half the effect): what a matched badge does (Fang et al.
    2021), not what it takes to give at all."""
    e = max(e, 0.0)
    return min(1.0, e / (e + c) * (1.0 + c))


class State(NamedTuple):
    owed: np.ndarray  # a segment: intents pulled forward, owed by those due later
    waiting: np.ndarray  # a segment: intents waiting for an opening
    waits_for: int  # the opening they wait for (-1: none)


class Plan(NamedTuple):
    """A minute's expected gifts by reason, where they come from, and the state after it."""

    base: float
    shift: float
    lift: float
    mixes: np.ndarray  # [reason, segment] cumulative shares of each reason's gifts
    lost: float  # expected intents lost (not gifts)
    after: State


class Response:
    """The response of a campaign's donors, minute by minute (see the module docstring)."""

    def __init__(
        self,
        cfg: ResponseConfig,
        cal: Calendar,
        segments: list[SegmentConfig],
        base_share: np.ndarray,
        stake: np.ndarray,
        openings: np.ndarray,
        scale: float,
    ):
        self.cfg = cfg
        n = cal.n_minutes
        self.n_minutes = n
        minute = np.arange(n)
        per_day = np.array([d.base_gifts_wan for d in cal.days]) * 1e4 * scale
        weight = np.stack([cal.weights(d.kind) for d in cal.days])  # [day, minute of day]
        self.base = (per_day[:, None] * weight).reshape(-1)
        self.cum = np.concatenate([[0.0], np.cumsum(self.base)])
        # by group: each segment's groups by gift-size level (sim.model.donors); a group
        # with more at stake (``stake``: its expected gift relative to its segment's) moves
        # its gifts to the match more readily, as stake ** stake_elasticity
        k = stake.shape[0] // len(segments)
        self.share = base_share / base_share.sum()
        self.lift = np.repeat([s.lift * cfg.lift_scale for s in segments], k)
        moves = stake.reshape(len(segments), k) ** cfg.stake_elasticity
        moves /= moves.mean(axis=1, keepdims=True)
        self.timing = np.repeat([s.timing for s in segments], k) * moves.reshape(-1)
        opens = np.unique(openings.astype(np.int64))
        # the next opening after each minute, and the latest at or before it
        i = np.searchsorted(opens, minute, side="right")
        self.next_open = np.where(i < opens.shape[0], opens[np.minimum(i, opens.shape[0] - 1)], n)
        self.last_open = np.where(i > 0, opens[np.maximum(i - 1, 0)], -1)
        zero = np.zeros(stake.shape[0])
        self.state = State(zero, zero.copy(), -1)

    def horizon(self, minute: int) -> int:
        """The next opening after ``minute`` (the campaign's end if none)."""
        return int(self.next_open[minute])

    def plan(
        self, m: int, lift: float, a: float, a_next: float, state: State | None = None
    ) -> Plan:
        """Minute ``m``'s expected gifts by reason, for the effects a donor can expect now
        (``lift`` on whether, ``a`` on when) and ``a_next`` of the next opening, from
        ``state`` (the committed state if None); nothing is changed."""
        cfg = self.cfg
        st = self.state if state is None else state
        h = int(self.next_open[m])
        parts, owed, waiting, waits_for, lost = _plan(
            m,
            h,
            self.n_minutes,
            int(self.last_open[m]),
            self.base[m],
            self.cum[h] - self.cum[m],
            self.share,
            self.lift,
            self.timing,
            st.owed,
            st.waiting,
            st.waits_for,
            lift,
            a,
            a_next,
            cfg.wait_minutes,
            cfg.wait_share,
            cfg.attention_minutes,
            cfg.attention_floor,
            cfg.pull_strength,
            cfg.loss_share,
        )
        return Plan(
            parts[0, -1],
            parts[1, -1],
            parts[2, -1],
            parts[:, :-1],
            lost,
            State(owed, waiting, waits_for),
        )

    def commit(self, plan: Plan) -> None:
        """The minute ``plan`` planned has been drawn: its state is the campaign's now."""
        self.state = plan.after


@njit(cache=True)
def _plan(
    m,
    h,
    n_minutes,
    last_open,
    base,
    due_base,
    share,
    lift_g,
    timing,
    owed0,
    waiting0,
    waits_for,
    lift,
    a,
    a_next,
    wait_minutes,
    wait_share,
    tau,
    floor,
    pull_strength,
    loss_share,
):
    """The arithmetic of :meth:`Response.plan`, group by group (see the module docstring).
    Returns ([reason, group + 1]: each reason's cumulative group mix, its total last), the
    owed and waiting intents after the minute, what the waiting wait for, the lost."""
    n = share.shape[0]
    owed = np.empty(n)
    waiting = np.empty(n)
    parts = np.zeros((3, n + 1))
    wait_now = h < n_minutes and h - m <= wait_minutes and a_next > a
    attention = floor
    if last_open >= 0:
        attention += np.exp(-(m - last_open) / tau) / tau
    comes = waits_for >= 0 and m >= waits_for
    lost = 0.0
    left = 0.0
    for g in range(n):
        b = base * share[g]
        due = due_base * share[g]  # due in the horizon, this minute on
        repay = b * owed0[g] / due if due > 0 else 0.0
        o = owed0[g] - repay
        given = b - repay
        w = waiting0[g]
        if wait_now:
            x = given * min(1.0, wait_share * timing[g] * (a_next - a))
            given -= x
            w += x
        later = max(due - b - o, 0.0)
        pull = later * min(1.0, pull_strength * timing[g] * a * attention)
        o += pull
        come = 0.0
        if comes and w > 0:
            come = w * min(1.0, 1.0 / tau + floor)
            w -= come
            gone = come * loss_share * (1.0 - a)
            come -= gone
            lost += gone
        owed[g] = o
        waiting[g] = w
        left += w
        parts[0, g] = given
        parts[1, g] = pull + come
        parts[2, g] = b * lift_g[g] * lift
    if wait_now:
        waits_for = h
    elif left < 1e-9:  # all came (or were lost): nothing waits any more
        waiting[:] = 0.0
        waits_for = -1
    for r in range(3):  # cumulative mixes, the reason's total last
        total = 0.0
        for g in range(n):
            total += parts[r, g]
        acc = 0.0
        for g in range(n):
            acc += parts[r, g] / total if total > 0 else share[g]
            parts[r, g] = acc
        parts[r, n] = total
    return parts, owed, waiting, waits_for, lost
