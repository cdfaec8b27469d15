"""The researcher's report: every year's reported figures beside the simulated ones.

    python -m uv run python -m sim.studies.reproduction              # the sweeps, then the report
    python -m uv run python -m sim.studies.reproduction --gather-only
    python -m uv run python -m sim.studies.reproduction hydra/launcher=ray   # any Hydra override

runs three Hydra sweeps, each resumable (a finished job is not run again), and then
:func:`write_report` (``--gather-only`` does only the last step); extra arguments go to both
sweeps:

- ``experiment=reproduce``: every scenario (y2016 ... y2021) under its own year's rules, over
  ten seeds, at full scale, into ``outputs/sweeps/reproduce``;
- ``experiment=reproduce_gaming``: y2017 with its machine donors (``gaming=machines``), ten
  seeds, into ``outputs/sweeps/reproduce_gaming`` (only their figures enter the report);
- ``experiment=sensitivity``: y2021, seed 1, each of :data:`SENSITIVITY` x 0.8 and x 1.2
  (common random numbers: the same seed as the base run), into
  ``outputs/sweeps/sensitivity``.

The report goes to ``outputs/reproduce/``: ``figures.csv``/``figures.md`` (figure, year,
reported, simulated mean, 95% interval over seeds, relative error, role), ``sensitivity.csv``,
four PNG figures and ``report.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from sim import command
from sim.outputs.report import fmt_figure
from sim.studies.gather import LeftOut, complete_jobs, left_out_lines
from sim.studies.sweeps import need_folder

log = logging.getLogger("sim")

YEARS = (2016, 2017, 2018, 2019, 2020, 2021)
# the parameters the sensitivity sweep moves, and why each matters
SENSITIVITY = {
    "scenario.levels.gifts": "the year's gift level (fitted to the gift count)",
    "population.gift_size.sigma": "spread of a donor's gifts (sets the mean gift)",
    "population.gift_size.donor_sigma": "spread of donors' own gift levels",
    "scenario.donors": "potential donors (caps and flowers per donor)",
    "population.projects.org_reach_sigma": "spread of organisations' reach (concentration)",
    "policy.rules.action.probability": "an action-day random match's published odds (what donors expect; the pacing starts there)",
    "policy.rules.action.gift_cap_yuan": "the action days' cap a gift",
    "scenario.response.half_response_match": "the expected match of half effect (Meier 2007)",
    "scenario.response.risk_weight": "how much less an uncertain match counts",
    "scenario.response.pull_strength": "intents pulled to a live match (fitted, 2020 opening)",
    "scenario.response.attention_minutes": "how fast an opening's attention decays (fitted)",
    "scenario.response.wait_share": "intents waiting for an announced opening",
    "scenario.response.loss_share": "waiting intents lost when the match is gone",
    "scenario.response.stake_elasticity": "who comes first: timing x stake**elasticity (fitted, 2020 opening)",
    "population.segments.1.lift": "lift of the regular donors (Karlan & List 2007)",
    "population.segments.2.lift": "lift of the occasional donors",
    "population.segments.1.match_attraction": "beta of the regular donors (Fang et al. 2021)",
}
# headline figures of the sensitivity table: (summary key, metrics key), label
HEADLINES = {
    "public_donations_yuan": "public giving",
    "donation_count": "gifts",
    "foundation_match_yuan": "Foundation match paid",
    "total_raised_yuan": "total raised",
    "median_minutes_to_exhaustion": "minutes to exhaustion",
    "matched_donor_share": "donors matched",
    "top10_org_share": "top-10 organisations' share",
}
ROLE_LABEL = {"fitted": "fitted", "not_fitted": "not fitted", "input": "input"}
# the Tencent charity platform's whole-year public giving [R] (99-giving-day.md section 1):
# an upper bound for the event's, and 2021's share of it a yardstick for the predictions
PLATFORM_YEAR_YUAN = {2019: 2.803e9, 2020: 3.850e9, 2021: 5.450e9}
# why a figure the model was not fitted to can be far off (|error| >= 10% in the report)
EXPLAIN = {
    "enterprise_match_yuan": "the pledge is an input (2017's 3.09亿 [P]; other years 2017's "
    "pledge per yuan of the Foundation's match, an assumption) and what the pools pay of it "
    "the output; one planning error (`scenario.enterprise.budget_sigma`) is fitted to 2017's "
    "≈1.7亿 [D][U] for every year, so a year whose pledge differed from that ratio is off by "
    "as much",
    "top10_org_share": "one landscape (`population.projects.org_reach_sigma`, fitted to 2018's "
    "43.8%) for every year: a year with more organisations (2021's 2,500 against 2018's 1,375) "
    "has a smaller top-10 share from the same spread",
    "worst_top99_raised_per_foundation_yuan": "the model spreads a fixed-ratio pool's match "
    "over the projects in proportion to their gifts in its minutes; a top project whose money "
    "came offline or outside the match's minutes (the federations' mobilisation) is not "
    "modelled, so no top project is matched as little as 2017's worst (1 : 62.65)",
    "machine_match_yuan": "the machines' bursts come at minutes drawn from the baseline "
    "traffic, so most land after a day's Foundation pool ran out (2017's within minutes) and "
    "are matched by their hirers' enterprise pools",
    "enterprises_matching": "a pool pays only when its projects draw gifts in its window; "
    "the pools of 2018 back about three projects each (one per 5.2万 pledged), and those whose "
    "projects raise nothing by the close pay nothing",
    "foundation_match_yuan": "the pools are the reported budgets; a random match's odds are "
    "paced to spend them (2018-2021), but a fixed ratio is first come, first served and "
    "pays less where demand does not use it up (2016's pools, 1:1 from 09:00, run out in "
    "minutes on the first day)",
    "top_team_gifts": "a team's members are its leader's friends (at most "
    "`population.network.max_friends`, 5,000) and 3% of the other gifts spread over every leader "
    "with 200 friends or more; a leader who rallies beyond friends (moments, groups, "
    "organisations' own campaigns) is not modelled",
    "top_team_yuan": "as the largest team's gifts, and its members give ordinary gifts",
    "flower_collections_first_30_minutes": "a collection is launched by a gift that got the "
    "base match (odds 0.3 under the published rule, held for the opening's two hours), with "
    "odds 0.5 (`scenario.flowers.collections.share`, an assumption); donors who share a "
    "page before their gift is matched, or without giving, are not modelled",
    "opening_first_hour_gifts": 'a lower bound ("more than 872万"): above it is as reported',
    "total_raised_yuan": "public giving plus the Foundation's and enterprises' match: short "
    "by the match the pools do not pay",
}


def _config(job: Path) -> dict:
    return yaml.safe_load((job / "config.yaml").read_text(encoding="utf-8"))


def collect(sweep_dir: Path) -> tuple[pd.DataFrame, LeftOut]:
    """One row per (run, reported figure): year, seed, the figure, reported and simulated;
    and the jobs left out, and why."""
    rows = []
    jobs, left_out = complete_jobs(sweep_dir)
    for job in jobs:
        cfg = _config(job)
        t = pd.read_csv(job / "reported_vs_simulated.csv")
        t.insert(0, "year", int(cfg["scenario"]["year"]))
        t.insert(1, "seed", int(cfg["seed"]))
        t.insert(2, "scale", float(cfg["scale"]))
        t["job"] = job.name
        rows.append(t)
    if not rows:
        return pd.DataFrame(), left_out
    return pd.concat(rows, ignore_index=True), left_out


def _interval(x: pd.Series) -> tuple[float, float, float, float]:
    """Mean, 95% t-interval half-width, sd, n."""
    x = x.dropna().astype(float)
    n = len(x)
    m = float(x.mean()) if n else float("nan")
    sd = float(x.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return m, half, sd, n


def figure_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Figure, year, reported, simulated mean, 95% interval over seeds, relative error of
    the mean, role, and the seed-to-seed spread (sd / mean)."""
    out = []
    order = {k: i for i, k in enumerate(dict.fromkeys(runs.figure))}
    for (year, figure), g in runs.groupby(["year", "figure"], sort=False):
        m, half, sd, n = _interval(g.simulated)
        rep = g.reported.iloc[0]
        rep = None if pd.isna(rep) else float(rep)
        out.append(
            {
                "year": int(year),
                "figure": figure,
                "reported": rep,
                "simulated_mean": m,
                "ci95_low": m - half,
                "ci95_high": m + half,
                # None where the runs did not compare it (a figure a scale-down does not keep)
                "relative_error": None
                if rep is None or g.relative_error.isna().all()
                else (m - rep) / rep,
                "seed_cv": sd / abs(m) if m else float("nan"),
                "seeds": n,
                "role": g.role.iloc[0],
                "unit": g.unit.iloc[0],
                "source": g.source.iloc[0],
                "note": "" if pd.isna(g.note.iloc[0]) else g.note.iloc[0],
                "_order": order[figure],
            }
        )
    df = pd.DataFrame(out).sort_values(["year", "_order"]).drop(columns="_order")
    return df.reset_index(drop=True)


def table_markdown(t: pd.DataFrame) -> str:
    lines = [
        "| year | figure | reported | simulated (mean) | 95% interval | error | "
        "seed spread | role |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in t.itertuples():
        err = (
            "prediction"
            if r.relative_error is None or pd.isna(r.relative_error)
            else f"{r.relative_error:+.1%}"
        )
        lines.append(
            f"| {r.year} | {r.figure} | {fmt_figure(r.reported, r.unit)} | "
            f"{fmt_figure(r.simulated_mean, r.unit)} | {fmt_figure(r.ci95_low, r.unit)} – "
            f"{fmt_figure(r.ci95_high, r.unit)} | {err} | {r.seed_cv:.2%} | "
            f"{ROLE_LABEL.get(r.role, r.role)} |"
        )
    return "\n".join(lines) + "\n"


def _headline_values(job: Path) -> dict[str, float]:
    s = json.loads((job / "summary.json").read_text(encoding="utf-8"))
    out = {}
    for k in HEADLINES:
        v = s.get(k, s.get("metrics", {}).get(k))
        out[k] = float("nan") if v is None else float(v)
    return out


def sensitivity_table(sens_dir: Path, base_dir: Path) -> pd.DataFrame:
    """Each perturbed parameter and factor: the headline figures and their change against
    the base run (y2021, same seed, nothing perturbed, from the reproduction sweep)."""
    jobs, _ = complete_jobs(sens_dir)
    if not jobs:
        return pd.DataFrame()
    seed = int(_config(jobs[0])["seed"])
    base = None
    for job in complete_jobs(base_dir)[0]:
        cfg = _config(job)
        if (
            cfg["scenario"]["name"] == "y2021"
            and int(cfg["seed"]) == seed
            and not (cfg.get("perturb") or {}).get("key")
        ):
            base = _headline_values(job)
    if base is None:
        raise SystemExit(
            f"no base run (y2021, seed {seed}) in {base_dir} for the sensitivity table"
        )
    rows = []
    for job in jobs:
        pt = _config(job)["perturb"]
        vals = _headline_values(job)
        row = {"parameter": pt["key"], "factor": float(pt["factor"]), "base_value": pt["base"]}
        for k in HEADLINES:
            row[k] = vals[k]
            row[f"{k}:change"] = vals[k] / base[k] - 1 if base[k] else float("nan")
        rows.append(row)
    df = pd.DataFrame(rows).sort_values(["parameter", "factor"]).reset_index(drop=True)
    base_row = {
        "parameter": "(base)",
        "factor": 1.0,
        "base_value": float("nan"),
        **base,
        **{f"{k}:change": 0.0 for k in HEADLINES},
    }
    return pd.concat([pd.DataFrame([base_row]), df], ignore_index=True)


def sensitivity_markdown(s: pd.DataFrame) -> str:
    cols = [k for k in HEADLINES if k in s]
    lines = [
        "| parameter | x | " + " | ".join(HEADLINES[k] for k in cols) + " |",
        "|---|---:|" + "---:|" * len(cols),
    ]
    for r in s.to_dict("records"):
        if r["parameter"] == "(base)":
            cells = [fmt_figure(r[k], "share" if "share" in k else "") for k in cols]
            lines.append("| base (y2021, seed 1) | 1.0 | " + " | ".join(cells) + " |")
            continue
        cells = ["n/a" if pd.isna(r[f"{k}:change"]) else f"{r[f'{k}:change']:+.1%}" for k in cols]
        lines.append(f"| `{r['parameter']}` | {r['factor']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- figures


def figures(t: pd.DataFrame, runs_dir: Path, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    names = []
    jobs, _ = complete_jobs(runs_dir)
    by_year: dict[int, list[Path]] = {}
    for job in jobs:
        by_year.setdefault(int(_config(job)["scenario"]["year"]), []).append(job)

    # 1. reported vs simulated: relative error of the mean with its interval
    r = t[t.reported.notna()].copy()
    r["label"] = r.year.astype(str) + "  " + r.figure
    r["lo"] = (r.ci95_low - r.reported) / r.reported
    r["hi"] = (r.ci95_high - r.reported) / r.reported
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(r) + 1.5))
    colours = {"fitted": "tab:blue", "not_fitted": "tab:orange", "input": "tab:gray"}
    y = np.arange(len(r))[::-1]
    for role, c in colours.items():
        sel = (r.role == role).to_numpy()
        if sel.any():
            err = np.vstack([(r.relative_error - r.lo)[sel], (r.hi - r.relative_error)[sel]])
            ax.errorbar(
                r.relative_error[sel] * 100,
                y[sel],
                xerr=np.abs(err) * 100,
                fmt="o",
                color=c,
                label=ROLE_LABEL[role],
                capsize=2,
            )
    for x in (-5, -2, 2, 5):
        ax.axvline(x, color="0.7", lw=0.8, ls="--")
    ax.axvline(0, color="k", lw=0.8)
    ax.set_yticks(y, r.label, fontsize=7)
    ax.set_xscale("symlog", linthresh=10)  # linear within ±10%, compressed beyond
    ax.set_xlabel(
        "simulated mean vs reported, % (symlog: linear within ±10%)\n"
        "bars: 95% interval over seeds; dashed: ±2% and ±5%"
    )
    ax.set_xlim(-100, 300)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Reported and simulated figures, 2016-2021")
    fig.tight_layout()
    fig.savefig(out / "reported_vs_simulated.png", dpi=110)
    plt.close(fig)
    names.append("reported_vs_simulated.png")

    # 2. the daily profile of 2021 (mean and range over seeds)
    if 2021 in by_year:
        days = pd.concat(
            [
                pd.read_parquet(j / "days.parquet").assign(seed=i)
                for i, j in enumerate(by_year[2021])
            ]
        )
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        panels = (
            (axes[0], "donation_count", "gifts (10 thousand)"),
            (axes[1], "public_donations_yuan", "public giving (100 million yuan)"),
        )
        for ax, col, lab in panels:
            scale = 1e4 if col == "donation_count" else 1e8
            d = days.assign(v=days[col] / scale)
            sns.barplot(d, x="date", y="v", hue="kind", errorbar=("pi", 100), ax=ax, dodge=False)
            ax.set_ylabel(lab)
            ax.set_xlabel("")
            ax.tick_params(axis="x", rotation=45, labelsize=7)
        axes[0].set_title("2021: gifts a day (bars: mean; lines: range over seeds)")
        axes[1].set_title("2021: public giving a day")
        fig.tight_layout()
        fig.savefig(out / "daily_2021.png", dpi=110)
        plt.close(fig)
        names.append("daily_2021.png")

    # 3. pool levels by year (seed 1 of each year) and exhaustion times
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharey=True)
    for ax, year in zip(axes.flat, YEARS, strict=True):
        if year not in by_year:
            ax.set_visible(False)
            continue
        job = by_year[year][0]
        s = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        mt = pd.read_parquet(job / "minutes.parquet")
        for p in s["pools"]:
            col = f"level:{p['name']}"
            if col not in mt or p["budget_yuan"] <= 0:
                continue
            o = pd.Timestamp(p["opens_at"])
            c = pd.Timestamp(p["closes_at"])
            w = mt[(mt.time >= o) & (mt.time < c)]
            hours = (w.time - o).dt.total_seconds() / 3600
            ax.plot(hours, w[col] / p["budget_yuan"], lw=1, label=p["name"])
        ax.set_title(f"{year}: Foundation pools (first 24 h)")
        ax.set_xlabel("hours after the pool opens")
        ax.set_xlim(0, 24)
        ax.legend(fontsize=6, loc="upper right")
    axes[0, 0].set_ylabel("share of the budget left")
    axes[1, 0].set_ylabel("share of the budget left")
    fig.tight_layout()
    fig.savefig(out / "pools_by_year.png", dpi=110)
    plt.close(fig)
    names.append("pools_by_year.png")

    # 4. concentration across organisations by year
    rows = []
    for year, js in by_year.items():
        for j in js:
            s = json.loads((j / "summary.json").read_text(encoding="utf-8"))
            rows.append(
                {
                    "year": year,
                    "top-10 organisations' share": s["top10_org_share"],
                    "Gini across organisations": s["org_gini"],
                }
            )
    conc = pd.DataFrame(rows).melt("year", var_name="measure", value_name="value")
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.pointplot(conc, x="year", y="value", hue="measure", errorbar=("ci", 95), ax=ax, capsize=0.1)
    rep = t[(t.figure == "top10_org_share") & t.reported.notna()]
    ax.scatter(
        [YEARS.index(y) for y in rep.year if y in YEARS],
        rep.reported,
        marker="*",
        s=150,
        color="k",
        zorder=5,
        label="reported top-10 share",
    )
    ax.set_ylim(0, 1)
    ax.set_ylabel("share / Gini")
    ax.legend(fontsize=8)
    ax.set_title("Concentration across organisations (mean, 95% interval over seeds)")
    fig.tight_layout()
    fig.savefig(out / "concentration_by_year.png", dpi=110)
    plt.close(fig)
    names.append("concentration_by_year.png")
    return names


def pool_table(runs_dir: Path) -> pd.DataFrame:
    """Per year and Foundation pool: budget, share paid and hours to exhaustion (mean over
    seeds; exhaustion over the seeds in which the pool ran out)."""
    rows = []
    for job in complete_jobs(runs_dir)[0]:
        cfg = _config(job)
        s = json.loads((job / "summary.json").read_text(encoding="utf-8"))
        for p in s["pools"]:
            dep = p["depleted_at"]
            hours = (
                None
                if dep is None
                else (pd.Timestamp(dep) - pd.Timestamp(p["opens_at"])).total_seconds() / 3600
            )
            rows.append(
                {
                    "year": int(cfg["scenario"]["year"]),
                    "pool": p["name"],
                    "budget_yuan": p["budget_yuan"],
                    "paid_share": p["paid_yuan"] / p["budget_yuan"]
                    if p["budget_yuan"]
                    else float("nan"),
                    "hours_to_exhaustion": hours,
                }
            )
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    g = df.groupby(["year", "pool"], sort=False)
    return pd.DataFrame(
        {
            "budget_yuan": g.budget_yuan.first(),
            "paid_share": g.paid_share.mean(),
            "ran_out_in_seeds": g.hours_to_exhaustion.count(),
            "seeds": g.size(),
            "hours_to_exhaustion": g.hours_to_exhaustion.mean(),
        }
    ).reset_index()


def calibration_info(runs_dir: Path) -> dict[int, dict]:
    """Each year's ``scenario.calibration`` block, as its runs used it."""
    out: dict[int, dict] = {}
    for job in complete_jobs(runs_dir)[0]:
        cfg = _config(job)
        out.setdefault(int(cfg["scenario"]["year"]), cfg["scenario"].get("calibration") or {})
    return out


def write_report(
    runs_dir: Path, sens_dir: Path | None, out: Path, gaming_dir: Path | None = None
) -> Path:
    """Everything of the report from the sweeps' finished runs; returns report.md."""
    out.mkdir(parents=True, exist_ok=True)
    runs, left_out = collect(runs_dir)
    if runs.empty:
        raise SystemExit(f"no complete run in {runs_dir} ({len(left_out)} left out)")
    if gaming_dir is not None and Path(gaming_dir).exists():
        g, g_left = collect(gaming_dir)
        if not g.empty:  # the bad actors' own figures (their runs' others are not the year's)
            runs = pd.concat([runs, g[g.figure.str.startswith("machine_")]], ignore_index=True)
        left_out = left_out + g_left
    t = figure_table(runs)
    t.to_csv(out / "figures.csv", index=False)
    (out / "figures.md").write_text(table_markdown(t), encoding="utf-8")
    pools = pool_table(runs_dir)
    pools.to_csv(out / "pools.csv", index=False)
    sens = pd.DataFrame()
    if sens_dir is not None and Path(sens_dir).exists():
        sens = sensitivity_table(sens_dir, runs_dir)
        sens.to_csv(out / "sensitivity.csv", index=False)
    figs = figures(t, runs_dir, out)
    cal = calibration_info(runs_dir)
    path = out / "report.md"
    path.write_text(_report_text(t, runs, left_out, pools, sens, figs, cal), encoding="utf-8")
    log.info("report of %d runs (%d left out) in %s", runs.job.nunique(), len(left_out), out)
    return path


def _disagreements(t: pd.DataFrame) -> list[str]:
    """The figures the model was not fitted to that it misses by 10% or more, and why."""
    off = t[(t.role != "fitted") & (t.relative_error.abs() >= 0.10)]
    if off.empty:
        return []
    lines = ["## Where the model and the reports disagree (10% or more)", ""]
    for fig, g in off.groupby("figure", sort=False):
        years = ", ".join(f"{int(r.year)} {r.relative_error:+.0%}" for r in g.itertuples())
        lines.append(f"- **{fig}** ({years}): {EXPLAIN.get(fig, 'not explained yet')}.")
    return lines + [""]


def _predictions(t: pd.DataFrame) -> list[str]:
    """The predicted public totals against the platform's whole year (2021's share of it
    is the yardstick)."""
    pub = t[t.figure == "public_donations_yuan"].set_index("year")
    years = [y for y in PLATFORM_YEAR_YUAN if y in pub.index]
    if not years:
        return []
    lines = [
        "## The predictions against the platform's whole year",
        "",
        "The event's public giving as a share of the Tencent charity platform's whole "
        "year [R] (an upper bound: the event is part of the year).",
        "",
        "| year | event public giving | | platform, whole year | event's share |",
        "|---|---:|---|---:|---:|",
    ]
    for y in years:
        r = pub.loc[y]
        kind = "reported" if r.reported is not None and not pd.isna(r.reported) else "predicted"
        v = r.reported if kind == "reported" else r.simulated_mean
        year_total = PLATFORM_YEAR_YUAN[y]
        lines.append(
            f"| {y} | {fmt_figure(v, '')} | {kind} | {fmt_figure(year_total, '')} | "
            f"{v / year_total:.0%} |"
        )
    return lines + [""]


def _report_text(t, runs, left_out, pools, sens, figs, cal) -> str:
    seeds = sorted(int(x) for x in runs.seed.unique())
    scales = sorted(float(x) for x in runs.scale.unique())
    fitted = t[(t.role == "fitted") & t.relative_error.notna()]
    lines = [
        "# Tencent 99 Giving Day, 2016-2021: reported and simulated",
        "",
        f"Every year's scenario run under its own year's rules, seeds {seeds}, scale "
        f"{', '.join(f'{s:g}' for s in scales)} (1 = full scale: every gift simulated), "
        f"{runs.job.nunique()} runs"
        + (f" ({len(left_out)} left out, listed below)" if left_out else "")
        + ". Counts and money are per full scale.",
        "",
        *left_out_lines(left_out),
        "## How to read this",
        "",
        "- **fitted**: `python -m sim.studies.calibrate` moved one parameter to reach this figure "
        "(the note names it). Matching it shows the fit worked, not that the model is right.",
        "- **not fitted**: the model's own output. These test the model.",
        "- **input**: set in config (a budget or a count); the run can fall short of it.",
        "- **prediction**: no reported value. 2019 and 2020 publish no public total; the "
        "model predicts it from the behaviour shared by all years, the year's pools and "
        "rules, its reported gift count (which sets its gift level) and a gift-size level "
        "interpolated between the 2018 and 2021 fits.",
        "- The interval is the 95% t-interval of the mean over seeds; the seed spread is the "
        "standard deviation over seeds as a share of the mean.",
        "",
        "## Fitted figures",
        "",
        f"Worst fitted error: {fitted.relative_error.abs().max():.2%} "
        f"({fitted.loc[fitted.relative_error.abs().idxmax(), 'figure']}, "
        f"{int(fitted.loc[fitted.relative_error.abs().idxmax(), 'year'])}). "
        "Targets: each fitted 2021 figure within 2%, each fitted 2016-2018 figure within 5%.",
        "",
        table_markdown(t[t.role == "fitted"]),
        "## Figures the model was not fitted to, and predictions",
        "",
        table_markdown(t[t.role != "fitted"]),
        *_disagreements(t),
        *_predictions(t),
        "## The calibration",
        "",
        "| year | parameter | value | fitted to | error at the fit | seeds | rounds | date |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for year in sorted(cal):
        c = cal[year]
        targets = c.get("targets", {})
        for fig_name, tg in targets.items():
            lines.append(
                f"| {year} | `{tg['parameter']}` | "
                f"{c['parameters'][tg['parameter']]:.4g} | {fig_name} | "
                f"{tg['error']:+.2%} | {c.get('seeds')} | {c.get('rounds')} | "
                f"{c.get('date')} |"
            )
        for k, how in (c.get("interpolated") or {}).items():
            lines.append(
                f"| {year} | `{k}` | {c['parameters'][k]:.4g} | interpolated: {how} | | | | |"
            )
        if c.get("policy_from"):
            lines.append(f"| {year} | the rules' odds | | taken from {c['policy_from']} | | | | |")
    if not any(cal.values()):
        lines.append("| | no calibration recorded in these runs' configs | | | | | | |")
    lines += [
        "",
        "The fitted values and their provenance are in `conf/fit/y<year>/`; "
        "re-run the fit with `python -m uv run python -m sim.studies.calibrate`.",
        "",
        "## Foundation pools by year",
        "",
        "Share of each pool paid (mean over seeds), in how many seeds it ran out and "
        "after how many hours (mean over those seeds). A pool allocated when its window "
        "closes (2020's non-restricted parts) is paid, and so runs out, at the close.",
        "",
        "| year | pool | budget | paid | ran out (seeds) | hours to run out |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in pools.itertuples():
        h = "" if pd.isna(r.hours_to_exhaustion) else f"{r.hours_to_exhaustion:.1f}"
        lines.append(
            f"| {r.year} | {r.pool} | {fmt_figure(r.budget_yuan, '')} | "
            f"{r.paid_share:.1%} | {r.ran_out_in_seeds}/{r.seeds} | {h} |"
        )
    if not sens.empty:
        lines += [
            "",
            "## Sensitivity (2021)",
            "",
            "Each parameter moved by ±20% alone, with the same seed as the base run "
            "(common random numbers), everything else as fitted. Changes are against "
            "the base run.",
            "",
            sensitivity_markdown(sens),
            "Parameters: " + "; ".join(f"`{k}`: {v}" for k, v in SENSITIVITY.items()) + ".",
        ]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figs]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m sim.studies.reproduction", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--gather-only", action="store_true", help="only write the report")
    ap.add_argument("--no-sensitivity", action="store_true")
    ap.add_argument(
        "--seeds",
        default=None,
        help="seeds of the reproduction, e.g. 1,2,3 (default: the experiments' 1-10)",
    )
    ap.add_argument("--runs", type=Path, default=Path("outputs/sweeps/reproduce"))
    ap.add_argument("--sensitivity", type=Path, default=Path("outputs/sweeps/sensitivity"))
    ap.add_argument("--gaming", type=Path, default=Path("outputs/sweeps/reproduce_gaming"))
    ap.add_argument("--no-gaming", action="store_true", help="leave out the machine donors' sweep")
    ap.add_argument("--out", type=Path, default=Path("outputs/reproduce"))
    args, overrides = ap.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    experiments = {"reproduce": args.runs}
    if not args.no_sensitivity:
        experiments["sensitivity"] = args.sensitivity
    if not args.no_gaming:
        experiments["reproduce_gaming"] = args.gaming
    if not args.gather_only:
        for exp, d in experiments.items():
            cmd = [
                sys.executable,
                "-m",
                "sim",
                "-m",
                f"experiment={exp}",
                f"hydra.sweep.dir={d}",
                *overrides,
            ]
            if exp in ("reproduce", "reproduce_gaming") and args.seeds:
                cmd.append(f"seed={args.seeds}")
            logging.info("running %s", " ".join(cmd))
            rc = subprocess.run(cmd).returncode
            if rc != 0:
                print(f"error: {' '.join(cmd)} exited with {rc}", file=sys.stderr)
                return rc
    need_folder(args.runs, "the reproduction sweep's folder, experiment=reproduce")
    path = write_report(
        args.runs,
        None if args.no_sensitivity else args.sensitivity,
        args.out,
        None if args.no_gaming else args.gaming,
    )
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(command(main))
