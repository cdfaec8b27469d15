"""Structured-config schemas and the checks that run before any simulation work.

The YAML files under ``conf/`` hold the values; the dataclasses here give them types, so a
misspelt key fails when Hydra composes the config. :func:`validate` then checks the values
(ranges, names that must refer to each other, times inside the campaign) and raises
:class:`ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, OmegaConf


class ConfigError(ValueError):
    """A configuration value that cannot be simulated; the message names the key."""


# --------------------------------------------------------------------------- schemas


@dataclass
class SegmentConfig:
    """A class of donors that share engagement and how they respond to matching."""

    name: str = MISSING
    share: float = MISSING  # share of the donor population
    rate: float = MISSING  # relative number of gifts per member
    match_response: float = MISSING  # relative weight in the gifts that matching adds
    match_attraction: float = MISSING  # beta: a matched project is (1 + beta)x as likely
    size_shift: float = 0.0  # added to the log gift size of members


@dataclass
class GiftSizeConfig:
    mu: float = MISSING  # log-yuan location of an ordinary gift
    sigma: float = MISSING  # spread of one donor's gifts (log scale)
    donor_sigma: float = MISSING  # spread of donors' own levels (log scale)
    one_yuan_share: float = MISSING  # share of gifts that are 1-yuan friend-help gifts
    max_yuan: int = 200_000


@dataclass
class ProjectsConfig:
    count: int = MISSING
    organisations: int = MISSING
    org_reach_sigma: float = MISSING  # lognormal spread of organisations' reach
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
class PopulationConfig:
    name: str = MISSING
    donors: int = MISSING
    segments: list[SegmentConfig] = field(default_factory=list)
    gift_size: GiftSizeConfig = field(default_factory=GiftSizeConfig)
    projects: ProjectsConfig = field(default_factory=ProjectsConfig)
    # years a donor has given before this event: P(tenure >= k) = tenure_q**k, at most 7
    tenure_q: float = 0.5


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
class PolicyConfig:
    name: str = MISSING
    rules: dict[str, RuleConfig] = field(default_factory=dict)
    # the rule of every Foundation pool (the pools' own rule names are then not used)
    foundation: RuleConfig | None = None
    budget: float | None = None  # yuan: the Foundation's pools scaled to this total
    tranches: int = 1  # each Foundation pool released in this many equal, evenly spaced parts
    countermeasures: CounterConfig = field(default_factory=CounterConfig)


@dataclass
class MachineConfig:
    """Machine donors (2017: accounts giving more than 5 times a minute)."""

    accounts: int = 0  # at full scale
    gifts_per_minute: float = 6.0  # each, while a Foundation pool is paying ...
    active_minutes: int = 1  # ... in the first minutes after it opens (0: all the time)
    gift_yuan: float = 1.0
    detect_probability: float = 0.0  # per gift, by the platform's risk control


@dataclass
class RingConfig:
    """套捐 rings: an organisation pays back small gifts from many identities."""

    count: int = 0  # rings (organisations) at full scale
    identities: int = 200  # per ring
    gifts_per_day: float = 5.0  # each identity, spread over the paying hours
    gift_yuan: float = 5.0
    detect_probability: float = 0.0  # per gift


@dataclass
class GamingConfig:
    name: str = "none"
    machines: MachineConfig = field(default_factory=MachineConfig)
    rings: RingConfig = field(default_factory=RingConfig)
    false_positive_probability: float = 0.0  # an honest gift flagged, per gift


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
    burst_gifts_wan: float = 0.0  # gifts drawn by the window opening, in 万
    burst_minutes: float = 20.0  # time constant of the opening burst


@dataclass
class EnterpriseConfig:
    count: int = MISSING
    budget_median_yuan: float = MISSING
    budget_sigma: float = MISSING
    ratios: list[float] = field(default_factory=lambda: [1.0])
    ratio_weights: list[float] = field(default_factory=lambda: [1.0])
    gift_cap_yuan: float | None = None
    projects_per_enterprise: list[int] = field(default_factory=lambda: [1, 1])  # [min, max]
    reach_exponent: float = 0.5
    opens_at: str = MISSING
    closes_at: str = MISSING
    rule: str = "enterprise"


@dataclass
class FlowerConfig:
    per_gift: int = 1
    per_quiz: int = 1
    per_step_donation: int = 1
    per_help: int = 1
    chances_per_help_gift: int = 5
    chances_per_help: int = 1
    max_helps_per_day: int = 30


@dataclass
class LevelsConfig:
    """A year's levels: the per-year inputs that the calibration sets (``conf/fit/``) or
    that are derived from other years (see each scenario). Behaviour is shared by years."""

    gifts: float = 1.0  # x every day's base gifts and every pool's opening burst
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
class ScenarioConfig:
    name: str = MISSING
    year: int = MISSING
    campaign_start: str = MISSING
    campaign_end: str = MISSING
    days: list[DayConfig] = field(default_factory=list)
    intraday_profile: list[float] = field(default_factory=list)
    match_uplift: float = MISSING
    foundation_pools: list[PoolConfig] = field(default_factory=list)
    enterprise: EnterpriseConfig = field(default_factory=EnterpriseConfig)
    flowers: FlowerConfig = field(default_factory=FlowerConfig)
    theme_day_until: str | None = None  # the theme-day figures are reported up to this time
    levels: LevelsConfig = field(default_factory=LevelsConfig)
    # the year's donor base and project landscape (null: the population config's)
    donors: int | None = None
    projects: int | None = None  # organisations scale with it
    # how the fitted values were fitted (python -m sim.calibrate writes it with them)
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
    ``perturb.key=scenario.match_uplift perturb.factor=1.2``). ``base`` records the value
    before, and marks the change as made."""

    key: str | None = None
    factor: float = 1.0
    base: float | None = None


@dataclass
class SimConfig:
    seed: int = 2021
    scale: float = 1.0
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    gaming: GamingConfig = field(default_factory=GamingConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    perturb: PerturbConfig = field(default_factory=PerturbConfig)


def register_configs() -> None:
    """Register the schemas so the YAML files can name them in their defaults lists."""
    cs = ConfigStore.instance()
    cs.store(name="sim_schema", node=SimConfig)
    cs.store(group="scenario", name="scenario_schema", node=ScenarioConfig)
    cs.store(group="policy", name="policy_schema", node=PolicyConfig)
    cs.store(group="population", name="population_schema", node=PopulationConfig)
    cs.store(group="gaming", name="gaming_schema", node=GamingConfig)


# --------------------------------------------------------------------------- checks

DAY_KINDS = ("normal", "theme", "action")
FIGURE_ROLES = ("input", "fitted", "not_fitted")
PROJECT_SETS = ("all", "joint_appeal")


def parse_time(key: str, text: str) -> datetime:
    """An ISO local time ('2021-09-07T10:00'), or a ConfigError naming ``key``."""
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        raise ConfigError(
            f"{key}={text!r} is not an ISO local time; write it like 2021-09-07T10:00"
        ) from None


def _need(cond: bool, key: str, value: Any, allowed: str) -> None:
    if not cond:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


def _check_share(key: str, value: float) -> None:
    _need(0.0 <= value <= 1.0, key, value, "a share between 0 and 1")


def validate(cfg: DictConfig | SimConfig) -> SimConfig:
    """Check every value that the type system cannot, before any work is done.

    Takes the composed config and gives it back as a typed :class:`SimConfig` object.
    Raises :class:`ConfigError` with the offending key and the allowed values.
    """
    from sim.policies import RULE_TYPES  # the policy registry names the allowed rule types

    if not isinstance(cfg, DictConfig) and cfg.perturb.key is not None \
            and cfg.perturb.base is None:
        cfg = OmegaConf.structured(cfg)
    if isinstance(cfg, DictConfig):
        cfg = _perturbed(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ConfigError(f"{missing[0]} has no value; the config must set it")
        obj: SimConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    else:
        obj = cfg
    _need(obj.scale > 0 and obj.scale <= 1.0, "scale", obj.scale, "0 < scale <= 1")
    _need(0 <= obj.seed < 2**63, "seed", obj.seed, "a whole number 0 <= seed < 2**63")

    sc = obj.scenario
    start = parse_time("scenario.campaign_start", sc.campaign_start)
    end = parse_time("scenario.campaign_end", sc.campaign_end)
    _need(end > start, "scenario.campaign_end", sc.campaign_end, "a time after campaign_start")
    for key, t in (("scenario.campaign_start", start), ("scenario.campaign_end", end)):
        _need(t.second == 0 and t.microsecond == 0 and t.hour == 0 and t.minute == 0, key,
              str(t), "midnight (the campaign is made of whole days)")
    n_days = (end - start).days
    _need(len(sc.days) == n_days, "scenario.days", f"{len(sc.days)} days",
          f"one entry per campaign day ({n_days})")
    for i, day in enumerate(sc.days):
        key = f"scenario.days[{i}]"
        try:
            d = date.fromisoformat(day.date)
        except ValueError:
            raise ConfigError(f"{key}.date={day.date!r} is not an ISO date (2021-09-05)") from None
        _need(d == (start + timedelta(days=i)).date(), f"{key}.date", day.date,
              f"{(start + timedelta(days=i)).date()} (days in order from campaign_start)")
        _need(day.kind in DAY_KINDS, f"{key}.kind", day.kind, f"one of {list(DAY_KINDS)}")
        for name in ("base_gifts_wan", "quiz_answers_wan", "step_donations_wan",
                     "friend_helps_wan"):
            v = getattr(day, name)
            _need(v >= 0, f"{key}.{name}", v, "a number >= 0")
    _need(len(sc.intraday_profile) == 24 and all(w >= 0 for w in sc.intraday_profile)
          and sum(sc.intraday_profile) > 0, "scenario.intraday_profile",
          list(sc.intraday_profile), "24 hourly weights >= 0, not all zero")
    _need(sc.match_uplift >= 0, "scenario.match_uplift", sc.match_uplift, "a number >= 0")

    if sc.theme_day_until is not None:
        tu = parse_time("scenario.theme_day_until", sc.theme_day_until)
        themes = [d.date for d in sc.days if d.kind == "theme"]
        _need(len(themes) == 1 and tu.date().isoformat() == themes[0] and start < tu <= end,
              "scenario.theme_day_until", sc.theme_day_until,
              f"a time on the one theme day of the campaign (theme days: {themes})")
    lv = sc.levels
    for name in ("gifts", "theme_gifts", "flower_acts"):
        _need(getattr(lv, name) >= 0, f"scenario.levels.{name}", getattr(lv, name),
              "a multiplier >= 0")
    for name in ("gift_size_shift", "theme_size_shift"):
        _need(abs(getattr(lv, name)) <= 5, f"scenario.levels.{name}", getattr(lv, name),
              "a shift of log yuan between -5 and 5")
    _need(sc.donors is None or sc.donors >= 1, "scenario.donors", sc.donors,
          "a count >= 1, or null for population.donors")
    _need(sc.projects is None or sc.projects >= 1, "scenario.projects", sc.projects,
          "a count >= 1, or null for population.projects.count")
    for k, fig in sc.reported.items():
        _need(fig.role in FIGURE_ROLES, f"scenario.reported.{k}.role", fig.role,
              f"one of {list(FIGURE_ROLES)}")

    pol = obj.policy
    rules = pol.rules
    _need(len(rules) > 0, "policy.rules", {}, "at least one rule")
    named = [(f"policy.rules.{k}", r) for k, r in rules.items()]
    if pol.foundation is not None:
        named.append(("policy.foundation", pol.foundation))
    for key, rule in named:
        _need(rule.type in RULE_TYPES, f"{key}.type", rule.type, f"one of {sorted(RULE_TYPES)}")
        RULE_TYPES[rule.type].check(key, rule)
        _need(rule.projects in PROJECT_SETS, f"{key}.projects", rule.projects,
              f"one of {list(PROJECT_SETS)}")
        _need(rule.min_project_public_yuan >= 0, f"{key}.min_project_public_yuan",
              rule.min_project_public_yuan, "yuan >= 0")
        if rule.projects != "all" or rule.min_project_public_yuan > 0:
            _need(RULE_TYPES[rule.type].post_event, f"{key}.type", rule.type,
                  "a rule allocated at the window's close when projects or "
                  "min_project_public_yuan restrict it: one of "
                  f"{sorted(k for k, c in RULE_TYPES.items() if c.post_event)}")
    _need(pol.budget is None or pol.budget >= 0, "policy.budget", pol.budget,
          "a budget >= 0 yuan, or null for the scenario's")
    _need(1 <= pol.tranches <= 100, "policy.tranches", pol.tranches, "a whole number 1..100")
    cm = pol.countermeasures
    _need(cm.rate_limit_per_minute >= 0, "policy.countermeasures.rate_limit_per_minute",
          cm.rate_limit_per_minute, "gifts a minute >= 0 (0: no limit)")
    _need(cm.freeze_after_detections >= 0, "policy.countermeasures.freeze_after_detections",
          cm.freeze_after_detections, "a count >= 0 (0: never freeze)")
    ent_rule = rules.get(sc.enterprise.rule)
    if sc.enterprise.count > 0 and ent_rule is not None:
        _need(not RULE_TYPES[ent_rule.type].post_event,
              f"policy.rules.{sc.enterprise.rule}.type", ent_rule.type,
              "a rule settled gift by gift (enterprise pools back set projects): one of "
              f"{sorted(k for k, c in RULE_TYPES.items() if not c.post_event)}")

    gm = obj.gaming
    for key, v in (("gaming.machines.active_minutes", gm.machines.active_minutes),
                   ("gaming.machines.accounts", gm.machines.accounts),
                   ("gaming.rings.count", gm.rings.count),
                   ("gaming.rings.identities", gm.rings.identities)):
        _need(v >= 0, key, v, "a count >= 0")
    for key, v in (("gaming.machines.gifts_per_minute", gm.machines.gifts_per_minute),
                   ("gaming.rings.gifts_per_day", gm.rings.gifts_per_day)):
        _need(v >= 0, key, v, "a rate >= 0")
    for key, v in (("gaming.machines.gift_yuan", gm.machines.gift_yuan),
                   ("gaming.rings.gift_yuan", gm.rings.gift_yuan)):
        _need(v >= 1 and float(v).is_integer(), key, v, "whole yuan >= 1")
    for key, v in (("gaming.machines.detect_probability", gm.machines.detect_probability),
                   ("gaming.rings.detect_probability", gm.rings.detect_probability),
                   ("gaming.false_positive_probability", gm.false_positive_probability)):
        _check_share(key, v)

    names = set()
    for i, pool in enumerate(sc.foundation_pools):
        key = f"scenario.foundation_pools[{i}]"
        _need(pool.name not in names, f"{key}.name", pool.name, "a name no other pool has")
        names.add(pool.name)
        _check_window(key, pool.opens_at, pool.closes_at, start, end)
        _need(pool.budget_yuan >= 0, f"{key}.budget_yuan", pool.budget_yuan,
              "a budget >= 0 yuan")
        _need(pool.rule in rules, f"{key}.rule", pool.rule,
              f"a rule of the policy: one of {sorted(rules)}")
        _need(pool.burst_gifts_wan >= 0, f"{key}.burst_gifts_wan", pool.burst_gifts_wan, ">= 0")
        _need(pool.burst_minutes > 0, f"{key}.burst_minutes", pool.burst_minutes, "> 0")

    ent = sc.enterprise
    _need(ent.count >= 0, "scenario.enterprise.count", ent.count, "a count >= 0")
    _need(ent.budget_median_yuan >= 0, "scenario.enterprise.budget_median_yuan",
          ent.budget_median_yuan, "a budget >= 0 yuan")
    _need(ent.budget_sigma >= 0, "scenario.enterprise.budget_sigma", ent.budget_sigma, ">= 0")
    _need(len(ent.ratios) == len(ent.ratio_weights) and len(ent.ratios) > 0
          and all(r >= 0 for r in ent.ratios) and all(w >= 0 for w in ent.ratio_weights)
          and sum(ent.ratio_weights) > 0, "scenario.enterprise.ratios",
          list(ent.ratios), "ratios >= 0 with as many weights >= 0 (ratio_weights)")
    ppe = list(ent.projects_per_enterprise)
    _need(len(ppe) == 2 and 1 <= ppe[0] <= ppe[1] <= 1000,
          "scenario.enterprise.projects_per_enterprise", ppe, "[min, max] with 1 <= min <= max <= 1000")
    if ent.count > 0:
        _check_window("scenario.enterprise", ent.opens_at, ent.closes_at, start, end)
        _need(ent.rule in rules, "scenario.enterprise.rule", ent.rule,
              f"a rule of the policy: one of {sorted(rules)}")

    fl = sc.flowers
    for name in ("per_gift", "per_quiz", "per_step_donation", "per_help",
                 "chances_per_help_gift", "chances_per_help", "max_helps_per_day"):
        v = getattr(fl, name)
        _need(0 <= v <= 1000, f"scenario.flowers.{name}", v, "a whole number from 0 to 1000")
    # a donor record keeps today's helps in 8 bits and chances in 16 (sim.donors)
    _need(fl.max_helps_per_day <= 127, "scenario.flowers.max_helps_per_day",
          fl.max_helps_per_day, "a whole number from 0 to 127")
    most = fl.max_helps_per_day * max(fl.chances_per_help, fl.chances_per_help_gift)
    _need(most <= 32767, "scenario.flowers.chances_per_help_gift", fl.chances_per_help_gift,
          "at most 32767 chances a day: max_helps_per_day x the larger of chances_per_help "
          f"and chances_per_help_gift, here {most}")

    pop = obj.population
    _need(pop.donors >= 1, "population.donors", pop.donors, "a count >= 1")
    _need(len(pop.segments) > 0, "population.segments", [], "at least one segment")
    for i, seg in enumerate(pop.segments):
        key = f"population.segments[{i}]"
        _need(seg.share > 0, f"{key}.share", seg.share, "> 0")
        _need(seg.rate >= 0, f"{key}.rate", seg.rate, ">= 0")
        _need(seg.match_response >= 0, f"{key}.match_response", seg.match_response, ">= 0")
        _need(seg.match_attraction > -1, f"{key}.match_attraction", seg.match_attraction,
              "> -1 (a matched project can be less attractive, never impossible)")
    _need(abs(sum(s.share for s in pop.segments) - 1) < 1e-6, "population.segments[].share",
          [s.share for s in pop.segments], "shares that add up to 1")
    gs = pop.gift_size
    _need(gs.sigma >= 0, "population.gift_size.sigma", gs.sigma, ">= 0")
    _need(gs.donor_sigma >= 0, "population.gift_size.donor_sigma", gs.donor_sigma, ">= 0")
    _check_share("population.gift_size.one_yuan_share", gs.one_yuan_share)
    _need(gs.max_yuan >= 1, "population.gift_size.max_yuan", gs.max_yuan, ">= 1")
    pr = pop.projects
    _need(pr.organisations >= 1, "population.projects.organisations", pr.organisations, ">= 1")
    _need(pr.count >= pr.organisations, "population.projects.count", pr.count,
          f">= the number of organisations ({pr.organisations})")
    _need(pr.org_reach_sigma >= 0, "population.projects.org_reach_sigma", pr.org_reach_sigma,
          ">= 0")
    _need(pr.project_share_concentration > 0, "population.projects.project_share_concentration",
          pr.project_share_concentration, "> 0")
    _need(len(pr.categories) > 0 and all(v >= 0 for v in pr.categories.values())
          and sum(pr.categories.values()) > 0, "population.projects.categories",
          dict(pr.categories), "shares >= 0, not all zero")
    _check_share("population.projects.less_developed_share", pr.less_developed_share)
    _check_share("population.projects.small_org_share", pr.small_org_share)
    _check_share("population.projects.joint_appeal_share", pr.joint_appeal_share)
    _need(pr.goal_median_yuan > 0, "population.projects.goal_median_yuan", pr.goal_median_yuan,
          "> 0 yuan")
    _need(pr.goal_sigma >= 0, "population.projects.goal_sigma", pr.goal_sigma, ">= 0")
    _need(0 <= pop.tenure_q < 1, "population.tenure_q", pop.tenure_q, "0 <= tenure_q < 1")
    return obj


def _perturbed(cfg: DictConfig) -> DictConfig:
    """``cfg`` with ``perturb.key`` multiplied by ``perturb.factor`` (a copy), once."""
    pt = cfg.get("perturb")
    if pt is None or pt.get("key") is None or pt.get("base") is not None:
        return cfg
    key = pt.key
    v = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    _need(not key.startswith("perturb") and isinstance(v, int | float)
          and not isinstance(v, bool), "perturb.key", key,
          "the dotted key of a numeric value of the config, e.g. scenario.match_uplift")
    _need(pt.factor >= 0, "perturb.factor", pt.factor, "a factor >= 0")
    cfg = cfg.copy()
    new = v * pt.factor
    OmegaConf.update(cfg, key, round(new) if isinstance(v, int) else float(new))
    cfg.perturb.base = float(v)
    return cfg


def year_population(cfg: SimConfig) -> PopulationConfig:
    """The population with the scenario's donor base and project count put in (the
    organisations scale with the projects)."""
    import copy

    pop = copy.deepcopy(cfg.population)
    sc = cfg.scenario
    if sc.donors is not None:
        pop.donors = sc.donors
    if sc.projects is not None:
        pr = pop.projects
        pr.organisations = max(1, round(pr.organisations * sc.projects / pr.count))
        pr.count = sc.projects
    return pop


def _check_window(key: str, opens: str, closes: str, start: datetime, end: datetime) -> None:
    o = parse_time(f"{key}.opens_at", opens)
    c = parse_time(f"{key}.closes_at", closes)
    for k, t in ((f"{key}.opens_at", o), (f"{key}.closes_at", c)):
        _need(t.second == 0 and t.microsecond == 0, k, str(t), "a time on the whole minute")
    _need(start <= o < end, f"{key}.opens_at", opens,
          f"a time inside the campaign [{start.isoformat()}, {end.isoformat()})")
    _need(o < c <= end, f"{key}.closes_at", closes,
          f"a time after opens_at and no later than the campaign's end {end.isoformat()}")
