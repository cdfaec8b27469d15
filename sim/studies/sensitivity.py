"""Which assumption decides it (issue 18): the share of the variance of each metric, and of
each difference between two policies, that each behavioural parameter of an ensemble
explains.

The ensemble (:mod:`sim.studies.ensemble`) runs every policy under each of its draws of the
behavioural parameters and each seed, on common random numbers. Its runs are given data, not
a Saltelli design, so the indices are estimated from them as they are: SALib's
first-order Sobol index from given data (``SALib.analyze.delta``'s estimator, after
Plischke, Borgonovo & Smith 2013): the sample is cut into equal-count classes of each
parameter, and the index is the variance of the class means over the total variance, with a
bootstrap interval. One point is one block (a seed and a draw): its parameters are its
draw's values, its response the metric of a policy, or the difference between two policies
within the block (paired, so the seeds' noise that both share cancels; what is left of it
is variance no parameter explains).

- :func:`first_order`: the indices of one response;
- :func:`sensitivity`: for each aim (:data:`sim.studies.gather.AIMS`), the indices of the
  aim's metric for every policy, and of the difference between the aim's pick
  (:func:`sim.studies.decisions.decision_table`) and every other policy;
- :func:`top_assumptions`, :func:`markdown`: the parameters that decide each aim's pick
  (the largest indices of the pick's difference from its runner-up), with their sources.

With few points the estimate is rough: with 40 blocks it uses 3 classes a parameter, a
parameter that does nothing scores about (3 - 1)/40 = 0.05 by chance, and the intervals are wide;
more draws (``hydra.sweeper.draws=64``) narrow them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.studies.gather import AIMS

DRAW = "ensemble.draw"
RESAMPLES = 200  # bootstrap resamples of each index's interval
MIN_POINTS = 8  # fewer blocks than this and no index is estimated (two classes of 4)


def problem(draws: pd.DataFrame) -> dict:
    """SALib's problem: the parameters (the columns of ``draws`` but ``draw``) and the range
    each was drawn over."""
    names = [c for c in draws.columns if c != "draw"]
    bounds = [[float(draws[c].min()), float(draws[c].max())] for c in names]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def classes(n: int) -> int:
    """How many equal-count classes SALib cuts ``n`` points into (Plischke et al. 2013's
    rule, as ``SALib.analyze.delta``)."""
    exp = 2.0 / (7.0 + np.tanh((1500.0 - n) / 500.0))
    return int(np.round(min(int(np.ceil(n**exp)), 48)))


def first_order(
    x: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0, resamples: int = RESAMPLES
) -> pd.DataFrame:
    """First-order Sobol indices of ``y`` (one value a point) to each column of ``x``, from
    given data: columns ``parameter``, ``S1`` (on all the points), ``S1_conf`` (half the 95%
    bootstrap interval, from ``seed``). A response that does not vary has every index 0.

    SALib's estimator (``SALib.analyze.delta.sobol_first`` and ``sobol_first_conf``) is
    called directly: its ``analyze`` takes the point estimate from one bootstrap resample
    and seeds nothing when the seed is 0, so the same data would not give the same index."""
    from SALib.analyze import delta

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(y) != len(x) or len(y) < 4:
        raise ValueError(f"sensitivity needs at least 4 points with a value each, not {len(y)}")
    if np.ptp(y) == 0:
        return pd.DataFrame({"parameter": names, "S1": 0.0, "S1_conf": 0.0})
    n = len(y)
    m = np.linspace(0, n, classes(n) + 1)
    state = np.random.get_state()  # SALib's bootstrap draws from numpy's global generator
    try:
        np.random.seed(seed)
        s1 = [float(delta.sobol_first(y, x[:, j], m)) for j in range(x.shape[1])]
        conf = [
            float(delta.sobol_first_conf(y, x[:, j], m, resamples, 0.95, n))
            for j in range(x.shape[1])
        ]
    finally:
        np.random.set_state(state)
    return pd.DataFrame({"parameter": names, "S1": s1, "S1_conf": conf})


def _points(df: pd.DataFrame, draws: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The blocks (seed, draw, ...) by policies of ``metric``, complete blocks only, and each
    block's parameter values."""
    from sim.studies.decisions import _wide

    wide = _wide(df, metric)[0]
    draw_of = wide.index.get_level_values(DRAW).astype(float).astype(int)
    by_draw = draws.set_index("draw")
    x = by_draw.loc[draw_of, [c for c in draws.columns if c != "draw"]].to_numpy(float)
    return wide, x


def sensitivity(df: pd.DataFrame, draws: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """For each aim: the first-order indices of the aim's metric for every policy
    (``response`` ``metric``) and of the pick's difference from every other policy
    (``response`` ``difference``, ``versus`` the other), one row a parameter, with its rank
    among the parameters (1 explains the most)."""
    from sim.studies.decisions import decision_table

    if DRAW not in df:
        raise ValueError(f"sensitivity needs an ensemble's runs (a {DRAW} column)")
    names = [c for c in draws.columns if c != "draw"]
    dec = decision_table(df).set_index("aim")
    frames = []
    for aim, (metric, _high, _tol) in AIMS.items():
        if metric not in df or aim not in dec.index:
            continue
        wide, x = _points(df, draws, metric)
        if len(wide) < MIN_POINTS:
            continue
        pick = dec.loc[aim, "pick"]
        jobs = [("metric", p, "", wide[p].to_numpy(float)) for p in wide.columns]
        jobs += [
            ("difference", pick, p, (wide[pick] - wide[p]).to_numpy(float))
            for p in wide.columns
            if p != pick
        ]
        for response, policy, versus, y in jobs:
            t = first_order(x, y, names, seed=seed)
            t["rank"] = t.S1.rank(ascending=False, method="first").astype(int)
            t.insert(0, "versus", versus)
            t.insert(0, "policy", policy)
            t.insert(0, "response", response)
            t.insert(0, "metric", metric)
            t.insert(0, "aim", aim)
            t["points"] = len(y)
            frames.append(t)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def top_assumptions(sens: pd.DataFrame, dec: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Per aim, the ``k`` parameters that explain most of the pick's difference from its
    runner-up."""
    rows = []
    if sens.empty:
        return pd.DataFrame()
    for _, d in dec.iterrows():
        runner = d.get("runner_up")
        if not isinstance(runner, str):
            continue
        s = sens[
            (sens.aim == d.aim)
            & (sens.response == "difference")
            & (sens.policy == d.pick)
            & (sens.versus == runner)
        ]
        rows.append(s.sort_values("S1", ascending=False, kind="stable").head(k))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def markdown(
    sens: pd.DataFrame, dec: pd.DataFrame, sources: Mapping[str, str] | None = None, k: int = 3
) -> str:
    """The section of ``decisions.md``: for each aim, the assumptions that decide whether its
    pick beats the runner-up, each with its index, interval and source."""
    sources = dict(sources or {})
    top = top_assumptions(sens, dec, k)
    lines = ["## Which assumption decides it", ""]
    if top.empty:
        return "\n".join(
            lines
            + [
                "Not estimated: it needs at least "
                f"{MIN_POINTS} blocks (seeds × draws) with every policy, and an aim with a "
                "runner-up.",
                "",
            ]
        )
    n = int(top.points.iloc[0])
    lines += [
        "For each aim, the behavioural parameters that explain most of the variance of the "
        "pick's difference from the runner-up over the blocks (first-order Sobol index from "
        f"the ensemble's {n} blocks, SALib; ± half the 95% bootstrap interval). A parameter "
        f"that does nothing scores about {(classes(n) - 1) / n:.2f} by chance at this size "
        f"({classes(n)} classes); more draws "
        "(`hydra.sweeper.draws=64`) narrow the intervals. `sensitivity.csv` holds every "
        "metric and every difference.",
        "",
        "| aim | pick − runner-up | assumption | first-order index | its range's source |",
        "|---|---|---|---:|---|",
    ]
    for _, r in top.iterrows():
        name = r.parameter.removeprefix("scenario.response.")
        lines.append(
            f"| {r.aim} | {r.policy} − {r.versus} | {name} | {r.S1:.2f} ± {r.S1_conf:.2f} | "
            f"{sources.get(r.parameter, '')} |"
        )
    lines.append("")
    return "\n".join(lines)
