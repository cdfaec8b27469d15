"""The behavioural ensemble's parameter draws (issue 18).

Every behavioural parameter the ensemble varies carries a prior in the experiment's config
(``conf/experiment/ensemble.yaml``, ``hydra.sweeper.priors``): a dotted config key, the
range ``[low, high]`` it is drawn from uniformly (``log: true``: uniformly on the log
scale) and the source of that range. :func:`draw_parameters` draws ``n`` points of the
unit cube by a scrambled Sobol sequence or a Latin hypercube (``scipy.stats.qmc``), seeded,
so the same seed gives the same draws, and maps them onto the ranges. The ensemble sweeper
(:mod:`hydra_plugins.giving_day_sweeper`) runs every policy of the sweep under each draw and
each seed (common random numbers: a seed's donors and honest gifts are the same under every
policy and draw), writes the draws to ``draws.csv`` in the sweep directory, and the
gatherer pairs the runs by (seed, draw) (:mod:`sim.studies.decisions`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import qmc

SAMPLERS = ("sobol", "lhs")


@dataclass(frozen=True)
class Prior:
    """A parameter's range, uniform (on the log scale if ``log``), and where it comes from."""

    key: str
    low: float
    high: float
    source: str
    log: bool = False


def priors_from(spec: Mapping[str, Mapping]) -> list[Prior]:
    """The priors of a config mapping ``key -> {low, high, source, log}``; a bad one is an
    error naming its key and what is allowed."""
    out = []
    for key, p in spec.items():
        missing = [f for f in ("low", "high", "source") if f not in p]
        if missing:
            raise ValueError(f"ensemble prior {key}: missing {missing}; give low, high and source")
        low, high = float(p["low"]), float(p["high"])
        log = bool(p.get("log", False))
        if not low < high:
            raise ValueError(f"ensemble prior {key}: low {low} must be below high {high}")
        if log and low <= 0:
            raise ValueError(f"ensemble prior {key}: a log-scale range needs low > 0, not {low}")
        out.append(Prior(str(key), low, high, str(p["source"]), log))
    if not out:
        raise ValueError("the ensemble has no priors (hydra.sweeper.priors is empty)")
    return out


def draw_parameters(priors: list[Prior], n: int, sampler: str, seed: int) -> pd.DataFrame:
    """``n`` draws (rows ``draw`` 0..n-1) of every prior's key, by ``sampler`` (one of
    :data:`SAMPLERS`) from ``seed``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"ensemble sampler: {sampler!r}; allowed values are {list(SAMPLERS)}")
    if n < 1:
        raise ValueError(f"ensemble draws: {n}; at least 1")
    d = len(priors)
    if sampler == "sobol":
        eng = qmc.Sobol(d, scramble=True, seed=seed)
        # a power of two keeps the sequence's balance; the first n of it are used
        u = eng.random_base2(int(np.ceil(np.log2(max(n, 2)))))[:n]
    else:
        u = qmc.LatinHypercube(d, seed=seed).random(n)
    cols = {}
    for j, p in enumerate(priors):
        if p.log:
            cols[p.key] = np.exp(np.log(p.low) + u[:, j] * (np.log(p.high) - np.log(p.low)))
        else:
            cols[p.key] = p.low + u[:, j] * (p.high - p.low)
    df = pd.DataFrame(cols)
    df.insert(0, "draw", np.arange(n))
    return df


def draw_overrides(draws: pd.DataFrame) -> list[list[str]]:
    """Each draw as Hydra overrides: its number (``ensemble.draw``) and its values (9
    significant digits: the same text, so the same config, every time)."""
    out = []
    for _, row in draws.iterrows():
        ov = [f"ensemble.draw={int(row['draw'])}"]
        ov += [f"{k}={float(row[k]):.9g}" for k in draws.columns if k != "draw"]
        out.append(ov)
    return out
