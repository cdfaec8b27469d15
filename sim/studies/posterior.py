"""The behavioural draws that reproduce the year: an accepted set (rejection ABC).

An ensemble (``experiment=ensemble``) runs the scenario's own rules (``policy=y2021`` on
``scenario=y2021``) under every behavioural draw. Each of those runs compares itself with the
figures the year was fitted to (``reported_vs_simulated.csv``, role ``fitted``: 2021's public
money, gifts, theme day and flowers). A draw is **accepted** when, averaged over its seeds,
every fitted figure is within the reproduction report's target of what was reported
(``sim.studies.reproduction``: 2% for 2021, 5% for an earlier year; :func:`tolerance_for`).
The accepted draws are an approximate posterior (rejection ABC: Pritchard et al. 1999; Beaumont, Zhang & Balding 2002)
of the behavioural parameters given the calibration targets, and the decisions are computed
again over them alone.

What it is not: the year's levels (gift counts and sizes, fitted by ``sim.studies.calibrate``
at the behaviour's defaults) are not fitted again for each draw, so a draw is judged with the
levels fitted at the defaults; and the targets are 2021's alone (the 2020 opening's timing is
a target of the calibration that the ensemble does not run).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sim.studies import decisions
from sim.studies.sensitivity import DRAW

log = logging.getLogger(__name__)

# the reproduction report's targets for a fitted figure: 2021's, and any earlier year's
TOLERANCE = 0.02
TOLERANCE_EARLIER = 0.05
FILE = "reported_vs_simulated.csv"


def tolerance_for(rules: str) -> float:
    """The reproduction report's target for a fitted figure of the year whose rules these
    are (``y2021``: 2%; an earlier year: 5%)."""
    return TOLERANCE if rules == "y2021" else TOLERANCE_EARLIER


def fit_errors(df: pd.DataFrame, sweep_dir: Path, rules: str) -> pd.DataFrame:
    """Each fitted figure's relative error in every run of the year's own rules (``rules``):
    one row per (draw, seed, figure). Runs without the comparison file are left out."""
    rows = []
    for _, r in df[df.policy == rules].iterrows():
        path = Path(sweep_dir) / str(r.job) / FILE
        if not path.exists():
            continue
        t = pd.read_csv(path)
        t = t[(t.role == "fitted") & t.relative_error.notna()]
        rows += [
            {DRAW: int(r[DRAW]), "seed": int(r.seed_run), "figure": f, "relative_error": float(e)}
            for f, e in zip(t.figure, t.relative_error, strict=True)
        ]
    return pd.DataFrame(rows, columns=[DRAW, "seed", "figure", "relative_error"])


def acceptance(errors: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Per draw: its worst fitted figure (mean error over its seeds), that error, its seeds,
    and whether every fitted figure is within ``tolerance``."""
    if errors.empty:
        return pd.DataFrame(columns=[DRAW, "worst_figure", "worst_error", "seeds", "accepted"])
    mean = errors.groupby([DRAW, "figure"]).relative_error.mean().reset_index()
    seeds = errors.groupby(DRAW).seed.nunique()
    rows = []
    for draw, g in mean.groupby(DRAW):
        i = g.relative_error.abs().to_numpy().argmax()
        rows.append(
            {
                DRAW: int(draw),
                "worst_figure": g.figure.iloc[i],
                "worst_error": float(g.relative_error.iloc[i]),
                "seeds": int(seeds[draw]),
                "accepted": bool(abs(g.relative_error.iloc[i]) <= tolerance),
            }
        )
    return pd.DataFrame(rows)


def accepted_runs(df: pd.DataFrame, acc: pd.DataFrame) -> pd.DataFrame:
    """The sweep's runs under the accepted draws only (every policy of those blocks)."""
    keep = {int(d) for d in acc.loc[acc.accepted, DRAW]}
    out = df[df[DRAW].astype(int).isin(keep)].copy()  # a sweep's draws are override text
    out.attrs = dict(df.attrs)
    return out


def parameter_ranges(acc: pd.DataFrame, draws: pd.DataFrame, priors: dict) -> pd.DataFrame:
    """Each behavioural parameter's prior range against the range of its accepted draws."""
    keep = draws[draws.draw.isin(acc.loc[acc.accepted, DRAW])]
    rows = []
    for key, p in priors.items():
        if key not in draws:
            continue
        rows.append(
            {
                "parameter": key,
                "prior_low": float(p["low"]),
                "prior_high": float(p["high"]),
                "accepted_low": float(keep[key].min()) if len(keep) else np.nan,
                "accepted_high": float(keep[key].max()) if len(keep) else np.nan,
                "accepted_mean": float(keep[key].mean()) if len(keep) else np.nan,
                "prior_mean": float(draws[key].mean()),
            }
        )
    return pd.DataFrame(rows)


def posterior_decisions(df: pd.DataFrame, acc: pd.DataFrame) -> pd.DataFrame:
    """The decision table (``sim.studies.decisions``) over the accepted draws' blocks; empty
    when no draw is accepted."""
    sub = accepted_runs(df, acc)
    if sub.empty:
        return pd.DataFrame()
    return decisions.decision_table(sub)


def posterior(
    df: pd.DataFrame, sweep_dir: Path, rules: str, tolerance: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The acceptance of every draw (within ``tolerance``, by default the year's target:
    :func:`tolerance_for`; the column ``tolerance``) and the decisions over the accepted
    ones, or None when the sweep has no draws or no run of the year's own rules."""
    tolerance = tolerance_for(rules) if tolerance is None else tolerance
    if DRAW not in df or "job" not in df or rules not in set(df.policy):
        return None
    errors = fit_errors(df, sweep_dir, rules)
    if errors.empty:
        return None
    acc = acceptance(errors, tolerance)
    acc["tolerance"] = tolerance
    log.info(
        "posterior: %d of %d draws reproduce %s's fitted figures within %.0f%%",
        int(acc.accepted.sum()),
        len(acc),
        rules,
        100 * tolerance,
    )
    return acc, posterior_decisions(df, acc)
