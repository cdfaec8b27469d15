"""Matching policies: how a pool turns a gift into a match offer.

Each rule type is one small class. A class checks its parameters and encodes them into one
row of integers (:data:`RULE_FIELDS`) that the settlement kernel in :mod:`sim.ledger` reads;
the kernel then enforces budgets and caps gift by gift. Money in the rows is integer fen,
ratios and fractions are basis points (1/10000), probabilities parts per million.

Where the rules come from (``../shared/facts``):
- ``fixed_ratio``: 99 Giving Day 2015-2017, fixed-ratio matching in daily slots, first come
  first served; enterprises' own pools are modelled this way too.
- ``random_match``: 2018-2021, each eligible gift has a chance of a random-size match, with a
  999 yuan per-donor daily cap (2018). ``chance_probability`` is the 2021 friend-help rule:
  a donor whom friends helped holds "chances" and a gift made with one is likelier matched.
  ``flower_tiers`` are the 2018 flower bonus tiers, ``flower_multiplier`` the 2020 random
  3x-10x multiple at 299 flowers.
- ``none``: the no-match baseline.

Karlan & List (2007): the ratio moves neither participation nor gift size; that lives in the
donor model (:mod:`sim.donors`), which sees only *whether* a match is available.
"""

from __future__ import annotations

import numpy as np

from sim.config import ConfigError, RuleConfig

# Layout of one encoded rule row.
RULE_FIELDS = (
    "mode",  # 0 none, 1 fixed ratio, 2 random
    "ratio_bp",
    "p_ppm",
    "p_chance_ppm",  # -1: the rule does not use friend-help chances
    "frac_lo_bp",
    "frac_hi_bp",
    "min_gift_fen",
    "gift_cap_fen",  # 0: no cap
    "donor_day_cap_fen",  # 0: no cap
    "project_cap_fen",  # 0: no cap
    "tier1_flowers", "tier1_lo_bp", "tier1_hi_bp",  # 0 flowers: tier unused
    "tier2_flowers", "tier2_lo_bp", "tier2_hi_bp",
    "mult_flowers", "mult_lo", "mult_hi",  # 0 flowers: no multiplier
)
F = {name: i for i, name in enumerate(RULE_FIELDS)}
MODE_NONE, MODE_FIXED, MODE_RANDOM = 0, 1, 2
N_FIELDS = len(RULE_FIELDS)


def fen(yuan: float | None) -> int:
    """Yuan to integer fen; None (no cap) is 0."""
    return 0 if yuan is None else int(round(yuan * 100))


def _bp(x: float) -> int:
    return int(round(x * 10_000))


def _ppm(x: float) -> int:
    return int(round(x * 1_000_000))


class MatchRule:
    """A pool's matching rule. Subclasses set ``mode`` and fill their own fields."""

    mode = MODE_NONE

    def __init__(self, cfg: RuleConfig):
        self.cfg = cfg

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        """Raise ConfigError naming ``key.field`` for a value this rule cannot use."""
        for name in ("min_gift_yuan", "gift_cap_yuan", "donor_daily_cap_yuan",
                     "project_cap_yuan"):
            v = getattr(cfg, name)
            if v is not None and v < 0:
                raise ConfigError(f"{key}.{name}={v!r} is not allowed: >= 0 yuan, or null")

    def encode(self) -> np.ndarray:
        c = self.cfg
        row = np.zeros(N_FIELDS, dtype=np.int64)
        row[F["mode"]] = self.mode
        row[F["p_chance_ppm"]] = -1
        row[F["min_gift_fen"]] = fen(c.min_gift_yuan)
        row[F["gift_cap_fen"]] = fen(c.gift_cap_yuan)
        row[F["donor_day_cap_fen"]] = fen(c.donor_daily_cap_yuan)
        row[F["project_cap_fen"]] = fen(c.project_cap_yuan)
        self.fill(row)
        return row

    def fill(self, row: np.ndarray) -> None:
        """Write the rule's own fields into ``row``."""


class NoMatch(MatchRule):
    """The baseline: no gift is matched."""

    mode = MODE_NONE


class FixedRatio(MatchRule):
    """match = ratio x gift, first come first served (2015-2017; enterprise pools)."""

    mode = MODE_FIXED

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if not 0 < cfg.ratio <= 100:
            raise ConfigError(f"{key}.ratio={cfg.ratio!r} is not allowed: 0 < ratio <= 100")

    def fill(self, row: np.ndarray) -> None:
        row[F["ratio_bp"]] = _bp(self.cfg.ratio)


class RandomMatch(MatchRule):
    """A gift is matched with probability p, by a uniform fraction of its size (2018-2021).

    With ``chance_probability`` set, a donor holding a friend-help chance spends one on the
    gift and is matched with that probability instead (2021). ``flower_tiers`` add a random
    bonus on a match actually received (2018); ``flower_multiplier`` multiplies it (2020).
    """

    mode = MODE_RANDOM

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        probs = [("probability", cfg.probability)]
        if cfg.chance_probability is not None:
            probs.append(("chance_probability", cfg.chance_probability))
        for name, p in probs:
            if not 0 <= p <= 1:
                raise ConfigError(f"{key}.{name}={p!r} is not allowed: a probability in [0, 1]")
        if not 0 <= cfg.fraction_low <= cfg.fraction_high <= 100:
            raise ConfigError(
                f"{key}.fraction_low/fraction_high={cfg.fraction_low!r}/{cfg.fraction_high!r} "
                "is not allowed: 0 <= fraction_low <= fraction_high <= 100")
        if len(cfg.flower_tiers) > 2:
            raise ConfigError(f"{key}.flower_tiers has {len(cfg.flower_tiers)} tiers: "
                              "at most 2 [threshold, low, high] entries are allowed")
        for tier in [*cfg.flower_tiers, *([cfg.flower_multiplier] if cfg.flower_multiplier
                                           else [])]:
            if len(tier) != 3 or tier[0] < 1 or not 0 <= tier[1] <= tier[2]:
                raise ConfigError(f"{key}: flower tier {list(tier)!r} is not allowed: "
                                  "[threshold >= 1, low >= 0, high >= low]")
        if len(cfg.flower_tiers) == 2 and cfg.flower_tiers[1][0] <= cfg.flower_tiers[0][0]:
            raise ConfigError(f"{key}.flower_tiers: the second tier's threshold must be "
                              "above the first's")

    def fill(self, row: np.ndarray) -> None:
        c = self.cfg
        row[F["p_ppm"]] = _ppm(c.probability)
        if c.chance_probability is not None:
            row[F["p_chance_ppm"]] = _ppm(c.chance_probability)
        row[F["frac_lo_bp"]] = _bp(c.fraction_low)
        row[F["frac_hi_bp"]] = _bp(c.fraction_high)
        for k, tier in enumerate(c.flower_tiers, start=1):
            row[F[f"tier{k}_flowers"]] = int(tier[0])
            row[F[f"tier{k}_lo_bp"]] = _bp(tier[1])
            row[F[f"tier{k}_hi_bp"]] = _bp(tier[2])
        if c.flower_multiplier:
            thr, lo, hi = c.flower_multiplier
            row[F["mult_flowers"]] = int(thr)
            row[F["mult_lo"]] = int(lo)
            row[F["mult_hi"]] = int(hi)


RULE_TYPES: dict[str, type[MatchRule]] = {
    "none": NoMatch,
    "fixed_ratio": FixedRatio,
    "random_match": RandomMatch,
}


def make_rule(cfg: RuleConfig) -> MatchRule:
    """The policy class for a rule config (its ``type`` already validated)."""
    return RULE_TYPES[cfg.type](cfg)
