"""What a finished campaign leaves: a frozen result, the only thing the output code reads.

:class:`CampaignResult` holds the run's config and calendar, its per-minute series, the
projects' and the pools' ledgers, the donors who gave and were matched, and the events, in
named, read-only arrays (money in fen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.model.calendar import Calendar
from sim.schema import SimConfig


class Event(NamedTuple):
    """One thing that happened in the campaign (an immutable record)."""

    minute: float
    kind: str  # tranche_released | window_closed | post_allocated | pool_depleted | day_end
    pool: str | None


def read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that cannot be written through."""
    v = a.view()
    v.flags.writeable = False
    return v


class _ReadOnlyArrays:
    """Dataclasses whose array fields are read-only views of what they were given."""

    def __post_init__(self):
        for k, v in vars(self).items():
            if isinstance(v, np.ndarray):
                object.__setattr__(self, k, read_only(v))


@dataclass(frozen=True)
class Series(_ReadOnlyArrays):
    """Per minute of the campaign (int64; money in fen)."""

    gifts: np.ndarray
    public_fen: np.ndarray
    foundation_fen: np.ndarray  # a post-event pool's pay in the last minute of its window
    enterprise_fen: np.ndarray
    flowers: np.ndarray
    matched_gifts: np.ndarray
    foundation_matched_gifts: np.ndarray
    gaming_gifts: np.ndarray
    gaming_public_fen: np.ndarray  # the gaming identities' gifts (machine donors, rings)
    shifted_gifts: np.ndarray  # gifts moved in time to a match (sim.model.response)
    shifted_public_fen: np.ndarray
    lifted_gifts: np.ndarray  # gifts a match brought that would not have been made
    lifted_public_fen: np.ndarray
    foundation_levels: np.ndarray  # [Foundation pool, minute] fen left at the minute's end
    enterprise_remaining: np.ndarray  # fen left in all enterprise pools
    size_hist: np.ndarray  # gifts by size bin (bins by size_edges, below the first, above)
    size_edges: np.ndarray  # fen
    lost_intents: np.ndarray  # float64 intents the response expects lost (not gifts)


@dataclass(frozen=True)
class ProjectLedger(_ReadOnlyArrays):
    """Each project's fixed attributes and its money (fen)."""

    org: np.ndarray  # int32 organisation
    reach: np.ndarray  # float64 relative chance of being chosen
    category: np.ndarray  # int8 index into ``categories``
    categories: tuple[str, ...]
    less_developed: np.ndarray  # bool
    small_org: np.ndarray  # bool
    goal: np.ndarray  # int64 fen
    flags: np.ndarray  # int8 sim.codes.FLAG_*
    n_orgs: int
    count: np.ndarray  # int64 gifts
    public: np.ndarray  # int64 fen
    foundation_match: np.ndarray  # int64 fen
    enterprise_match: np.ndarray  # int64 fen
    frozen: np.ndarray  # bool the project's match was frozen (gaming detected)
    detections: np.ndarray  # int64 gifts flagged by the platform

    @property
    def n(self) -> int:
        return self.org.shape[0]


@dataclass(frozen=True)
class PoolLedger(_ReadOnlyArrays):
    """Every pool (the Foundation's first, then the enterprises') and what it paid (fen)."""

    names: tuple[str, ...]  # Foundation pools by name; enterprise pools "enterprise:<id>"
    open_at: np.ndarray  # float64 minute
    close_at: np.ndarray  # float64 minute
    budget: np.ndarray  # int64
    paid: np.ndarray  # int64
    remaining: np.ndarray  # int64
    depleted_at: np.ndarray  # float64 minute of the gift that emptied it, NaN if never
    gamed: np.ndarray  # int64 of ``paid`` that went to gaming identities
    ratio: np.ndarray  # float64 the rule's fixed ratio (0 where it has none)
    is_enterprise: np.ndarray  # bool
    own: np.ndarray  # bool, enterprise pools of the organisation's own money
    project_cap: np.ndarray  # int64 fen each pool pays a project at most (0: no cap)
    foundation: np.ndarray  # int64 indices of the Foundation's pools
    paid_by_project: np.ndarray  # int64 [Foundation pool, project]
    link_pool: np.ndarray  # int64 the pool of each (enterprise pool, project) link ...
    link_project: np.ndarray  # ... its project (links sorted by project) ...
    link_paid: np.ndarray  # ... and what the pool paid the project
    links_per_project: np.ndarray  # int64 enterprise pools backing each project

    @property
    def n(self) -> int:
        return self.budget.shape[0]


class GivingCounts(NamedTuple):
    """Donor records that made a gift; honest donors who gave, and of them those matched."""

    gave: int
    gave_honest: int
    matched_honest: int


@dataclass(frozen=True)
class FlowerLedger(_ReadOnlyArrays):
    """Flowers per donor at the end, collections, teams and the pacing's steps."""

    thresholds: np.ndarray  # int64 the rules' flower thresholds reported (39 / 99 / 199 / 299)
    donors_at: np.ndarray  # int64 honest donors who gave, holding at least each threshold
    matched_at: np.ndarray  # int64 of them, those matched
    hist_edges: np.ndarray  # int64 flower bins' lower edges
    hist_donors: np.ndarray  # int64 honest donors who gave, by bin
    hist_matched: np.ndarray  # int64 of them matched, by bin
    max_flowers: int  # the most any donor holds
    collections: np.ndarray  # int64 collections launched, per minute
    collection_helps: int  # helps the collections got (before and during the event)
    before_event: tuple[int, int, int]  # (collections, helps, flowers) before the event
    team_fen: np.ndarray  # int64 public fen each team leader rallied
    team_gifts: np.ndarray  # int64 gifts each team leader rallied
    pacing: tuple[tuple[int, str, float], ...]  # (minute, pool, intensity) of each step


@dataclass(frozen=True)
class CampaignResult:
    """A finished campaign."""

    cfg: SimConfig
    calendar: Calendar
    series: Series
    projects: ProjectLedger
    pools: PoolLedger
    donors: GivingCounts
    events: tuple[Event, ...]
    wall_seconds: float
    flowers: FlowerLedger
    # each project's public gifts and enterprise match (fen) when the first Foundation pool
    # closed (2017's day-1 figures; :func:`sim.outputs.tables.organisation_figures`)
    at_first_close: tuple[np.ndarray, np.ndarray] | None = None
