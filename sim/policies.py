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
- ``size_tiers``: the match rate rises in steps with the gift (e.g. 20% / 30% / 40%).
- ``long_term``: 99 Giving Day 2022-2024, a higher ratio for donors with a longer history.
- ``equity_weighted``: a fixed ratio raised for projects in less developed regions and of
  small organisations (``equity_region`` / ``equity_small_org`` work on any rule).

Rules allocated once, when the pool's window closes (``post_event``; matching-evidence.md
section 2), from every eligible gift of the window; :mod:`sim.allocation` turns their
shares into whole fen:
- ``breadth``: by the number of distinct donors of each project;
- ``pro_rata``: bonus per yuan = pool / eligible total, at most ``org_cap_share`` of the pool
  to one organisation (North Texas Giving Day, GlobalGiving bonus days);
- ``threshold_prizes``: shares of the pool split equally among projects reaching a number
  of distinct donors;
- ``quadratic``: capital-constrained quadratic funding (Buterin, Hitzig & Weyl 2019),
  project p gets alpha x S_p, S_p = (sum_i sqrt c_ip)^2 - sum_i c_ip, alpha =
  min(1, B / sum S); ``qf_variant=proportional`` splits B in proportion to (sum sqrt c)^2;
- ``pairwise_quadratic``: each donor pair's term 2 sqrt(c_i c_j) scaled by
  M / (M + sqrt(c_i c_j)) (Buterin 2019), bounding what colluding pairs extract.

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
    "size1_fen", "size1_bp", "size2_fen", "size2_bp", "size3_fen", "size3_bp",  # size tiers
    "lt_years", "lt_bp",  # long-term donors: tenure >= lt_years get lt_bp
    "eq_region_bp", "eq_small_bp",  # equity: extra match for flagged projects
)
F = {name: i for i, name in enumerate(RULE_FIELDS)}
MODE_NONE, MODE_FIXED, MODE_RANDOM, MODE_TIERED, MODE_LONGTERM, MODE_POST = range(6)
# project flags the equity modifiers read
FLAG_LESS_DEVELOPED, FLAG_SMALL_ORG, FLAG_JOINT_APPEAL = 1, 2, 4
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
    post_event = False  # True: allocated when the window closes (see PostEventRule)

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
        v = cfg.donor_daily_cap_yuan  # a donor record keeps today's match in 32 bits
        if v is not None and fen(v) >= 2**31:
            raise ConfigError(f"{key}.donor_daily_cap_yuan={v!r} is not allowed: below "
                              "21,474,836.48 yuan, or null")
        for name in ("equity_region", "equity_small_org"):
            v = getattr(cfg, name)
            if not 0 <= v <= 100:
                raise ConfigError(f"{key}.{name}={v!r} is not allowed: 0 <= {name} <= 100 "
                                  "(the match of a flagged project is x (1 + this))")

    def encode(self) -> np.ndarray:
        c = self.cfg
        row = np.zeros(N_FIELDS, dtype=np.int64)
        row[F["mode"]] = self.mode
        row[F["p_chance_ppm"]] = -1
        row[F["min_gift_fen"]] = fen(c.min_gift_yuan)
        row[F["gift_cap_fen"]] = fen(c.gift_cap_yuan)
        row[F["donor_day_cap_fen"]] = fen(c.donor_daily_cap_yuan)
        row[F["project_cap_fen"]] = fen(c.project_cap_yuan)
        row[F["eq_region_bp"]] = _bp(c.equity_region)
        row[F["eq_small_bp"]] = _bp(c.equity_small_org)
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


class SizeTiers(MatchRule):
    """The match rate rises in steps with the gift: the rate of the highest tier whose
    minimum the gift reaches (``size_tiers`` = [[min yuan, ratio], ...], at most 3)."""

    mode = MODE_TIERED

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        t = [list(x) for x in cfg.size_tiers]
        ok = 1 <= len(t) <= 3 and all(len(x) == 2 and x[0] >= 0 and 0 <= x[1] <= 100
                                      for x in t)
        ok = ok and all(t[i][0] < t[i + 1][0] for i in range(len(t) - 1))
        if not ok:
            raise ConfigError(f"{key}.size_tiers={t!r} is not allowed: 1 to 3 [min yuan, "
                              "ratio] pairs, minimums rising, 0 <= ratio <= 100")

    def fill(self, row: np.ndarray) -> None:
        for k, (lo, ratio) in enumerate(self.cfg.size_tiers, start=1):
            row[F[f"size{k}_fen"]] = fen(lo)
            row[F[f"size{k}_bp"]] = _bp(ratio)


class LongTerm(MatchRule):
    """Donors who have given for ``long_term_years`` years or more are matched at
    ``long_term_ratio``, the others at ``ratio`` (99 Giving Day 2022-2024)."""

    mode = MODE_LONGTERM

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if not 1 <= cfg.long_term_years <= 7:
            raise ConfigError(f"{key}.long_term_years={cfg.long_term_years!r} is not allowed: "
                              "1..7 years")
        for name in ("ratio", "long_term_ratio"):
            if not 0 <= getattr(cfg, name) <= 100:
                raise ConfigError(f"{key}.{name}={getattr(cfg, name)!r} is not allowed: "
                                  "0 <= ratio <= 100")

    def fill(self, row: np.ndarray) -> None:
        row[F["ratio_bp"]] = _bp(self.cfg.ratio)
        row[F["lt_years"]] = self.cfg.long_term_years
        row[F["lt_bp"]] = _bp(self.cfg.long_term_ratio)


class EquityWeighted(FixedRatio):
    """A fixed ratio, x (1 + equity_region) for projects in less developed regions and
    x (1 + equity_small_org) for small organisations' projects (both for both)."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if cfg.equity_region <= 0 and cfg.equity_small_org <= 0:
            raise ConfigError(f"{key}: equity_region={cfg.equity_region!r} and "
                              f"equity_small_org={cfg.equity_small_org!r} are not allowed "
                              "together: at least one must be > 0")


class PostEventRule(MatchRule):
    """A rule allocated once, when its pool's window closes, over the window's eligible
    gifts (those the kernel let through: not rate-limited, project not frozen, at least
    ``min_gift_yuan``). Subclasses give each project's share of the pool and how a
    project's match is attributed to its donors (for the gaming and matched-donor
    metrics); :func:`sim.allocation.allocate` makes whole fen of them."""

    mode = MODE_POST
    post_event = True

    def shares(self, st) -> tuple[np.ndarray, bool]:
        """Each project's claim on the pool (float, >= 0), and whether the claims are
        amounts in yuan (paid up to the pool: alpha scaling) or only relative weights
        (the whole pool is split in proportion)."""
        raise NotImplementedError

    def attribution(self, st) -> np.ndarray:
        """Each (donor, project) pair's share of its project's match; sums to 1 a project."""
        return st.pair_c / st.sum_c[st.pair_project]

    def eligible(self, flags: np.ndarray, public_fen: np.ndarray) -> np.ndarray:
        """The projects this pool may pay (``projects``, ``min_project_public_yuan``:
        2020's pools for joint appeals and for projects with 100万 of public gifts)."""
        ok = public_fen >= fen(self.cfg.min_project_public_yuan)
        if self.cfg.projects == "joint_appeal":
            ok &= (flags & FLAG_JOINT_APPEAL) > 0
        return ok


class Breadth(PostEventRule):
    """The pool split by the number of distinct donors of each project."""

    def shares(self, st):
        return st.n_donors.astype(float), False

    def attribution(self, st):
        return 1.0 / st.n_donors[st.pair_project]


class ProRata(PostEventRule):
    """Bonus per yuan = pool / eligible total; at most ``org_cap_share`` of the pool to
    one organisation, the rest shared among the others the same way (water-filling)."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        v = cfg.org_cap_share
        if v is not None and not 0 < v <= 1:
            raise ConfigError(f"{key}.org_cap_share={v!r} is not allowed: 0 < share <= 1, "
                              "or null")

    def shares(self, st):
        w = st.sum_c.copy()
        cap = self.cfg.org_cap_share
        if cap is None:
            return w, False
        org_w = np.bincount(st.org, weights=w, minlength=st.n_orgs)
        share = water_fill(org_w, cap)
        with np.errstate(invalid="ignore", divide="ignore"):
            within = np.where(org_w[st.org] > 0, w / org_w[st.org], 0.0)
        return share[st.org] * within, False


class ThresholdPrizes(PostEventRule):
    """``donor_thresholds`` = [[distinct donors, share of the pool], ...]: each share is
    split equally among the projects that reached that many distinct donors."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        t = [list(x) for x in cfg.donor_thresholds]
        ok = len(t) >= 1 and all(len(x) == 2 and x[0] >= 1 and x[1] >= 0 for x in t)
        if not ok or abs(sum(x[1] for x in t) - 1) > 1e-9:
            raise ConfigError(f"{key}.donor_thresholds={t!r} is not allowed: [[donors >= 1, "
                              "share >= 0], ...] with shares adding up to 1")

    def shares(self, st):
        w = np.zeros(st.n_donors.shape[0])
        for threshold, share in self.cfg.donor_thresholds:
            won = st.n_donors >= threshold
            if won.any():
                w[won] += share / won.sum()
        return w, False

    def attribution(self, st):
        return 1.0 / st.n_donors[st.pair_project]


class Quadratic(PostEventRule):
    """Capital-constrained quadratic funding. ``qf_variant=alpha``: project p gets
    alpha x S_p with S_p = (sum sqrt c)^2 - sum c and alpha = min(1, B / sum S), so four
    gifts of 1 from four donors get 12 and one gift of 4 gets nothing. ``proportional``:
    B split in proportion to (sum sqrt c)^2, which gives the single gift of 4 a share."""

    VARIANTS = ("alpha", "proportional")

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if cfg.qf_variant not in cls.VARIANTS:
            raise ConfigError(f"{key}.qf_variant={cfg.qf_variant!r} is not allowed: one of "
                              f"{list(cls.VARIANTS)}")

    def shares(self, st):
        if self.cfg.qf_variant == "proportional":
            return st.sum_sqrt**2, False
        return np.maximum(st.sum_sqrt**2 - st.sum_c, 0.0), True

    def attribution(self, st):
        return np.sqrt(st.pair_c) / st.sum_sqrt[st.pair_project]


class PairwiseQuadratic(Quadratic):
    """Pairwise-bounded QF: S_p = sum over donor pairs i < j of p of
    2 sqrt(c_i c_j) x M / (M + k_ij), paid at alpha = min(1, B / sum S).

    k_ij is the pair's co-funding sqrt(c_i c_j) on p itself: exact for pairs that share no
    other project, an under-estimate (so a looser bound) for pairs that co-fund several."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if not cfg.pairwise_m_yuan > 0:
            raise ConfigError(f"{key}.pairwise_m_yuan={cfg.pairwise_m_yuan!r} is not "
                              "allowed: M > 0 yuan")

    def shares(self, st):
        from sim.allocation import pairwise_subsidy

        return pairwise_subsidy(st.pair_project, st.pair_c, st.n_donors.shape[0],
                                float(self.cfg.pairwise_m_yuan)), True


def water_fill(w: np.ndarray, cap: float) -> np.ndarray:
    """Shares of a whole in proportion to ``w``, none above ``cap``; what a capped entry
    cannot take goes to the others in proportion (if every entry is capped, the rest is
    left over)."""
    share = np.zeros_like(w, dtype=float)
    free = w > 0
    left = 1.0
    while free.any() and left > 1e-15:
        s = left * w[free] / w[free].sum()
        over = s > cap
        if not over.any():
            share[free] += s
            break
        idx = np.flatnonzero(free)[over]
        share[idx] = cap
        left -= cap * idx.shape[0]
        free[idx] = False
    return share


RULE_TYPES: dict[str, type[MatchRule]] = {
    "none": NoMatch,
    "fixed_ratio": FixedRatio,
    "random_match": RandomMatch,
    "size_tiers": SizeTiers,
    "long_term": LongTerm,
    "equity_weighted": EquityWeighted,
    "breadth": Breadth,
    "pro_rata": ProRata,
    "threshold_prizes": ThresholdPrizes,
    "quadratic": Quadratic,
    "pairwise_quadratic": PairwiseQuadratic,
}


def make_rule(cfg: RuleConfig) -> MatchRule:
    """The policy class for a rule config (its ``type`` already validated)."""
    return RULE_TYPES[cfg.type](cfg)
