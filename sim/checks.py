"""The checks that run before any simulation work: one function a section of the config.

:func:`validate` takes the composed config (or a typed one), applies a sensitivity
perturbation if one is asked for, and checks every value the type system cannot: ranges,
names that must refer to each other, times inside the campaign. Each ``check_*`` function
checks one section and raises :class:`~sim.schema.ConfigError` naming the key and what is
allowed. :func:`year_population` gives the population a year's run builds;
:func:`composition_error` says what is wrong with a command line Hydra could not compose.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, ValidationError

from sim.codes import MAX_GIFT_YUAN, MAX_MONEY_YUAN
from sim.policies import RULE_TYPES
from sim.schema import (
    CONF_DIR,
    ConfigError,
    FlowerConfig,
    GamingConfig,
    PolicyConfig,
    PopulationConfig,
    ResponseConfig,
    ScenarioConfig,
    SimConfig,
    parse_time,
)

DAY_KINDS = ("normal", "theme", "action")
FIGURE_ROLES = ("input", "fitted", "not_fitted")
PROJECT_SETS = ("all", "joint_appeal")
MACHINE_TIMINGS = ("traffic", "openings")
# the largest scenario.response.stake_elasticity allowed (the calibrator's bound too)
STAKE_ELASTICITY_MAX = 5.0


def need(cond: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a ConfigError naming ``key``, its ``value`` and what is ``allowed``, unless
    ``cond`` holds."""
    if not cond:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


def _check_share(key: str, value: float) -> None:
    need(0.0 <= value <= 1.0, key, value, "a share between 0 and 1")


def validate(cfg: DictConfig | SimConfig) -> SimConfig:
    """Check every value that the type system cannot, before any work is done.

    Takes the composed config and gives it back as a typed :class:`SimConfig` object.
    Raises :class:`ConfigError` with the offending key and the allowed values.
    """
    if not isinstance(cfg, DictConfig) and cfg.perturb.key is not None and cfg.perturb.base is None:
        cfg = OmegaConf.structured(cfg)
    if isinstance(cfg, DictConfig):
        check_known_keys(cfg)
        cfg = _perturbed(cfg)
        missing = sorted(OmegaConf.missing_keys(cfg))
        if missing:
            raise ConfigError(f"{missing[0]} has no value; the config must set it")
        obj: SimConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    else:
        obj = cfg
    check_finite(obj, "")
    check_run(obj)
    start, end = check_calendar(obj.scenario)
    check_levels_and_figures(obj.scenario)
    check_policy(obj.policy, obj.scenario)
    check_gaming(obj.gaming)
    check_foundation_pools(obj.scenario, obj.policy, start, end)
    check_enterprise(obj.scenario, obj.policy, start, end)
    check_flowers(obj.scenario.flowers)
    check_population(obj.population)
    check_year_population(obj)
    check_run_size(obj)
    return obj


def _nearest(name: str, allowed: list[str]) -> str:
    """`` (did you mean X?)`` for the allowed name nearest ``name``, or nothing."""
    near = difflib.get_close_matches(name, allowed, n=1)
    return f" (did you mean {near[0]}?)" if near else ""


def composition_error(exc: BaseException) -> str | None:
    """The message for a command line Hydra could not compose, naming the key and what is
    allowed (None for any other error): a key the schema does not have (with the nearest
    setting), a value its type refuses, an option a config group of ``conf/`` does not
    have."""
    if isinstance(exc, MissingConfigException):
        m = re.search(r"Could not find '([\w/]+)/([^'/]+)'", str(exc))
        folder = Path(CONF_DIR) / m.group(1) if m else None
        if m is None or folder is None or not folder.is_dir():
            return str(exc)  # Hydra's own groups (hydra/launcher, ...): its message lists them
        options = sorted(f.stem for f in folder.glob("*.yaml"))
        hint = _nearest(m.group(2), options)
        return f"{m.group(1)}={m.group(2)} is not an option{hint}; the options are {options}"
    cause = exc.__cause__ or exc.__context__  # Hydra raises it inside an except: as context
    if not isinstance(exc, ConfigCompositionException) or cause is None:
        return None
    key = getattr(cause, "full_key", None) or "the override"
    if isinstance(cause, ConfigKeyError | ConfigAttributeError):  # a key not in the schema
        kind = getattr(cause, "object_type", None)
        parent = getattr(cause, "parent_node", None)
        if kind is not None and dataclasses.is_dataclass(kind):
            allowed = sorted(f.name for f in dataclasses.fields(kind))
        elif isinstance(parent, DictConfig):
            allowed = sorted(str(k) for k in parent.keys())
        else:
            return None
        hint = _nearest(str(getattr(cause, "key", key.rsplit(".", 1)[-1])), allowed)
        where = key.rsplit(".", 1)[0] if "." in key else "the config"
        return f"{key} is not a setting of the config{hint}; the settings of {where} are {allowed}"
    if isinstance(cause, ValidationError):
        return f"{key}: {str(cause).splitlines()[0]}"
    return None


def check_known_keys(cfg: DictConfig) -> None:
    """Every key of the composed config is one the schema has: a key added with ``+`` or
    ``++`` (or by a config file) that no part of the model reads is an error naming it, not
    a setting silently dropped."""
    unknown = _unknown_keys(cfg, "")
    if not unknown:
        return
    key, allowed = unknown[0]
    hint = _nearest(key.rsplit(".", 1)[-1], allowed)
    parent = key.rsplit(".", 1)[0] if "." in key else "the config"
    raise ConfigError(
        f"{key} is not a setting of the config{hint}: no part of the model reads it; the "
        f"settings of {parent} are {sorted(allowed)}"
    )


def _unknown_keys(node: DictConfig | ListConfig, path: str) -> list[tuple[str, list[str]]]:
    """The keys under ``node`` that its dataclass schema does not have, with the allowed
    ones; dict-typed nodes (rules by name, reported figures) take any key and are checked
    below it. Interpolations (a year's rule aliases) are checked where they point."""
    out: list[tuple[str, list[str]]] = []
    if isinstance(node, ListConfig):
        for i in range(len(node)):
            child = node._get_node(i)
            if isinstance(child, DictConfig | ListConfig):
                out += _unknown_keys(child, f"{path}[{i}]")
        return out
    kind = OmegaConf.get_type(node)
    allowed = [f.name for f in dataclasses.fields(kind)] if dataclasses.is_dataclass(kind) else None
    for key in node.keys():
        name = f"{path}.{key!s}" if path else str(key)
        if allowed is not None and key not in allowed:
            out.append((name, allowed))
            continue
        child = node._get_node(key)
        if isinstance(child, DictConfig | ListConfig) and not child._is_interpolation():
            out += _unknown_keys(child, name)
    return out


def check_finite(node: Any, path: str) -> None:
    """Every number of the config is finite: an infinite or NaN value (``=inf``, ``=nan``)
    passes a range check such as ``x >= 0`` or none at all, and would run as a campaign of
    zeros or of overflowing sums (the rules' money is checked in fen below)."""
    if isinstance(node, float):
        need(math.isfinite(node), path, node, "a finite number")
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            check_finite(getattr(node, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(node, dict):
        for k, v in node.items():
            check_finite(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list | tuple):
        for i, v in enumerate(node):
            check_finite(v, f"{path}[{i}]")


def check_run(obj: SimConfig) -> None:
    """The run's scale and seed."""
    need(obj.scale > 0 and obj.scale <= 1.0, "scale", obj.scale, "0 < scale <= 1")
    need(0 <= obj.seed < 2**63, "seed", obj.seed, "a whole number 0 <= seed < 2**63")


def expected_gifts(obj: SimConfig) -> float:
    """The ordinary gifts a run expects (each day's base gifts at the year's levels, times
    the scale), before matching adds any."""
    lv = obj.scenario.levels
    per_day = [
        d.base_gifts_wan * 1e4 * lv.gifts * (lv.theme_gifts if d.kind == "theme" else 1)
        for d in obj.scenario.days
    ]
    return sum(per_day) * obj.scale


def check_run_size(obj: SimConfig) -> None:
    """A run expects at least one gift: a scale so small that none would be drawn is an
    error, not a run of zeros."""
    n = expected_gifts(obj)
    if n < 1:
        least = obj.scale / n if n > 0 else float("inf")
        need(
            False,
            "scale",
            obj.scale,
            f"a scale at which the run expects a gift (here {n:.3g} expected gifts; at "
            f"least {least:.2g} for one)",
        )


def check_calendar(sc: ScenarioConfig) -> tuple[datetime, datetime]:
    """The campaign's whole days in order, their kinds and volumes, the intraday profile
    and the response; returns the campaign's start and end."""
    start = parse_time("scenario.campaign_start", sc.campaign_start)
    end = parse_time("scenario.campaign_end", sc.campaign_end)
    need(end > start, "scenario.campaign_end", sc.campaign_end, "a time after campaign_start")
    for key, t in (("scenario.campaign_start", start), ("scenario.campaign_end", end)):
        need(
            t.second == 0 and t.microsecond == 0 and t.hour == 0 and t.minute == 0,
            key,
            str(t),
            "midnight (the campaign is made of whole days)",
        )
    n_days = (end - start).days
    need(
        len(sc.days) == n_days,
        "scenario.days",
        f"{len(sc.days)} days",
        f"one entry per campaign day ({n_days})",
    )
    for i, day in enumerate(sc.days):
        key = f"scenario.days[{i}]"
        try:
            d = date.fromisoformat(day.date)
        except ValueError:
            raise ConfigError(f"{key}.date={day.date!r} is not an ISO date (2021-09-05)") from None
        need(
            d == (start + timedelta(days=i)).date(),
            f"{key}.date",
            day.date,
            f"{(start + timedelta(days=i)).date()} (days in order from campaign_start)",
        )
        need(day.kind in DAY_KINDS, f"{key}.kind", day.kind, f"one of {list(DAY_KINDS)}")
        for name in (
            "base_gifts_wan",
            "quiz_answers_wan",
            "step_donations_wan",
            "friend_helps_wan",
        ):
            v = getattr(day, name)
            need(v >= 0, f"{key}.{name}", v, "a number >= 0")
    for kind, profile in sc.intraday_profiles.items():
        need(
            kind in DAY_KINDS,
            f"scenario.intraday_profiles.{kind}",
            kind,
            f"a day kind: one of {list(DAY_KINDS)}",
        )
        need(
            len(profile) == 24 and all(w >= 0 for w in profile) and sum(profile) > 0,
            f"scenario.intraday_profiles.{kind}",
            list(profile),
            "24 hourly weights >= 0, not all zero",
        )
    for kind in sorted({day.kind for day in sc.days}):
        need(
            kind in sc.intraday_profiles,
            "scenario.intraday_profiles",
            sorted(sc.intraday_profiles),
            f"a profile for every day kind of the campaign (a {kind!r} day has none)",
        )
    check_response(sc.response)
    for key, when in (
        ("scenario.opening_at", sc.opening_at),
        ("scenario.last_morning_at", sc.last_morning_at),
    ):
        if when is not None:
            t = parse_time(key, when)
            need(
                start <= t < end,
                key,
                when,
                f"a time inside the campaign [{start.isoformat()}, {end.isoformat()})",
            )
    if sc.theme_day_until is not None:
        tu = parse_time("scenario.theme_day_until", sc.theme_day_until)
        themes = [d.date for d in sc.days if d.kind == "theme"]
        need(
            len(themes) == 1 and tu.date().isoformat() == themes[0] and start < tu <= end,
            "scenario.theme_day_until",
            sc.theme_day_until,
            f"a time on the one theme day of the campaign (theme days: {themes})",
        )
    return start, end


def check_response(r: ResponseConfig) -> None:
    """How donors respond to the match (sim.model.response)."""
    key = "scenario.response"
    need(
        1 <= r.reference_gift_yuan <= MAX_GIFT_YUAN,
        f"{key}.reference_gift_yuan",
        r.reference_gift_yuan,
        f"yuan from 1 to {MAX_GIFT_YUAN:,}",
    )
    need(
        0 < r.half_response_match <= 10,
        f"{key}.half_response_match",
        r.half_response_match,
        "a share of the gift in (0, 10]",
    )
    need(0 < r.steepness <= 20, f"{key}.steepness", r.steepness, "in (0, 20]")
    need(
        0 < r.presence_match <= 10,
        f"{key}.presence_match",
        r.presence_match,
        "a share of the gift in (0, 10]",
    )
    need(
        0 <= r.pull_strength <= 10,
        f"{key}.pull_strength",
        r.pull_strength,
        "from 0 to 10 (the pull hazard is capped at 1 a minute anyway)",
    )
    for name in (
        "risk_weight",
        "post_event_certainty",
        "wait_share",
        "loss_share",
    ):
        _check_share(f"{key}.{name}", getattr(r, name))
    need(
        0 <= r.stake_elasticity <= STAKE_ELASTICITY_MAX,
        f"{key}.stake_elasticity",
        r.stake_elasticity,
        f"an elasticity from 0 to {STAKE_ELASTICITY_MAX:g}",
    )
    need(r.attention_minutes >= 1, f"{key}.attention_minutes", r.attention_minutes, "minutes >= 1")
    need(
        0 <= r.attention_floor <= 0.1,
        f"{key}.attention_floor",
        r.attention_floor,
        "a hazard a minute from 0 to 0.1",
    )
    need(r.wait_minutes >= 0, f"{key}.wait_minutes", r.wait_minutes, "minutes >= 0")
    for name in ("lift_scale", "attraction_scale"):
        need(0 <= getattr(r, name) <= 10, f"{key}.{name}", getattr(r, name), "from 0 to 10")
    need(r.estimate_minutes >= 1, f"{key}.estimate_minutes", r.estimate_minutes, "minutes >= 1")
    need(r.display_minutes >= 1, f"{key}.display_minutes", r.display_minutes, "minutes >= 1")


def check_levels_and_figures(sc: ScenarioConfig) -> None:
    """The year's levels, its donor base and project count, and its reported figures."""
    lv = sc.levels
    for name in ("gifts", "theme_gifts", "flower_acts"):
        need(
            getattr(lv, name) >= 0,
            f"scenario.levels.{name}",
            getattr(lv, name),
            "a multiplier >= 0",
        )
    for name in ("gift_size_shift", "theme_size_shift"):
        need(
            abs(getattr(lv, name)) <= 5,
            f"scenario.levels.{name}",
            getattr(lv, name),
            "a shift of log yuan between -5 and 5",
        )
    need(sc.donors >= 1, "scenario.donors", sc.donors, "a count >= 1")
    need(sc.projects >= 1, "scenario.projects", sc.projects, "a count >= 1")
    _check_roles("scenario.reported", sc.reported)


def _check_roles(key: str, reported: dict) -> None:
    """Each reported figure's role is one the report knows."""
    for k, fig in reported.items():
        need(fig.role in FIGURE_ROLES, f"{key}.{k}.role", fig.role, f"one of {list(FIGURE_ROLES)}")


def check_policy(pol: PolicyConfig, sc: ScenarioConfig) -> None:
    """Every rule of the policy (its type and the type's own parameters), the budget, the
    tranches and the counter-measures."""
    rules = pol.rules
    need(len(rules) > 0, "policy.rules", {}, "at least one rule")
    named = [(f"policy.rules.{k}", r) for k, r in rules.items()]
    if pol.foundation is not None:
        named.append(("policy.foundation", pol.foundation))
    post = sorted(k for k, c in RULE_TYPES.items() if c.post_event)
    for key, rule in named:
        need(rule.type in RULE_TYPES, f"{key}.type", rule.type, f"one of {sorted(RULE_TYPES)}")
        RULE_TYPES[rule.type].check(key, rule)
        need(
            rule.projects in PROJECT_SETS,
            f"{key}.projects",
            rule.projects,
            f"one of {list(PROJECT_SETS)}",
        )
        need(
            rule.min_project_public_yuan >= 0,
            f"{key}.min_project_public_yuan",
            rule.min_project_public_yuan,
            "yuan >= 0",
        )
        if rule.projects != "all" or rule.min_project_public_yuan > 0:
            need(
                RULE_TYPES[rule.type].post_event,
                f"{key}.type",
                rule.type,
                "a rule allocated at the window's close when projects or "
                f"min_project_public_yuan restrict it: one of {post}",
            )
    need(
        pol.budget is None or 0 <= pol.budget <= MAX_MONEY_YUAN,
        "policy.budget",
        pol.budget,
        f"a budget from 0 to {MAX_MONEY_YUAN:.0e} yuan, or null for the scenario's",
    )
    need(1 <= pol.tranches <= 100, "policy.tranches", pol.tranches, "a whole number 1..100")
    need(
        0.0 < pol.tranche_span <= 1.0,
        "policy.tranche_span",
        pol.tranche_span,
        "a share of each pool's window over which its tranches open, above 0 and at most 1",
    )
    if pol.action_share is not None:
        _check_share("policy.action_share", pol.action_share)
        kinds = {p.rule == "action" for p in sc.foundation_pools}
        need(
            kinds == {True, False},
            "policy.action_share",
            pol.action_share,
            f"null for scenario {sc.name}: it needs both action-day pools (rule action) and "
            "others to split between",
        )
    cm = pol.countermeasures
    need(
        cm.rate_limit_per_minute >= 0,
        "policy.countermeasures.rate_limit_per_minute",
        cm.rate_limit_per_minute,
        "gifts a minute >= 0 (0: no limit)",
    )
    need(
        cm.freeze_after_detections >= 0,
        "policy.countermeasures.freeze_after_detections",
        cm.freeze_after_detections,
        "a count >= 0 (0: never freeze)",
    )
    pc = pol.pacing
    need(1 <= pc.minutes <= 1440, "policy.pacing.minutes", pc.minutes, "whole minutes 1..1440")
    need(0 < pc.gain <= 2, "policy.pacing.gain", pc.gain, "a power in (0, 2]")
    need(
        0 <= pc.hold_minutes <= 1440,
        "policy.pacing.hold_minutes",
        pc.hold_minutes,
        "whole minutes 0..1440",
    )
    need(
        1 <= pc.lookback_minutes <= 1440,
        "policy.pacing.lookback_minutes",
        pc.lookback_minutes,
        "whole minutes 1..1440",
    )
    need(1 < pc.max_step <= 100, "policy.pacing.max_step", pc.max_step, "a factor in (1, 100]")
    need(1 < pc.max_cut <= 100, "policy.pacing.max_cut", pc.max_cut, "a factor in (1, 100]")
    need(
        0 < pc.min_intensity <= 1 <= pc.max_intensity <= 1000,
        "policy.pacing.min_intensity/max_intensity",
        [pc.min_intensity, pc.max_intensity],
        "0 < min_intensity <= 1 <= max_intensity <= 1000 (x the rule's published match)",
    )
    ent_rule = rules.get(sc.enterprise.rule)
    if sc.enterprise.count > 0 and ent_rule is not None:
        need(
            not RULE_TYPES[ent_rule.type].post_event,
            f"policy.rules.{sc.enterprise.rule}.type",
            ent_rule.type,
            "a rule settled gift by gift (enterprise pools back set projects): one of "
            f"{sorted(k for k, c in RULE_TYPES.items() if not c.post_event)}",
        )


def check_gaming(gm: GamingConfig) -> None:
    """Machine donors and 套捐 rings: counts, rates, gift sizes and detection odds, and the
    roles of the figures published about them."""
    _check_roles("gaming.reported", gm.reported)
    for key, v in (
        ("gaming.machines.accounts", gm.machines.accounts),
        ("gaming.machines.hirers", gm.machines.hirers),
        ("gaming.rings.count", gm.rings.count),
        ("gaming.rings.identities", gm.rings.identities),
    ):
        need(v >= 0, key, v, "a count >= 0")
    for key, x in (
        ("gaming.rings.gifts_per_day", gm.rings.gifts_per_day),
        ("gaming.rings.reimbursement_budget_yuan", gm.rings.reimbursement_budget_yuan),
    ):
        need(x >= 0, key, x, "a rate >= 0")
    need(
        1 <= gm.machines.gifts_per_account <= 1000,
        "gaming.machines.gifts_per_account",
        gm.machines.gifts_per_account,
        "a mean burst from 1 to 1000 gifts",
    )
    need(
        gm.machines.timing in MACHINE_TIMINGS,
        "gaming.machines.timing",
        gm.machines.timing,
        f"one of {list(MACHINE_TIMINGS)}",
    )
    for key, x in (
        ("gaming.machines.gift_yuan", gm.machines.gift_yuan),
        ("gaming.rings.gift_yuan", gm.rings.gift_yuan),
    ):
        need(
            1 <= x <= MAX_GIFT_YUAN and float(x).is_integer(),
            key,
            x,
            f"whole yuan from 1 to {MAX_GIFT_YUAN:,}",
        )
    for key, x in (
        ("gaming.machines.detect_probability", gm.machines.detect_probability),
        ("gaming.rings.detect_probability", gm.rings.detect_probability),
        ("gaming.false_positive_probability", gm.false_positive_probability),
    ):
        _check_share(key, x)


def check_foundation_pools(
    sc: ScenarioConfig, pol: PolicyConfig, start: datetime, end: datetime
) -> None:
    """The Foundation's pools: distinct names, windows inside the campaign, budgets, the
    rule each names."""
    names = set()
    for i, pool in enumerate(sc.foundation_pools):
        key = f"scenario.foundation_pools[{i}]"
        need(pool.name not in names, f"{key}.name", pool.name, "a name no other pool has")
        names.add(pool.name)
        _check_window(key, pool.opens_at, pool.closes_at, start, end)
        need(
            0 <= pool.budget_yuan <= MAX_MONEY_YUAN,
            f"{key}.budget_yuan",
            pool.budget_yuan,
            f"a budget from 0 to {MAX_MONEY_YUAN:.0e} yuan",
        )
        need(
            pol.foundation is not None or pool.rule in pol.rules,
            f"{key}.rule",
            pool.rule,
            f"a rule of the policy: one of {sorted(pol.rules)}",
        )


def check_enterprise(sc: ScenarioConfig, pol: PolicyConfig, start: datetime, end: datetime) -> None:
    """The enterprises' pools: count, budgets, ratios, projects backed, window and rule."""
    ent = sc.enterprise
    need(ent.count >= 0, "scenario.enterprise.count", ent.count, "a count >= 0")
    need(
        0 <= ent.pledge_yuan <= MAX_MONEY_YUAN,
        "scenario.enterprise.pledge_yuan",
        ent.pledge_yuan,
        f"a budget from 0 to {MAX_MONEY_YUAN:.0e} yuan",
    )
    need(
        -5 <= ent.recruit_exponent <= 5,
        "scenario.enterprise.recruit_exponent",
        ent.recruit_exponent,
        "an exponent from -5 to 5",
    )
    _check_share("scenario.enterprise.own_share", ent.own_share)
    # a pool's budget is a share of the pledge (sim.model.pools), so within MAX_MONEY_YUAN
    need(
        0 <= ent.budget_sigma <= 5,
        "scenario.enterprise.budget_sigma",
        ent.budget_sigma,
        "a spread from 0 to 5 (log yuan)",
    )
    need(
        len(ent.ratios) == len(ent.ratio_weights)
        and len(ent.ratios) > 0
        and all(r >= 0 for r in ent.ratios)
        and all(w >= 0 for w in ent.ratio_weights)
        and sum(ent.ratio_weights) > 0,
        "scenario.enterprise.ratios",
        list(ent.ratios),
        "ratios >= 0 with as many weights >= 0 (ratio_weights)",
    )
    need(
        ent.pledge_cover > 0,
        "scenario.enterprise.pledge_cover",
        ent.pledge_cover,
        "a share > 0",
    )
    if ent.count > 0:
        _check_window("scenario.enterprise", ent.opens_at, ent.closes_at, start, end)
        need(
            ent.rule in pol.rules,
            "scenario.enterprise.rule",
            ent.rule,
            f"a rule of the policy: one of {sorted(pol.rules)}",
        )


def check_flowers(fl: FlowerConfig) -> None:
    """Flowers and friend-help chances, within the donor record's narrow counters."""
    for name in (
        "per_gift",
        "per_quiz",
        "per_step_donation",
        "per_help",
        "chances_per_help_gift",
        "chances_per_help",
        "max_helps_per_day",
    ):
        v = getattr(fl, name)
        need(0 <= v <= 1000, f"scenario.flowers.{name}", v, "a whole number from 0 to 1000")
    # a donor record keeps today's helps in 8 bits and chances in 16 (sim.codes)
    need(
        fl.max_helps_per_day <= 127,
        "scenario.flowers.max_helps_per_day",
        fl.max_helps_per_day,
        "a whole number from 0 to 127",
    )
    most = fl.max_helps_per_day * max(fl.chances_per_help, fl.chances_per_help_gift)
    need(
        most <= 32767,
        "scenario.flowers.chances_per_help_gift",
        fl.chances_per_help_gift,
        "at most 32767 chances a day: max_helps_per_day x the larger of chances_per_help "
        f"and chances_per_help_gift, here {most}",
    )
    c = fl.collections
    key = "scenario.flowers.collections"
    launches = ("none", "before_event", "on_match")
    need(c.launch in launches, f"{key}.launch", c.launch, f"one of {list(launches)}")
    _check_share(f"{key}.share", c.share)
    _check_share(f"{key}.help_probability", c.help_probability)
    lo_hi = list(c.flowers_per_help)
    need(
        len(lo_hi) == 2 and 0 <= lo_hi[0] <= lo_hi[1] <= 1000,
        f"{key}.flowers_per_help",
        lo_hi,
        "[low, high]: whole flowers, 0 <= low <= high <= 1000",
    )
    need(1 <= c.days <= 60, f"{key}.days", c.days, "whole days 1..60")
    need(0 <= c.minutes <= 1440, f"{key}.minutes", c.minutes, "minutes 0..1440")


def check_population(pop: PopulationConfig) -> None:
    """Donors (segments, gift sizes, tenure) and the project landscape."""
    need(
        pop.donors is None or pop.donors >= 1,
        "population.donors",
        pop.donors,
        "a count >= 1, or null for the scenario's (scenario.donors)",
    )
    need(len(pop.segments) > 0, "population.segments", [], "at least one segment")
    for i, seg in enumerate(pop.segments):
        key = f"population.segments[{i}]"
        need(seg.share > 0, f"{key}.share", seg.share, "> 0")
        need(seg.rate >= 0, f"{key}.rate", seg.rate, ">= 0")
        need(
            0 <= seg.lift <= 10,
            f"{key}.lift",
            seg.lift,
            "a share of the baseline gifts from 0 to 10",
        )
        need(0 <= seg.timing <= 10, f"{key}.timing", seg.timing, "a weight from 0 to 10")
        need(
            seg.match_attraction > -1,
            f"{key}.match_attraction",
            seg.match_attraction,
            "> -1 (a matched project can be less attractive, never impossible)",
        )
    need(
        abs(sum(s.share for s in pop.segments) - 1) < 1e-6,
        "population.segments[].share",
        [s.share for s in pop.segments],
        "shares that add up to 1",
    )
    gs = pop.gift_size
    need(gs.sigma >= 0, "population.gift_size.sigma", gs.sigma, ">= 0")
    need(gs.donor_sigma >= 0, "population.gift_size.donor_sigma", gs.donor_sigma, ">= 0")
    _check_share("population.gift_size.one_yuan_share", gs.one_yuan_share)
    need(
        isinstance(gs.level_groups, int) and 1 <= gs.level_groups <= 64,
        "population.gift_size.level_groups",
        gs.level_groups,
        "a whole number of groups a segment from 1 to 64",
    )
    need(
        1 <= gs.max_yuan <= MAX_GIFT_YUAN,
        "population.gift_size.max_yuan",
        gs.max_yuan,
        f"whole yuan from 1 to {MAX_GIFT_YUAN:,} (sim.codes: the fen arithmetic's bounds)",
    )
    need(abs(gs.mu) <= 30, "population.gift_size.mu", gs.mu, "a log-yuan level from -30 to 30")
    nw = pop.network
    need(
        1 <= nw.mean_friends <= 1000,
        "population.network.mean_friends",
        nw.mean_friends,
        "friends 1..1000",
    )
    need(
        1.2 <= nw.exponent <= 10,
        "population.network.exponent",
        nw.exponent,
        "a Pareto exponent from 1.2 to 10",
    )
    need(
        nw.max_friends >= nw.mean_friends and nw.max_friends <= 100_000,
        "population.network.max_friends",
        nw.max_friends,
        "friends from mean_friends to 100,000",
    )
    _check_share("population.network.team_share", nw.team_share)
    need(
        nw.team_leader_friends >= nw.mean_friends * (nw.exponent - 1) / nw.exponent,
        "population.network.team_leader_friends",
        nw.team_leader_friends,
        "at least the smallest degree, mean_friends x (exponent - 1) / exponent",
    )
    pr = pop.projects
    for key, n in (("count", pr.count), ("organisations", pr.organisations)):
        need(
            n is None or n >= 1,
            f"population.projects.{key}",
            n,
            "a count >= 1, or null (see sim.schema.ProjectsConfig)",
        )
    need(
        pr.projects_per_organisation >= 1,
        "population.projects.projects_per_organisation",
        pr.projects_per_organisation,
        ">= 1",
    )
    need(pr.org_reach_sigma >= 0, "population.projects.org_reach_sigma", pr.org_reach_sigma, ">= 0")
    need(
        pr.head_organisations >= 0,
        "population.projects.head_organisations",
        pr.head_organisations,
        "a count >= 0",
    )
    need(
        pr.project_share_concentration > 0,
        "population.projects.project_share_concentration",
        pr.project_share_concentration,
        "> 0",
    )
    need(
        len(pr.categories) > 0
        and all(v >= 0 for v in pr.categories.values())
        and sum(pr.categories.values()) > 0,
        "population.projects.categories",
        dict(pr.categories),
        "shares >= 0, not all zero",
    )
    _check_share("population.projects.less_developed_share", pr.less_developed_share)
    _check_share("population.projects.small_org_share", pr.small_org_share)
    _check_share("population.projects.joint_appeal_share", pr.joint_appeal_share)
    need(
        0 < pr.goal_median_yuan <= MAX_MONEY_YUAN,
        "population.projects.goal_median_yuan",
        pr.goal_median_yuan,
        f"> 0 yuan, at most {MAX_MONEY_YUAN:.0e}",
    )
    need(pr.goal_sigma >= 0, "population.projects.goal_sigma", pr.goal_sigma, ">= 0")
    need(0 <= pop.tenure_q < 1, "population.tenure_q", pop.tenure_q, "0 <= tenure_q < 1")


def _perturbed(cfg: DictConfig) -> DictConfig:
    """``cfg`` with ``perturb.key`` multiplied by ``perturb.factor`` (a copy), once."""
    pt = cfg.get("perturb")
    if pt is None or pt.get("key") is None or pt.get("base") is not None:
        return cfg
    key = pt.key
    v = OmegaConf.select(cfg, key, default=None, throw_on_missing=False)
    need(
        not key.startswith("perturb") and isinstance(v, int | float) and not isinstance(v, bool),
        "perturb.key",
        key,
        "the dotted key of a numeric value of the config, e.g. scenario.response.pull_strength",
    )
    need(math.isfinite(pt.factor) and pt.factor >= 0, "perturb.factor", pt.factor, "a factor >= 0")
    cfg = cfg.copy()
    new = v * pt.factor
    OmegaConf.update(cfg, key, round(new) if isinstance(v, int) else float(new))
    cfg.perturb.base = float(v)
    return cfg


def year_population(cfg: SimConfig) -> PopulationConfig:
    """The population a run builds: its donors and project count are the population's
    where set (``population.donors``, ``population.projects.count``), else the scenario's
    (``scenario.donors``, ``scenario.projects``); its organisations are
    ``population.projects.organisations`` where set, else one for every
    ``projects_per_organisation`` projects."""
    pop = copy.deepcopy(cfg.population)
    sc, pr = cfg.scenario, pop.projects
    if pop.donors is None:
        pop.donors = sc.donors
    if pr.count is None:
        pr.count = sc.projects
    if pr.organisations is None:
        pr.organisations = max(1, round(pr.count / pr.projects_per_organisation))
    return pop


def check_year_population(obj: SimConfig) -> None:
    """The population the run builds (:func:`year_population`): as many projects as
    organisations at least."""
    pop = year_population(obj)
    pr = pop.projects
    assert pop.donors is not None and pr.count is not None and pr.organisations is not None
    gm, s = obj.gaming, obj.scale
    ids = (
        round(pop.donors * s)
        + round(gm.machines.accounts * s)
        + round(gm.rings.count * gm.rings.identities * s)
        + len(pop.segments)
    )
    need(
        ids < 2**31,
        "population.donors" if obj.population.donors is not None else "scenario.donors",
        pop.donors,
        f"at most 2,147,483,647 donors and gaming identities at scale {s} (a batch numbers "
        f"them in 32 bits), here about {ids:,}",
    )
    need(
        pr.count >= pr.organisations,
        "population.projects.count"
        if obj.population.projects.count is not None
        else "scenario.projects",
        pr.count,
        f">= the number of organisations ({pr.organisations}, population.projects.organisations)",
    )


def _check_window(key: str, opens: str, closes: str, start: datetime, end: datetime) -> None:
    o = parse_time(f"{key}.opens_at", opens)
    c = parse_time(f"{key}.closes_at", closes)
    for k, t in ((f"{key}.opens_at", o), (f"{key}.closes_at", c)):
        need(t.second == 0 and t.microsecond == 0, k, str(t), "a time on the whole minute")
    need(
        start <= o < end,
        f"{key}.opens_at",
        opens,
        f"a time inside the campaign [{start.isoformat()}, {end.isoformat()})",
    )
    need(
        o < c <= end,
        f"{key}.closes_at",
        closes,
        f"a time after opens_at and no later than the campaign's end {end.isoformat()}",
    )
