"""The rules settled gift by gift: each one's config check, its encoding into a rule row,
and what it offers a gift, in the compiled kernel (:func:`offer`) and in plain Python
(:func:`offer_one`, the reference engine's independent reading of the same rules).

Where the rules come from (``../shared/facts``):
- ``none``: the no-match baseline.
- ``fixed_ratio``: 99 Giving Day 2015-2017, fixed-ratio matching in daily slots, first come
  first served; enterprises' own pools are modelled this way too.
- ``random_match``: 2018-2021, each eligible gift has a chance of a random-size match, with a
  999 yuan per-donor daily cap (2018). ``chance_probability`` is the 2021 friend-help rule:
  a donor whom friends helped holds "chances" and a gift made with one is likelier matched.
  ``flower_tiers`` are the 2018 flower bonus tiers, ``flower_multiplier`` the 2020 random
  3x-10x multiple at 299 flowers.
- ``size_tiers``: the match rate rises in steps with the gift (e.g. 20% / 30% / 40%).
- ``long_term``: 99 Giving Day 2022-2024, a higher ratio for donors with a longer history.
- ``equity_weighted``: a fixed ratio raised for projects in less developed regions and of
  small organisations (``equity_region`` / ``equity_small_org`` work on any rule).

Budgets and caps (a gift's, a donor's day, a project's) are the settlement's
(:mod:`sim.model.settlement`), which calls :func:`offer` for every pool that may pay.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.codes import (
    FLAG_LESS_DEVELOPED,
    FLAG_SMALL_ORG,
    MAX_MULTIPLE,
    MODE_FIXED,
    MODE_LONGTERM,
    MODE_NONE,
    MODE_RANDOM,
    MODE_TIERED,
    F,
    bp,
    fen,
    ppm,
)
from sim.policies.base import MatchRule
from sim.schema import ConfigError, RuleConfig


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
        row[F["ratio_bp"]] = bp(self.cfg.ratio)

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        return self._capped(self.cfg.ratio, ref_yuan), 1.0


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
                "is not allowed: 0 <= fraction_low <= fraction_high <= 100"
            )
        if len(cfg.flower_tiers) > 2:
            raise ConfigError(
                f"{key}.flower_tiers has {len(cfg.flower_tiers)} tiers: "
                "at most 2 [threshold, low, high] entries are allowed"
            )
        for tier in [
            *cfg.flower_tiers,
            *([cfg.flower_multiplier] if cfg.flower_multiplier else []),
        ]:
            if len(tier) != 3 or tier[0] < 1 or not 0 <= tier[1] <= tier[2] <= MAX_MULTIPLE:
                raise ConfigError(
                    f"{key}: flower tier {list(tier)!r} is not allowed: "
                    f"[threshold >= 1, low >= 0, high >= low, high <= {MAX_MULTIPLE}]"
                )
        if len(cfg.flower_tiers) == 2 and cfg.flower_tiers[1][0] <= cfg.flower_tiers[0][0]:
            raise ConfigError(
                f"{key}.flower_tiers: the second tier's threshold must be above the first's"
            )

    def fill(self, row: np.ndarray) -> None:
        c = self.cfg
        row[F["p_ppm"]] = ppm(c.probability)
        if c.chance_probability is not None:
            row[F["p_chance_ppm"]] = ppm(c.chance_probability)
        row[F["frac_lo_bp"]] = bp(c.fraction_low)
        row[F["frac_hi_bp"]] = bp(c.fraction_high)
        for k, tier in enumerate(c.flower_tiers, start=1):
            row[F[f"tier{k}_flowers"]] = int(tier[0])
            row[F[f"tier{k}_lo_bp"]] = bp(tier[1])
            row[F[f"tier{k}_hi_bp"]] = bp(tier[2])
        if c.flower_multiplier:
            thr, lo, hi = c.flower_multiplier
            row[F["mult_flowers"]] = int(thr)
            row[F["mult_lo"]] = int(lo)
            row[F["mult_hi"]] = int(hi)

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        """The mean fraction when matched, and the odds (flower bonuses, which few reach,
        left out; a friend-help chance's better odds too)."""
        c = self.cfg
        return self._capped((c.fraction_low + c.fraction_high) / 2, ref_yuan), c.probability


class SizeTiers(MatchRule):
    """The match rate rises in steps with the gift: the rate of the highest tier whose
    minimum the gift reaches (``size_tiers`` = [[min yuan, ratio], ...], at most 3)."""

    mode = MODE_TIERED

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        t = [list(x) for x in cfg.size_tiers]
        ok = 1 <= len(t) <= 3 and all(len(x) == 2 and x[0] >= 0 and 0 <= x[1] <= 100 for x in t)
        ok = ok and all(t[i][0] < t[i + 1][0] for i in range(len(t) - 1))
        if not ok:
            raise ConfigError(
                f"{key}.size_tiers={t!r} is not allowed: 1 to 3 [min yuan, "
                "ratio] pairs, minimums rising, 0 <= ratio <= 100"
            )

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        rate = 0.0
        for lo, ratio in self.cfg.size_tiers:
            if ref_yuan >= lo:
                rate = ratio
        return self._capped(rate, ref_yuan), 1.0

    def fill(self, row: np.ndarray) -> None:
        for k, (lo, ratio) in enumerate(self.cfg.size_tiers, start=1):
            row[F[f"size{k}_fen"]] = fen(lo)
            row[F[f"size{k}_bp"]] = bp(ratio)


class LongTerm(MatchRule):
    """Donors who have given for ``long_term_years`` years or more are matched at
    ``long_term_ratio``, the others at ``ratio`` (99 Giving Day 2022-2024)."""

    mode = MODE_LONGTERM

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if not 1 <= cfg.long_term_years <= 7:
            raise ConfigError(
                f"{key}.long_term_years={cfg.long_term_years!r} is not allowed: 1..7 years"
            )
        for name in ("ratio", "long_term_ratio"):
            if not 0 <= getattr(cfg, name) <= 100:
                raise ConfigError(
                    f"{key}.{name}={getattr(cfg, name)!r} is not allowed: 0 <= ratio <= 100"
                )

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        """The population's mean: long-term donors' ratio for the share of them."""
        c = self.cfg
        long = tenure_q**c.long_term_years
        return self._capped(long * c.long_term_ratio + (1 - long) * c.ratio, ref_yuan), 1.0

    def fill(self, row: np.ndarray) -> None:
        row[F["ratio_bp"]] = bp(self.cfg.ratio)
        row[F["lt_years"]] = self.cfg.long_term_years
        row[F["lt_bp"]] = bp(self.cfg.long_term_ratio)


class EquityWeighted(FixedRatio):
    """A fixed ratio, x (1 + equity_region) for projects in less developed regions and
    x (1 + equity_small_org) for small organisations' projects (both for both)."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if cfg.equity_region <= 0 and cfg.equity_small_org <= 0:
            raise ConfigError(
                f"{key}: equity_region={cfg.equity_region!r} and "
                f"equity_small_org={cfg.equity_small_org!r} are not allowed "
                "together: at least one must be > 0"
            )


# --------------------------------------------------------------------------- the kernel

_MODE = F["mode"]
_RATIO = F["ratio_bp"]
_P = F["p_ppm"]
_PCH = F["p_chance_ppm"]
_FLO, _FHI = F["frac_lo_bp"], F["frac_hi_bp"]
_MIN = F["min_gift_fen"]
_GCAP = F["gift_cap_fen"]
_T1, _T1LO, _T1HI = F["tier1_flowers"], F["tier1_lo_bp"], F["tier1_hi_bp"]
_T2, _T2LO, _T2HI = F["tier2_flowers"], F["tier2_lo_bp"], F["tier2_hi_bp"]
_M, _MLO, _MHI = F["mult_flowers"], F["mult_lo"], F["mult_hi"]
_S1, _S1BP, _S2, _S2BP, _S3, _S3BP = (
    F["size1_fen"],
    F["size1_bp"],
    F["size2_fen"],
    F["size2_bp"],
    F["size3_fen"],
    F["size3_bp"],
)
_LTY, _LTBP = F["lt_years"], F["lt_bp"]
_EQR, _EQS = F["eq_region_bp"], F["eq_small_bp"]


@njit(cache=True, inline="always")
def _uniform_int(u, lo, hi):
    """An integer in [lo, hi] from a uniform u in [0, 1)."""
    k = lo + np.int64(u * (hi - lo + 1))
    return hi if k > hi else k


@njit(cache=True, inline="always")
def offer(rules, g, amount, flowers, has_chance, u_match, u_fraction, u_bonus, tenure, pflags):
    """The match a rule offers for a gift before caps and budgets, and whether it spends a
    friend-help chance, under rule row ``rules[g]`` (indexed in place: taking a row view
    costs a reference count per gift), for a donor of ``tenure`` years holding ``flowers``
    and a project with flags ``pflags``. The gift's uniforms: ``u_match`` decides whether a
    random match is won, ``u_fraction`` its size, ``u_bonus`` a flower bonus or multiple.
    Returns (match_fen, spent_chance). Post-event rules offer nothing here: they are
    allocated when the window closes."""
    mode = rules[g, _MODE]
    if mode == MODE_NONE or amount < rules[g, _MIN]:
        return np.int64(0), False
    spent = False
    if mode == MODE_FIXED:
        m = amount * rules[g, _RATIO] // 10_000
    elif mode == MODE_TIERED:
        rate = np.int64(0)
        if rules[g, _S3BP] > 0 and amount >= rules[g, _S3]:
            rate = rules[g, _S3BP]
        elif rules[g, _S2BP] > 0 and amount >= rules[g, _S2]:
            rate = rules[g, _S2BP]
        elif amount >= rules[g, _S1]:
            rate = rules[g, _S1BP]
        m = amount * rate // 10_000
    elif mode == MODE_LONGTERM:
        rate = rules[g, _LTBP] if tenure >= rules[g, _LTY] else rules[g, _RATIO]
        m = amount * rate // 10_000
    elif mode == MODE_RANDOM:
        p = rules[g, _P]
        if rules[g, _PCH] >= 0 and has_chance:
            p = rules[g, _PCH]
            spent = True
        # computed either way and then kept or not: the draw's outcome is a coin toss the
        # branch predictor loses (2026-11-22, 300 busy minutes replayed, in-process A/B:
        # 95 -> 82 ns a gift)
        m = amount * _uniform_int(u_fraction, rules[g, _FLO], rules[g, _FHI]) // 10_000
        m = m if u_match * 1_000_000.0 < p else np.int64(0)
    else:
        m = np.int64(0)
    if m > 0:
        if rules[g, _M] > 0 and flowers >= rules[g, _M]:
            m = m * _uniform_int(u_bonus, rules[g, _MLO], rules[g, _MHI])
        elif rules[g, _T2] > 0 and flowers >= rules[g, _T2]:
            m = m + m * _uniform_int(u_bonus, rules[g, _T2LO], rules[g, _T2HI]) // 10_000
        elif rules[g, _T1] > 0 and flowers >= rules[g, _T1]:
            m = m + m * _uniform_int(u_bonus, rules[g, _T1LO], rules[g, _T1HI]) // 10_000
        w = np.int64(10_000)
        if pflags & FLAG_LESS_DEVELOPED:
            w += rules[g, _EQR]
        if pflags & FLAG_SMALL_ORG:
            w += rules[g, _EQS]
        if w != 10_000:
            m = m * w // 10_000
        if rules[g, _GCAP] > 0 and m > rules[g, _GCAP]:
            m = rules[g, _GCAP]
    return m, spent


# --------------------------------------------------------------------------- plain Python


def _draw(u: float, lo: int, hi: int) -> int:
    return min(hi, lo + int(u * (hi - lo + 1)))


def offer_one(
    rule,
    amount: int,
    flowers: int,
    has_chance: bool,
    u_match,
    u_fraction,
    u_bonus,
    tenure=0,
    pflags=0,
):
    """What a rule row offers one gift before caps and budgets: (match fen, spent a
    chance). The reference engine's reading of the rules, written apart from
    :func:`offer` (a test holds the two to the same ledger)."""
    r = {name: int(rule[i]) for name, i in F.items()}
    if r["mode"] == MODE_NONE or amount < r["min_gift_fen"]:
        return 0, False
    spent = False
    match = 0
    if r["mode"] == MODE_FIXED:
        match = amount * r["ratio_bp"] // 10_000
    elif r["mode"] == MODE_TIERED:
        rate = 0
        for k in (1, 2, 3):  # the highest tier the gift reaches
            if (k == 1 or r[f"size{k}_bp"]) and amount >= r[f"size{k}_fen"]:
                rate = r[f"size{k}_bp"]
        match = amount * rate // 10_000
    elif r["mode"] == MODE_LONGTERM:
        rate = r["lt_bp"] if tenure >= r["lt_years"] else r["ratio_bp"]
        match = amount * rate // 10_000
    elif r["mode"] == MODE_RANDOM:
        p = r["p_ppm"]
        if r["p_chance_ppm"] >= 0 and has_chance:
            p, spent = r["p_chance_ppm"], True
        if u_match * 1_000_000.0 < p:
            match = amount * _draw(u_fraction, r["frac_lo_bp"], r["frac_hi_bp"]) // 10_000
    if match > 0:
        if r["mult_flowers"] and flowers >= r["mult_flowers"]:
            match *= _draw(u_bonus, r["mult_lo"], r["mult_hi"])
        else:
            for tier in ("tier2", "tier1"):
                if r[f"{tier}_flowers"] and flowers >= r[f"{tier}_flowers"]:
                    match += (
                        match * _draw(u_bonus, r[f"{tier}_lo_bp"], r[f"{tier}_hi_bp"]) // 10_000
                    )
                    break
        weight = (
            10_000
            + (r["eq_region_bp"] if pflags & FLAG_LESS_DEVELOPED else 0)
            + (r["eq_small_bp"] if pflags & FLAG_SMALL_ORG else 0)
        )
        match = match * weight // 10_000
        if r["gift_cap_fen"]:
            match = min(match, r["gift_cap_fen"])
    return match, spent
