"""Matching pools: the Tencent Foundation's tranches and theme-day pool, and the
enterprises' own pools, as parallel arrays the settlement kernel reads.

A pool holds nothing until its tranche is released (a SimPy event at ``opens_at``); from then
``paid + remaining`` equals its budget. Foundation pools are global (any project); each
enterprise pool backs one project, which may have several enterprises (the first with money
left pays).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from sim.calendar import Calendar
from sim.config import PolicyConfig, ScenarioConfig
from sim.policies import N_FIELDS, F, make_rule
from sim.projects import Projects


@dataclass
class Pools:
    names: list[str]  # Foundation pools by name; enterprise pools are "enterprise:<id>"
    open_at: np.ndarray  # float64 minute
    close_at: np.ndarray  # float64 minute
    budget: np.ndarray  # int64 fen
    remaining: np.ndarray  # int64 fen, 0 until released
    paid: np.ndarray  # int64 fen
    depleted_at: np.ndarray  # float64 minute of the gift that emptied it, NaN if never
    rules: np.ndarray  # int64 [pool, RULE_FIELDS]
    foundation: np.ndarray  # int64 indices of the Foundation (global) pools
    burst: np.ndarray  # float64 gifts drawn by each pool's opening (0 for enterprises)
    burst_minutes: np.ndarray  # float64
    project: np.ndarray  # int64 project an enterprise pool backs, -1 for global pools
    link_ptr: np.ndarray  # CSR over projects: pools linked to project p are
    link_idx: np.ndarray  # link_idx[link_ptr[p]:link_ptr[p + 1]], in priority order
    gp_paid: np.ndarray  # int64 [foundation pool, project] fen, for per-project caps

    @property
    def n(self) -> int:
        return self.budget.shape[0]

    @classmethod
    def build(cls, sc: ScenarioConfig, policy: PolicyConfig, projects: Projects,
              scale: float, rng: np.random.Generator, cal: Calendar) -> Pools:
        """Foundation pools as configured (budgets x scale) and ``enterprise.count x scale``
        enterprise pools with lognormal budgets, each backing one project chosen in
        proportion to reach**``reach_exponent`` (assumption: sponsors pick visible projects)."""
        fp = sc.foundation_pools
        ent = sc.enterprise
        n_ent = round(ent.count * scale) if ent.count > 0 else 0
        n_f = len(fp)
        n = n_f + n_ent
        rules = np.zeros((n, N_FIELDS), dtype=np.int64)
        open_at = np.zeros(n)
        close_at = np.zeros(n)
        budget = np.zeros(n, dtype=np.int64)
        burst = np.zeros(n)
        burst_minutes = np.ones(n)
        for i, p in enumerate(fp):
            key = f"scenario.foundation_pools[{i}]"
            open_at[i] = cal.minute(f"{key}.opens_at", p.opens_at)
            close_at[i] = cal.minute(f"{key}.closes_at", p.closes_at)
            budget[i] = round(p.budget_yuan * 100 * scale)
            rules[i] = make_rule(policy.rules[p.rule]).encode()
            burst[i] = p.burst_gifts_wan * 1e4 * scale
            burst_minutes[i] = p.burst_minutes
        project = np.full(n, -1, dtype=np.int64)
        if n_ent:
            budget[n_f:] = np.round(rng.lognormal(np.log(max(ent.budget_median_yuan, 1e-9)),
                                                  ent.budget_sigma, n_ent) * 100)
            ratios = np.asarray(ent.ratios, dtype=float)
            w = np.asarray(ent.ratio_weights, dtype=float)
            ratio = ratios[rng.choice(len(ratios), n_ent, p=w / w.sum())]
            base = policy.rules[ent.rule]
            for r in np.unique(ratio):
                rule_cfg = copy.copy(base)
                rule_cfg.ratio = float(r)
                rules[n_f:][ratio == r] = make_rule(rule_cfg).encode()
            if base.type != "fixed_ratio":  # the enterprise's own ratio only means something
                rules[n_f:, F["ratio_bp"]] = 0  # for a fixed-ratio rule
            open_at[n_f:] = cal.minute("scenario.enterprise.opens_at", ent.opens_at)
            close_at[n_f:] = cal.minute("scenario.enterprise.closes_at", ent.closes_at)
            w = projects.reach ** ent.reach_exponent
            project[n_f:] = rng.choice(projects.n, n_ent, p=w / w.sum())
        ent_idx = np.arange(n_f, n, dtype=np.int64)
        order = ent_idx[np.argsort(project[n_f:], kind="stable")]
        counts = np.bincount(project[n_f:], minlength=projects.n) if n_ent else np.zeros(
            projects.n, dtype=np.int64)
        link_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        names = [p.name for p in fp] + [f"enterprise:{i}" for i in range(n_ent)]
        return cls(
            names=names, open_at=open_at, close_at=close_at, budget=budget,
            remaining=np.zeros(n, dtype=np.int64), paid=np.zeros(n, dtype=np.int64),
            depleted_at=np.full(n, np.nan), rules=rules,
            foundation=np.arange(n_f, dtype=np.int64), burst=burst,
            burst_minutes=burst_minutes, project=project, link_ptr=link_ptr,
            link_idx=order.astype(np.int64),
            gp_paid=np.zeros((n_f, projects.n), dtype=np.int64),
        )

    def live(self, minute: int) -> np.ndarray:
        """Pools that can pay during this minute: open, released and not empty."""
        return (self.open_at <= minute) & (minute < self.close_at) & (self.remaining > 0)

    def matched_projects(self, minute: int, n_projects: int) -> tuple[np.ndarray, bool]:
        """Which projects can get a match now, and whether any Foundation pool is live."""
        live = self.live(minute)
        avail = np.zeros(n_projects, dtype=bool)
        foundation_live = False
        for k, g in enumerate(self.foundation):
            if live[g] and self.rules[g, F["mode"]] != 0:
                foundation_live = True
                cap = self.rules[g, F["project_cap_fen"]]
                avail |= (self.gp_paid[k] < cap) if cap > 0 else True
        ent = self.project >= 0
        linked = self.project[ent & live & (self.rules[:, F["mode"]] != 0)]
        avail[linked] = True
        return avail, foundation_live
