"""Gather a finished sweep into one table and the planner's figures.

    python -m uv run python -m sim.studies.gather outputs/sweeps/policy_sweep

and, at the end of a multirun, the Hydra callback :class:`GatherCallback` (the
``policy_sweep`` experiment sets it). Writes into the sweep directory:

- ``sweep.parquet`` / ``sweep.csv``: one row per complete run: its overrides, then every
  metric of ``summary.json`` ``metrics``, plus ``extra_public_vs_baseline_yuan`` (public
  giving minus that of the no-match run with the same seed and other overrides, where the
  sweep has one), split into ``extra_lift_yuan`` (the money of the gifts the match
  brought), ``extra_gaming_yuan`` (the gaming identities' gifts, against the no-match run's)
  and ``extra_other_yuan`` (the rest: intents lost when a match was gone, and the spread of
  draws that differ once donors decide differently); money moved in time,
  ``shifted_public_yuan``, is in none: it is not new;
- ``comparison.csv`` / ``comparison.md``: mean and 95% interval (t, over seeds) of the key
  metrics for each setting;
- ``decisions.md`` / ``decisions.csv``, ``paired.csv``, ``ranks.csv`` where it compares
  policies: paired by seed (:mod:`sim.studies.decisions`);
- ``metrics_by_policy.png``, ``raised_vs_equity.png``, ``pool_level.png``.

Runs that are not whole and complete (:func:`sim.runner.run_state`) are left out, and named
with why in ``comparison.md`` and ``left_out.csv``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from hydra.experimental.callback import Callback
from scipy import stats

from sim import command
from sim.runner import run_state
from sim.studies.sweeps import need_folder

log = logging.getLogger("sim")

# the metrics the comparison reports, in order, with how a planner reads them
KEY_METRICS = {
    "total_raised_yuan": "raised (yuan)",
    "public_donations_yuan": "public giving (yuan)",
    "extra_public_vs_baseline_yuan": "extra public giving vs no match (yuan)",
    "extra_lift_yuan": "of it, the gifts the match brought (lift, yuan)",
    "extra_gaming_yuan": "of it, the gaming identities' gifts (yuan)",
    "extra_other_yuan": "of it, the rest (intents lost, the draws' spread; yuan)",
    "lifted_public_yuan": "new public giving the match brought (lift, yuan)",
    "shifted_public_yuan": "public giving moved in time to the match (shift, yuan)",
    "pool_share_paid": "share of the Foundation pool paid",
    "median_minutes_to_exhaustion": "minutes to exhaustion (median pool)",
    "matched_donor_share": "donors with a matched gift",
    "matched_gift_share_first_hour": "gifts Foundation-matched, first hour of a window",
    "matched_gift_share_after_first_hour": "gifts Foundation-matched, after the first hour",
    "org_gini": "Gini across organisations",
    "top10_org_share": "top-10 organisations' share",
    "match_share_less_developed": "match to less developed regions",
    "match_share_small_orgs": "match to small organisations",
    "projects_reaching_goal": "projects reaching their goal",
    "gaming_share_of_foundation_match": "Foundation match captured by gaming",
}
SKIP_KEYS = ("experiment",)
# overrides that change what a run writes, never its numbers: not settings to compare
SKIP_PREFIXES = ("output.",)


def _overrides(job: Path) -> dict[str, str]:
    path = job / ".hydra" / "overrides.yaml"
    items = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []
    out = {}
    for item in items or []:
        k, _, v = str(item).partition("=")
        k = k.lstrip("+~")
        if k not in SKIP_KEYS and not k.startswith(SKIP_PREFIXES):
            out[k] = v
    return out


LeftOut = list[tuple[str, str]]  # (job folder, why it was left out)


def complete_jobs(sweep_dir: Path) -> tuple[list[Path], LeftOut]:
    """The job folders of a sweep that hold a whole, complete run
    (:func:`sim.runner.run_state`: its status says complete and every file it wrote is
    there, with its size and checksum), in name order; and the others that started (a
    ``status.json`` or ``config.yaml``), each with why it is left out."""
    jobs, left_out = [], []
    for job in sorted(p for p in Path(sweep_dir).iterdir() if p.is_dir()):
        if not ((job / "config.yaml").exists() or (job / "status.json").exists()):
            continue
        ok, why = run_state(job)
        if ok:
            jobs.append(job)
        else:
            left_out.append((job.name, why))
    return jobs, left_out


def left_out_lines(left_out: LeftOut) -> list[str]:
    """The jobs left out, for a report."""
    if not left_out:
        return []
    return (
        [f"Left out ({len(left_out)} jobs):", ""]
        + [f"- `{job}`: {why}" for job, why in left_out]
        + [""]
    )


def collect(sweep_dir: Path) -> tuple[pd.DataFrame, LeftOut]:
    """One row per complete run (overrides + metrics), and the jobs left out and why."""
    rows, keys = [], {}
    jobs, left_out = complete_jobs(sweep_dir)
    for job in jobs:
        s = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        ov = _overrides(job)
        keys.update(dict.fromkeys(k for k in ov if k not in ("seed", "scale")))
        rows.append(
            {
                "job": job.name,
                **{f"set:{k}": v for k, v in ov.items()},
                "policy_name": s["policy"],
                "seed_run": s["seed"],
                "scale": s["scale"],
                **s["metrics"],
            }
        )
    df = pd.DataFrame(rows)
    if df.empty:
        return df, left_out
    df = df.drop(columns=[c for c in ("set:seed", "set:scale") if c in df])
    df = df.rename(columns={f"set:{k}": k for k in keys})
    # an ensemble's draws (sim.studies.ensemble) are not settings to compare but what the
    # runs of a setting are spread over, like seeds: kept as columns, paired on
    draws = Path(sweep_dir) / "draws.csv"
    if draws.exists():
        drawn = {"ensemble.draw", *pd.read_csv(draws, nrows=0).columns}
        keys = {k: None for k in keys if k not in drawn}
    df.attrs["settings"] = list(keys)
    df["extra_public_vs_baseline_yuan"] = _vs_baseline(df)
    df["extra_lift_yuan"] = df["lifted_public_yuan"].where(df.extra_public_vs_baseline_yuan.notna())
    # the gaming identities (machine donors, rings) give only where there is match to take
    df["extra_gaming_yuan"] = _vs_baseline(df, "gaming_public_yuan")
    df["extra_other_yuan"] = (
        df.extra_public_vs_baseline_yuan - df.extra_lift_yuan - df.extra_gaming_yuan.fillna(0.0)
    )
    out = df.sort_values(["job"]).reset_index(drop=True)
    out.attrs["settings"] = list(keys)
    return out, left_out


def _setting_columns(df: pd.DataFrame) -> list[str]:
    """The override columns that tell settings apart (not the seed, not the scale)."""
    return list(df.attrs.get("settings", []))


def _vs_baseline(df: pd.DataFrame, column: str = "public_donations_yuan") -> pd.Series:
    """``column`` (public giving) minus that of the no-match run with the same seed and the
    same other settings; settings of the policy itself (``policy.*``: a budget, a cap) do
    not change the no-match run, so they are not matched on."""
    if "policy" not in df or column not in df:
        return pd.Series(np.nan, index=df.index)
    others = [c for c in _setting_columns(df) if c != "policy" and not c.startswith("policy.")]
    key = ["seed_run", *others]
    base = df[df.policy == "none"].drop_duplicates(key).set_index(key)[column]
    if base.empty:
        return pd.Series(np.nan, index=df.index)
    idx = pd.MultiIndex.from_frame(df[key]) if len(key) > 1 else pd.Index(df[key[0]])
    ref = base.reindex(idx).to_numpy()
    return pd.Series(df[column].to_numpy() - ref, index=df.index)


def t_half_width(x: np.ndarray) -> float:
    """Half the width of the 95% t-interval of the mean of ``x`` (NaN below two values)."""
    if x.size < 2:
        return np.nan
    return float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))


def comparison(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval over seeds of each key metric, for each setting."""
    setting = _setting_columns(df)
    rows = []
    groups = df.groupby(setting, sort=False, dropna=False) if setting else [((), df)]
    for key, g in groups:  # a sweep of seeds alone: one setting, all of them
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(setting, key, strict=True))
        row["runs"] = len(g)
        for m in KEY_METRICS:
            if m not in g:
                continue
            x = pd.to_numeric(g[m], errors="coerce").dropna().to_numpy(dtype=float)
            row[m] = float(x.mean()) if x.size else np.nan
            row[f"{m}_ci95"] = t_half_width(x)
        rows.append(row)
    return pd.DataFrame(rows)


AIMS = {  # aim: (metric, best is the largest, tolerance of a tie)
    "most money": ("total_raised_yuan", True, 1e-4),
    "most new money (lift)": ("lifted_public_yuan", True, 1e-4),
    "most people matched": ("matched_donor_share", True, 1e-3),
    "most equal (lowest Gini across organisations)": ("org_gini", False, 1e-4),
    "most robust to gaming (least Foundation match captured)": (
        "gaming_share_of_foundation_match",
        False,
        1e-3,
    ),
}


def picks(comp: pd.DataFrame) -> dict[str, str]:
    """The setting a planner would pick for each aim (among settings that match at all),
    with every setting tied with it (within a relative tolerance) named too."""
    c = comp[comp["policy"] != "none"] if "policy" in comp else comp
    out = {}
    for aim, (m, high, tol) in AIMS.items():
        if m not in c or c[m].isna().all():
            continue
        best = c[m].max() if high else c[m].min()
        tied = c[(c[m] - best).abs() <= tol * max(abs(best), 1e-12)]
        names = [", ".join(f"{k}={r[k]}" for k in _labels(c)) for _, r in tied.iterrows()]
        out[aim] = " = ".join(names) + f" ({_fmt(float(best))})"
    return out


def _labels(comp: pd.DataFrame) -> list[str]:
    return [
        k for k in comp.columns if k not in KEY_METRICS and not k.endswith("_ci95") and k != "runs"
    ]


def _fmt(x) -> str:
    if isinstance(x, float):
        if np.isnan(x):
            return ""
        if abs(x) >= 1e8:
            return f"{x / 1e8:.3f}亿"
        if abs(x) >= 1e4:
            return f"{x / 1e4:.1f}万"
        return f"{x:.3g}"
    return str(x)


def markdown(comp: pd.DataFrame, left_out: LeftOut | None = None) -> str:
    labels = _labels(comp)
    cols = [m for m in KEY_METRICS if m in comp]
    lines = [
        "| " + " | ".join(labels + [KEY_METRICS[m] for m in cols]) + " |",
        "|" + "---|" * (len(labels) + len(cols)),
    ]
    for _, r in comp.iterrows():
        cells = [str(r[k]) for k in labels]
        for m in cols:
            v, h = r[m], r.get(f"{m}_ci95", np.nan)
            cells.append(
                _fmt(v) + (f" ± {_fmt(h)}" if isinstance(h, float) and not np.isnan(h) else "")
            )
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean over seeds ± half-width of the 95% t-interval.", ""]
    for aim, who in picks(comp).items():
        lines.append(f"- {aim}: {who}")
    lines += ["", *left_out_lines(left_out or [])]
    return "\n".join(lines).rstrip() + "\n"


def figures(df: pd.DataFrame, comp: pd.DataFrame, sweep_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sweep_dir = Path(sweep_dir)
    setting = _setting_columns(df)
    d = df.assign(setting=df[setting].astype(str).agg(", ".join, axis=1) if setting else "all")
    order = list(dict.fromkeys(d.setting))
    out = []
    # each setting's mean and 95% t-interval over seeds: the table's own (comparison.md)
    c = comp.assign(setting=comp[setting].astype(str).agg(", ".join, axis=1) if setting else "all")
    by_setting = c.set_index("setting").reindex(order)
    shown = [m for m in KEY_METRICS if m in d and d[m].notna().any()]
    ncol = 3
    nrow = int(np.ceil(len(shown) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 0.32 * len(order) * nrow + 2))
    y = np.arange(len(order))
    for ax, m in zip(np.ravel(axes), shown, strict=False):
        half = by_setting[f"{m}_ci95"].to_numpy(dtype=float)
        ax.errorbar(
            by_setting[m].to_numpy(dtype=float),
            y,
            xerr=np.nan_to_num(half),  # no bar for a setting of one seed
            fmt="o",
            color="tab:blue",
        )
        ax.set_yticks(y, order)
        ax.set_ylim(len(order) - 0.5, -0.5)  # the first setting at the top
        ax.set(title=KEY_METRICS[m], xlabel="", ylabel="")
    for ax in np.ravel(axes)[len(shown) :]:
        ax.set_visible(False)
    fig.tight_layout()
    out.append(sweep_dir / "metrics_by_policy.png")
    fig.savefig(out[-1], dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, eq in zip(axes, ("match_share_less_developed", "org_gini"), strict=True):
        ax.errorbar(c[eq], c.total_raised_yuan / 1e8, yerr=c.total_raised_yuan_ci95 / 1e8, fmt="o")
        for _, r in c.iterrows():
            ax.annotate(
                r.setting,
                (r[eq], r.total_raised_yuan / 1e8),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set(xlabel=KEY_METRICS[eq], ylabel="raised (100M yuan)")
    axes[0].set_title("Money raised against equity")
    fig.tight_layout()
    out.append(sweep_dir / "raised_vs_equity.png")
    fig.savefig(out[-1], dpi=100)
    plt.close(fig)

    levels = []
    for _, r in d.iterrows():
        lv = open_pool_level(sweep_dir / r.job)
        if lv is not None:
            levels.append(lv.iloc[::10].assign(setting=r.setting, seed=r.seed_run))
    if levels:
        lv = pd.concat(levels, ignore_index=True)
        lv["level (100M yuan)"] = lv["level"] / 1e8
        # the mean over seeds made here, once (seaborn's estimator groups each line's
        # points again, by x, for every line)
        by_time = lv.groupby(["setting", "time"], sort=False, as_index=False)
        fig, ax = plt.subplots(figsize=(13, 5))
        sns.lineplot(
            by_time["level (100M yuan)"].mean(),
            x="time",
            y="level (100M yuan)",
            hue="setting",
            hue_order=order,
            estimator=None,
            errorbar=None,
            ax=ax,
            linewidth=1,
        )
        ax.set_title("The Foundation's money left in open pools, by policy (mean over seeds)")
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        out.append(sweep_dir / "pool_level.png")
        fig.savefig(out[-1], dpi=100)
        plt.close(fig)
    return out


def open_pool_level(job: Path) -> pd.DataFrame | None:
    """The Foundation's money left in the pools whose window is open, minute by minute
    (from a run's per-pool levels and the pools' windows in its summary)."""
    path = job / "minutes.parquet"
    if not path.exists():
        return None
    pools = json.loads((job / "summary.json").read_text(encoding="utf-8"))["pools"]
    cols = [f"level:{p['name']}" for p in pools]
    mt = pd.read_parquet(path, columns=["time", *cols])
    level = np.zeros(len(mt))
    for p, col in zip(pools, cols, strict=True):
        live = (mt.time >= pd.Timestamp(p["opens_at"])) & (mt.time < pd.Timestamp(p["closes_at"]))
        level += np.where(live, mt[col].to_numpy(), 0.0)
    return pd.DataFrame({"time": mt.time, "level": level})


def write_decisions(df: pd.DataFrame, sweep_dir: Path, with_figures: bool = True) -> bool:
    """Where the sweep compares policies: ``decisions.md`` (what to pick for each aim and how
    sure, each policy against no match and 2021's rules, paired by seed; for an ensemble,
    which assumption decides it) and its tables, and the planner's report, ``report.md`` /
    ``report.html`` (:mod:`sim.studies.planner`). Returns whether it wrote them."""
    from sim.studies import planner

    if "policy" not in _setting_columns(df) or df.policy.nunique() < 2:
        return False
    planner.write(df, sweep_dir, with_figures=with_figures)
    return True


# every file a gather writes into a sweep's folder (the planner's report included): removed
# before it writes, so that nothing of an earlier gather is left beside this one's
GATHERED = (
    "sweep.parquet",
    "sweep.csv",
    "comparison.csv",
    "comparison.md",
    "metrics_by_policy.png",
    "raised_vs_equity.png",
    "pool_level.png",
    "decisions.csv",
    "decisions.md",
    "posterior_decisions.csv",
    "report.md",
    "report.html",
    "report_best.png",
    "report_vs_2021.png",
    "report_sensitivity.png",
    *(
        f"{name}.{ext}"
        for name in ("sensitivity", "paired", "ranks", "best", "main_table", "posterior")
        for ext in ("csv", "parquet")
    ),
)


def gather(sweep_dir: Path, with_figures: bool = True) -> pd.DataFrame:
    """Write the sweep's table, comparison and figures; returns the table. Refuses (a
    ``SystemExit`` naming why, with nothing of an earlier gather left) a folder that is not
    there, one with no complete run, and one whose runs are at different scales."""
    sweep_dir = Path(sweep_dir)
    need_folder(sweep_dir, "a sweep's folder, its hydra.sweep.dir")
    df, left_out = collect(sweep_dir)
    for name in GATHERED:
        (sweep_dir / name).unlink(missing_ok=True)
    pd.DataFrame(left_out, columns=["job", "why"]).to_csv(sweep_dir / "left_out.csv", index=False)
    if df.empty:
        raise SystemExit(
            f"no complete run in {sweep_dir}; left out:\n"
            + "\n".join(f"  {j}: {w}" for j, w in left_out)
        )
    scales = df.scale.value_counts().sort_index()
    if len(scales) > 1:
        raise SystemExit(
            f"the runs in {sweep_dir} are at {len(scales)} scales ("
            + ", ".join(f"{s:g}: {n} runs" for s, n in scales.items())
            + "): a sweep's runs are compared at one scale; run each scale into a folder of its "
            "own (hydra.sweep.dir=...)"
        )
    df.to_parquet(sweep_dir / "sweep.parquet", index=False)
    df.to_csv(sweep_dir / "sweep.csv", index=False)
    comp = comparison(df)
    comp.to_csv(sweep_dir / "comparison.csv", index=False)
    (sweep_dir / "comparison.md").write_text(markdown(comp, left_out), encoding="utf-8")
    write_decisions(df, sweep_dir, with_figures)
    if with_figures:
        figures(df, comp, sweep_dir)
    log.info("gathered %d runs (%d left out) into %s", len(df), len(left_out), sweep_dir)
    for job, why in left_out:
        log.warning("left out %s: %s", job, why)
    return df


class GatherCallback(Callback):
    """Gathers the sweep when a multirun ends (hydra.callbacks.gather)."""

    def on_multirun_end(self, config, **kwargs) -> None:
        gather(Path(config.hydra.sweep.dir))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Gather a finished sweep directory.")
    ap.add_argument("sweep_dir", type=Path)
    ap.add_argument("--no-figures", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    gather(a.sweep_dir, with_figures=not a.no_figures)
    print((a.sweep_dir / "comparison.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    command(lambda: main(sys.argv[1:]))
