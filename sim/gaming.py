"""Bad actors: machine donors and 套捐 rings (matching-evidence.md section 3).

They are donor records after the honest population, so the settlement kernel treats their
gifts like any other (and counts the match they get); what counter-measures do to them is
in :mod:`sim.ledger`.
"""

from __future__ import annotations

import numpy as np

from sim.config import SimConfig
from sim.donors import KIND_MACHINE, KIND_RING
from sim.pools import Pools
from sim.projects import Projects


class Gaming:
    """Bad actors (matching-evidence.md section 3), as donor records after the honest
    population, active while a Foundation pool is paying:

    - machine accounts, each sending Poisson(``gifts_per_minute``) gifts of ``gift_yuan`` a
      minute to one project (the 2017 pattern);
    - 套捐 rings: an organisation (a small one, drawn by the gaming stream) has
      ``identities`` people each give ``gifts_per_day`` gifts of ``gift_yuan`` a day (over
      600 paying minutes, ASSUMPTION) to one of its projects, and pays them back.

    Their gifts come from their own random stream, so the honest gifts of a run are the
    same with and without them (common random numbers)."""

    RING_MINUTES_PER_DAY = 600.0  # ASSUMPTION: rings work through ten paying hours a day

    def __init__(self, kinds, target, machine_rate, ring_rate, machine_fen, ring_fen):
        self.kinds = kinds
        self.target = target  # project of each gaming identity
        self.machine_rate, self.ring_rate = machine_rate, ring_rate
        self.machine_fen, self.ring_fen = machine_fen, ring_fen
        self.first_id = 0  # set once the honest population is built
        self.n_machines = int((kinds == KIND_MACHINE).sum())
        self.active = kinds.shape[0] > 0

    @classmethod
    def build(cls, cfg: SimConfig, projects: Projects, rng: np.random.Generator) -> Gaming:
        gm, s = cfg.gaming, cfg.scale
        n_mach = round(gm.machines.accounts * s)
        # at small scales keep at least one ring, with the scaled number of identities
        n_rings = max(1, round(gm.rings.count * s)) if gm.rings.count > 0 else 0
        n_id = max(1, round(gm.rings.count * gm.rings.identities * s / n_rings)) \
            if n_rings else 0
        mach_target = rng.choice(projects.n, n_mach, p=projects.reach) if n_mach else \
            np.zeros(0, np.int64)
        small = np.flatnonzero(np.bincount(projects.org[projects.small_org],
                                           minlength=projects.n_orgs))
        orgs = small if small.size else np.arange(projects.n_orgs)
        ring_org = rng.choice(orgs, n_rings, replace=n_rings > orgs.size) if n_rings else \
            np.zeros(0, np.int64)
        ring_target = np.zeros(n_rings * n_id, dtype=np.int64)
        for r, o in enumerate(ring_org):
            own = np.flatnonzero(projects.org == o)
            ring_target[r * n_id:(r + 1) * n_id] = rng.choice(own, n_id)
        kinds = np.concatenate([np.full(n_mach, KIND_MACHINE, np.int8),
                                np.full(n_rings * n_id, KIND_RING, np.int8)])
        return cls(kinds, np.concatenate([mach_target, ring_target]).astype(np.int64),
                   n_mach * gm.machines.gifts_per_minute,
                   n_rings * n_id * gm.rings.gifts_per_day / cls.RING_MINUTES_PER_DAY,
                   round(gm.machines.gift_yuan * 100), round(gm.rings.gift_yuan * 100))

    def set_machine_minutes(self, pools: Pools, n_minutes: int, active: int) -> None:
        """Machines fire in the first ``active`` minutes after each Foundation pool opens
        (0: whenever a pool is paying)."""
        self.machine_minutes = np.zeros(n_minutes, dtype=bool)
        for g in pools.foundation:
            o, c = int(pools.open_at[g]), int(pools.close_at[g])
            self.machine_minutes[o:(c if active == 0 else min(c, o + active))] = True

    def add_gifts(self, gifts: dict, minute: int, rng: np.random.Generator) -> dict:
        """The minute's gifts with the gaming gifts merged in, in timestamp order."""
        n_m = rng.poisson(self.machine_rate) if self.machine_minutes[minute] else 0
        n_r = rng.poisson(self.ring_rate)
        n = n_m + n_r
        if n == 0:
            return gifts
        n_ring_ids = self.kinds.shape[0] - self.n_machines
        local = np.concatenate([rng.integers(0, max(self.n_machines, 1), n_m),
                                self.n_machines + rng.integers(0, max(n_ring_ids, 1), n_r)])
        amount = np.concatenate([np.full(n_m, self.machine_fen, np.int64),
                                 np.full(n_r, self.ring_fen, np.int64)])
        u = rng.random((5, n))
        extra = {"t": minute + u[4], "donor": self.first_id + local,
                 "project": self.target[local], "amount": amount,
                 "helpee": np.full(n, -1, np.int64),
                 "u1": u[0], "u2": u[1], "u3": u[2], "u4": u[3], "added": np.zeros(n, bool)}
        # merge two time-sorted streams in O(n): the gaming gifts' places among the others
        sub = np.argsort(extra["t"], kind="stable")
        at = np.searchsorted(gifts["t"], extra["t"][sub], side="right") + np.arange(n)
        total = gifts["t"].shape[0] + n
        is_extra = np.zeros(total, dtype=bool)
        is_extra[at] = True
        out = {}
        for k, v in gifts.items():
            col = np.empty(total, dtype=np.result_type(v, extra[k]))
            col[~is_extra] = v
            col[at] = extra[k][sub]
            out[k] = col
        return out
