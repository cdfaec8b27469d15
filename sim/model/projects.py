"""Charity projects and the organisations that run them.

An organisation's reach is its fundraising capacity: its networks and, for the
government-linked charity federations (慈善会), offline mobilisation (facts section 5). The
landscape is lognormal, the ten largest taking 43.8% of the money in 2018 and about 43% in
2019 (易善数据 / 方德瑞信, ``shared/facts/99-giving-day.md`` section 5; ``org_reach_sigma`` is
fitted to 2018's). Its head is the same in every run: the ``head_organisations`` largest sit at
the lognormal's fixed quantiles, only the tail below them is drawn, so the top-10 share does not
hang on one draw. A Dirichlet split shares an organisation's reach among its projects. Each
project has a cause category (the 2018 mix of donations), a region class and an
organisation-size class used by equity measures, and a fundraising goal (ASSUMPTION: growing
with reach; no goals were published).

Every organisation and project is built at any scale (only donors, budgets and per-project caps
scale), so a scaled-down run keeps the landscape and its shares (docs/model.md, "Scale").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import ndtri

from sim.codes import FLAG_JOINT_APPEAL, FLAG_LESS_DEVELOPED, FLAG_SMALL_ORG, MAX_MONEY_YUAN
from sim.model.result import ProjectLedger
from sim.schema import ProjectsConfig


class ProjectState(NamedTuple):
    """The projects' arrays the settlement kernel reads and changes (views of
    :class:`Projects`)."""

    public: np.ndarray
    gift_count: np.ndarray
    foundation_match: np.ndarray
    enterprise_match: np.ndarray
    flags: np.ndarray
    frozen: np.ndarray
    detections: np.ndarray


@dataclass
class Projects:
    """Projects' fixed attributes (one entry a project) and their money so far (fen)."""

    org: np.ndarray  # int32, the organisation running each project
    reach: np.ndarray  # float64, relative chance of being chosen (sums to 1)
    category: np.ndarray  # int8 index into ``categories``
    less_developed: np.ndarray  # bool, serves a less developed region
    small_org: np.ndarray  # bool, run by a small organisation (by reach)
    goal: np.ndarray  # int64 fen, the project's fundraising goal
    categories: list[str]
    n_orgs: int
    public: np.ndarray  # int64 fen of public gifts
    count: np.ndarray  # int64 number of gifts
    foundation_match: np.ndarray  # int64 fen
    enterprise_match: np.ndarray  # int64 fen
    flags: np.ndarray  # int8 FLAG_* bits the equity rules and restricted pools read
    frozen: np.ndarray  # int8 1 once the project's match is frozen (gaming detected)
    detections: np.ndarray  # int64 gifts to the project flagged by the platform

    @property
    def n(self) -> int:
        return self.org.shape[0]

    def org_reach(self) -> np.ndarray:
        """Each organisation's reach: the sum of its projects' (sums to 1)."""
        return np.bincount(self.org, weights=self.reach, minlength=self.n_orgs)

    def ledger(self) -> ProjectLedger:
        """The projects as a finished campaign leaves them (read-only views)."""
        return ProjectLedger(
            org=self.org,
            reach=self.reach,
            category=self.category,
            categories=tuple(self.categories),
            less_developed=self.less_developed,
            small_org=self.small_org,
            goal=self.goal,
            flags=self.flags,
            n_orgs=self.n_orgs,
            count=self.count,
            public=self.public,
            foundation_match=self.foundation_match,
            enterprise_match=self.enterprise_match,
            frozen=self.frozen.astype(bool),
            detections=self.detections,
        )

    def state(self) -> ProjectState:
        """The arrays the settlement kernel reads and changes."""
        return ProjectState(
            self.public,
            self.count,
            self.foundation_match,
            self.enterprise_match,
            self.flags,
            self.frozen,
            self.detections,
        )

    @classmethod
    def build(cls, cfg: ProjectsConfig, rng: np.random.Generator, scale: float = 1.0) -> Projects:
        """Draw ``cfg.count`` projects of ``cfg.organisations`` organisations (``cfg``: a
        year's, :func:`sim.checks.year_population`, with both set), at any scale; a goal is
        money a project raises, so it scales as the per-project caps do (``scale``)."""
        assert cfg.count is not None and cfg.organisations is not None
        n_orgs = cfg.organisations
        n = max(n_orgs, cfg.count)
        org_reach = org_landscape(n_orgs, cfg.org_reach_sigma, cfg.head_organisations, rng)
        # every organisation runs at least one project; the rest go to organisations in
        # proportion to reach**0.5 (big fundraisers run more projects; assumption)
        extra = rng.choice(n_orgs, n - n_orgs, p=_normalise(org_reach**0.5))
        org = np.sort(np.concatenate([np.arange(n_orgs), extra])).astype(np.int32)
        share = rng.gamma(cfg.project_share_concentration, 1.0, n)
        share /= np.bincount(org, weights=share, minlength=n_orgs)[org]
        reach = _normalise(org_reach[org] * share)
        names = list(cfg.categories)
        category = rng.choice(
            len(names), n, p=_normalise(np.array([cfg.categories[k] for k in names], dtype=float))
        ).astype(np.int8)
        less_developed = rng.random(n) < cfg.less_developed_share
        # after the draws of issue 2, so that adding these left every earlier draw alone
        small_org = (
            (org_reach < np.quantile(org_reach, cfg.small_org_share))[org]
            if cfg.small_org_share > 0
            else np.zeros(n, dtype=bool)
        )
        goal_yuan = (
            cfg.goal_median_yuan
            * (reach / np.median(reach)) ** cfg.goal_reach_exponent
            * rng.lognormal(0.0, cfg.goal_sigma, n)
        )
        # within the fen arithmetic's bounds (sim.codes); no real goal comes near
        goal = np.maximum(
            100, np.round(np.minimum(goal_yuan * scale, MAX_MONEY_YUAN)) * 100
        ).astype(np.int64)
        joint = rng.random(n) < cfg.joint_appeal_share  # drawn last: earlier draws unchanged
        flags = (
            less_developed * FLAG_LESS_DEVELOPED
            + small_org * FLAG_SMALL_ORG
            + joint * FLAG_JOINT_APPEAL
        ).astype(np.int8)
        return cls(
            org=org,
            reach=reach,
            category=category,
            less_developed=less_developed,
            small_org=small_org,
            goal=goal,
            categories=names,
            n_orgs=n_orgs,
            public=np.zeros(n, dtype=np.int64),
            count=np.zeros(n, dtype=np.int64),
            foundation_match=np.zeros(n, dtype=np.int64),
            enterprise_match=np.zeros(n, dtype=np.int64),
            flags=flags,
            frozen=np.zeros(n, dtype=np.int8),
            detections=np.zeros(n, dtype=np.int64),
        )


def org_landscape(n: int, sigma: float, head: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` organisations' reach, lognormal(0, ``sigma``): the ``head`` largest at the fixed
    quantiles (i - 0.5) / n from the top, the others drawn from the lognormal below the
    head's last quantile (a random tail); largest first."""
    head = min(head, n)
    q_head = 1.0 - (np.arange(head) + 0.5) / n
    u_tail = rng.random(n - head) * (1.0 - head / n)
    z = ndtri(np.concatenate([q_head, np.sort(u_tail)[::-1]]))
    return np.exp(sigma * z)


def _normalise(w: np.ndarray) -> np.ndarray:
    return w / w.sum()
