"""Matching policies: how a pool turns gifts into match, one class a rule type.

A rule class checks its parameters, encodes them into one row of integers that the
settlement kernel reads (:mod:`sim.codes`), and says what it offers:

- :mod:`sim.policies.per_gift`: the rules settled gift by gift (``none``, ``fixed_ratio``,
  ``random_match`` with 2018's flower tiers, 2020's multiplier and 2021's friend-help
  chances, ``size_tiers``, ``long_term``, ``equity_weighted``), their compiled
  :func:`~sim.policies.per_gift.offer` and its plain-Python twin;
- :mod:`sim.policies.post_event`: the rules allocated when a window closes (``breadth``,
  ``pro_rata``, ``threshold_prizes``, ``quadratic``, ``pairwise_quadratic``) and the
  allocation into whole fen.

:data:`RULE_TYPES` is the one registry: a config's ``type`` names a key of it.
Karlan & List (2007): the ratio moves neither participation nor gift size; that lives in the
donor model (:mod:`sim.model.donors`), which sees only *whether* a match is available.
"""

from __future__ import annotations

from sim.policies.base import MatchRule
from sim.policies.per_gift import (
    EquityWeighted,
    FixedRatio,
    LongTerm,
    NoMatch,
    RandomMatch,
    SizeTiers,
)
from sim.policies.post_event import (
    Breadth,
    PairwiseQuadratic,
    PostEventRule,
    ProRata,
    Quadratic,
    ThresholdPrizes,
)
from sim.schema import RuleConfig

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


__all__ = ["RULE_TYPES", "MatchRule", "PostEventRule", "make_rule"]
