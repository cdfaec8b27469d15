"""Paired answers for a planner: each policy against a reference, the chance that each is
best for each aim, and how stable its rank is (issue 18).

A sweep's runs share their random numbers by seed (common random numbers: the same donors,
projects and honest gifts for every policy of a seed), and in an ensemble also by
behavioural draw. So policies are compared **within a block**, the runs that share a seed
(and a draw, and every other setting that is not the policy's), never as means of
independent samples:

- :func:`paired`: per policy, the difference from the reference policy's run of the same
  block, its mean, the 95% t-interval over blocks and the share of blocks where it is
  positive;
- :func:`best_probability`: per aim (:data:`sim.studies.gather.AIMS`), the share of blocks
  in which each policy is the best (ties within the aim's tolerance share the block
  equally), among the policies that match at all;
- :func:`ranks`: per aim, each policy's mean rank over blocks (1 the best, ties averaged),
  its spread, and the share of blocks at its most frequent rank;
- :func:`decision_table`: per aim, the pick (the highest chance of being best), that chance,
  the runner-up and the chance that the pick beats it in a block.

Only blocks in which every compared policy has a run are used; how many is said.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.studies.gather import AIMS, KEY_METRICS, _fmt, _setting_columns, t_half_width

BLOCK_COLUMNS = ("seed_run", "ensemble.draw")  # what the runs of a block share besides settings


def _block_and_label(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns that make a block (the seed, an ensemble's draw, every setting that is
    not the policy's) and those that make a compared policy (``policy`` and ``policy.*``)."""
    settings = _setting_columns(df)
    label = [c for c in settings if c == "policy" or c.startswith("policy.")]
    if not label:
        raise ValueError("the sweep has no policy setting to compare (policy=... or policy.*)")
    block = [c for c in BLOCK_COLUMNS if c in df] + [
        c for c in settings if c not in label and c not in BLOCK_COLUMNS
    ]
    return block, label


def _wide(df: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, list[str]]:
    """``metric`` as a table of blocks (rows) by policies (columns), complete blocks only."""
    block, label = _block_and_label(df)
    d = df.assign(
        _policy=df[label].astype(str).agg(", ".join, axis=1)
        if len(label) > 1
        else df[label[0]].astype(str)
    )
    wide = d.pivot_table(index=block, columns="_policy", values=metric, aggfunc="first")
    return wide.dropna(axis=0, how="any"), block


def paired(df: pd.DataFrame, metric: str, reference: str) -> pd.DataFrame:
    """Each policy's ``metric`` minus the ``reference`` policy's in the same block: mean,
    95% t-interval over blocks, the share of blocks where it is above zero, blocks used."""
    wide, _ = _wide(df, metric)
    if reference not in wide:
        raise ValueError(f"reference policy {reference!r} is not in the sweep: {list(wide)}")
    rows = []
    for p in wide.columns:
        if p == reference:
            continue
        d = (wide[p] - wide[reference]).to_numpy(dtype=float)
        n = d.size
        mean = float(d.mean()) if n else np.nan
        half = t_half_width(d)
        rows.append(
            {
                "policy": p,
                "reference": reference,
                "metric": metric,
                "blocks": n,
                "mean_difference": mean,
                "ci95_low": mean - half,
                "ci95_high": mean + half,
                "share_above_zero": float((d > 0).mean()) if n else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _compared(wide: pd.DataFrame) -> pd.DataFrame:
    """The policies that match at all (not ``none``)."""
    return wide[[c for c in wide.columns if c != "none"]]


def _best_shares(values: np.ndarray, high: bool, tol: float) -> np.ndarray:
    """Per block (row), each policy's share of being best: 1/k for each of the k policies
    within ``tol`` (relative) of the block's best, 0 for the others."""
    best = values.max(axis=1) if high else values.min(axis=1)
    scale = np.maximum(np.abs(best), 1e-12)
    tied = np.abs(values - best[:, None]) <= tol * scale[:, None]
    return tied / tied.sum(axis=1, keepdims=True)


def best_probability(df: pd.DataFrame) -> pd.DataFrame:
    """Per aim and policy: the share of blocks in which the policy is the best."""
    rows = []
    for aim, (metric, high, tol) in AIMS.items():
        if metric not in df or df[metric].isna().all():
            continue
        wide = _compared(_wide(df, metric)[0])
        if wide.empty or wide.shape[1] == 0:
            continue
        shares = _best_shares(wide.to_numpy(dtype=float), high, tol).mean(axis=0)
        for p, s in zip(wide.columns, shares, strict=True):
            rows.append(
                {"aim": aim, "metric": metric, "policy": p, "p_best": float(s), "blocks": len(wide)}
            )
    return pd.DataFrame(rows, columns=["aim", "metric", "policy", "p_best", "blocks"])


def ranks(df: pd.DataFrame) -> pd.DataFrame:
    """Per aim and policy: mean rank over blocks (1 the best, ties averaged), its standard
    deviation, the most frequent rank and the share of blocks at it."""
    rows = []
    for aim, (metric, high, _tol) in AIMS.items():
        if metric not in df or df[metric].isna().all():
            continue
        wide = _compared(_wide(df, metric)[0])
        if wide.empty:
            continue
        r = wide.rank(axis=1, ascending=not high, method="average")
        for p in wide.columns:
            counts = r[p].value_counts()
            rows.append(
                {
                    "aim": aim,
                    "policy": p,
                    "mean_rank": float(r[p].mean()),
                    "rank_sd": float(r[p].std(ddof=1)) if len(r) > 1 else np.nan,
                    "modal_rank": float(counts.index[0]),
                    "share_at_modal_rank": float(counts.iloc[0] / len(r)),
                    "blocks": len(r),
                }
            )
    return pd.DataFrame(rows)


def decision_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per aim: the pick (the policy most often best; of those equally often best, the one
    with the best mean over the blocks), that chance, the runner-up (the same order) and the
    share of blocks in which the pick does better than the runner-up (ties count half)."""
    pb = best_probability(df)
    rows = []
    for aim, (metric, high, tol) in AIMS.items():
        g = pb[pb.aim == aim]
        if g.empty:
            continue
        wide = _compared(_wide(df, metric)[0])
        g = g.assign(mean=g.policy.map(wide.mean())).sort_values(
            ["p_best", "mean"], ascending=[False, not high], kind="stable"
        )
        pick = g.iloc[0]
        row = {
            "aim": aim,
            "metric": metric,
            "pick": pick.policy,
            "p_best": pick.p_best,
            "blocks": int(pick.blocks),
        }
        if len(g) > 1:
            second = g.iloc[1].policy
            a, b = wide[pick.policy].to_numpy(float), wide[second].to_numpy(float)
            tie = np.abs(a - b) <= tol * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
            better = (a > b) if high else (a < b)
            row |= {
                "runner_up": second,
                "runner_up_p_best": float(g.iloc[1].p_best),
                "p_pick_beats_runner_up": float(np.where(tie, 0.5, better).mean()),
            }
        rows.append(row)
    return pd.DataFrame(rows)


def _points(x: float) -> str:
    """A difference of shares in percentage points."""
    return f"{100 * x:+.2f} pt"


def _money(x: float) -> str:
    """A difference of money in 亿 / 万 with its sign."""
    return ("+" if x > 0 else "") + _fmt(float(x))


def _pct(x: float) -> str:
    return "" if x is None or np.isnan(x) else f"{100 * x:.0f}%"


def markdown(df: pd.DataFrame, references: tuple[str, ...] = ("none", "y2021")) -> str:
    """The decision table, then each policy against each reference present (money in
    亿 / 万, intervals over blocks)."""
    lines = ["## What to pick for each aim", ""]
    dec = decision_table(df)
    if dec.empty:
        wide, block = _wide(df, "total_raised_yuan")
        why = (
            f"no block ({', '.join(block)}) holds a complete run of every policy, so none "
            "can be compared by block (see the jobs left out)"
            if wide.empty
            else "no policy that matches"
        )
        return "\n".join(lines + [f"No aim could be compared: {why}.", ""])
    lines += [
        "| aim | pick | chance it is best | runner-up | chance the pick beats it | blocks |",
        "|---|---|---:|---|---:|---:|",
    ]
    for _, r in dec.iterrows():
        runner = r.get("runner_up", np.nan)
        runner = f"{runner} ({_pct(r.runner_up_p_best)})" if isinstance(runner, str) else "(none)"
        lines.append(
            f"| {r.aim} | {r.pick} | {_pct(r.p_best)} | {runner} | "
            f"{_pct(r.get('p_pick_beats_runner_up', np.nan))} | {r.blocks} |"
        )
    block, _ = _block_and_label(df)
    lines += [
        "",
        f"A block is the runs that share {', '.join(block)} (common random numbers); the "
        "chance that a policy is best is the share of blocks in which it is (ties within "
        "the aim's tolerance share a block). With "
        f"{int(dec.blocks.min())} blocks a chance moves in steps of "
        f"{100 / max(int(dec.blocks.min()), 1):.0f} points: more seeds or draws make it finer.",
        "",
    ]
    policies = (
        set(_wide(df, "total_raised_yuan")[0].columns) if "total_raised_yuan" in df else set()
    )
    for ref in references:
        if ref not in policies:
            continue
        lines += [f"## Against {ref}, paired by block", ""]
        metrics = [
            m
            for m in (
                "total_raised_yuan",
                "lifted_public_yuan",
                "matched_donor_share",
                "org_gini",
                "gaming_share_of_foundation_match",
            )
            if m in df
        ]
        lines += [
            "| policy | " + " | ".join(KEY_METRICS.get(m, m) for m in metrics) + " |",
            "|---|" + "---:|" * len(metrics),
        ]
        tabs = {m: paired(df, m, ref).set_index("policy") for m in metrics}
        for p in tabs[metrics[0]].index:
            cells = []
            for m in metrics:
                r = tabs[m].loc[p]
                f = _points if ("share" in m or "gini" in m) else _money
                cells.append(f"{f(r.mean_difference)} [{f(r.ci95_low)}, {f(r.ci95_high)}]")
            lines.append(f"| {p} | " + " | ".join(cells) + " |")
        lines += ["", "Mean difference over blocks [95% t-interval].", ""]
    return "\n".join(lines).rstrip() + "\n"
