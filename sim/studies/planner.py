"""The planner's report of a sweep that compares policies (issue 18): ``report.md`` and the
same as one self-contained page, ``report.html`` (its figures inside it), with the long
tables as CSV and parquet.

Its first page says what to pick for each aim and how sure (the decision table of
:mod:`sim.studies.decisions`, paired by block), and, for an ensemble, the assumptions that
would change it (:mod:`sim.studies.sensitivity`); the scale the runs used, and whether the
picks hold at full scale (:func:`check_full_scale`: each aim's pick and runner-up run at
full scale under the behaviour's defaults, paired by seed). Then the main table: each policy's
money raised, new money (lift) and money moved in time to a match (shift) apart, donors
matched, the Gini across organisations and the Foundation match that gaming took, in 亿 / 万
and percentages with 95% intervals over blocks; each policy against 2021's rules; figures
with readable units and error bars.

Run again on a gathered sweep: ``python -m sim.studies.planner outputs/sweeps/ensemble``
(``--check-full-scale`` runs the full-scale check first).
"""

from __future__ import annotations

import argparse
import base64
import html
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sim import command
from sim.studies import decisions, posterior, sensitivity
from sim.studies.gather import AIMS, KEY_METRICS, _fmt, t_half_width
from sim.studies.sweeps import need_folder

log = logging.getLogger(__name__)

FULL_SCALE_DIR = "full_scale"
FULL_SCALE_SEEDS = (1, 2)
MAIN_METRICS = (
    "total_raised_yuan",
    "lifted_public_yuan",
    "shifted_public_yuan",
    "matched_donor_share",
    "org_gini",
    "gaming_share_of_foundation_match",
)
SHORT = {
    "total_raised_yuan": "raised",
    "lifted_public_yuan": "new money (lift)",
    "shifted_public_yuan": "moved in time (shift)",
    "matched_donor_share": "donors matched",
    "org_gini": "Gini across organisations",
    "gaming_share_of_foundation_match": "Foundation match to gaming",
}

Block = tuple  # ("h1" | "h2" | "p", text) | ("table", header, rows) | ("img", path, caption)


def _is_money(metric: str) -> bool:
    return metric.endswith("_yuan")


def value_text(metric: str, x: float, signed: bool = False) -> str:
    """A level or a difference as a planner reads it: money in 亿 / 万, a share in percent
    (a difference of shares in points), the Gini to 3 decimals."""
    if x is None or not np.isfinite(x):
        return "n/a"
    sign = "+" if signed and x > 0 else ""
    if _is_money(metric):
        return sign + _fmt(float(x)) if abs(x) >= 1e4 else f"{sign}{x:,.0f} 元"
    if "share" in metric:
        return f"{sign}{100 * x:.1f}" + (" pt" if signed else "%")
    return f"{sign}{x:.3f}"


def _interval(metric: str, mean: float, half: float, signed: bool = False) -> str:
    if not np.isfinite(half):
        return value_text(metric, mean, signed)
    lo, hi = mean - half, mean + half
    return f"{value_text(metric, mean, signed)} [{value_text(metric, lo, signed)}, {value_text(metric, hi, signed)}]"


def main_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per policy and metric: the mean over complete blocks and half its 95% t-interval."""
    rows = []
    for m in MAIN_METRICS:
        if m not in df or df[m].isna().all():
            continue
        wide, _ = decisions._wide(df, m)
        n = len(wide)
        for p in wide.columns:
            v = wide[p].to_numpy(float)
            half = t_half_width(v)
            rows.append(
                {"policy": p, "metric": m, "mean": float(v.mean()), "ci95_half": half, "blocks": n}
            )
    return pd.DataFrame(rows)


def compared_labels(df: pd.DataFrame) -> set[str]:
    """The compared policies' labels (``policy``, joined with every ``policy.*`` setting the
    sweep varies: ``y2021, 300000000.0``)."""
    return (
        set(decisions._wide(df, "total_raised_yuan")[0].columns)
        if "total_raised_yuan" in df
        else set()
    )


def sweep_settings(sweep_dir: Path) -> dict:
    """What the sweep ran: its scale, seeds, draws and priors' sources (``multirun.yaml``)."""
    path = Path(sweep_dir) / "multirun.yaml"
    conf = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    hydra_conf = conf.get("hydra") or {}
    sweeper = hydra_conf.get("sweeper") or {}
    priors = sweeper.get("priors") or {}
    choices = (hydra_conf.get("runtime") or {}).get("choices") or {}
    task = ((hydra_conf.get("overrides") or {}).get("task")) or []
    return {
        "choices": {k: v for k, v in choices.items() if k in ("gaming", "scenario", "population")},
        "task": [str(t) for t in task],
        "scale": conf.get("scale"),
        "scenario": choices.get("scenario") or (conf.get("scenario") or {}).get("name"),
        "draws": sweeper.get("draws") if priors else None,
        "sampler": sweeper.get("sampler") if priors else None,
        "sources": {k: str(v.get("source", "")) for k, v in priors.items()},
        "priors": {k: dict(v) for k, v in priors.items()},
        "gaming": choices.get("gaming") or (conf.get("gaming") or {}).get("name"),
    }


# ---------------------------------------------------------------- the full-scale check


def full_scale_policies(dec: pd.DataFrame) -> list[str]:
    """Each aim's pick and runner-up, once each, in the decision table's order."""
    names = list(dec.pick) + [r for r in dec.get("runner_up", []) if isinstance(r, str)]
    return list(dict.fromkeys(names))


FULL_SCALE_DROPS = ("experiment", "seed", "scale", "policy", "ensemble.draw")


def full_scale_overrides(settings: dict) -> list[str]:
    """The sweep's own settings that the full-scale check keeps: its group choices (gaming,
    scenario, population) and every override of its command line that is not swept, not a
    behavioural draw and not the experiment, seed, scale or policy."""
    keep = [f"{k}={v}" for k, v in settings.get("choices", {}).items()]
    for item in settings.get("task", []):
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key in FULL_SCALE_DROPS or key in settings.get("sources", {}):
            continue
        if key.startswith("hydra") or key in settings.get("choices", {}) or "," in value:
            continue
        keep.append(item)
    return keep


def check_full_scale(sweep_dir: Path, seeds: Sequence[int] = FULL_SCALE_SEEDS) -> Path:
    """Run each aim's pick and runner-up at full scale (under the behaviour's defaults,
    ``conf/scenario/common/behaviour.yaml``; the sweep's other settings,
    :func:`full_scale_overrides`) into ``<sweep>/full_scale`` through the app (every core;
    resumable like every sweep). Returns the folder; a job that fails is logged, and the
    report says what finished."""
    sweep_dir = Path(sweep_dir)
    dec = pd.read_csv(sweep_dir / "decisions.csv")
    names = full_scale_policies(dec)
    if any(", " in n for n in names):
        raise ValueError(
            "the full-scale check compares policies named by policy=... alone; this sweep's "
            f"compared settings are several: {names}"
        )
    out = sweep_dir / FULL_SCALE_DIR
    argv = [
        sys.executable,
        "-m",
        "sim",
        "-m",
        f"policy={','.join(names)}",
        f"seed={','.join(str(s) for s in seeds)}",
        "scale=1.0",
        *full_scale_overrides(sweep_settings(sweep_dir)),
        f"hydra.sweep.dir={out}",
        "hydra/launcher=joblib",
        "output.figures=false",
        "output.progress=false",
    ]
    log.info("full-scale check: %s", " ".join(argv[1:]))
    res = subprocess.run(argv, check=False)
    if res.returncode != 0:
        log.warning(
            "full-scale check: the sweep exited %d; the report uses what finished", res.returncode
        )
    return out


def full_scale_comparison(
    sweep_dir: Path, dec: pd.DataFrame, df: pd.DataFrame
) -> pd.DataFrame | None:
    """Per aim: the pick minus the runner-up at full scale (mean over seeds, paired) against
    the same difference in the sweep, and whether the pick still wins; None if the check has
    not been run."""
    from sim.studies.gather import collect

    folder = Path(sweep_dir) / FULL_SCALE_DIR
    if not folder.is_dir():
        return None
    full, _ = collect(folder)
    if full.empty:
        return None
    rows = []
    for _, d in dec.iterrows():
        runner = d.get("runner_up")
        metric, high, tol = AIMS[d.aim]
        if not isinstance(runner, str) or metric not in full:
            continue
        wide_f, _ = decisions._wide(full, metric)
        wide_s, _ = decisions._wide(df, metric)
        if d.pick not in wide_f or runner not in wide_f:
            continue
        a, b = wide_f[d.pick].to_numpy(float), wide_f[runner].to_numpy(float)
        if not len(a):
            continue
        diff_f, diff_s = a - b, (wide_s[d.pick] - wide_s[runner]).to_numpy(float)
        tie = np.abs(diff_f) <= tol * np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
        wins = np.where(tie, 0.5, (diff_f > 0) if high else (diff_f < 0))
        rows.append(
            {
                "aim": d.aim,
                "metric": metric,
                "pick": d.pick,
                "runner_up": runner,
                "difference_sweep": float(diff_s.mean()),
                "difference_full_scale": float(diff_f.mean()),
                "seeds_full_scale": len(diff_f),
                "pick_wins_full_scale": float(wins.mean()),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- figures


def figures(df: pd.DataFrame, sens: pd.DataFrame | None, sweep_dir: Path) -> list[tuple[Path, str]]:
    """The report's figures: the chance that each policy is best for each aim; each policy
    against 2021's rules with 95% intervals, in readable units; for an ensemble, which
    assumption explains each aim's pick against its runner-up."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    out: list[tuple[Path, str]] = []
    pb = decisions.best_probability(df)
    if not pb.empty:
        grid = pb.pivot_table(index="policy", columns="aim", values="p_best", aggfunc="first")
        grid = grid[[a for a in AIMS if a in grid.columns]]
        grid.columns = [a.split(" (")[0] for a in grid.columns]
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(grid) + 1.5))
        sns.heatmap(
            100 * grid, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, cbar=False, ax=ax
        )
        ax.set(title="Chance that each policy is best (% of blocks)", xlabel="", ylabel="")
        fig.tight_layout()
        out.append(
            (Path(sweep_dir) / "report_best.png", "Chance that each policy is best, per aim")
        )
        fig.savefig(out[-1][0], dpi=100)
        plt.close(fig)
    if "y2021" in compared_labels(df):
        shown = [m for m in MAIN_METRICS if m in df and df[m].notna().any()]
        fig, axes = plt.subplots(
            1, len(shown), figsize=(3.2 * len(shown), 0.35 * df.policy.nunique() + 2), sharey=True
        )
        for ax, m in zip(np.atleast_1d(axes), shown, strict=True):
            p = decisions.paired(df, m, "y2021").sort_values("policy")
            unit, div = (
                ("10,000 yuan", 1e4)
                if _is_money(m)
                else (("points", 0.01) if "share" in m else ("", 1.0))
            )
            ax.errorbar(
                p.mean_difference / div,
                p.policy,
                xerr=[
                    (p.mean_difference - p.ci95_low) / div,
                    (p.ci95_high - p.mean_difference) / div,
                ],
                fmt="o",
                capsize=2,
            )
            ax.axvline(0, color="grey", lw=0.8)
            ax.set(
                title=SHORT[m],
                xlabel=f"against 2021's rules ({unit})" if unit else "against 2021's rules",
            )
        fig.suptitle("Each policy minus 2021's rules, paired by block (mean, 95% interval)")
        fig.tight_layout()
        out.append((Path(sweep_dir) / "report_vs_2021.png", "Each policy against 2021's rules"))
        fig.savefig(out[-1][0], dpi=100)
        plt.close(fig)
    if sens is not None and not sens.empty:
        dec = decisions.decision_table(df)
        rows = []
        for _, d in dec.iterrows():
            s = sens[
                (sens.aim == d.aim)
                & (sens.response == "difference")
                & (sens.policy == d.pick)
                & (sens.versus == d.get("runner_up"))
            ]
            for _, r in s.iterrows():
                rows.append(
                    {
                        "aim": f"{d.aim.split(' (')[0]}: {d.pick} − {d.runner_up}",
                        "parameter": r.parameter.removeprefix("scenario.response."),
                        "S1": r.S1,
                    }
                )
        if rows:
            g = pd.DataFrame(rows).pivot_table(
                index="aim", columns="parameter", values="S1", aggfunc="first"
            )
            fig, ax = plt.subplots(figsize=(1.3 * g.shape[1] + 4, 0.6 * len(g) + 2))
            sns.heatmap(g, annot=True, fmt=".2f", cmap="Oranges", vmin=0, vmax=1, cbar=False, ax=ax)
            ax.set(
                title="Which assumption decides it (first-order Sobol index of pick − runner-up)",
                xlabel="",
                ylabel="",
            )
            fig.tight_layout()
            out.append(
                (Path(sweep_dir) / "report_sensitivity.png", "Which assumption decides each aim")
            )
            fig.savefig(out[-1][0], dpi=100)
            plt.close(fig)
    return out


# ---------------------------------------------------------------- the report


Posterior = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]  # acceptance, decisions, ranges


def posterior_blocks(post: Posterior, dec: pd.DataFrame, settings: dict) -> list[Block]:
    """The decisions again over the draws that reproduce the year (``sim.studies.posterior``),
    and each parameter's accepted range (:func:`sim.studies.posterior.parameter_ranges`)."""
    acc, post_dec, ranges = post
    rules = settings.get("scenario") or "the year"
    n_ok = int(acc.accepted.sum())
    out: list[Block] = [
        ("h2", f"Under the draws that reproduce {rules} (an approximate posterior)"),
        (
            "p",
            f"{n_ok} of {len(acc)} behavioural draws reproduce {rules}'s fitted figures within "
            f"{100 * float(acc.tolerance.iloc[0]):.0f}% under {rules}'s own rules (the mean over their "
            "seeds; the reproduction report's target): rejection ABC, `posterior.csv`. The "
            "year's levels are those fitted at the behaviour's defaults, not fitted again for "
            "each draw.",
        ),
    ]
    if n_ok == 0 or post_dec.empty:
        worst = acc.loc[acc.worst_error.abs().idxmin()]
        out.append(
            (
                "p",
                f"No draw is accepted (the nearest, draw {int(worst[posterior.DRAW])}, misses "
                f"{worst.worst_figure} by {100 * worst.worst_error:+.1f}%): the decisions above "
                "rest on the priors alone.",
            )
        )
        return out
    prior = dec.set_index("aim")
    rows = []
    for _, d in post_dec.iterrows():
        p0 = prior.loc[d.aim] if d.aim in prior.index else None
        rows.append(
            [
                d.aim,
                f"{p0.pick} ({100 * p0.p_best:.0f}%)" if p0 is not None else "",
                f"**{d.pick}** ({100 * d.p_best:.0f}%)",
                f"{d.runner_up} ({100 * d.runner_up_p_best:.0f}%)"
                if isinstance(d.get("runner_up"), str)
                else "(none)",
                f"{int(d.blocks)}",
            ]
        )
    out.append(
        (
            "table",
            ["aim", "pick over every draw", "pick over the accepted draws", "runner-up", "blocks"],
            rows,
        )
    )
    if not ranges.empty:
        out.append(
            (
                "table",
                [
                    "parameter",
                    "prior range",
                    "accepted draws' range",
                    "mean over every draw",
                    "over the accepted",
                ],
                [
                    [
                        f"`{r.parameter.removeprefix('scenario.response.')}`",
                        f"{r.prior_low:.3g}–{r.prior_high:.3g}",
                        f"{r.accepted_low:.3g}–{r.accepted_high:.3g}",
                        f"{r.prior_mean:.3g}",
                        f"{r.accepted_mean:.3g}",
                    ]
                    for _, r in ranges.iterrows()
                ],
            )
        )
    return out


def blocks(
    df: pd.DataFrame,
    sweep_dir: Path,
    sens: pd.DataFrame | None,
    images: Sequence[tuple[Path, str]] = (),
    post: Posterior | None = None,
) -> list[Block]:
    """The report as a list of blocks, written both as Markdown and as HTML."""
    settings = sweep_settings(sweep_dir)
    dec = decisions.decision_table(df)
    top = sensitivity.top_assumptions(sens, dec) if sens is not None and not sens.empty else None
    if top is not None and top.empty:
        top = None
    n_pol = df.policy.nunique()
    seeds = df.seed_run.nunique() if "seed_run" in df else None
    what = f"{n_pol} policies"
    if settings.get("draws"):
        what += f" × {df['ensemble.draw'].nunique()} behavioural draws ({settings.get('sampler')})"
    if seeds:
        what += f" × {seeds} seed" + ("s" if seeds > 1 else "")
    scale = settings.get("scale")
    out: list[Block] = [
        ("h1", "The planner's report"),
        (
            "p",
            f"{len(df)} runs: {what}"
            + (f", scenario {settings['scenario']}" if settings.get("scenario") else "")
            + (f", gaming {settings['gaming']}" if settings.get("gaming") else "")
            + (f", every run at scale {scale:g}" if isinstance(scale, (int, float)) else "")
            + (
                ". Policies are compared within blocks (the runs that share a seed and a draw: "
                "common random numbers), so the chances and intervals below include what is not "
                "known about how donors respond, not only the seeds' noise."
                if settings.get("draws")
                else ". Policies are compared within blocks (the runs that share a seed: common "
                "random numbers); the intervals are the seeds' noise only (the behavioural "
                "ensemble, `experiment=ensemble`, adds what is not known about donors)."
            ),
        ),
        ("h2", "What to pick for each aim, and how sure"),
    ]
    header = ["aim", "pick", "chance it is best", "runner-up (its chance)", "pick beats runner-up"]
    if top is not None:
        header.append("the assumptions that would change it")
    rows = []
    for _, d in dec.iterrows():
        runner = d.get("runner_up")
        row = [
            d.aim,
            f"**{d.pick}**",
            f"{100 * d.p_best:.0f}%",
            f"{runner} ({100 * d.runner_up_p_best:.0f}%)" if isinstance(runner, str) else "(none)",
            f"{100 * d.p_pick_beats_runner_up:.0f}% of blocks" if isinstance(runner, str) else "",
        ]
        if top is not None:
            t = top[top.aim == d.aim]
            row.append(
                ", ".join(
                    f"{r.parameter.removeprefix('scenario.response.')} ({r.S1:.2f})"
                    for _, r in t.iterrows()
                )
            )
        rows.append(row)
    out.append(("table", header, rows))
    blocks_n = int(dec.blocks.min()) if not dec.empty else 0
    out.append(
        (
            "p",
            f"A chance is the share of the {blocks_n} blocks in which the policy is best (ties share "
            "a block). "
            + (
                "The assumptions are the behavioural parameters that explain most of the variance "
                "of the pick's difference from the runner-up (first-order Sobol index, SALib; "
                "`sensitivity.csv`)."
                if top is not None
                else ""
            ),
        )
    )
    if post is not None:
        out += posterior_blocks(post, dec, settings)
    full = full_scale_comparison(sweep_dir, dec, df)
    out.append(("h2", "Scale"))
    if full is None or full.empty:
        out.append(
            (
                "p",
                f"Every run at scale {scale}. The picks have not been checked at full scale: "
                f"`python -m sim.studies.planner {sweep_dir} --check-full-scale` runs each aim's "
                "pick and runner-up at full scale (the behaviour's defaults, seeds "
                f"{', '.join(map(str, FULL_SCALE_SEEDS))}) and adds the check here.",
            )
        )
    else:
        out.append(
            (
                "p",
                f"Every run at scale {scale}; each aim's pick and runner-up run again at full scale "
                "under the behaviour's defaults (`full_scale/`), paired by seed (the sweep's difference is its mean over every draw):",
            )
        )
        out.append(
            (
                "table",
                [
                    "aim",
                    "pick − runner-up",
                    f"in the sweep (scale {scale})",
                    "at full scale",
                    "pick wins at full scale",
                ],
                [
                    [
                        r.aim,
                        f"{r.pick} − {r.runner_up}",
                        value_text(r.metric, r.difference_sweep, True),
                        value_text(r.metric, r.difference_full_scale, True),
                        f"{100 * r.pick_wins_full_scale:.0f}% of {r.seeds_full_scale} seeds",
                    ]
                    for _, r in full.iterrows()
                ],
            )
        )
    main = main_table(df)
    metrics = [m for m in MAIN_METRICS if m in set(main.metric)]
    out.append(("h2", "Every policy (mean over blocks [95% interval])"))
    out.append(
        (
            "p",
            "New money (lift) is giving the match brought that would not have come without it; "
            "money moved in time (shift) is giving that would have come anyway and was moved "
            "to a match: it is reported beside the lift, not in it.",
        )
    )
    m_idx = main.set_index(["policy", "metric"])
    pols = list(dict.fromkeys(main.policy))
    out.append(
        (
            "table",
            ["policy", *(SHORT[m] for m in metrics)],
            [
                [
                    p,
                    *(
                        _interval(m, m_idx.loc[(p, m), "mean"], m_idx.loc[(p, m), "ci95_half"])
                        for m in metrics
                    ),
                ]
                for p in pols
            ],
        )
    )
    if "y2021" in pols:
        out.append(("h2", "Against 2021's rules, paired by block (mean difference [95% interval])"))
        tabs = {m: decisions.paired(df, m, "y2021").set_index("policy") for m in metrics}
        out.append(
            (
                "table",
                ["policy", *(SHORT[m] for m in metrics)],
                [
                    [
                        p,
                        *(
                            f"{value_text(m, tabs[m].loc[p, 'mean_difference'], True)} "
                            f"[{value_text(m, tabs[m].loc[p, 'ci95_low'], True)}, "
                            f"{value_text(m, tabs[m].loc[p, 'ci95_high'], True)}]"
                            for m in metrics
                        ),
                    ]
                    for p in pols
                    if p != "y2021"
                ],
            )
        )
    for path, caption in images:
        out.append(("img", path, caption))
    out.append(
        (
            "p",
            "Long tables: `sweep.parquet` (every run), `paired.parquet`, `ranks.parquet`, "
            "`best.parquet`, `main_table.parquet`"
            + (", `sensitivity.parquet`" if top is not None else "")
            + (", `posterior.parquet`" if post is not None else "")
            + " (each also as CSV). Metrics: "
            + "; ".join(f"{SHORT[m]}: {KEY_METRICS[m]}" for m in metrics)
            + ".",
        )
    )
    return out


def to_markdown(bs: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in bs:
        if b[0] == "h1":
            lines += [f"# {b[1]}", ""]
        elif b[0] == "h2":
            lines += [f"## {b[1]}", ""]
        elif b[0] == "p":
            lines += [b[1], ""]
        elif b[0] == "table":
            _, header, rows = b
            lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
            lines.append("")
        elif b[0] == "img":
            lines += [f"![{b[2]}]({Path(b[1]).name})", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Markdown's ``code`` and **bold** in a cell or paragraph, as HTML."""
    import re

    t = html.escape(str(text))
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)


def to_html(bs: Sequence[Block]) -> str:
    """One page that holds everything (its figures as base64 PNGs): it can be mailed."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>The planner's report</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}img{max-width:100%}</style></head><body>",
    ]
    for b in bs:
        if b[0] in ("h1", "h2"):
            parts.append(f"<{b[0]}>{_inline(b[1])}</{b[0]}>")
        elif b[0] == "p":
            parts.append(f"<p>{_inline(b[1])}</p>")
        elif b[0] == "table":
            _, header, rows = b
            parts.append(
                "<table><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in header) + "</tr>"
            )
            parts += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows]
            parts.append("</table>")
        elif b[0] == "img":
            data = base64.b64encode(Path(b[1]).read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(b[2])}' src='data:image/png;base64,{data}'><figcaption>{html.escape(b[2])}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _both(table: pd.DataFrame, sweep_dir: Path, name: str) -> None:
    table.to_csv(sweep_dir / f"{name}.csv", index=False)
    table.to_parquet(sweep_dir / f"{name}.parquet", index=False)


def write(df: pd.DataFrame, sweep_dir: Path, with_figures: bool = True) -> Path:
    """Write the decisions (``decisions.md`` / ``.csv``), the report and its long tables into
    ``sweep_dir``; returns ``report.md``."""
    sweep_dir = Path(sweep_dir)
    settings = sweep_settings(sweep_dir)
    sens = draws = None
    draws_csv = sweep_dir / "draws.csv"
    if sensitivity.DRAW in df and draws_csv.exists():
        draws = pd.read_csv(draws_csv)
        sens = sensitivity.sensitivity(df, draws)
        _both(sens, sweep_dir, "sensitivity")
    refs = [r for r in ("none", "y2021") if r in compared_labels(df)]
    metrics = [m for m in MAIN_METRICS if m in df]
    if refs:
        _both(
            pd.concat(
                [decisions.paired(df, m, r) for r in refs for m in metrics], ignore_index=True
            ),
            sweep_dir,
            "paired",
        )
    _both(decisions.ranks(df), sweep_dir, "ranks")
    _both(decisions.best_probability(df), sweep_dir, "best")
    _both(main_table(df), sweep_dir, "main_table")
    dec = decisions.decision_table(df)
    dec.to_csv(sweep_dir / "decisions.csv", index=False)
    text = decisions.markdown(df)
    post: Posterior | None = None
    if sens is not None and draws is not None:
        text = text.rstrip() + "\n\n" + sensitivity.markdown(sens, dec, settings["sources"])
        found = posterior.posterior(df, sweep_dir, str(settings["scenario"]))
        if found is not None:
            acc, post_dec = found
            _both(acc.merge(draws, left_on=posterior.DRAW, right_on="draw"), sweep_dir, "posterior")
            post_dec.to_csv(sweep_dir / "posterior_decisions.csv", index=False)
            post = (acc, post_dec, posterior.parameter_ranges(acc, draws, settings["priors"]))
    (sweep_dir / "decisions.md").write_text(text, encoding="utf-8")
    images = figures(df, sens, sweep_dir) if with_figures else []
    bs = blocks(df, sweep_dir, sens, images, post)
    (sweep_dir / "report.md").write_text(to_markdown(bs), encoding="utf-8")
    (sweep_dir / "report.html").write_text(to_html(bs), encoding="utf-8")
    return sweep_dir / "report.md"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="The planner's report of a gathered sweep.")
    ap.add_argument("sweep_dir", type=Path)
    ap.add_argument(
        "--check-full-scale",
        action="store_true",
        help="run each aim's pick and runner-up at full scale first",
    )
    ap.add_argument("--no-figures", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    need_folder(
        a.sweep_dir,
        "a gathered sweep's folder",
        "sweep.parquet",
        f" (gather it first: python -m sim.studies.gather {a.sweep_dir})",
    )
    sweep = pd.read_parquet(a.sweep_dir / "sweep.parquet")
    if a.check_full_scale:
        check_full_scale(a.sweep_dir)
    print(write(sweep, a.sweep_dir, with_figures=not a.no_figures).read_text(encoding="utf-8"))


if __name__ == "__main__":
    command(lambda: main(sys.argv[1:]))
