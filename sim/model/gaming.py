"""Bad actors: machine donors and 套捐 rings (matching-evidence.md section 3).

They are donor records after the honest population, so the settlement kernel treats their
gifts like any other (and counts the match they get); what counter-measures do to them is
in :mod:`sim.model.settlement`.
"""

from __future__ import annotations

import numpy as np

from sim.codes import KIND_MACHINE, KIND_RING
from sim.model.gifts import Gifts
from sim.model.projects import Projects
from sim.schema import MachineConfig, SimConfig


class Gaming:
    """Bad actors (matching-evidence.md section 3), as donor records after the honest
    population:

    - machine accounts (the 2017 pattern: 25,244 accounts, 234,775 gifts, about 9.3 an
      account, each giving more than 5 times within a minute [P]): each account fires
      once, a burst of 1 + Poisson(``gifts_per_account`` - 1) gifts of ``gift_yuan`` within
      one minute, at a project of one of the ``hirers`` organisations that hired them
      (drawn by reach, ASSUMPTION). The minute is drawn from the campaign's baseline
      traffic (``timing: traffic``: the accounts are run through the event as donors' gifts
      are, ASSUMPTION) or is a Foundation pool's opening (``openings``). The rules match
      them as they match any gift;
    - 套捐 rings: an organisation has ``identities`` people each give ``gifts_per_day``
      gifts of ``gift_yuan`` a day (over 600 paying minutes, ASSUMPTION) to one project
      while a Foundation pool is paying, and pays them back until the organiser's
      ``reimbursement_budget_yuan`` is spent (2021: under 5万 [P]). The project is drawn by
      reach (2021's was a national foundation's, at 994万 when suspended [P]).

    Their gifts come from their own random stream, so the honest gifts of a run are the
    same with and without them (common random numbers)."""

    RING_MINUTES_PER_DAY = 600.0  # ASSUMPTION: rings work through ten paying hours a day

    def __init__(
        self,
        kinds: np.ndarray,
        target: np.ndarray,
        first_id: int,
        ring_rate: float,
        fen: tuple[int, int],
        ring_of: np.ndarray,
        ring_budget_gifts: int,
        rng: np.random.Generator,
        machines: MachineConfig,
    ):
        self.kinds = kinds  # KIND_* of each identity
        self.target = target  # project of each identity
        self.first_id = first_id  # population id of the first identity
        self.ring_rate = ring_rate  # ring gifts a paying minute
        self.machine_fen, self.ring_fen = fen
        self.n_machines = int((kinds == KIND_MACHINE).sum())
        self.ring_of = ring_of  # the ring of each ring identity
        self.ring_gifts = np.zeros(int(ring_of.max()) + 1 if ring_of.size else 0, np.int64)
        self.ring_budget_gifts = ring_budget_gifts  # gifts a ring pays back (0: no limit)
        self.active = kinds.shape[0] > 0
        self._rng, self._machines = rng, machines
        # the machine accounts' burst gifts by minute (plan): CSR of accounts
        self.burst_ptr = np.zeros(1, dtype=np.int64)
        self.burst_account = np.zeros(0, dtype=np.int64)

    @classmethod
    def build(
        cls, cfg: SimConfig, projects: Projects, first_id: int, rng: np.random.Generator
    ) -> Gaming:
        """The identities of ``cfg.gaming`` at ``cfg.scale``, numbered from ``first_id``
        (the honest population's size), with the projects they aim at; :meth:`plan` sets
        when the machines fire."""
        gm, s = cfg.gaming, cfg.scale
        n_mach = round(gm.machines.accounts * s)
        # at small scales keep at least one ring, with the scaled number of identities
        n_rings = max(1, round(gm.rings.count * s)) if gm.rings.count > 0 else 0
        n_id = max(1, round(gm.rings.count * gm.rings.identities * s / n_rings)) if n_rings else 0
        mach_target = np.zeros(0, np.int64)
        if n_mach:
            org_reach = projects.org_reach()
            k = min(max(1, gm.machines.hirers), projects.n_orgs)
            hirers = rng.choice(projects.n_orgs, k, replace=False, p=org_reach / org_reach.sum())
            hired = np.flatnonzero(np.isin(projects.org, hirers))
            w = projects.reach[hired]
            mach_target = rng.choice(hired, n_mach, p=w / w.sum())
        ring_project = (
            rng.choice(projects.n, n_rings, replace=n_rings > projects.n, p=projects.reach)
            if n_rings
            else np.zeros(0, np.int64)
        )
        kinds = np.concatenate(
            [np.full(n_mach, KIND_MACHINE, np.int8), np.full(n_rings * n_id, KIND_RING, np.int8)]
        )
        rb = gm.rings.reimbursement_budget_yuan
        # a ring with fewer identities than configured (small scales) pays back less
        per_ring = rb / gm.rings.gift_yuan * n_id / max(gm.rings.identities, 1) if n_rings else 0
        return cls(
            kinds,
            np.concatenate([mach_target, np.repeat(ring_project, n_id)]).astype(np.int64),
            first_id,
            n_rings * n_id * gm.rings.gifts_per_day / cls.RING_MINUTES_PER_DAY,
            (round(gm.machines.gift_yuan * 100), round(gm.rings.gift_yuan * 100)),
            np.repeat(np.arange(n_rings, dtype=np.int64), n_id),
            max(1, round(per_ring)) if rb > 0 else 0,
            rng,
            gm.machines,
        )

    def plan(self, traffic: np.ndarray, openings: np.ndarray) -> None:
        """When each machine account fires (a minute drawn in proportion to ``traffic``,
        the baseline gifts of each minute, or one of the Foundation pools' ``openings``)
        and its burst's size; kept as the burst gifts' accounts by minute."""
        n, mc, rng = self.n_machines, self._machines, self._rng
        n_min = traffic.shape[0]
        if n == 0:
            self.burst_ptr = np.zeros(n_min + 1, dtype=np.int64)
            return
        if mc.timing == "openings" and openings.size:
            minute = openings.astype(np.int64)[rng.integers(0, openings.size, n)]
        else:
            cdf = np.cumsum(traffic) / traffic.sum()
            minute = np.searchsorted(cdf, rng.random(n), side="right")
        minute = np.minimum(minute, n_min - 1)
        size = 1 + rng.poisson(max(mc.gifts_per_account - 1.0, 0.0), n)
        at = np.repeat(minute, size)
        order = np.argsort(at, kind="stable")
        self.burst_account = np.repeat(np.arange(n, dtype=np.int64), size)[order]
        self.burst_ptr = np.concatenate([[0], np.cumsum(np.bincount(at, minlength=n_min))])

    def add_gifts(
        self, gifts: Gifts, minute: int, rng: np.random.Generator, foundation_live: bool
    ) -> Gifts:
        """The minute's gifts with the gaming gifts merged in, in timestamp order: the
        machine bursts due this minute, and the rings' gifts while a Foundation pool pays
        (``foundation_live``) and their organisers' budgets last."""
        mach = self.burst_account[self.burst_ptr[minute] : self.burst_ptr[minute + 1]]
        n_ring_ids = self.kinds.shape[0] - self.n_machines
        ring = np.zeros(0, np.int64)
        if foundation_live and n_ring_ids:
            ring = self.n_machines + rng.integers(0, n_ring_ids, rng.poisson(self.ring_rate))
            if self.ring_budget_gifts:
                r = self.ring_of[ring - self.n_machines]
                # each ring's gifts in turn, as far as its organiser pays back
                keep = self.ring_gifts[r] + _rank_within(r) < self.ring_budget_gifts
                ring, r = ring[keep], r[keep]
                np.add.at(self.ring_gifts, r, 1)
        n_m = mach.shape[0]
        n = n_m + ring.shape[0]
        if n == 0:
            return gifts
        local = np.concatenate([mach, ring])
        amount = np.concatenate(
            [
                np.full(n_m, self.machine_fen, np.int64),
                np.full(ring.shape[0], self.ring_fen, np.int64),
            ]
        )
        u = rng.random((5, n))
        extra = Gifts(
            t=minute + u[4],
            donor=self.first_id + local,
            project=self.target[local],
            amount=amount,
            helpee=np.full(n, -1, np.int64),
            u_match=u[0],
            u_fraction=u[1],
            u_bonus=u[2],
            u_detect=u[3],
            reason=np.zeros(n, np.int8),
            team=np.full(n, -1, np.int64),
        )
        # merge two time-sorted streams in O(n): the gaming gifts' places among the others
        sub = np.argsort(extra.t, kind="stable")
        at = np.searchsorted(gifts.t, extra.t[sub], side="right") + np.arange(n)
        total = gifts.t.shape[0] + n
        is_extra = np.zeros(total, dtype=bool)
        is_extra[at] = True
        cols = []
        for v, x in zip(gifts, extra, strict=True):
            col = np.empty(total, dtype=np.result_type(v, x))
            col[~is_extra] = v
            col[at] = x[sub]
            cols.append(col)
        return Gifts(*cols)


def _rank_within(r: np.ndarray) -> np.ndarray:
    """Each entry's rank among the earlier entries equal to it (0 for the first)."""
    order = np.argsort(r, kind="stable")
    sr = r[order]
    first = np.searchsorted(sr, sr, side="left")
    rank = np.empty_like(r)
    rank[order] = np.arange(r.shape[0]) - first
    return rank
