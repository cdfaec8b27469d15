"""The campaign as a SimPy model: build, run, collect.

Processes:
- one per Foundation pool: its tranche is released at ``opens_at`` and its window closes at
  ``closes_at``; enterprise pools are released together at their opening time;
- the day clock: at each midnight daily counters restart and a progress line is logged;
- the gift stream: every simulated minute one SimPy event draws all of that minute's gifts
  (each with its own timestamp), flowers and friend help as numpy arrays, and settles the
  gifts in timestamp order (:func:`sim.ledger.settle_batch`). A pool's exhaustion is stamped
  with the exact gift that empties it and announced as a SimPy event at that time. On two
  cores the next minute's gifts are drawn on a second thread while this minute settles
  (:meth:`Campaign.gift_stream`), and a settled minute's sums are made there too
  (:meth:`Campaign._record_minute`); the numbers are the same on one.

Randomness: every minute draws from its own stream, ``SeedSequence(seed, spawn_key=(4,
minute))``, and each part of the build from its own, so a change in one minute or one part
does not shift the draws of any other (common random numbers across policies).
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import simpy

from sim.allocation import allocate, window_stats
from sim.calendar import MINUTES_PER_DAY, Calendar
from sim.config import SimConfig, year_population
from sim.donors import DONOR_RECORD, Donors
from sim.gaming import Gaming
from sim.ledger import (
    MATCHED,
    alias_table,
    batch_rows,
    flower_events,
    gather_records,
    restore_donors,
    settle_batch,
    start_kernels,
)
from sim.minute import draw_minute_kernel, minute_totals
from sim.policies import F
from sim.pools import Pools
from sim.projects import Projects

log = logging.getLogger("sim")

STREAMS = {"projects": 1, "donors": 2, "enterprises": 3, "minute": 4, "gaming": 5}

# Gift-size histogram: ten bins a decade from 1 yuan to 10 million yuan, in fen.
SIZE_EDGES_FEN = np.round(100 * 10 ** (np.arange(0, 71) / 10)).astype(np.int64)
# The bin of every amount below 1万 yuan, looked up instead of searched (1 MB).
_SIZE_LUT = np.searchsorted(SIZE_EDGES_FEN, np.arange(1_000_000), side="right").astype(np.int8)


class Event(NamedTuple):
    """One thing that happened in the campaign (an immutable record)."""

    minute: float
    kind: str  # tranche_released | window_closed | pool_depleted | day_end
    pool: str | None


def stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """The random stream for one part of the model (see the module docstring)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(STREAMS[name], *key))))


class Campaign:
    """One giving-day campaign: the whole model state, its SimPy processes and its series."""

    def __init__(self, cfg: SimConfig, recorder=None):
        # numba's runtime starts on the first kernel call (0.7-0.8 s in a fresh process):
        # start it now, beside the build, whose large numpy work releases the GIL
        kernels = threading.Thread(target=start_kernels, name="sim-kernels", daemon=True)
        kernels.start()
        self.cfg = cfg
        sc, s = cfg.scenario, cfg.scale
        self.cal = Calendar.from_config(sc)
        pop = year_population(cfg)  # the year's donor base and project count
        self.projects = Projects.build(pop.projects, s, stream(cfg.seed, "projects"))
        self.gaming = Gaming.build(cfg, self.projects, stream(cfg.seed, "gaming"))
        rules = [*cfg.policy.rules.values(), cfg.policy.foundation]
        self.donors = Donors.build(pop, s, stream(cfg.seed, "donors"),
                                   self.gaming.kinds,
                                   with_tenure=any(r is not None and r.type == "long_term"
                                                   for r in rules))
        self.gaming.first_id = self.donors.n
        self.pools = Pools.build(sc, cfg.policy, self.projects, s,
                                 stream(cfg.seed, "enterprises"), self.cal)
        self.gaming.set_machine_minutes(self.pools, self.cal.n_minutes,
                                        cfg.gaming.machines.active_minutes)
        pl = self.pools
        self._burst_pools = [int(g) for g in pl.foundation if pl.burst[g] > 0]
        # the Foundation's pools come first, the enterprises' after (Pools.build)
        self._n_foundation = pl.foundation.shape[0]
        assert (pl.foundation == np.arange(self._n_foundation)).all()
        assert pl.is_enterprise[self._n_foundation:].all()
        cm = cfg.policy.countermeasures
        gm = cfg.gaming
        self.detect_ppm = np.array([gm.false_positive_probability,
                                    gm.machines.detect_probability,
                                    gm.rings.detect_probability]) * 1_000_000
        self.rate_limit = cm.rate_limit_per_minute
        self.freeze_after = cm.freeze_after_detections
        # eligible gifts of the post-event pools' windows (pools sharing a window share them)
        gm = cfg.gaming
        top_fen = 100 * max(cfg.population.gift_size.max_yuan, gm.machines.gift_yuan,
                            gm.rings.gift_yuan)
        self.post_windows = _PostWindow.for_pools(self.pools, self.projects.n,
                                                  np.int32 if top_fen < 2**31 else np.int64)
        self.flower_rules = sc.flowers
        m = self.cal.n_minutes
        self.series = {k: np.zeros(m, dtype=np.int64) for k in (
            "gifts", "public_fen", "foundation_fen", "enterprise_fen", "flowers",
            "matched_gifts", "foundation_matched_gifts", "gaming_gifts", "added_public_fen")}
        self.levels = np.zeros((self.pools.foundation.shape[0], m), dtype=np.int64)
        self.enterprise_remaining = np.zeros(m, dtype=np.int64)
        self.size_hist = np.zeros(SIZE_EDGES_FEN.shape[0] + 1, dtype=np.int64)
        self.events: list[Event] = []
        self.recorder = recorder
        self.env = simpy.Environment()
        self._dirty = True
        self._released = True  # a pool was released since the live lists were made
        # batch_rows' tables: one for draw_minute, one for this thread's settle
        self._ahead_table = np.zeros(0, dtype=np.int64)
        self._id_table = np.zeros(0, dtype=np.int64)
        self._avail = None  # the matched projects the alias tables were made for
        self.ahead: ThreadPoolExecutor | None = None  # the thread making the next minute
        self._pending_totals = None  # (minute, future of its minute_totals), on two threads
        self.wall_seconds = 0.0
        kernels.join()

    # ------------------------------------------------------------------ processes

    def run(self, threads: int | None = None) -> Campaign:
        """Run the campaign to its end; returns self for chaining.

        ``threads``: 2 makes each minute's gifts on a second thread while the minute before
        settles (:meth:`gift_stream`), 1 does everything on this one; by default, the
        environment's ``SIM_THREADS`` if set, else 2 for a large run where this process may
        use two cores (:func:`threads_to_use`). The results are the same either way."""
        threads = threads_to_use(threads, self.cfg.scale)
        t0 = time.perf_counter()
        self.ahead = ThreadPoolExecutor(1, "sim-ahead") if threads == 2 else None
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the run makes few cyclic objects; collections cost 1-2% of it
        env = self.env
        for g in self.pools.foundation:
            env.process(self._foundation_pool(int(g)))
        ent = np.flatnonzero(self.pools.is_enterprise)
        for t_open in np.unique(self.pools.open_at[ent]):
            env.process(self._enterprise_pools(ent[self.pools.open_at[ent] == t_open]))
        env.process(self._day_clock(t0))
        env.process(self.gift_stream())
        try:
            env.run()  # every process ends by itself at the campaign's end
            self._flush_totals()
        finally:
            if gc_was_enabled:
                gc.enable()
            if self.ahead is not None:
                self.ahead.shutdown(wait=True, cancel_futures=True)
                self.ahead = None
        assert env.now == self.cal.n_minutes, env.now
        self.wall_seconds = time.perf_counter() - t0
        return self

    def _release(self, idx: np.ndarray) -> None:
        self.pools.remaining[idx] += self.pools.budget[idx]
        self._dirty = self._released = True

    def _foundation_pool(self, g: int):
        p = self.pools
        yield self.env.timeout(p.open_at[g])
        self._release(np.array([g]))
        self.events.append(Event(self.env.now, "tranche_released", p.names[g]))
        yield self.env.timeout(p.close_at[g] - p.open_at[g])
        self._dirty = True
        self.events.append(Event(self.env.now, "window_closed", p.names[g]))
        if g in p.post_rules:
            self._allocate_post(g)
            self.events.append(Event(self.env.now, "post_allocated", p.names[g]))

    def _allocate_post(self, g: int) -> None:
        """Pay a post-event pool over its window's eligible gifts (see sim.allocation)."""
        self._flush_totals()  # the window's last minute, counted below
        p, pr, d = self.pools, self.projects, self.donors
        win = next(w for w in self.post_windows if g in w.pools)
        st = win.stats(d.kind, pr)
        rule = p.post_rules[g]
        blocked = (pr.frozen > 0) | ~rule.eligible(pr.flags, pr.public)
        res = allocate(rule, p.rules[g], st, int(p.remaining[g]), pr.flags, blocked)
        total = int(res.per_project.sum())
        assert total <= p.remaining[g]
        p.remaining[g] -= total
        p.paid[g] += total
        p.gamed[g] += res.gamed_fen
        k = int(np.flatnonzero(p.foundation == g)[0])
        p.gp_paid[k] += res.per_project
        pr.foundation_match += res.per_project
        d.status[st.pair_donor[res.matched_pairs]] |= MATCHED
        self.series["foundation_fen"][int(self.env.now) - 1] += total  # the window's last minute
        fmg = self.series["foundation_matched_gifts"]
        fmg[win.open:win.close] += win.counts[:, res.per_project > 0].sum(axis=1)
        np.minimum(fmg, self.series["gifts"], out=fmg)  # pools with overlapping windows
        win.done(g)
        if not win.pools:
            self.post_windows.remove(win)
        if p.remaining[g] == 0 and total > 0:
            p.depleted_at[g] = self.env.now

    def _enterprise_pools(self, idx: np.ndarray):
        yield self.env.timeout(self.pools.open_at[idx[0]])
        self._release(idx)
        self.events.append(Event(self.env.now, "tranche_released", f"enterprises ({len(idx)})"))
        closes = np.unique(self.pools.close_at[idx])
        for c in closes:
            yield self.env.timeout(c - self.env.now)
            self._dirty = True

    def _day_clock(self, t0: float):
        for i, day in enumerate(self.cal.days):
            yield self.env.timeout(MINUTES_PER_DAY)
            self.donors.new_day()
            self._dirty = True
            self.events.append(Event(self.env.now, "day_end", None))
            self._flush_totals()  # the day's last minute
            if self.cfg.output.progress:
                sl = slice(i * MINUTES_PER_DAY, (i + 1) * MINUTES_PER_DAY)
                log.info("%s %-6s %9.1f万 gifts %8.3f亿 public %7.3f亿 Foundation match "
                         "[%.1f s]", day.date, day.kind, self.series["gifts"][sl].sum() / 1e4,
                         self.series["public_fen"][sl].sum() / 1e10,
                         self.series["foundation_fen"][sl].sum() / 1e10,
                         time.perf_counter() - t0)

    def _announce_depletion(self, g: int, delay: float):
        yield self.env.timeout(delay)
        self.events.append(Event(float(self.pools.depleted_at[g]), "pool_depleted",
                                 self.pools.names[g]))

    # ------------------------------------------------------------------ the gift stream

    def _refresh_choice(self, minute: int) -> None:
        """Recompute the pools that may pay (:meth:`Pools.refresh_live`), which projects
        are matched and, if that changed, the choice model's alias tables. One table per
        segment: P(project j) ~ reach_j x (1 + beta_segment x matched_j)."""
        p, d = self.projects, self.donors
        self.pools.refresh_live(minute, self._released)
        self._released = False
        avail, self.foundation_live = self.pools.matched_projects(minute, p.n)
        self._dirty = False
        if self._avail is not None and np.array_equal(avail, self._avail):
            return
        self._avail = avail
        prob, alias = [], []
        for s, beta in enumerate(d.attraction):
            pr, al = alias_table(p.reach * (1.0 + beta * avail))
            prob.append(pr)
            alias.append(al + s * p.n)
        self._alias_prob = np.concatenate(prob)
        self._alias = np.concatenate(alias)

    def _per_minute(self, minute: int) -> float:
        """What a daily figure in 万 becomes in this minute of the day, at this scale."""
        return self.cal.minute_weight[minute % MINUTES_PER_DAY] * 1e4 * self.cfg.scale

    def _base_gifts(self, minute: int, day) -> float:
        """Expected ordinary gifts in this minute."""
        return day.base_gifts_wan * self._per_minute(minute)

    def _added_gifts(self, minute: int) -> float:
        """Expected gifts added by live matching in this minute (the state it reads: whether
        a Foundation pool is live, and which are paying)."""
        if not self.foundation_live:
            return 0.0
        extra = self._base_gifts(minute, self.cal.day(minute)) * self.cfg.scenario.match_uplift
        p = self.pools
        for g in self._burst_pools:  # paying: open, released, not empty, a rule that matches
            if (p.open_at[g] <= minute < p.close_at[g] and p.remaining[g] > 0
                    and p.rules[g, F["mode"]] != 0):
                x = (minute - p.open_at[g]) / p.burst_minutes[g]
                extra += p.burst[g] * (np.exp(-x) - np.exp(-x - 1 / p.burst_minutes[g]))
        return extra

    def apply_flower_events(self, quiz, steps, helper, helpee) -> int:
        """Credit flowers and friend-help chances; returns the flowers earned."""
        d, fl = self.donors, self.flower_rules
        return flower_events(quiz, steps, helper, helpee, d.flowers, d.helps_today, d.chances,
                             fl.per_quiz, fl.per_step_donation, fl.per_help,
                             fl.max_helps_per_day, fl.chances_per_help)

    def draw_minute(self, minute: int, lam_extra: float, alias_prob: np.ndarray,
                    alias: np.ndarray, table: str = "_ahead_table") -> tuple[dict, dict, tuple]:
        """The random part of one minute: who answers a quiz, makes a step donation or
        helps whom (flower events, not gifts), every ordinary gift, in timestamp order, as
        arrays (gaming gifts are added later), and the gifts' donors numbered for the
        settlement (:meth:`_batch_rows`); drawn by :func:`draw_minute_kernel`.

        A pure function of its arguments and of what the build fixed (the population, its
        levels and mixes), so it can be made ahead, on another thread, and give the same
        arrays: the minute's stream is its own, and the state it depends on is passed in,
        the expected gifts that live matching adds (``lam_extra``) and the choice model's
        alias tables.

        The ordinary and the matching-added gifts are one Poisson stream, each gift
        matching-added with probability extra / (base + extra) (thinning); sorted
        timestamps come from normalised cumulative exponential spacings. ``table``: the
        hash table :meth:`_batch_rows` uses (one a thread)."""
        d, p = self.donors, self.projects
        day = self.cal.day(minute)
        w = self._per_minute(minute)
        (quiz, steps, helper, helped, t, donor, project, amount, helpee, added,
         u) = draw_minute_kernel(
            stream(self.cfg.seed, "minute", minute), minute, day.quiz_answers_wan * w,
            day.step_donations_wan * w, day.friend_helps_wan * w,
            self._base_gifts(minute, day), lam_extra, d.one_yuan_share, d.mixes, d.seg_start,
            d.level, d.mu + day.gift_size_shift, d.sigma, d.max_fen // 100, alias_prob, alias,
            p.n)
        fe = {"quiz": quiz, "steps": steps, "helper": helper, "helpee": helped}
        gifts = {"t": t, "donor": donor, "project": project, "amount": amount,
                 "helpee": helpee, "u1": u[0], "u2": u[1], "u3": u[2], "u4": u[3],
                 "added": added}
        return fe, gifts, self._batch_rows(gifts, table)

    def _batch_rows(self, g: dict, table: str) -> tuple:
        """The batch's donors and friends numbered for the settlement's compact copy of
        their records (:func:`batch_rows`), with the hash table ``self.<table>``: (row of
        each gift's donor, row of its friend or -1, population id of each row)."""
        n = g["t"].shape[0]
        if getattr(self, table).shape[0] < 4 * n:  # at most 2n ids, the table half full
            setattr(self, table, np.full(1 << max(4, (4 * n - 1).bit_length()), -1,
                                         dtype=np.int64))
        local_donor = np.empty(n, dtype=np.int64)
        local_helpee = np.empty(n, dtype=np.int64)
        ids = batch_rows(g["donor"], g["helpee"], getattr(self, table), local_donor,
                         local_helpee)
        return local_donor, local_helpee, ids

    def settle(self, g: dict, rows: tuple | None = None) -> dict:
        """Settle a minute's gifts with the batched kernel; returns the per-gift match.

        The kernel works on a copy of the batch's donor records, numbered by ``rows`` (see
        :meth:`_batch_rows`; made here if not given) and written back after it."""
        d, p, pl, fl = self.donors, self.projects, self.pools, self.flower_rules
        n = g["t"].shape[0]
        out = {"foundation_match": np.empty(n, dtype=np.int64),  # the kernel fills them
               "enterprise_match": np.empty(n, dtype=np.int64),
               "enterprise_pool": np.empty(n, dtype=np.int64),
               "ok": np.empty(n, dtype=np.bool_)}
        local_donor, local_helpee, ids = self._batch_rows(g, "_id_table") if rows is None \
            else rows
        words, kind, tenure = gather_records(
            d.records, d.kind, d.tenure if d.has_tenure else _NO_TENURE, d.n, ids)
        r = words.view(DONOR_RECORD).reshape(-1)
        changes = settle_batch(
            g["t"], local_donor, g["project"], g["amount"], local_helpee, g["u1"], g["u2"],
            g["u3"], g["u4"], r["flowers"], r["chances"], r["helps_today"], r["match_today"],
            r["gifts_made"], tenure, kind,
            np.zeros(ids.shape[0] if self.rate_limit > 0 else 0, dtype=np.int16),
            r["status"], p.public, p.count, p.foundation_match, p.enterprise_match, p.flags,
            p.frozen, p.detections, pl.open_at, pl.close_at, pl.remaining, pl.paid,
            pl.depleted_at, pl.gamed, pl.rules, pl.foundation, pl.live_global, pl.gp_paid,
            pl.live_ptr, pl.live_link, pl.live_pool, pl.link_paid, fl.per_gift,
            fl.chances_per_help_gift, fl.max_helps_per_day, self.rate_limit,
            self.freeze_after, self.detect_ppm,
            out["foundation_match"], out["enterprise_match"], out["enterprise_pool"],
            out["ok"])
        restore_donors(d.records, words, ids)
        out["changes"] = changes
        return out

    def gift_stream(self):
        """The SimPy process that makes and settles every minute's gifts.

        With a second thread (``self.ahead``, see :meth:`run`), the next minute's random
        part (:meth:`draw_minute`) is made while this minute settles, from the state as it
        is before the settlement; it is used only if the state it read is still the same
        when that minute comes (the same expected added gifts and the same alias tables),
        and made again otherwise. Either way a minute's gifts are the same arrays."""
        ahead = None  # (the next minute's inputs, the future making it)
        n_minutes = self.cal.n_minutes
        for m in range(n_minutes):
            if self._dirty:
                self._refresh_choice(m)
            inputs = (self._added_gifts(m), self._alias_prob, self._alias)
            if ahead is not None and _same_inputs(ahead[0], inputs):
                fe, gifts, rows = ahead[1].result()
            else:  # made again here, while the other thread ends the draw that is not used
                fe, gifts, rows = self.draw_minute(m, *inputs, table="_id_table")
            ahead = None
            if self.ahead is not None and m + 1 < n_minutes:
                nxt = (self._added_gifts(m + 1), self._alias_prob, self._alias)
                ahead = (nxt, self.ahead.submit(self.draw_minute, m + 1, *nxt))
            flowers = self.apply_flower_events(fe["quiz"], fe["steps"], fe["helper"],
                                               fe["helpee"])
            if self.gaming.active and self.foundation_live:
                with_gaming = self.gaming.add_gifts(gifts, m, stream(self.cfg.seed, "gaming", m))
                if with_gaming is not gifts:  # gaming gifts merged in: numbered again
                    gifts, rows = with_gaming, None
            res = self.settle(gifts, rows)
            self._record_minute(m, fe, flowers, gifts, res)
            if res["changes"]:
                self._dirty = True
                dep = self.pools.depleted_at
                for g in np.flatnonzero((dep >= m) & (dep < m + 1)):
                    self.env.process(self._announce_depletion(int(g), dep[g] - m))
            yield self.env.timeout(1)

    def _record_minute(self, m: int, fe: dict, flowers: int, gifts: dict, res: dict) -> None:
        """Record a settled minute: its gifts and flowers, the pools' levels, the post-event
        windows' gifts and the recorder now; its sums (:func:`minute_totals`) now on one
        thread, else on the other thread, recorded by the next :meth:`_flush_totals`
        (the next minute's record, or before anything reads the series)."""
        s = self.series
        n = gifts["t"].shape[0]
        s["gifts"][m] = n
        s["flowers"][m] = n * self.flower_rules.per_gift + flowers
        for win in self.post_windows:
            if win.open <= m < win.close and (self.pools.remaining[win.pools] > 0).any():
                win.add(m, gifts, res["ok"])
        pl, nf = self.pools, self._n_foundation
        self.levels[:, m] = pl.remaining[:nf]
        self.enterprise_remaining[m] = pl.remaining[nf:].sum()
        if self.recorder is not None:
            self.recorder.add(m, fe, gifts, res)
        args = (gifts["amount"], res["foundation_match"], res["enterprise_match"],
                gifts["added"], gifts["donor"],
                self.donors.n if self.gaming.active else np.iinfo(np.int64).max, _SIZE_LUT,
                SIZE_EDGES_FEN, self.size_hist)
        self._flush_totals()
        if self.ahead is None:
            self._store_totals(m, minute_totals(*args))
        else:
            self._pending_totals = (m, self.ahead.submit(minute_totals, *args))

    def _flush_totals(self) -> None:
        """Record the sums of the minute whose sums are being made on the other thread."""
        if self._pending_totals is not None:
            m, future = self._pending_totals
            self._pending_totals = None
            self._store_totals(m, future.result())

    def _store_totals(self, m: int, totals: tuple) -> None:
        s = self.series
        public, f_sum, e_sum, matched, f_matched, gaming, added_public = totals
        s["public_fen"][m] = public
        s["foundation_fen"][m] += f_sum  # post-event pay may be there
        s["enterprise_fen"][m] = e_sum
        s["matched_gifts"][m] += matched
        s["foundation_matched_gifts"][m] += f_matched
        s["gaming_gifts"][m] = gaming
        s["added_public_fen"][m] = added_public


_NO_TENURE = np.zeros(0, dtype=np.int8)  # gather_records: every donor's tenure is 0


# Below this scale a run's minutes are too small for a second thread: handing a minute to
# it and back costs tens of microseconds (measured, 2026-11-22, campaign run: scale 0.1
# ran 1.8-1.9 s on one thread and 2.7-3.0 s on two; 0.5 ran 6.6 s and 6.0 s; full scale
# 12.7 s and 10.2 s, the benchmark's best of three).
TWO_THREADS_FROM_SCALE = 0.5


def threads_to_use(threads: int | None, scale: float = 1.0) -> int:
    """The threads a run uses (see :meth:`Campaign.run`): ``threads`` if given, else the
    environment's ``SIM_THREADS``, else two for a run of at least
    ``TWO_THREADS_FROM_SCALE`` where this process may use two cores. A bad value is an
    error naming where it came from."""
    if threads is None:
        env = os.environ.get("SIM_THREADS", "")
        if env not in ("", "1", "2"):
            raise ValueError(f"SIM_THREADS: {env!r}; allowed values are 1 and 2")
        if env:
            return int(env)
        big = scale >= TWO_THREADS_FROM_SCALE
        return 2 if big and len(os.sched_getaffinity(0)) >= 2 else 1
    if threads not in (1, 2):
        raise ValueError(f"threads: {threads!r}; allowed values are 1 and 2")
    return threads


def _same_inputs(a: tuple, b: tuple) -> bool:
    """Whether two minutes' inputs to :meth:`Campaign.draw_minute` are the same: the
    expected added gifts equal, the alias tables the same arrays (they are replaced, never
    changed in place)."""
    return a[0] == b[0] and a[1] is b[1] and a[2] is b[2]


class _PostWindow:
    """The eligible gifts (the kernel let them through, at least the rule's minimum) of the
    post-event pools that share a window and a minimum gift, kept compact: 4-byte donor,
    project and amount per gift, and gift counts by (minute, project) for the matched-gift
    series. Summed by (donor, project) once, when the first of its pools closes."""

    def __init__(self, pools: list[int], open_at: int, close_at: int, min_fen: int,
                 n_projects: int, amount_dtype):
        self.pools, self.open, self.close, self.min_fen = pools, open_at, close_at, min_fen
        self.n_projects = n_projects
        self.amount_dtype = amount_dtype
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.counts = np.zeros((close_at - open_at, n_projects), dtype=np.int32)
        self._stats = None

    @classmethod
    def for_pools(cls, pl: Pools, n_projects: int, amount_dtype) -> list[_PostWindow]:
        """One window per (opening, closing, minimum gift) of the post-event pools."""
        groups: dict[tuple, list[int]] = {}
        for g in sorted(pl.post_rules):
            key = (int(pl.open_at[g]), int(pl.close_at[g]), int(pl.rules[g, F["min_gift_fen"]]))
            groups.setdefault(key, []).append(g)
        return [cls(gs, o, c, mn, n_projects, amount_dtype)
                for (o, c, mn), gs in groups.items()]

    def add(self, m: int, gifts: dict, ok: np.ndarray) -> None:
        sel = ok & (gifts["amount"] >= self.min_fen)
        project = gifts["project"][sel]
        self.chunks.append((gifts["donor"][sel].astype(np.int32), project.astype(np.int32),
                            gifts["amount"][sel].astype(self.amount_dtype)))
        self.counts[m - self.open] += np.bincount(project, minlength=self.n_projects
                                                  ).astype(np.int32)

    def stats(self, kind: np.ndarray, pr: Projects):
        """The window's gifts summed by (donor, project), computed once for its pools."""
        if self._stats is None:
            donor, project, amount = (
                np.concatenate([c[i] for c in self.chunks]) if self.chunks
                else np.zeros(0, np.int32) for i in range(3))
            self.chunks = []
            self._stats = window_stats(donor, project, amount.astype(np.int64),
                                       kind[donor] if donor.size else np.zeros(0, np.int8),
                                       pr.n, pr.org, pr.n_orgs)
        return self._stats

    def done(self, g: int) -> None:
        """Pool ``g`` is paid; the window is dropped by the engine when none is left."""
        self.pools.remove(g)
