"""The run's figures (seaborn on matplotlib's file backend), written as PNG."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sim.outputs import FIGURES  # noqa: E402

logging.getLogger("matplotlib.category").setLevel(logging.WARNING)


def campaign_figure(minutes: pd.DataFrame, summary: dict, path: Path) -> None:
    """Money and match over the campaign (per 10 minutes) above the pools' levels, with a
    mark where each Foundation pool ran out."""
    sns.set_theme(style="whitegrid", context="paper")
    per10 = (
        minutes.set_index("time")[["public_yuan", "foundation_match_yuan", "enterprise_match_yuan"]]
        .resample("10min")
        .sum()
    )
    money = (per10 / 1e6).reset_index().melt("time", var_name="flow", value_name="million yuan")
    levels = minutes.set_index("time").filter(like="level:") / 1e6
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    # one point per (time, line): drawn as it is, not aggregated (no estimate, no band)
    flat = {"estimator": None, "errorbar": None}
    sns.lineplot(money, x="time", y="million yuan", hue="flow", ax=ax1, linewidth=0.8, **flat)
    ax1.set_title(
        f"{summary['scenario']} ({summary['policy']}), scale {summary['scale']}: "
        "money per 10 minutes"
    )
    lv = levels.reset_index().melt("time", var_name="pool", value_name="million yuan left")
    lv["pool"] = lv["pool"].str.removeprefix("level:")
    sns.lineplot(lv, x="time", y="million yuan left", hue="pool", ax=ax2, linewidth=0.9, **flat)
    for p in summary["pools"]:
        if p["depleted_at"]:
            ax2.plot(pd.Timestamp(p["depleted_at"]), 0, marker="x", color="crimson", ms=8)
    ax2.set_title("pool levels (x: a Foundation pool ran out)")
    ax2.legend(fontsize=6, ncol=2, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def days_figure(days: pd.DataFrame, path: Path) -> None:
    """Public gifts and match per day."""
    sns.set_theme(style="whitegrid", context="paper")
    d = days.melt(
        ["date", "kind"],
        ["public_donations_yuan", "foundation_match_yuan", "enterprise_match_yuan"],
        var_name="flow",
        value_name="yuan",
    )
    d["100 million yuan"] = d["yuan"] / 1e8
    fig, ax = plt.subplots(figsize=(10, 4.5))
    sns.barplot(d, x="date", y="100 million yuan", hue="flow", ax=ax, errorbar=None)
    ax.set_title("money per day (100 million yuan)")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def lorenz_figure(orgs: pd.DataFrame, gini: float, path: Path) -> None:
    """Lorenz curve of money raised across organisations."""
    sns.set_theme(style="whitegrid", context="paper")
    x = np.sort(orgs.total_yuan.to_numpy())
    cum = np.concatenate([[0], np.cumsum(x)]) / max(x.sum(), 1e-12)
    share = np.linspace(0, 1, cum.shape[0])
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    sns.lineplot(x=share, y=cum, ax=ax, label="organisations", estimator=None, errorbar=None)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8, label="equal")
    ax.set_xlabel("share of organisations (smallest first)")
    ax.set_ylabel("share of money raised")
    ax.set_title(f"Lorenz curve, Gini {gini:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def gift_size_figure(sizes: pd.DataFrame, path: Path) -> None:
    """Distribution of gift sizes: gifts and money per size bin, log scale."""
    sns.set_theme(style="whitegrid", context="paper")
    mid = np.sqrt(sizes.from_yuan.clip(lower=1) * sizes.below_yuan.clip(upper=1e8))
    money = sizes.gifts * mid
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(
        sizes.from_yuan,
        sizes.gifts / sizes.gifts.sum(),
        width=sizes.below_yuan - sizes.from_yuan,
        align="edge",
        alpha=0.6,
        label="gifts",
    )
    ax.step(
        sizes.from_yuan, money / money.sum(), where="post", color="crimson", label="money (approx.)"
    )
    ax.set_xscale("log")
    ax.set_xlabel("gift size (yuan)")
    ax.set_ylabel("share per bin")
    ax.set_title("gift sizes")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def flower_figure(flowers: pd.DataFrame, summary: dict, path: Path) -> None:
    """Donors and matched donors by the flowers they hold, with the rules' thresholds."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels = [
        f"{a}-{b - 1}" if b < 10**9 else f"{a}+"
        for a, b in zip(flowers.from_flowers, flowers.below_flowers, strict=True)
    ]
    x = np.arange(len(labels))
    ax.bar(x - 0.2, 100 * flowers.share_of_donors, width=0.4, label="donors who gave")
    ax.bar(x + 0.2, 100 * flowers.share_of_matched, width=0.4, label="matched donors")
    ax.set_yscale("log")
    ax.set_xticks(x, labels, rotation=30)
    ax.set_xlabel("flowers held at the end (bins; 39 / 99 / 199 / 299: the rules' thresholds)")
    ax.set_ylabel("share of donors (%), log scale")
    th = summary["flowers"]["thresholds"]
    ax.set_title(
        "flowers per donor: "
        + ", ".join(f">={k}: {100 * v['share_of_donors']:.2f}%" for k, v in th.items())
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw(names: Iterable[str], t: dict[str, pd.DataFrame], summary: dict, out: Path) -> None:
    """Write the figures ``names`` (of :data:`sim.outputs.FIGURES`) into ``out``."""
    campaign, days, lorenz, sizes, flowers = FIGURES
    drawers = {
        campaign: lambda p: campaign_figure(t["minutes"], summary, p),
        days: lambda p: days_figure(t["days"], p),
        lorenz: lambda p: lorenz_figure(t["organisations"], summary["org_gini"], p),
        sizes: lambda p: gift_size_figure(t["gift_sizes"], p),
        flowers: lambda p: flower_figure(t["flowers"], summary, p),
    }
    for name in names:
        drawers[name](out / name)


def all_figures(t: dict[str, pd.DataFrame], summary: dict, out: Path) -> list[str]:
    """Write every figure (:data:`sim.outputs.FIGURES`) into ``out``; returns their names."""
    draw(FIGURES, t, summary, out)
    return list(FIGURES)
