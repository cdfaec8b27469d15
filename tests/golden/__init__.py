"""Golden baselines: the exact results of a few small configurations, checked in.

Between them the cases reach every rule kind of the policy library (fixed ratio with a
project cap, random match with friend-help chances, flower tiers and the flower multiplier,
size tiers, long-term, equity weights, breadth, pro rata with an organisation cap and with
restricted projects, threshold prizes, the three quadratic-funding variants, no match), the
2020 post-event pools, tranches, a budget, both kinds of gaming and both counter-measures.

A case's fingerprint is its summary (without the wall time) and, for each table a run
writes, its rows, the sum of each numeric column and a SHA-256 of its CSV text. Money
(columns ``*_yuan`` and ``level:*``: integer fen over 100) is written exactly; the other
floats (a project's reach, a minute's expected lost intents, an enterprise's ratio) to
:data:`FLOAT_DIGITS` significant digits, their columns' sums too. They come out of numpy's
and libm's exp, log and power, whose last bits depend on the processor's vector
instructions: the exact baselines written on one machine failed on another (2026-12-04, an
AVX2-only EPYC: the projects' and minutes' text moved in all 18 cases while all money and
every column's sum stayed the same). A value within a part in 10^16 of a rounding boundary
can still round the other way on another processor: about one chance in 10^7 a value, a few
hundred thousand such values in all. The summary's floats are kept to
:data:`SUMMARY_DIGITS` (12) significant digits: its expected lost intents moved in the last
bits in two cases; at the baselines' scale its money is exact at 12 digits. They are made
through :func:`sim.app.run`, the function behind ``python -m sim``, so they do not
depend on how the package is laid out inside.

``tests/model/test_golden.py`` compares a fresh run of every case with ``baselines.json``;
``python -m uv run python -m tests.golden`` writes the file again, on purpose: a change that
moves the numbers changes the file in the same commit and says why in ``CHANGELOG.md``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BASELINES = HERE / "baselines.json"
SCALE = 0.002  # 0.2% of 2021: about 14万 gifts, 20 projects, 25 enterprise pools
TABLES = ("projects", "organisations", "enterprises", "days", "minutes", "gift_sizes", "events")

# case name -> overrides (each at SCALE, the default seed)
CASES: dict[str, list[str]] = {
    "y2021": [],
    "y2016": ["scenario=y2016"],
    "y2017_machines_rate_limit": [
        "scenario=y2017",
        "gaming=machines",
        "policy.countermeasures.rate_limit_per_minute=4",
    ],
    "y2018": ["scenario=y2018"],
    "y2019": ["scenario=y2019"],
    "y2020": ["scenario=y2020"],
    "none": ["policy=none"],
    "fixed_ratio_tranches_budget": ["policy=fixed_ratio", "policy.tranches=4", "policy.budget=3e8"],
    "flower_multiplier": ["policy=flower_multiplier"],
    "size_tiers": ["policy=size_tiers"],
    "long_term": ["policy=long_term"],
    "equity_rings_freeze": [
        "policy=equity",
        "gaming=rings",
        "policy.countermeasures.freeze_after_detections=3",
    ],
    "breadth": ["policy=breadth"],
    "pro_rata": ["policy=pro_rata"],
    "threshold_prizes": ["policy=threshold_prizes"],
    "qf": ["policy=qf"],
    "qf_proportional": ["policy=qf_proportional"],
    "qf_pairwise_both": ["policy=qf_pairwise", "gaming=both"],
}


FLOAT_DIGITS = 9  # significant digits of a float that is not money (see above)


def is_money(column: str) -> bool:
    """Whether a table's column is money (yuan, exact at the fen)."""
    return column.endswith("_yuan") or column.startswith("level:")


SUMMARY_DIGITS = 12  # significant digits of the summary's floats (see above)


def _rounded(x: float, digits: int = FLOAT_DIGITS) -> float:
    return float(f"{x:.{digits}g}")


def _rounded_floats(x):
    """``x`` (a summary: dicts, lists, numbers) with every float to :data:`SUMMARY_DIGITS`
    significant digits; at the baselines' scale money (under 10^8 yuan) stays exact."""
    if isinstance(x, dict):
        return {k: _rounded_floats(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_rounded_floats(v) for v in x]
    if isinstance(x, float):
        return _rounded(x, SUMMARY_DIGITS)
    return x


def frame_digest(df: pd.DataFrame) -> dict:
    """Rows, the sum of every numeric column, and a SHA-256 of the table's CSV text; floats
    that are not money (and their columns' sums) to :data:`FLOAT_DIGITS` significant
    digits, money as Python writes it (the shortest text that reads back the same)."""
    sums = {}
    text_frame = df.copy()
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            sums[col] = int(s.sum())
        elif pd.api.types.is_integer_dtype(s):
            sums[col] = int(s.sum())
        elif pd.api.types.is_float_dtype(s):
            total = float(np.nansum(s.to_numpy(dtype=float)))
            if is_money(str(col)):
                sums[col] = total
            else:
                sums[col] = _rounded(total)
                text_frame[col] = s.map(lambda v: "" if np.isnan(v) else f"{v:.{FLOAT_DIGITS}g}")
    text = text_frame.to_csv(index=False, lineterminator="\n")
    return {
        "rows": int(len(df)),
        "columns": [str(c) for c in df.columns],
        "sums": sums,
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def fingerprint(overrides: list[str], out: Path) -> dict:
    """Run one case into ``out`` and return its fingerprint."""
    from hydra import compose, initialize_config_dir

    from sim.app import CONF_DIR, run

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"scale={SCALE}",
                "output.progress=false",
                "output.figures=false",
                *overrides,
            ],
        )
    summary = run(cfg, out)
    summary = _rounded_floats({k: v for k, v in summary.items() if k != "wall_seconds"})
    tables = {name: frame_digest(pd.read_parquet(out / f"{name}.parquet")) for name in TABLES}
    # a round trip through JSON, so that a fresh fingerprint compares with the stored one
    return json.loads(
        json.dumps(
            {"overrides": overrides, "summary": summary, "tables": tables}, ensure_ascii=False
        )
    )


def load() -> dict:
    return json.loads(BASELINES.read_text(encoding="utf-8"))
