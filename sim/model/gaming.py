"""Bad actors: machine donors and 套捐 rings (matching-evidence.md section 3).

They are donor records after the honest population, so the settlement kernel treats their
gifts like any other (and counts the match they get); what counter-measures do to them is
in :mod:`sim.model.settlement`.
"""

from __future__ import annotations

import numpy as np

from sim.codes import KIND_MACHINE, KIND_RING
from sim.model.gifts import Gifts
from sim.model.pools import Pools
from sim.model.projects import Projects
from sim.schema import SimConfig


class Gaming:
    """Bad actors (matching-evidence.md section 3), as donor records after the honest
    population, active while a Foundation pool is paying:

    - machine accounts, each sending Poisson(``gifts_per_minute``) gifts of ``gift_yuan`` a
      minute to one project (the 2017 pattern), in the first ``active_minutes`` after each
      Foundation pool opens (0: whenever a pool is paying);
    - 套捐 rings: an organisation (a small one, drawn by the gaming stream) has
      ``identities`` people each give ``gifts_per_day`` gifts of ``gift_yuan`` a day (over
      600 paying minutes, ASSUMPTION) to one of its projects, and pays them back.

    Their gifts come from their own random stream, so the honest gifts of a run are the
    same with and without them (common random numbers)."""

    RING_MINUTES_PER_DAY = 600.0  # ASSUMPTION: rings work through ten paying hours a day

    def __init__(
        self,
        kinds: np.ndarray,
        target: np.ndarray,
        first_id: int,
        machine_minutes: np.ndarray,
        machine_rate: float,
        ring_rate: float,
        machine_fen: int,
        ring_fen: int,
    ):
        self.kinds = kinds  # KIND_* of each identity
        self.target = target  # project of each identity
        self.first_id = first_id  # population id of the first identity
        self.machine_minutes = machine_minutes  # bool: minutes the machines fire
        self.machine_rate, self.ring_rate = machine_rate, ring_rate
        self.machine_fen, self.ring_fen = machine_fen, ring_fen
        self.n_machines = int((kinds == KIND_MACHINE).sum())
        self.active = kinds.shape[0] > 0

    @classmethod
    def build(
        cls,
        cfg: SimConfig,
        projects: Projects,
        pools: Pools,
        n_minutes: int,
        first_id: int,
        rng: np.random.Generator,
    ) -> Gaming:
        """The identities of ``cfg.gaming`` at ``cfg.scale``, numbered from ``first_id``
        (the honest population's size), with the projects they aim at and when they act."""
        gm, s = cfg.gaming, cfg.scale
        n_mach = round(gm.machines.accounts * s)
        # at small scales keep at least one ring, with the scaled number of identities
        n_rings = max(1, round(gm.rings.count * s)) if gm.rings.count > 0 else 0
        n_id = max(1, round(gm.rings.count * gm.rings.identities * s / n_rings)) if n_rings else 0
        mach_target = (
            rng.choice(projects.n, n_mach, p=projects.reach) if n_mach else np.zeros(0, np.int64)
        )
        small = np.flatnonzero(
            np.bincount(projects.org[projects.small_org], minlength=projects.n_orgs)
        )
        orgs = small if small.size else np.arange(projects.n_orgs)
        ring_org = (
            rng.choice(orgs, n_rings, replace=n_rings > orgs.size)
            if n_rings
            else np.zeros(0, np.int64)
        )
        ring_target = np.zeros(n_rings * n_id, dtype=np.int64)
        for r, o in enumerate(ring_org):
            own = np.flatnonzero(projects.org == o)
            ring_target[r * n_id : (r + 1) * n_id] = rng.choice(own, n_id)
        kinds = np.concatenate(
            [np.full(n_mach, KIND_MACHINE, np.int8), np.full(n_rings * n_id, KIND_RING, np.int8)]
        )
        active = gm.machines.active_minutes
        machine_minutes = np.zeros(n_minutes, dtype=bool)
        for g in pools.foundation:
            o, c = int(pools.open_at[g]), int(pools.close_at[g])
            machine_minutes[o : (c if active == 0 else min(c, o + active))] = True
        return cls(
            kinds,
            np.concatenate([mach_target, ring_target]).astype(np.int64),
            first_id,
            machine_minutes,
            n_mach * gm.machines.gifts_per_minute,
            n_rings * n_id * gm.rings.gifts_per_day / cls.RING_MINUTES_PER_DAY,
            round(gm.machines.gift_yuan * 100),
            round(gm.rings.gift_yuan * 100),
        )

    def add_gifts(self, gifts: Gifts, minute: int, rng: np.random.Generator) -> Gifts:
        """The minute's gifts with the gaming gifts merged in, in timestamp order."""
        n_m = rng.poisson(self.machine_rate) if self.machine_minutes[minute] else 0
        n_r = rng.poisson(self.ring_rate)
        n = n_m + n_r
        if n == 0:
            return gifts
        n_ring_ids = self.kinds.shape[0] - self.n_machines
        local = np.concatenate(
            [
                rng.integers(0, max(self.n_machines, 1), n_m),
                self.n_machines + rng.integers(0, max(n_ring_ids, 1), n_r),
            ]
        )
        amount = np.concatenate(
            [np.full(n_m, self.machine_fen, np.int64), np.full(n_r, self.ring_fen, np.int64)]
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
