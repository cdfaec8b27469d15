"""Flower collections: a donor shares a page and friends help, each help crediting the donor
helped (99-giving-day.md section 3).

- ``before_event`` (2018): flowers were collected Aug 28 - Sept 5 by sharing a project page;
  each friend's help gave a random number of flowers. A share of the population collects
  (:func:`collect_before`): a collector's helpers are its friends who help, Poisson in the
  collector's degree (:mod:`sim.model.network`) x ``help_probability``, at most
  ``max_helps_per_day`` a day over the ``days``; each gives U[``flowers_per_help``]. The
  flowers are held when the event opens, and the tiers' bonus is paid on a match received.
- ``on_match`` (2020): a donor whose gift got the base match launches a collection with
  probability ``share`` (the 2020 opening: 220万 launches in its first 30 minutes [P]);
  friends' helps arrive together after a delay of mean ``minutes`` (exponential, in eight
  classes, ASSUMPTION) and credit the donor ``flowers_per_help`` each, at most
  ``max_helps_per_day`` helps a day;
  when they take the donor to the multiplier's threshold (299), the gift's base match is
  multiplied by a random 3-10 (the worked example: 200 yuan, base 8 yuan, 15 friends, 299
  flowers, x5, +40 yuan [P]): the top-up is paid by the open Foundation pool of that rule
  (:func:`complete`), within the pool's money, the gift cap, the donor's daily cap and
  the project cap.

The draws are counter-based (a hash of the seed, the minute and the gift's place), so a
collection is the same in the batched and the reference engines, on one thread or two.
Both engines call :meth:`Collections.before_minute` and :meth:`Collections.after_minute`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.codes import F
from sim.model.network import degree, hash_key, mix64, uniform

_MULT, _MLO, _MHI = F["mult_flowers"], F["mult_lo"], F["mult_hi"]
# A collection's helps arrive together, after one of this many delays: the quantile
# midpoints of an exponential law of mean ``minutes`` (so that a minute's launches make a
# few batches, not one per minute of delay).
DELAY_CLASSES = 8


def delays(mean_minutes: float) -> np.ndarray:
    """The minutes after its launch minute at which each delay class's helps arrive (at
    least 1): the exponential law's quantile midpoints."""
    q = (np.arange(DELAY_CLASSES) + 0.5) / DELAY_CLASSES
    return np.maximum(1, np.round(-np.log1p(-q) * mean_minutes)).astype(np.int64)


_DCAP, _PCAP, _GCAP = F["donor_day_cap_fen"], F["project_cap_fen"], F["gift_cap_fen"]


@njit(cache=True, inline="always")
def _poisson(lam, key, a, b):
    """A Poisson count of mean ``lam`` from the counter-based uniforms (key, a, b) and
    (key, a, b + 1) (inversion; a normal approximation above 50)."""
    if lam <= 0.0:
        return np.int64(0)
    if lam > 50.0:
        u1 = uniform(key, a, b)
        u2 = uniform(key, a, b + 1)
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        k = np.int64(lam + math.sqrt(lam) * z + 0.5)
        return k if k > 0 else np.int64(0)
    u = uniform(key, a, b)
    p = math.exp(-lam)
    c = p
    k = np.int64(0)
    while u > c and k < 1000:
        k += 1
        p *= lam / k
        c += p
    return k


@njit(cache=True, inline="always")
def _help_flowers(key, a, k, lo, hi):
    """The flowers of ``k`` helps, each U[lo, hi] (whole flowers), from the uniforms
    (key, a, 16 + j)."""
    total = np.int64(0)
    for j in range(k):
        x = lo + np.int64(uniform(key, a, 16 + j) * (hi - lo + 1))
        total += x if x <= hi else hi
    return total


@njit(cache=True, nogil=True)
def collect_before(net, key, n_collectors, p_help, lo, hi, max_helps, flowers):
    """The collection before the event: ``n_collectors`` donors drawn uniformly from the
    population (one may collect twice: its projects, at most 10 [P]), each helped by
    Poisson(degree x ``p_help``) friends, at most ``max_helps``, each help U[lo, hi]
    flowers, added to ``flowers``. Returns (collections, helps, flowers)."""
    n = net[1][-1]
    helps = total = 0
    for c in range(n_collectors):
        d = np.int64(uniform(key, c, 0) * n)
        if d >= n:
            d = n - 1
        k = _poisson(degree(net, d) * p_help, key, c, 1)
        if k > max_helps:
            k = max_helps
        f = _help_flowers(key, c, k, lo, hi)
        flowers[d] += f
        helps += k
        total += f
    return n_collectors, helps, total


@njit(cache=True, nogil=True)
def launch(minute, key, gifts, fm, flowers, helps_today, net, params, out):
    """Collections launched by minute ``minute``'s settled gifts (``gifts`` = (donor,
    project), ``fm`` their Foundation match): a gift with a base match launches one with
    probability ``share``; its helpers are Poisson(degree x ``p_help``) friends, at most
    what is left of the donor's ``max_helps`` today (counted now, in ``helps_today``);
    their flowers U[lo, hi] each; and the class of its delay (:func:`delays`). ``out`` =
    (delay class, donor, flowers, base, project, f_at_gift, u_multiple), filled from the
    front. Returns the number launched and the helps."""
    donor, project = gifts
    share, p_help, lo, hi, delay, max_helps = params
    due, o_donor, o_flowers, o_base, o_project, o_f0, o_u = out
    mkey = mix64(key ^ np.uint64(minute))  # the minute's own key: gift i's draws are (i, b)
    j = 0
    helps = 0
    for i in range(donor.shape[0]):
        if fm[i] <= 0:
            continue
        if uniform(mkey, i, 0) >= share:
            continue
        d = donor[i]
        k = _poisson(degree(net, d) * p_help, mkey, i, 1)
        room = max_helps - helps_today[d]
        if k > room:
            k = room if room > 0 else 0
        helps_today[d] += k
        helps += k
        # the delay's class: one of the exponential law's DELAY_CLASSES quantile midpoints
        c = np.int64(uniform(mkey, i, 3) * DELAY_CLASSES)
        due[j] = c if c < DELAY_CLASSES else DELAY_CLASSES - 1
        o_donor[j] = d
        o_flowers[j] = _help_flowers(mkey, i, k, lo, hi)
        o_base[j] = fm[i]
        o_project[j] = project[i]
        o_f0[j] = flowers[d]  # already with the gift's own flower: only help takes it over
        o_u[j] = uniform(mkey, i, 4)
        j += 1
    return j, helps


@njit(cache=True, nogil=True)
def by_class(cls, n_classes):
    """The order that groups ``cls`` by class, each class in its first order (a counting
    sort), and where each class ends."""
    ends = np.zeros(n_classes, dtype=np.int64)
    for i in range(cls.shape[0]):
        ends[cls[i]] += 1
    for c in range(1, n_classes):
        ends[c] += ends[c - 1]
    at = ends.copy()
    order = np.empty(cls.shape[0], dtype=np.int64)
    for i in range(cls.shape[0] - 1, -1, -1):
        at[cls[i]] -= 1
        order[at[cls[i]]] = i
    return order, ends


@njit(cache=True, nogil=True)
def complete(minute, items, flowers, match_today, pools, proj_fmatch):
    """Minute ``minute``'s collections: the helps' flowers to each collector; a collection
    whose helps take its donor across a multiplier's threshold has its gift's base match
    multiplied, the top-up paid by the first open Foundation pool with a multiplier rule and
    money left, within the gift cap, the donor's daily cap, the project cap and the pool's
    money. Returns (flowers, top-up fen, pools emptied)."""
    o_donor, o_flowers, o_base, o_project, o_f0, o_u = items
    (pool_open, pool_close, remaining, paid, depleted, rules, foundation, gp_paid) = pools
    total_flowers = np.int64(0)
    total_top = np.int64(0)
    changes = 0
    t = np.float64(minute)
    for i in range(o_donor.shape[0]):
        d = o_donor[i]
        flowers[d] += o_flowers[i]
        total_flowers += o_flowers[i]
        b = o_base[i]
        for k in range(foundation.shape[0]):
            g = foundation[k]
            thr = rules[g, _MULT]
            if thr <= 0 or remaining[g] <= 0 or t < pool_open[g] or t >= pool_close[g]:
                continue
            if not (o_f0[i] < thr <= flowers[d]):
                break
            lo, hi = rules[g, _MLO], rules[g, _MHI]
            x = lo + np.int64(o_u[i] * (hi - lo + 1))
            x = x if x <= hi else hi
            m = b * x
            if rules[g, _GCAP] > 0 and m > rules[g, _GCAP]:
                m = rules[g, _GCAP]
            m -= b
            p = o_project[i]
            if rules[g, _DCAP] > 0 and m > rules[g, _DCAP] - match_today[d]:
                m = rules[g, _DCAP] - match_today[d]
            if rules[g, _PCAP] > 0 and m > rules[g, _PCAP] - gp_paid[k, p]:
                m = rules[g, _PCAP] - gp_paid[k, p]
            if m > remaining[g]:
                m = remaining[g]
            if m > 0:
                remaining[g] -= m
                paid[g] += m
                gp_paid[k, p] += m
                proj_fmatch[p] += m
                if rules[g, _DCAP] > 0:
                    match_today[d] += m
                total_top += m
                if remaining[g] == 0:
                    depleted[g] = t
                    changes += 1
            break
    return total_flowers, total_top, changes


class Collections:
    """A campaign's flower collections (``scenario.flowers.collections``): the collection
    before the event at the build, and those launched by matched gifts, completed minute by
    minute."""

    def __init__(self, cfg, net, donors, pools, projects, n_minutes: int):
        fl = cfg.scenario.flowers
        c = fl.collections
        self.cfg, self.net, self.donors, self.pools, self.projects = c, net, donors, pools, projects
        self.max_helps = fl.max_helps_per_day
        self.key = np.uint64(hash_key(cfg.seed, 0x636F6C6C656374))  # "collect"
        before_key = np.uint64(hash_key(cfg.seed, 0x6265666F7265))  # "before"
        self.on_match = c.launch == "on_match"
        self.delays = delays(c.minutes)
        self.pending: dict[int, list[tuple]] = {}
        self.launched = np.zeros(n_minutes, dtype=np.int64)  # collections launched a minute
        self.helps = 0
        self.before = (0, 0, 0)  # (collections, helps, flowers) before the event
        if c.launch == "before_event":
            n_coll = int(round(c.share * donors.n))
            self.before = collect_before(
                net,
                before_key,
                n_coll,
                c.help_probability,
                int(c.flowers_per_help[0]),
                int(c.flowers_per_help[1]),
                self.max_helps * c.days,
                donors.flowers,
            )
            self.helps = int(self.before[1])

    def before_minute(self, m: int) -> tuple[int, int, int]:
        """The collections due in minute ``m``: (flowers, top-up fen, pools emptied)."""
        items = self.pending.pop(m, None)
        if not items:
            return 0, 0, 0
        cols = tuple(np.concatenate([it[k] for it in items]) for k in range(6))
        p, pr = self.pools, self.projects
        return complete(
            m,
            cols,
            self.donors.flowers,
            self.donors.match_today,
            (
                p.open_at,
                p.close_at,
                p.remaining,
                p.paid,
                p.depleted_at,
                p.rules,
                p.foundation,
                p.gp_paid,
            ),
            pr.foundation_match,
        )

    def after_minute(self, m: int, donor: np.ndarray, project: np.ndarray, fm: np.ndarray) -> None:
        """Launch the collections of minute ``m``'s settled gifts."""
        if not self.on_match:
            return
        n = donor.shape[0]
        if n == 0:
            return
        out = (
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.float64),
        )
        c = self.cfg
        j, helps = launch(
            m,
            self.key,
            (donor, project),
            fm,
            self.donors.flowers,
            self.donors.helps_today,
            self.net,
            (
                c.share,
                c.help_probability,
                int(c.flowers_per_help[0]),
                int(c.flowers_per_help[1]),
                float(c.minutes),
                self.max_helps,
            ),
            out,
        )
        if j == 0:
            return
        self.launched[m] = j
        self.helps += int(helps)
        order, cuts = by_class(out[0][:j], DELAY_CLASSES)
        rest = tuple(a[order] for a in out[1:])
        start = 0
        for c, end in enumerate(cuts):
            if end > start:
                due = m + int(self.delays[c])
                self.pending.setdefault(due, []).append(tuple(a[start:end] for a in rest))
            start = end
