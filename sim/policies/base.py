"""What every matching rule shares: its config, its checks and its encoding into a rule row
(:data:`sim.codes.RULE_FIELDS`) that the settlement kernel reads."""

from __future__ import annotations

import numpy as np

from sim.codes import MAX_MONEY_YUAN, MODE_NONE, N_FIELDS, F, bp, fen
from sim.schema import ConfigError, RuleConfig


class MatchRule:
    """A pool's matching rule. Subclasses set ``mode`` and fill their own fields."""

    mode = MODE_NONE
    post_event = False  # True: allocated when the window closes (sim.policies.post_event)

    def __init__(self, cfg: RuleConfig):
        self.cfg = cfg

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        """Raise ConfigError naming ``key.field`` for a value this rule cannot use."""
        for name in (
            "min_gift_yuan",
            "gift_cap_yuan",
            "donor_daily_cap_yuan",
            "project_cap_yuan",
            "min_project_public_yuan",
            "pairwise_m_yuan",
        ):
            v = getattr(cfg, name)
            if v is not None and not 0 <= v <= MAX_MONEY_YUAN:
                raise ConfigError(
                    f"{key}.{name}={v!r} is not allowed: 0 to {MAX_MONEY_YUAN:.0e} yuan, or "
                    "null (sim.codes: the fen arithmetic's bounds)"
                )
        v = cfg.donor_daily_cap_yuan  # a donor record keeps today's match in 32 bits
        if v is not None and fen(v) >= 2**31:
            raise ConfigError(
                f"{key}.donor_daily_cap_yuan={v!r} is not allowed: below "
                "21,474,836.48 yuan, or null"
            )
        for name in ("equity_region", "equity_small_org"):
            v = getattr(cfg, name)
            if not 0 <= v <= 100:
                raise ConfigError(
                    f"{key}.{name}={v!r} is not allowed: 0 <= {name} <= 100 "
                    "(the match of a flagged project is x (1 + this))"
                )

    def encode(self) -> np.ndarray:
        """The rule as one row of integers (:data:`sim.codes.RULE_FIELDS`)."""
        c = self.cfg
        row = np.zeros(N_FIELDS, dtype=np.int64)
        row[F["mode"]] = self.mode
        row[F["p_chance_ppm"]] = -1
        row[F["min_gift_fen"]] = fen(c.min_gift_yuan)
        row[F["gift_cap_fen"]] = fen(c.gift_cap_yuan)
        row[F["donor_day_cap_fen"]] = fen(c.donor_daily_cap_yuan)
        row[F["project_cap_fen"]] = fen(c.project_cap_yuan)
        row[F["eq_region_bp"]] = bp(c.equity_region)
        row[F["eq_small_bp"]] = bp(c.equity_small_org)
        self.fill(row)
        return row

    def fill(self, row: np.ndarray) -> None:
        """Write the rule's own fields into ``row``."""

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        """What a donor can expect of this rule for a gift of ``ref_yuan`` before it is made
        (what the platform's rules say; the response model, sim.model.response, weighs it):
        (the match as a share of the gift when there is one, the chance there is one).
        ``tenure_q``: the population's P(tenure >= k) = q**k (long-term rules). Rules paid
        after their window give an estimate instead (sim.policies.post_event)."""
        return 0.0, 1.0

    def _capped(self, share: float, ref_yuan: float) -> float:
        """A share of the reference gift, within the rule's cap a gift."""
        cap = self.cfg.gift_cap_yuan
        return share if cap is None or ref_yuan <= 0 else min(share, cap / ref_yuan)
