"""The reported-vs-simulated comparison and the run's ``report.md``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.calendar import MINUTES_PER_DAY, Calendar
from sim.schema import SimConfig

# figures that do not grow with the scale of the run (counts and money do)
SCALE_FREE = {
    "average_gift_yuan",
    "top10_org_share",
    "org_gini",
    "opening_first_minute_average_gift_yuan",
    "public_share_by_last_morning",
    "worst_top99_raised_per_foundation_yuan",
}
# figures a scale-down does not keep (docs/model.md, "Scale"): every project, organisation
# and enterprise pool is built at any scale, but with fewer donors fewer of them are reached
# (2021 at scale 0.002: 6,635 projects funded against 8,810 at 0.02), and a team's members
# are its leader's friends among the donors; shown as simulated, compared only at full scale
NOT_KEPT_BY_SCALE = {
    "projects_funded",
    "organisations_funded",
    "enterprises_matching",
    "top_team_gifts",
    "top_team_yuan",
}
NOT_KEPT_NOTE = "not compared below full scale: a scale-down reaches fewer of them"

ROLE_TEXT = {
    "input": "inputs (the figure is set in config as a budget or a count; the run can "
    "fall short of it, never exceed a budget)",
    "fitted": "fitted (a parameter was moved to reach it)",
    "not_fitted": "not fitted (the model's own output)",
}


def simulated_figures(cfg: SimConfig, summary: dict, minutes: pd.DataFrame) -> dict:
    """Every figure a scenario may report, from a run's summary and per-minute table."""
    fig = {
        k: summary[k]
        for k in (
            "public_donations_yuan",
            "donation_count",
            "average_gift_yuan",
            "foundation_match_yuan",
            "enterprise_match_yuan",
            "total_raised_yuan",
            "enterprises_matching",
            "flowers_earned",
            "top10_org_share",
            "donor_count",
            "projects_funded",
            "organisations_funded",
        )
    }
    m = summary["metrics"]
    # the machines' own figures where they are the only bad actors (gaming=machines)
    machines_only = cfg.gaming.rings.count == 0
    for k in ("gifts", "public_yuan", "match_yuan"):
        fig[f"machine_{k}"] = m[f"gaming_{k}"] if machines_only else None
    land = summary["landscape"]
    fig["enterprise_pledge_yuan"] = land["enterprise_pledged_yuan"]
    fig["top_project_foundation_match_day1_yuan"] = land.get("first_pool_top_project_match_yuan")
    fig["worst_top99_raised_per_foundation_yuan"] = land.get(
        "first_pool_worst_top99_raised_per_match"
    )
    fl = summary["flowers"]
    fig["flower_collections_first_30_minutes"] = fl["collections_first_30_minutes"]
    fig["top_team_gifts"] = fl["teams"]["top_team_gifts"]
    fig["top_team_yuan"] = fl["teams"]["top_team_yuan"]
    sc = cfg.scenario
    themes = [i for i, d in enumerate(sc.days) if d.kind == "theme"]
    if themes:
        start = themes[0] * MINUTES_PER_DAY
        end = start + MINUTES_PER_DAY
        if sc.theme_day_until:
            end = Calendar.from_config(sc).minute("scenario.theme_day_until", sc.theme_day_until)
        w = minutes[(minutes.minute >= start) & (minutes.minute < end)]
        fig["theme_day_donation_count"] = int(w.gifts.sum())
        # summed in fen: each minute's yuan is exact, a float sum of them not
        fig["theme_day_public_yuan"] = _yuan_sum(w.public_yuan)
        fig["theme_day_foundation_match_yuan"] = _yuan_sum(w.foundation_match_yuan)
    cal = None
    if sc.opening_at:  # the figures of an opening measured minute by minute
        cal = Calendar.from_config(sc)
        o = cal.minute("scenario.opening_at", sc.opening_at)
        g, y = minutes.gifts.to_numpy(), minutes.public_yuan.to_numpy()
        fig["opening_first_minute_gifts"] = int(g[o])
        fig["opening_first_minute_yuan"] = float(y[o])
        fig["opening_first_minute_average_gift_yuan"] = float(y[o] / g[o]) if g[o] else 0.0
        fig["opening_first_30_minutes_yuan"] = _yuan_sum(y[o : o + 30])
        fig["opening_first_hour_gifts"] = int(g[o : o + 60].sum())
    if sc.last_morning_at:  # how much of the money was in by the morning of the last day
        cal = cal or Calendar.from_config(sc)
        t = cal.minute("scenario.last_morning_at", sc.last_morning_at)
        y = minutes.public_yuan.to_numpy()
        fig["public_share_by_last_morning"] = float(y[:t].sum() / y.sum()) if y.sum() else 0.0
    return fig


def _yuan_sum(x) -> float:
    """A sum of yuan amounts (each a whole number of fen), summed in fen."""
    return float(np.rint(np.asarray(x, dtype=np.float64) * 100.0).astype(np.int64).sum() / 100.0)


def comparison_table(cfg: SimConfig, summary: dict, minutes: pd.DataFrame) -> pd.DataFrame:
    """One row per reported figure: reported, simulated (per full scale), relative error,
    and whether the figure was an input, fitted, or not fitted."""
    sim = simulated_figures(cfg, summary, minutes)
    rows = []
    # the scenario's figures, and those published about its bad actors (gaming=)
    for key, rep in [*cfg.scenario.reported.items(), *cfg.gaming.reported.items()]:
        value = sim.get(key)
        not_kept = key in NOT_KEPT_BY_SCALE and cfg.scale < 1.0
        per_scale = (
            value
            if value is None or rep.unit == "share" or key in SCALE_FREE or not_kept
            else value / cfg.scale
        )
        rows.append(
            {
                "figure": key,
                "reported": rep.value,
                "simulated": per_scale,
                "relative_error": None
                if per_scale is None or rep.value is None or not_kept
                else (per_scale - rep.value) / rep.value,
                "unit": rep.unit,
                "role": rep.role,
                "source": rep.source,
                "note": f"{NOT_KEPT_NOTE}; {rep.note}"
                if not_kept and rep.note
                else (NOT_KEPT_NOTE if not_kept else rep.note),
            }
        )
    return pd.DataFrame(rows)


def fmt_figure(x, unit: str) -> str:
    """A figure as a reader wants it: shares in %, money and counts in 亿 or 万."""
    if x is None or pd.isna(x):
        return "n/a"
    if unit == "share":
        return f"{x:.1%}"
    if abs(x) >= 1e8:
        return f"{x / 1e8:,.2f}亿"
    if abs(x) >= 1e5:
        return f"{x / 1e4:,.1f}万"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def write_report(
    path, cfg: SimConfig, summary: dict, table: pd.DataFrame, figures: list[str]
) -> None:
    """A short Markdown report: the comparison table (inputs, fitted, not fitted apart),
    the run's headline figures, its pools and its figures."""
    lines = [
        f"# {cfg.scenario.name}: reported and simulated",
        "",
        f"Policy `{cfg.policy.name}`, population `{cfg.population.name}`, seed "
        f"{summary['seed']}, scale {summary['scale']} (simulated figures of counts and "
        "money are divided by the scale, except those a scale-down does not keep, compared "
        f"only at full scale), {summary['wall_seconds']:.1f} s of "
        "simulation.",
        "",
    ]
    for role in ("not_fitted", "fitted", "input"):
        part = table[table.role == role]
        if part.empty:
            continue
        lines += [
            f"## {ROLE_TEXT[role]}",
            "",
            "| figure | reported | simulated | error | source | note |",
            "|---|---:|---:|---:|---|---|",
        ]
        for r in part.itertuples():
            err = (
                "n/a"
                if r.relative_error is None or pd.isna(r.relative_error)
                else f"{r.relative_error:+.1%}"
            )
            lines.append(
                f"| {r.figure} | {fmt_figure(r.reported, r.unit)} | "
                f"{fmt_figure(r.simulated, r.unit)} | {err} | {r.source} | "
                f"{r.note} |"
            )
        lines.append("")
    cal = cfg.scenario.calibration
    lines += [
        "`fitted` figures were reached by moving the parameter the note names "
        "(`python -m sim.studies.calibrate`; values in `conf/fit/`"
        + (
            f", fitted {cal.get('date')} on seeds {cal.get('seeds')}"
            if cal
            else ", no fit recorded for this scenario"
        )
        + "). `not fitted` figures are "
        "the model's own output.",
        "",
        "## The run",
        "",
        "| figure | value |",
        "|---|---:|",
    ]
    for k in (
        "public_donations_yuan",
        "donation_count",
        "donor_count",
        "average_gift_yuan",
        "foundation_match_yuan",
        "enterprise_match_yuan",
        "total_raised_yuan",
        "flowers_earned",
        "projects_funded",
        "organisations_funded",
        "enterprises_matching",
        "top10_org_share",
        "org_gini",
    ):
        v = summary[k]
        if isinstance(v, int) or abs(v) >= 1e4:
            lines.append(f"| {k} | {v:,.0f} |")
        else:
            lines.append(f"| {k} | {v:.3f} |" if abs(v) < 10 else f"| {k} | {v:,.2f} |")
    lines += [
        "",
        "## Foundation pools",
        "",
        "| pool | opens | budget (yuan) | paid (yuan) | ran out at |",
        "|---|---|---:|---:|---|",
    ]
    for p in summary["pools"]:
        lines.append(
            f"| {p['name']} | {p['opens_at']} | {p['budget_yuan']:,.0f} | "
            f"{p['paid_yuan']:,.0f} | {p['depleted_at'] or 'never'} |"
        )
    ep = summary["enterprise_pools"]
    lines += [
        "",
        f"Enterprise pools: {ep['count']:,}, budget {ep['budget_yuan']:,.0f} yuan, "
        f"paid {ep['paid_yuan']:,.0f}, {ep['depleted']:,} ran out (median "
        f"{ep['median_depleted_at']}).",
        "",
        "## Figures",
        "",
    ]
    lines += [f"![{f}]({f})" for f in figures]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
