"""The reference engine: the same campaign, one SimPy event per gift, plain Python.

It replays the gifts (and the non-gift flower events) that a batched run drew, recorded by
:class:`sim.model.recorder.MemoryRecorder`, and settles each gift in its own SimPy event
through a plain-Python reading of the rules (:func:`sim.policies.per_gift.offer_one`),
written separately from the compiled kernel in :mod:`sim.model.settlement`. Same gifts in,
identical ledger out: a test holds the two engines to that. It is slow (about 10^5 gifts a
second) and meant for small scales.
"""

from __future__ import annotations

import numpy as np

from sim.codes import BANNED, MATCHED, F
from sim.model.campaign import Campaign
from sim.model.gifts import FlowerEvents, Gifts
from sim.model.recorder import MemoryRecorder
from sim.model.result import Event
from sim.policies.per_gift import offer_one


class ReferenceCampaign(Campaign):
    """A campaign whose gift stream replays recorded gifts one SimPy event each."""

    def __init__(self, cfg, recorded: MemoryRecorder):
        super().__init__(cfg, recorder=None)
        self.recorded = recorded
        n = sum(m[2]["t"].shape[0] for m in recorded.minutes)
        self.out = {
            k: np.zeros(n, dtype=np.int64)
            for k in (  # each gift's match
                "foundation_match",
                "enterprise_match",
                "enterprise_pool",
                "ok",  # passed the platform's checks
            )
        }

    def _minutes(self, stop=None):
        env = self.env
        i = 0
        for minute, fe, gifts, _ in self.recorded.minutes:
            if stop is not None:  # as Campaign._minutes: between minutes, never inside one
                stop()
            yield env.timeout(minute - env.now)
            collected, emptied = self._before_gifts(minute)
            if emptied:  # a collection's top-up emptied a pool
                pl = self.pools
                for g in np.flatnonzero(pl.depleted_at == minute):
                    self.events.append(Event(float(minute), "pool_depleted", pl.names[g]))
            flowers = self.settlement.flower_events(FlowerEvents(**fe))
            self.series.counts["flowers"][minute] += flowers + collected
            self._minute_gifts = {}  # gifts of each account in this minute (rate limits)
            first = i
            for k in range(gifts["t"].shape[0]):
                yield env.timeout(float(gifts["t"][k]) - env.now)
                self._settle_one(i, {name: col[k] for name, col in gifts.items()})
                i += 1
            g_all = Gifts(**gifts)
            self._keep_for_post(minute, g_all, self.out["ok"][first:i].astype(bool))
            self._after_gifts(minute, g_all, self.out["foundation_match"][first:i])
        yield env.timeout(self.cal.n_minutes - env.now)

    def _settle_one(self, i: int, g: dict) -> None:
        d, p, pl, fl = self.donors, self.projects, self.pools, self.cfg.scenario.flowers
        donor, proj, amount, t = int(g["donor"]), int(g["project"]), int(g["amount"]), g["t"]
        has_chance = d.chances[donor] > 0
        flowers = int(d.flowers[donor])
        spent_any = False
        # the platform's checks: rate limit, detection, freezing
        n_now = self._minute_gifts.get(donor, 0) + 1
        self._minute_gifts[donor] = n_now
        rules = self.settlement.rules
        limited = 0 < rules.rate_limit < n_now
        if limited:
            d.status[donor] |= BANNED
        if limited or g["u_detect"] * 1_000_000.0 < rules.detect_ppm[int(d.kind[donor])]:
            p.detections[proj] += 1
            if 0 < rules.freeze_after <= p.detections[proj]:
                p.frozen[proj] = 1
        eligible = not d.status[donor] & BANNED and not p.frozen[proj]
        gaming = int(d.kind[donor]) > 0

        def pay(pool: int, rule, used_project: int) -> int:
            nonlocal spent_any
            m, spent = offer_one(
                rule,
                amount,
                flowers,
                has_chance and not spent_any,
                g["u_match"],
                g["u_fraction"],
                g["u_bonus"],
                int(d.tenure[donor]),
                int(p.flags[proj]),
            )
            spent_any = spent_any or spent
            for cap, used in (
                (rule[F["donor_day_cap_fen"]], d.match_today[donor]),
                (rule[F["project_cap_fen"]], used_project),
            ):
                if cap:
                    m = min(m, max(0, int(cap - used)))
            m = max(0, min(m, int(pl.remaining[pool])))
            if m:
                pl.remaining[pool] -= m
                pl.paid[pool] += m
                if gaming:
                    pl.gamed[pool] += m
                if rule[F["donor_day_cap_fen"]]:
                    d.match_today[donor] += m
                if pl.remaining[pool] == 0:
                    pl.depleted_at[pool] = t
                    self.events.append(Event(float(t), "pool_depleted", pl.names[pool]))
            return m

        def usable(pool: int) -> bool:
            return eligible and pl.remaining[pool] > 0 and pl.open_at[pool] <= t < pl.close_at[pool]

        fm = 0
        for k, pool in enumerate(pl.foundation):
            if usable(pool):
                m = pay(pool, pl.rules[pool], int(pl.gp_paid[k, proj]))
                pl.gp_paid[k, proj] += m
                fm += m
        em, ep = 0, -1
        for j in range(pl.link_ptr[proj], pl.link_ptr[proj + 1]):
            pool = pl.link_idx[j]
            if usable(pool):
                em = pay(pool, pl.rules[pool], int(pl.link_paid[j]))
                pl.link_paid[j] += em
                ep = int(pool) if em else -1
                break
        if spent_any:
            d.chances[donor] -= 1
        if fm + em > 0:
            d.status[donor] |= MATCHED
        p.public[proj] += amount
        p.count[proj] += 1
        p.foundation_match[proj] += fm
        p.enterprise_match[proj] += em
        self.out["foundation_match"][i] = fm
        self.out["enterprise_match"][i] = em
        self.out["enterprise_pool"][i] = ep
        self.out["ok"][i] = eligible
        d.flowers[donor] += fl.per_gift
        d.gifts_made[donor] += 1
        h = int(g["helpee"])
        if h >= 0 and d.helps_today[h] < fl.max_helps_per_day:
            d.helps_today[h] += 1
            d.chances[h] += fl.chances_per_help_gift
        s = self.series.counts
        m = int(t)
        s["gifts"][m] += 1
        s["public_fen"][m] += amount
        s["foundation_fen"][m] += fm
        s["enterprise_fen"][m] += em
        s["flowers"][m] += fl.per_gift
        s["matched_gifts"][m] += fm + em > 0
        s["foundation_matched_gifts"][m] += fm > 0
        s["gaming_gifts"][m] += gaming
        s["gaming_public_fen"][m] += amount if gaming else 0
        r = int(g["reason"])
        s["shifted_gifts"][m] += r == 1
        s["shifted_public_fen"][m] += amount if r == 1 else 0
        s["lifted_gifts"][m] += r == 2
        s["lifted_public_fen"][m] += amount if r == 2 else 0
