"""What a config may say: the structured-config schemas, and the error when it says
something else.

The YAML files under ``conf/`` hold the values; the dataclasses here give them types, so a
misspelt key fails when Hydra composes the config (:func:`register_configs` puts them in
Hydra's ConfigStore). :mod:`sim.checks` then checks the values. Imports nothing of ``sim``.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# conf/ sits beside the package in the repository (the project is installed editable)
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


class ConfigError(ValueError):
    """A configuration value that cannot be simulated; the message names the key."""


def parse_time(key: str, text: str) -> datetime:
    """An ISO local time ('2021-09-07T10:00'), or a ConfigError naming ``key``."""
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(
            f"{key}={text!r} is not an ISO local time; write it like 2021-09-07T10:00"
        ) from None


@dataclass
class SegmentConfig:
    """A class of donors that share engagement and how they respond to matching."""

    name: str = MISSING
    share: float = MISSING  # share of the donor population
    rate: float = MISSING  # relative number of gifts per member
    # lift: gifts a fully attractive match adds, as a share of the segment's baseline gifts
    lift: float = MISSING
    # timing: how strongly members move a gift to a match (x the response's pull and wait)
    timing: float = MISSING
    match_attraction: float = MISSING  # beta: a project whose match is visible is (1 + beta)x
    size_shift: float = 0.0  # added to the log gift size of members


@dataclass
class GiftSizeConfig:
    mu: float = MISSING  # log-yuan location of an ordinary gift
    sigma: float = MISSING  # spread of one donor's gifts (log scale)
    donor_sigma: float = MISSING  # spread of donors' own levels (log scale)
    one_yuan_share: float = MISSING  # share of gifts that are 1-yuan friend-help gifts
    max_yuan: int = 200_000
    level_groups: int = 8  # groups of each segment by gift-size level (quantile bins)


@dataclass
class ProjectsConfig:
    count: int | None = None  # projects; null: the scenario's (scenario.projects)
    organisations: int | None = None  # null: count / projects_per_organisation
    projects_per_organisation: float = (
        4.0  # ASSUMPTION: 10,000 projects of 2,500 organisations in 2021
    )
    org_reach_sigma: float = MISSING  # lognormal spread of organisations' reach
    # the largest organisations sit at the lognormal's fixed quantiles (the head is the
    # same in every run); the rest are drawn
    head_organisations: int = 100
    project_share_concentration: float = MISSING  # Dirichlet alpha within an organisation
    categories: dict[str, float] = field(default_factory=dict)
    less_developed_share: float = MISSING
    # organisations below this quantile of reach count as small (equity measures)
    small_org_share: float = 0.5
    # each project's goal: goal_median_yuan x (reach / median reach)**goal_reach_exponent
    # x lognormal(0, goal_sigma)
    goal_median_yuan: float = 20000.0
    goal_reach_exponent: float = 0.7
    goal_sigma: float = 0.5
    # share of projects that are joint appeals (联合劝募), which 2020's pools could be
    # restricted to (ASSUMPTION: the count was not published)
    joint_appeal_share: float = 0.05


@dataclass
class NetworkConfig:
    """The friendship network over the donors (:mod:`sim.model.network`): ASSUMPTIONS."""

    mean_friends: float = 20.0  # friends who are in the donor population, on average
    exponent: float = 2.0  # Pareto exponent of the degrees (heavy tail)
    max_friends: int = 5000  # WeChat's friend limit until 2021
    # teams (一起捐): a share of the gifts not 1-yuan helps join a friend's team, the
    # leader drawn in proportion to its friends among those with at least
    # team_leader_friends
    team_share: float = 0.0
    team_leader_friends: float = 200.0


@dataclass
class PopulationConfig:
    name: str = MISSING
    donors: int | None = None  # potential donors; null: the scenario's (scenario.donors)
    segments: list[SegmentConfig] = field(default_factory=list)
    gift_size: GiftSizeConfig = field(default_factory=GiftSizeConfig)
    projects: ProjectsConfig = field(default_factory=ProjectsConfig)
    # years a donor has given before this event: P(tenure >= k) = tenure_q**k, at most 7
    tenure_q: float = 0.5
    network: NetworkConfig = field(default_factory=NetworkConfig)


@dataclass
class RuleConfig:
    """How one kind of pool matches a gift. ``type`` picks the policy class."""

    type: str = MISSING
    ratio: float = 0.0  # fixed_ratio: match = ratio x gift
    probability: float = 0.0  # random_match: chance that a gift is matched
    chance_probability: float | None = None  # random_match with a friend-help chance in hand
    fraction_low: float = 0.0  # random_match: match = U[low, high] x gift
    fraction_high: float = 0.0
    min_gift_yuan: float = 1.0
    gift_cap_yuan: float | None = None
    donor_daily_cap_yuan: float | None = None
    project_cap_yuan: float | None = None
    flower_tiers: list[list[float]] = field(default_factory=list)  # [threshold, low, high]
    flower_multiplier: list[float] = field(default_factory=list)  # [threshold, low, high]
    size_tiers: list[list[float]] = field(default_factory=list)  # size_tiers: [min yuan, ratio]
    long_term_years: int = 0  # long_term: donors with at least this many years of giving ...
    long_term_ratio: float = 0.0  # ... are matched at this ratio, the others at ``ratio``
    equity_region: float = 0.0  # match x (1 + this) for projects in less developed regions
    equity_small_org: float = 0.0  # match x (1 + this) for projects of small organisations
    # rules allocated when the pool's window closes (breadth, pro_rata, threshold_prizes,
    # quadratic, pairwise_quadratic)
    org_cap_share: float | None = None  # pro_rata: at most this share of the pool an org
    donor_thresholds: list[list[float]] = field(default_factory=list)  # [donors, pool share]
    qf_variant: str = "alpha"  # quadratic: alpha (capital-constrained) | proportional
    pairwise_m_yuan: float = 100.0  # pairwise_quadratic: the bound M
    # which projects a rule allocated at the window's close may pay (2020's split
    # non-restricted pool): all | joint_appeal; and only projects whose public gifts
    # reached this much by the close
    projects: str = "all"
    min_project_public_yuan: float = 0.0


@dataclass
class CounterConfig:
    """The platform's counter-measures against gaming (matching-evidence.md section 3)."""

    rate_limit_per_minute: int = 0  # gifts of one account beyond this in a minute: no match
    freeze_after_detections: int = 0  # a project's match stops after this many detections


@dataclass
class PacingConfig:
    """The platform's pacing of its random match (:mod:`sim.model.pacing`)."""

    enabled: bool = True
    minutes: int = 5  # a step every so many minutes (the listings' refresh)
    hold_minutes: int = 120  # the published rule holds this long after an opening
    lookback_minutes: int = 60  # the giving of the last so many minutes makes the forecast
    gain: float = 0.5  # the power of the wanted-to-paid rate ratio a step moves by
    max_step: float = 2.0  # at most x this a step
    max_cut: float = 1.2  # at most / this a step
    min_intensity: float = 0.05  # x the rule's published expected match
    max_intensity: float = 50.0  # the match of a whole gift bounds it first (2020: 0.3 x 33)


@dataclass
class PolicyConfig:
    name: str = MISSING
    rules: dict[str, RuleConfig] = field(default_factory=dict)
    # the rule of every Foundation pool (the pools' own rule names are then not used)
    foundation: RuleConfig | None = None
    budget: float | None = None  # yuan: the Foundation's pools scaled to this total
    tranches: int = 1  # each Foundation pool released in this many equal, evenly spaced parts
    # the tranches' opens spread over this share of each pool's window (1: the whole window;
    # 0.25: every tranche released in its first quarter)
    tranche_span: float = 1.0
    # the share of the Foundation's total on the action days (the pools whose rule is
    # "action"), the rest to the other pools; each group in proportion to the scenario's
    # budgets (null: the scenario's split, 2021's 3亿 of 6亿)
    action_share: float | None = None
    countermeasures: CounterConfig = field(default_factory=CounterConfig)
    pacing: PacingConfig = field(default_factory=PacingConfig)


@dataclass
class MachineConfig:
    """Machine donors (2017: accounts giving more than 5 times a minute)."""

    accounts: int = 0  # at full scale
    gifts_per_account: float = 9.3  # an account's one burst (within a minute), on average
    # when an account bursts: "traffic" (a minute drawn like an honest gift's, from the
    # campaign's baseline traffic) or "openings" (the minute a Foundation pool opens)
    timing: str = "traffic"
    hirers: int = 50  # organisations that hired them (drawn by reach), at any scale
    gift_yuan: float = 1.0
    detect_probability: float = 0.0  # per gift, by the platform's risk control


@dataclass
class RingConfig:
    """套捐 rings: an organisation pays back small gifts from many identities."""

    count: int = 0  # rings (organisations) at full scale
    identities: int = 200  # per ring
    gifts_per_day: float = 5.0  # each identity, spread over the paying hours
    gift_yuan: float = 5.0
    # what the organiser pays back, a ring (full scale; 0: no limit); it stops when spent
    reimbursement_budget_yuan: float = 0.0
    detect_probability: float = 0.0  # per gift


@dataclass
class GamingConfig:
    name: str = "none"
    machines: MachineConfig = field(default_factory=MachineConfig)
    rings: RingConfig = field(default_factory=RingConfig)
    false_positive_probability: float = 0.0  # an honest gift flagged, per gift
    # figures published about these bad actors, compared as the scenario's are
    reported: dict[str, ReportedFigure] = field(default_factory=dict)


@dataclass
class DayConfig:
    date: str = MISSING
    kind: str = "normal"
    base_gifts_wan: float = MISSING  # expected gifts without matching, in 万
    quiz_answers_wan: float = 0.0
    step_donations_wan: float = 0.0
    friend_helps_wan: float = 0.0
    gift_size_shift: float = 0.0


@dataclass
class PoolConfig:
    name: str = MISSING
    opens_at: str = MISSING
    closes_at: str = MISSING
    budget_yuan: float = MISSING
    rule: str = MISSING


@dataclass
class EnterpriseConfig:
    """Enterprise pools that organisations recruit (:meth:`sim.model.pools.Pools.build`):
    each backs projects of one organisation, its budget a share of the pledge sized to what
    those projects are expected to raise."""

    count: int = MISSING  # pools (enterprises' and organisations' own), at any scale
    pledge_yuan: float = MISSING  # the budgets pledged in all, at full scale (x scale)
    # log spread of a pool's budget around its projects' expected raise (planning error)
    budget_sigma: float = MISSING
    ratios: list[float] = field(default_factory=lambda: [1.0])
    ratio_weights: list[float] = field(default_factory=lambda: [1.0])
    # a pool backs about one project of its organisation per this share of what a
    # project is expected to raise in the year pledged (sim.model.pools._recruit)
    pledge_cover: float = MISSING
    # an organisation recruits pools in proportion to its reach ** recruit_exponent
    recruit_exponent: float = 1.0
    own_share: float = 0.0  # of the pools: the organisation's own money matching as one
    opens_at: str = MISSING
    closes_at: str = MISSING
    rule: str = "enterprise"


@dataclass
class CollectionsConfig:
    """Flower collections: a donor shares a page, friends help (:mod:`sim.model.collections`)."""

    launch: str = "none"  # none | before_event (2018) | on_match (2020)
    share: float = 0.0  # before_event: of the donors; on_match: of the matched gifts
    help_probability: float = 0.0  # each friend helps a collection with this probability
    flowers_per_help: list[int] = field(default_factory=lambda: [1, 1])  # [low, high]
    days: int = 1  # before_event: the days of the collection
    minutes: float = 60.0  # on_match: mean minutes until the helps arrive


@dataclass
class FlowerConfig:
    per_gift: int = 1
    per_quiz: int = 1
    per_step_donation: int = 1
    per_help: int = 1
    chances_per_help_gift: int = 5
    chances_per_help: int = 1
    max_helps_per_day: int = 30
    collections: CollectionsConfig = field(default_factory=CollectionsConfig)


@dataclass
class LevelsConfig:
    """A year's levels: the per-year inputs that the calibration sets (``conf/fit/``) or
    that are derived from other years (see each scenario). Behaviour is shared by years."""

    gifts: float = 1.0  # x every day's base gifts
    gift_size_shift: float = 0.0  # added to population.gift_size.mu (log yuan)
    theme_gifts: float = 1.0  # x the theme day's base gifts, on top of ``gifts``
    theme_size_shift: float = 0.0  # added on the theme day, on top of ``gift_size_shift``
    flower_acts: float = 1.0  # x step donations and friend helps (volumes assumed)


@dataclass
class ReportedFigure:
    value: float | None = MISSING  # null: not reported (the model predicts it)
    unit: str = MISSING
    source: str = MISSING
    role: str = "not_fitted"
    note: str = ""


@dataclass
class ResponseConfig:
    """How donors respond to the match they can expect (sim.model.response); the values and
    their sources are in conf/scenario/common/behaviour.yaml."""

    reference_gift_yuan: float = MISSING  # the gift a donor weighs a rule's match against
    half_response_match: float = MISSING  # the expected match (share of a gift) of half lift
    steepness: float = MISSING  # how sharply the lift rises around it
    presence_match: float = MISSING  # the expected match of half the effect on when and where
    risk_weight: float = MISSING  # a random match of odds p counts p**risk_weight as certain
    post_event_certainty: float = MISSING  # an estimate of a match paid after the window
    pull_strength: float = (
        MISSING  # how strongly a live match pulls intents due before the next opening
    )
    attention_minutes: float = MISSING  # how fast the attention an opening draws decays
    attention_floor: float = MISSING  # attention a minute while a match is live, after it
    wait_share: float = MISSING  # of the intents due before an anticipated opening, waiting
    wait_minutes: float = MISSING  # how long before an opening intents wait for it
    loss_share: float = MISSING  # of the waiting intents whose match is gone, not given
    # a group's timing x its stake (expected gift relative to its segment's) ** this
    stake_elasticity: float = MISSING
    estimate_minutes: int = 60  # how often a post-event rule's estimate is published
    display_minutes: int = 5  # how often the listings show a pool or budget that ran out
    lift_scale: float = 1.0  # x every segment's lift (the behavioural ensemble's prior)
    attraction_scale: float = 1.0  # x every segment's match_attraction (likewise)


@dataclass
class ScenarioConfig:
    name: str = MISSING
    year: int = MISSING
    campaign_start: str = MISSING
    campaign_end: str = MISSING
    days: list[DayConfig] = field(default_factory=list)
    # hourly weights of a day's activity (00h..23h), one list for each day kind
    intraday_profiles: dict[str, list[float]] = field(default_factory=dict)
    response: ResponseConfig = field(default_factory=ResponseConfig)
    foundation_pools: list[PoolConfig] = field(default_factory=list)
    enterprise: EnterpriseConfig = field(default_factory=EnterpriseConfig)
    flowers: FlowerConfig = field(default_factory=FlowerConfig)
    theme_day_until: str | None = None  # the theme-day figures are reported up to this time
    opening_at: str | None = None  # an opening measured minute by minute is reported from here
    last_morning_at: str | None = None  # the share of money in by then is reported
    levels: LevelsConfig = field(default_factory=LevelsConfig)
    # the year's donor base and project count (population.donors and
    # population.projects.count, when set, take their place)
    donors: int = MISSING
    projects: int = MISSING
    # how the fitted values were fitted (python -m sim.studies.calibrate writes it with them)
    calibration: dict[str, Any] = field(default_factory=dict)
    reported: dict[str, ReportedFigure] = field(default_factory=dict)


@dataclass
class OutputConfig:
    figures: bool = True
    record_gifts: bool = False  # the per-gift ledger, written in chunks to gifts.parquet
    progress: bool = True
    # A job whose directory already holds a complete run of the identical config is not
    # run again (so an interrupted sweep, run again into the same sweep dir, resumes).
    resume: bool = True


@dataclass
class PerturbConfig:
    """One numeric parameter multiplied by ``factor`` (the report's sensitivity sweep:
    ``perturb.key=scenario.response.pull_strength perturb.factor=1.2``). ``base`` records the value
    before, and marks the change as made."""

    key: str | None = None
    factor: float = 1.0
    base: float | None = None


@dataclass
class EnsembleConfig:
    """A job of the behavioural ensemble (``experiment=ensemble``): the number of its
    parameter draw (its values are the job's other overrides, sim.studies.ensemble)."""

    draw: int | None = None


@dataclass
class SimConfig:
    seed: int = 2021
    scale: float = 1.0
    check: bool = False  # a dry run: validate everything and say what would run, no simulation
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    gaming: GamingConfig = field(default_factory=GamingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    perturb: PerturbConfig = field(default_factory=PerturbConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)


def register_configs() -> None:
    """Register the schemas so the YAML files can name them in their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="sim_schema", node=SimConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="policy", name="policy_schema", node=PolicyConfig)
    cs.store(group="population", name="population_schema", node=PopulationConfig)
    cs.store(group="gaming", name="gaming_schema", node=GamingConfig)


def config_text(cfg: SimConfig) -> str:
    """``cfg`` as the YAML text ``OmegaConf.to_yaml(OmegaConf.structured(cfg))`` gives
    (what a run writes to ``config.yaml`` and compares to resume), made from the dataclasses
    directly: 0.02 s against 0.10 s a run (measured 2026-12-06), OmegaConf's typed nodes
    being made for every value only to be read back. An int where the schema says float
    is written as a float, as OmegaConf converts it. ``tests/unit/test_config.py`` holds the
    two texts equal."""
    import yaml
    from omegaconf._utils import get_omega_conf_dumper

    return yaml.dump(
        _plain(cfg, type(cfg)),
        default_flow_style=False,
        allow_unicode=True,
        sort_keys=False,
        Dumper=get_omega_conf_dumper(),
    )


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain(value: Any, tp: Any) -> Any:
    """``value`` (of the annotated type ``tp``) as plain dicts, lists and scalars."""
    if is_dataclass(value) and not isinstance(value, type):
        hints = _field_types(value.__class__)
        return {f.name: _plain(getattr(value, f.name), hints[f.name]) for f in fields(value)}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is types.UnionType or origin is typing.Union:  # X | None
        inner = [a for a in args if a is not type(None)]
        return _plain(value, inner[0] if len(inner) == 1 else Any)
    if isinstance(value, dict):
        item = args[1] if origin is dict and len(args) == 2 else Any
        return {k: _plain(v, item) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        item = args[0] if origin is list and args else Any
        return [_plain(v, item) for v in value]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
