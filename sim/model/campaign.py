"""The campaign as a SimPy model: build, run, collect.

Build (:meth:`Campaign.__init__`, in this order, each part from its own random stream,
:mod:`sim.model.streams`): the calendar, the projects, the pools, the gaming identities,
the donors, the friendship network (made on demand, :mod:`sim.model.network`), the flower
collections before the event and the pacing, then the parts that run them: the choice tables (:mod:`sim.model.choice`), the
arrivals and the gift stream (:mod:`sim.model.arrivals`), the settlement
(:mod:`sim.model.settlement`), the post-event windows and the series.

Run (:meth:`Campaign.run`), SimPy processes:

- one per Foundation pool: its tranche is released at ``opens_at`` and its window closes at
  ``closes_at`` (a post-event pool is then allocated, :mod:`sim.policies.post_event`);
  enterprise pools are released together at their opening time;
- the day clock: at each midnight daily counters restart and a progress line is logged;
- the minutes: every simulated minute one SimPy event refreshes the choice tables if the
  pools changed, takes the minute's flower events and gifts from the gift stream, lets the
  pacing set the random match's odds (:mod:`sim.model.pacing`), completes the flower
  collections due (:mod:`sim.model.collections`), credits the flowers, merges in the gaming
  gifts, settles the gifts in timestamp order, launches the collections they start and
  records the minute. A pool's exhaustion is stamped with the exact gift that empties it and
  announced as a SimPy event at that time.

Collect: :meth:`Campaign.run` returns a frozen :class:`~sim.model.result.CampaignResult`.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import simpy
from numba import njit

from sim.checks import year_population
from sim.codes import MATCHED, MODE_NONE, F
from sim.model.arrivals import Arrivals, GiftStream
from sim.model.calendar import MINUTES_PER_DAY, Calendar
from sim.model.choice import Choice
from sim.model.collections import Collections
from sim.model.donors import (
    FLOWER_EDGES,
    FLOWER_THRESHOLDS,
    Donors,
    donor_counts,
    segment_sizes,
)
from sim.model.gaming import Gaming
from sim.model.match_view import MatchView
from sim.model.network import Network, n_leaders
from sim.model.pacing import Pacing
from sim.model.pools import LIVE_REFRESH_CHANGES, Pools, expected_public_yuan
from sim.model.post_windows import PostWindow
from sim.model.projects import Projects
from sim.model.recorder import Recorder
from sim.model.response import Response
from sim.model.result import CampaignResult, Event, FlowerLedger, GivingCounts
from sim.model.series import MinuteSeries
from sim.model.settlement import RowNumbering, Settlement, SettleRules, start_kernels
from sim.model.streams import stream
from sim.policies.post_event import allocate
from sim.schema import SimConfig

log = logging.getLogger("sim")


class Campaign:
    """One giving-day campaign: the whole model state and its SimPy processes."""

    def __init__(self, cfg: SimConfig, recorder: Recorder | None = None):
        # numba's runtime starts on the first kernel call (0.7-0.8 s in a fresh process):
        # start it now, beside the build, whose large numpy work releases the GIL
        kernels = threading.Thread(target=start_kernels, name="sim-kernels", daemon=True)
        kernels.start()
        self.cfg = cfg
        sc, s = cfg.scenario, cfg.scale
        self.cal = Calendar.from_config(sc)
        pop = year_population(cfg)  # the year's donor base and project count
        self.projects = Projects.build(pop.projects, stream(cfg.seed, "projects"), s)
        self.pools = Pools.build(
            sc,
            cfg.policy,
            self.projects,
            s,
            stream(cfg.seed, "enterprises"),
            self.cal,
            expected_public_yuan(self.cal, pop),
        )
        self.gaming = Gaming.build(
            cfg, self.projects, int(segment_sizes(pop, s).sum()), stream(cfg.seed, "gaming")
        )
        rules = [*cfg.policy.rules.values(), cfg.policy.foundation]
        self.donors = Donors.build(
            pop,
            s,
            stream(cfg.seed, "donors"),
            self.gaming.kinds,
            with_tenure=any(r is not None and r.type == "long_term" for r in rules),
        )
        assert self.gaming.first_id == self.donors.n
        # the friendship network (made on demand) and the collections before the event
        self.net = Network.build(cfg.seed, self.donors.group_start, pop.network)
        self.collections = Collections(
            cfg, self.net, self.donors, self.pools, self.projects, self.cal.n_minutes
        )
        n_lead = n_leaders(self.net)
        self.team_fen = np.zeros(n_lead, dtype=np.int64)
        self.team_gifts = np.zeros(n_lead, dtype=np.int64)
        pl = self.pools
        # the Foundation's pools come first, the enterprises' after (Pools.build)
        n_f = pl.foundation.shape[0]
        assert (pl.foundation == np.arange(n_f)).all() and pl.is_enterprise[n_f:].all()
        cm, gm = cfg.policy.countermeasures, cfg.gaming
        # eligible gifts of the post-event pools' windows (pools sharing a window share them)
        top_fen = 100 * max(
            cfg.population.gift_size.max_yuan, gm.machines.gift_yuan, gm.rings.gift_yuan
        )
        self.post_windows = PostWindow.for_pools(
            pl, self.projects.n, np.int32 if top_fen < 2**31 else np.int64
        )
        self.response = Response(
            sc.response,
            self.cal,
            pop.segments,
            self.donors.base_share,
            self.donors.stake,
            pl.open_at[pl.foundation],
            s,
        )
        self.pacing = Pacing(cfg.policy.pacing, pl, self.response.cum)
        self.gaming.plan(self.response.base, pl.open_at[pl.foundation])
        if not (pl.rules[:, F["mode"]] != MODE_NONE).any():
            self.gaming.active = False  # nothing to harvest: nobody hires machines or rings
        self.first_close = int(pl.close_at[0]) if n_f else -1
        self.at_first_close: tuple[np.ndarray, np.ndarray] | None = None
        view = MatchView(sc.response, pl, self.projects, self.post_windows, pop.tenure_q)
        self.choice = Choice(
            self.projects.reach,
            self.donors.attraction * sc.response.attraction_scale,
            pl,
            view,
            self.response.horizon,
        )
        self.arrivals = Arrivals(cfg, self.cal, self.donors, self.net)
        fl = sc.flowers
        self.settlement = Settlement(
            self.donors,
            self.projects,
            pl,
            fl,
            SettleRules(
                fl.per_gift,
                fl.chances_per_help_gift,
                fl.max_helps_per_day,
                cm.rate_limit_per_minute,
                cm.freeze_after_detections,
                np.array(
                    [
                        gm.false_positive_probability,
                        gm.machines.detect_probability,
                        gm.rings.detect_probability,
                    ]
                )
                * 1_000_000,
            ),
        )
        self.stream = GiftStream(
            self.arrivals, self.response, self.choice, self.settlement.number, RowNumbering(), None
        )
        self.series = MinuteSeries(
            self.cal.n_minutes,
            n_f,
            fl.per_gift,
            self.donors.n if self.gaming.active else np.iinfo(np.int64).max,
        )
        self.events: list[Event] = []
        self.recorder = recorder
        self.env = simpy.Environment()
        self._dirty = True  # the pools changed since the choice tables were refreshed
        self._released = True  # a pool was released since the live lists were made
        # a pool or budget ran out since the view was made: the live lists follow at once,
        # what donors see at the next display mark (scenario.response.display_minutes)
        self._ran_out = False
        self._display = self.cfg.scenario.response.display_minutes
        self.wall_seconds = 0.0
        self.threads: int | None = None  # the threads its run used
        kernels.join()

    # ------------------------------------------------------------------ the run

    def run(
        self, threads: int | None = None, stop: Callable[[], None] | None = None
    ) -> CampaignResult:
        """Run the campaign to its end and return its result.

        ``stop``: called before every simulated minute (the runner's check of a SIGTERM or
        SIGINT, which raises there, between minutes, never inside a kernel); None: never stopped.

        ``threads``: 2 makes each minute's gifts on a second thread while the minute before
        settles (:class:`~sim.model.arrivals.GiftStream`) and sums the settled minutes
        there, 1 does everything on this one; by default, the environment's
        ``SIM_THREADS`` if set, else 2 for a large run where this process may use two cores
        (:func:`threads_to_use`). The results are the same either way."""
        threads = self.threads = threads_to_use(threads, self.cfg.scale)
        t0 = time.perf_counter()
        executor = ThreadPoolExecutor(1, "sim-ahead") if threads == 2 else None
        self.stream.executor = self.series.executor = executor
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the run makes few cyclic objects; collections cost 1-2% of it
        env, pl = self.env, self.pools
        for g in pl.foundation:
            env.process(self._foundation_pool(int(g)))
        ent = np.flatnonzero(pl.is_enterprise)
        for t_open in np.unique(pl.open_at[ent]):
            env.process(self._enterprise_pools(ent[pl.open_at[ent] == t_open]))
        env.process(self._day_clock(t0))
        env.process(self._minutes(stop))
        try:
            env.run()  # every process ends by itself at the campaign's end
            self.series.flush()
        finally:
            if gc_was_enabled:
                gc.enable()
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            self.stream.executor = self.series.executor = None
        assert env.now == self.cal.n_minutes, env.now
        self.wall_seconds = time.perf_counter() - t0
        return self.result()

    def result(self) -> CampaignResult:
        """The campaign as it stands, frozen (read-only views of its ledgers)."""
        # on as many threads as the run used (the other has ended by now); a result before
        # a run, as the campaign stands, on the engine's choice
        threads = self.threads or threads_to_use(None, self.cfg.scale)
        dc = donor_counts(self.donors, FLOWER_THRESHOLDS, FLOWER_EDGES, threads)
        co = self.collections
        flowers = FlowerLedger(
            thresholds=FLOWER_THRESHOLDS,
            donors_at=dc.at,
            matched_at=dc.matched_at,
            hist_edges=FLOWER_EDGES,
            hist_donors=dc.hist,
            hist_matched=dc.hist_matched,
            max_flowers=dc.most,
            collections=co.launched,
            collection_helps=co.helps,
            before_event=(int(co.before[0]), int(co.before[1]), int(co.before[2])),
            team_fen=self.team_fen,
            team_gifts=self.team_gifts,
            pacing=tuple((m, self.pools.names[g], x) for m, g, x in self.pacing.history),
        )
        return CampaignResult(
            cfg=self.cfg,
            calendar=self.cal,
            series=self.series.freeze(),
            projects=self.projects.ledger(),
            pools=self.pools.ledger(),
            donors=GivingCounts(dc.gave, dc.gave_honest, dc.matched_honest),
            events=tuple(self.events),
            wall_seconds=self.wall_seconds,
            flowers=flowers,
            at_first_close=self.at_first_close,
        )

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
        """Pay a post-event pool over its window's eligible gifts (sim.policies.post_event)."""
        self.series.flush()  # the window's last minute, counted below
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
        self.series.add_post_payment(
            int(self.env.now) - 1,
            total,
            win.open,  # its last minute
            win.counts[:, res.per_project > 0].sum(axis=1),
        )
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
            self.series.flush()  # the day's last minute
            if self.cfg.output.progress:
                sl = slice(i * MINUTES_PER_DAY, (i + 1) * MINUTES_PER_DAY)
                s = self.series.counts
                log.info(
                    "%s %-6s %9.1f万 gifts %8.3f亿 public %7.3f亿 Foundation match [%.1f s]",
                    day.date,
                    day.kind,
                    s["gifts"][sl].sum() / 1e4,
                    s["public_fen"][sl].sum() / 1e10,
                    s["foundation_fen"][sl].sum() / 1e10,
                    time.perf_counter() - t0,
                )

    def _next_listings(self, m: int) -> None:
        """Before minute ``m + 1`` is drawn: if a pool or budget ran out and ``m + 1`` is a
        display mark, the listings donors see from it on, made from the pools as minute
        ``m`` found them (so a minute drawn ahead on the other thread stays good)."""
        if self._ran_out and (m + 1) % self._display == 0:
            self.choice.refresh_view(m + 1)
            self._ran_out = False

    def _before_gifts(self, m: int) -> tuple[int, int]:
        """Before minute ``m``'s gifts settle (both engines): the pacing's step, then the
        collections due (their flowers, their top-ups). Returns (flowers, pools emptied)."""
        self.pacing.step(m)
        flowers, top_up, emptied = self.collections.before_minute(m)
        if top_up:
            self.series.counts["foundation_fen"][m] += top_up
        return int(flowers), int(emptied)

    def _after_gifts(self, m: int, gifts, foundation_match: np.ndarray) -> None:
        """After minute ``m``'s gifts settled (both engines): the collections they launch,
        the pacing's view of the giving, the teams' tallies."""
        self.collections.after_minute(m, gifts.donor, gifts.project, foundation_match)
        if self.pacing.paced:
            self.pacing.observe(m, int(gifts.amount.sum()))
        if self.arrivals.team_share > 0:
            tally_teams(gifts.team, gifts.amount, self.team_fen, self.team_gifts)
        if m + 1 == self.first_close:  # the projects as the first Foundation pool closes
            self.at_first_close = (
                self.projects.public.copy(),
                self.projects.enterprise_match.copy(),
            )

    def _keep_for_post(self, m: int, gifts, ok: np.ndarray) -> None:
        """Minute ``m``'s gifts that passed the checks (``ok``) into the windows of the
        post-event pools open now with money left (both engines)."""
        for win in self.post_windows:
            if win.open <= m < win.close and (self.pools.remaining[win.pools] > 0).any():
                win.add(m, gifts, ok)

    def _minutes(self, stop: Callable[[], None] | None):
        """The SimPy process that makes and settles every minute's gifts (``stop``: see
        :meth:`run`)."""
        n_minutes = self.cal.n_minutes
        # the releases due at the campaign's start come first: a pool that opens at 00:00
        # pays the first minute's gifts (as in the reference engine)
        yield self.env.timeout(0)
        for m in range(n_minutes):
            if stop is not None:
                stop()
            if self._dirty or m >= self.choice.next_refresh:
                self.choice.refresh(m, self._released)
                self._released = self._dirty = self._ran_out = False
            elif self.pools.live_stale >= LIVE_REFRESH_CHANGES:
                self.pools.refresh_live(m, False)
            fe, gifts, rows = self.stream.minute(m, n_minutes, self._next_listings)
            self.series.lost_intents[m] = self.stream.lost
            collected, emptied = self._before_gifts(m)
            flowers = self.settlement.flower_events(fe) + collected
            if self.gaming.active:
                with_gaming = self.gaming.add_gifts(
                    gifts, m, stream(self.cfg.seed, "gaming", m), self.choice.foundation_live
                )
                if with_gaming is not gifts:  # gaming gifts merged in: numbered again
                    gifts, rows = with_gaming, None
            res, changes = self.settlement.settle(gifts, rows)
            changes += emptied
            self._after_gifts(m, gifts, res.foundation_match)
            self._keep_for_post(m, gifts, res.ok)
            if self.recorder is not None:
                self.recorder.add(m, fe, gifts, res)
            self.series.record(m, gifts, res, flowers, self.pools)
            if changes:
                self._ran_out = True
                self.pools.live_stale += changes
                # each pool emptied in this minute, at the time of the gift that emptied it,
                # recorded now (no process a pool: about 11,000 a run; the event table sorts
                # by time, and pools emptied at the same time keep their order)
                dep = self.pools.depleted_at
                names = self.pools.names
                for g in np.flatnonzero((dep >= m) & (dep < m + 1)):
                    self.events.append(Event(float(dep[g]), "pool_depleted", names[g]))
            yield self.env.timeout(1)


@njit(cache=True, nogil=True)
def tally_teams(team, amount, team_fen, team_gifts):
    """Each team gift's money and count to its leader's tally."""
    for i in range(team.shape[0]):
        k = team[i]
        if k >= 0:
            team_fen[k] += amount[i]
            team_gifts[k] += 1


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
