"""The shared codes: the layouts and flags every layer reads, and nothing else.

- the rule row (:data:`RULE_FIELDS`, :data:`F`): one row of integers per pool that the
  settlement kernel reads; money in fen, ratios and fractions in basis points (1/10000),
  probabilities in parts per million; the modes (:data:`MODE_NONE` ...);
- project flags (:data:`FLAG_LESS_DEVELOPED` ...), read by the equity rules and the
  restricted pools;
- a donor's record (:data:`DONOR_RECORD`): the 16 bytes of state a gift changes, with the
  status bits (:data:`MATCHED`, :data:`BANNED`) and the donor kinds (:data:`KIND_HONEST` ...);
- the money conversions at the edges of the model (:func:`fen`, :func:`bp`, :func:`ppm`).

This module imports nothing of ``sim``: it is the bottom of the package.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- rule rows

RULE_FIELDS = (
    "mode",  # MODE_*
    "ratio_bp",
    "p_ppm",
    "p_chance_ppm",  # -1: the rule does not use friend-help chances
    "frac_lo_bp",
    "frac_hi_bp",
    "min_gift_fen",
    "gift_cap_fen",  # 0: no cap
    "donor_day_cap_fen",  # 0: no cap
    "project_cap_fen",  # 0: no cap
    "tier1_flowers",
    "tier1_lo_bp",
    "tier1_hi_bp",  # 0 flowers: tier unused
    "tier2_flowers",
    "tier2_lo_bp",
    "tier2_hi_bp",
    "mult_flowers",
    "mult_lo",
    "mult_hi",  # 0 flowers: no multiplier
    "size1_fen",
    "size1_bp",
    "size2_fen",
    "size2_bp",
    "size3_fen",
    "size3_bp",  # size tiers
    "lt_years",
    "lt_bp",  # long-term donors: tenure >= lt_years get lt_bp
    "eq_region_bp",
    "eq_small_bp",  # equity: extra match for flagged projects
)
F = {name: i for i, name in enumerate(RULE_FIELDS)}
N_FIELDS = len(RULE_FIELDS)
# how a rule row is read: no match, match = ratio x gift, a random match, a rate by gift
# size, a rate by the donor's tenure, or nothing at the gift (allocated at the window's close)
MODE_NONE, MODE_FIXED, MODE_RANDOM, MODE_TIERED, MODE_LONGTERM, MODE_POST = range(6)

# --------------------------------------------------------------------------- projects

FLAG_LESS_DEVELOPED, FLAG_SMALL_ORG, FLAG_JOINT_APPEAL = 1, 2, 4

# --------------------------------------------------------------------------- donors

# One record per donor of the state the settlement changes, 16 bytes so that four donors
# share a cache line; what the build fixes (the gift-size level, the kind, the tenure) is
# kept in arrays of its own. The widths hold because the config is checked for them
# (sim.checks): a daily cap below 2**31 fen, at most 127 helps a day and 32,767 chances.
DONOR_RECORD = np.dtype(
    {
        "names": ["match_today", "flowers", "gifts_made", "chances", "helps_today", "status"],
        "formats": [np.int32, np.int32, np.int32, np.int16, np.int8, np.int8],
        "offsets": [0, 4, 8, 12, 14, 15],
        "itemsize": 16,
    }
)
# bits of a record's ``status``
MATCHED = 1  # a gift of the donor got match
BANNED = 2  # the account broke the rate limit: no more match for the event
# a donor's kind: an honest donor, a machine account, a 套捐 ring identity (gaming)
KIND_HONEST, KIND_MACHINE, KIND_RING = 0, 1, 2

# --------------------------------------------------------------------------- money

# Bounds of money in a config, from the int64 fen arithmetic of the kernels (a value beyond
# them is refused by sim.checks, naming its key). A rule's offer multiplies a gift's fen by
# a ratio or fraction in basis points (at most 100 x 10,000), floors it to fen, multiplies by
# a flower multiple (at most MAX_MULTIPLE) and then by equity weights in basis points (at
# most (1 + 100 + 100) x 10,000): for a gift of MAX_GIFT_YUAN that is 1e8 x 100 x 100 x
# 2.01e6 = 2.0e18 fen at the most, below 2**63 = 9.2e18; and 6870万 such gifts to one project
# sum to 6.9e15 fen. Budgets, caps and goals up to MAX_MONEY_YUAN (1e14 fen) leave every sum
# of pools and projects far below the limit.
MAX_GIFT_YUAN = 1_000_000  # one gift: 100万 yuan
MAX_MONEY_YUAN = 1e12  # a budget, a cap, a goal: 1万亿 yuan
MAX_MULTIPLE = 100  # a flower multiplier's largest multiple


def fen(yuan: float | None) -> int:
    """Yuan to integer fen; None (no cap) is 0."""
    return 0 if yuan is None else int(round(yuan * 100))


def bp(x: float) -> int:
    """A ratio or fraction in basis points."""
    return int(round(x * 10_000))


def ppm(x: float) -> int:
    """A probability in parts per million."""
    return int(round(x * 1_000_000))
