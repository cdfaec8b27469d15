"""The golden fingerprint: exact in money, blind to the last bits of the other floats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.golden import frame_digest, is_money


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "project": np.arange(1000),
            "reach": rng.dirichlet(np.ones(1000)),
            "lost_intents": np.where(rng.random(1000) < 0.1, np.nan, rng.random(1000) * 40),
            "public_yuan": rng.integers(0, 10**9, 1000) / 100,
            "level:daily-0901": rng.integers(0, 10**11, 1000) / 100,
        }
    )


def test_the_last_bits_of_a_float_that_is_not_money_do_not_move_the_digest():
    df = _frame()
    nudged = df.copy()
    for col in ("reach", "lost_intents"):
        nudged[col] = np.nextafter(df[col].to_numpy(), np.inf)  # one unit in the last place
    assert not nudged.equals(df)
    assert frame_digest(nudged) == frame_digest(df)


def test_one_fen_or_a_real_change_moves_the_digest():
    df = _frame()
    for col, delta in (("public_yuan", 0.01), ("level:daily-0901", 0.01), ("reach", 1e-6)):
        moved = df.copy()
        moved.loc[7, col] += delta
        assert frame_digest(moved)["sha256"] != frame_digest(df)["sha256"], col


def test_money_is_the_yuan_and_the_pool_levels():
    assert is_money("public_yuan") and is_money("level:theme-0905")
    assert not is_money("reach") and not is_money("lost_intents") and not is_money("ratio")
