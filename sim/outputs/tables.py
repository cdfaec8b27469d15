"""Tables, the summary and the planner's metrics of a finished campaign, read from its
result (:class:`sim.model.result.CampaignResult`). Fen inside, yuan in every table here."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.model.calendar import MINUTES_PER_DAY
from sim.model.result import CampaignResult
from sim.outputs import TABLES


def yuan(fen) -> Any:
    """Fen to yuan (float), for tables and the summary only."""
    return np.asarray(fen, dtype=np.float64) / 100.0


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative amounts (0 equal, 1 all in one place)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = x.shape[0]
    total = math.fsum(x)
    if n == 0 or total == 0:
        return 0.0
    # exactly rounded sums (math.fsum), not a BLAS dot product, whose kernel (and so its last
    # bit) depends on the CPU: the same run gives the same Gini on every machine
    return float(math.fsum((2 * np.arange(1, n + 1) - n - 1) * x) / (n * total))


def project_table(c: CampaignResult) -> pd.DataFrame:
    p = c.projects
    df = pd.DataFrame(
        {
            "project": np.arange(p.n),
            "organisation": p.org,
            "category": pd.Categorical.from_codes(p.category, p.categories),
            "less_developed": p.less_developed,
            "small_org": p.small_org,
            "reach": p.reach,
            "goal_yuan": yuan(p.goal),
            "frozen": p.frozen,
            "detections": p.detections,
            "donation_count": p.count,
            "public_yuan": yuan(p.public),
            "foundation_match_yuan": yuan(p.foundation_match),
            "enterprise_match_yuan": yuan(p.enterprise_match),
            "enterprise_pools": c.pools.links_per_project,
        }
    )
    df["total_yuan"] = df.public_yuan + df.foundation_match_yuan + df.enterprise_match_yuan
    return df


def organisation_table(projects: pd.DataFrame) -> pd.DataFrame:
    g = projects.groupby("organisation", sort=True)
    df = g.agg(
        projects=("project", "size"),
        donation_count=("donation_count", "sum"),
        public_yuan=("public_yuan", "sum"),
        foundation_match_yuan=("foundation_match_yuan", "sum"),
        enterprise_match_yuan=("enterprise_match_yuan", "sum"),
        total_yuan=("total_yuan", "sum"),
        less_developed_projects=("less_developed", "sum"),
    ).reset_index()
    return df.sort_values("total_yuan", ascending=False, kind="stable").reset_index(drop=True)


def enterprise_table(c: CampaignResult) -> pd.DataFrame:
    """One row per enterprise pool, with the projects it backs and what it paid each."""
    pl = c.pools
    idx = np.flatnonzero(pl.is_enterprise)
    by_pool = np.argsort(pl.link_pool, kind="stable")  # links grouped by pool, in pool order
    ends = np.cumsum(np.bincount(pl.link_pool, minlength=pl.n)[idx]).tolist()
    starts = [0, *ends][:-1]  # each pool's first link: where the one before it ends
    # each pool's slice of one list (a list a pool, from one conversion of the whole array)
    linked = pl.link_project[by_pool].tolist()
    paid = yuan(pl.link_paid[by_pool]).tolist()
    return pd.DataFrame(
        {
            "enterprise": np.arange(idx.shape[0]),
            "projects": [linked[a:b] for a, b in zip(starts, ends, strict=True)],
            "paid_by_project_yuan": [paid[a:b] for a, b in zip(starts, ends, strict=True)],
            "ratio": pl.ratio[idx],
            "budget_yuan": yuan(pl.budget[idx]),
            "paid_yuan": yuan(pl.paid[idx]),
            "opens_at": c.calendar.iso_many(pl.open_at[idx]),
            "depleted_at": c.calendar.iso_many(pl.depleted_at[idx]),
        }
    )


def minute_table(c: CampaignResult) -> pd.DataFrame:
    s = c.series
    m = np.arange(c.calendar.n_minutes)
    df = pd.DataFrame(
        {
            "minute": m,
            "time": pd.date_range(c.calendar.start, periods=m.shape[0], freq="min"),
            "gifts": s.gifts,
            "public_yuan": yuan(s.public_fen),
            "foundation_match_yuan": yuan(s.foundation_fen),
            "enterprise_match_yuan": yuan(s.enterprise_fen),
            "flowers": s.flowers,
            "matched_gifts": s.matched_gifts,
            "foundation_matched_gifts": s.foundation_matched_gifts,
            "gaming_gifts": s.gaming_gifts,
            "gaming_public_yuan": yuan(s.gaming_public_fen),
            "shifted_gifts": s.shifted_gifts,
            "shifted_public_yuan": yuan(s.shifted_public_fen),
            "lifted_gifts": s.lifted_gifts,
            "lifted_public_yuan": yuan(s.lifted_public_fen),
            "lost_intents": s.lost_intents,
            "collections": c.flowers.collections,
        }
    )
    pl = c.pools
    live = (pl.open_at[pl.foundation][:, None] <= m) & (m < pl.close_at[pl.foundation][:, None])
    levels = s.foundation_levels
    df["level:foundation_open"] = yuan((levels * live).sum(axis=0))  # in open windows
    for k, g in enumerate(pl.foundation):
        df[f"level:{pl.names[g]}"] = yuan(levels[k])
    df["level:enterprises"] = yuan(s.enterprise_remaining)
    return df


def day_table(minutes: pd.DataFrame, c: CampaignResult) -> pd.DataFrame:
    """Per day: gifts, money (summed in fen, so each day's yuan is exact to the fen) and
    flowers."""
    s = c.series
    day = minutes.minute // MINUTES_PER_DAY
    fen = pd.DataFrame(
        {
            "gifts": s.gifts,
            "public_yuan": s.public_fen,
            "foundation_match_yuan": s.foundation_fen,
            "enterprise_match_yuan": s.enterprise_fen,
            "flowers": s.flowers,
        }
    )
    df = fen.groupby(day.to_numpy()).sum().reset_index(drop=True)
    for col in ("public_yuan", "foundation_match_yuan", "enterprise_match_yuan"):
        df[col] = yuan(df[col].to_numpy())
    df.insert(0, "date", [d.date for d in c.calendar.days])
    df.insert(1, "kind", [d.kind for d in c.calendar.days])
    return df.rename(columns={"gifts": "donation_count", "public_yuan": "public_donations_yuan"})


def size_table(c: CampaignResult) -> pd.DataFrame:
    edges, hist = c.series.size_edges, c.series.size_hist
    lo = np.concatenate([[0], edges])
    hi = np.concatenate([edges, [np.iinfo(np.int64).max]])
    return pd.DataFrame({"from_yuan": yuan(lo), "below_yuan": yuan(hi), "gifts": hist})[
        hist > 0
    ].reset_index(drop=True)


def event_table(c: CampaignResult) -> pd.DataFrame:
    # by time as a float (a minute may be a numpy number, slow to compare), then kind
    ev = sorted(c.events, key=lambda e: (float(e.minute), e.kind))
    return pd.DataFrame(
        {
            "time": c.calendar.iso_many([e.minute for e in ev]),
            "minute": [e.minute for e in ev],
            "kind": [e.kind for e in ev],
            "pool": [e.pool for e in ev],
        }
    )


def flower_table(c: CampaignResult) -> pd.DataFrame:
    """Honest donors who gave, by the flowers they hold at the end (bins from each lower
    edge to the next), and of them those matched."""
    f = c.flowers
    edges = np.asarray(f.hist_edges)
    upper = np.append(edges[1:], np.iinfo(np.int64).max)
    donors, matched = np.asarray(f.hist_donors), np.asarray(f.hist_matched)
    return pd.DataFrame(
        {
            "from_flowers": edges,
            "below_flowers": upper,
            "donors": donors,
            "matched_donors": matched,
            "share_of_donors": donors / max(1, donors.sum()),
            "share_of_matched": matched / max(1, matched.sum()),
        }
    )


def flower_summary(c: CampaignResult) -> dict:
    """The flowers per donor at the thresholds of the rules (2018's 39 / 99 tiers, 199,
    2020's 299), the collections, the teams (一起捐) and the pacing's last intensities."""
    f, s = c.flowers, c.series
    gave = max(1, int(f.hist_donors.sum()))
    matched = max(1, int(f.hist_matched.sum()))
    sc = c.cfg.scenario
    first_30 = None
    if sc.opening_at:
        o = c.calendar.minute("scenario.opening_at", sc.opening_at)
        first_30 = int(f.collections[o : o + 30].sum())
    top = int(np.argmax(f.team_fen)) if f.team_fen.shape[0] and f.team_fen.max() > 0 else None
    last: dict[str, float] = {}
    for _, pool, x in f.pacing:
        last[pool] = round(float(x), 4)
    return {
        "thresholds": {
            str(int(thr)): {
                "donors": int(n),
                "share_of_donors": int(n) / gave,
                "matched_donors": int(m),
                "share_of_matched": int(m) / matched,
            }
            for thr, n, m in zip(f.thresholds, f.donors_at, f.matched_at, strict=True)
        },
        "max_flowers": int(f.max_flowers),
        "flowers_with_before_event": int(s.flowers.sum()) + int(f.before_event[2]),
        "collections": int(f.collections.sum()) + int(f.before_event[0]),
        "collections_first_30_minutes": first_30,
        "collection_helps": int(f.collection_helps),
        "before_event": {
            "collections": int(f.before_event[0]),
            "helps": int(f.before_event[1]),
            "flowers": int(f.before_event[2]),
        },
        "teams": {
            "gifts": int(f.team_gifts.sum()),
            "public_yuan": float(yuan(f.team_fen.sum())),
            "top_team_gifts": int(f.team_gifts[top]) if top is not None else 0,
            "top_team_yuan": float(yuan(f.team_fen[top])) if top is not None else 0.0,
        },
        "pacing_steps": len(f.pacing),
        "pacing_last_intensity": last,
    }


def tables(c: CampaignResult) -> dict[str, pd.DataFrame]:
    """Every table of a run, by file stem."""
    projects = project_table(c)
    minutes = minute_table(c)
    out = {
        "projects": projects,
        "organisations": organisation_table(projects),
        "enterprises": enterprise_table(c),
        "days": day_table(minutes, c),
        "minutes": minutes,
        "gift_sizes": size_table(c),
        "events": event_table(c),
        "flowers": flower_table(c),
    }
    assert tuple(out) == TABLES
    return out


def summary(c: CampaignResult, t: dict[str, pd.DataFrame]) -> dict:
    """The run's headline figures, money in yuan, times as ISO local times."""
    pl, cal = c.pools, c.calendar
    orgs = t["organisations"]
    ent = pl.is_enterprise
    foundation = [
        {
            "name": pl.names[g],
            "opens_at": cal.iso(pl.open_at[g]),
            "closes_at": cal.iso(pl.close_at[g]),
            "budget_yuan": float(yuan(pl.budget[g])),
            "paid_yuan": float(yuan(pl.paid[g])),
            "depleted_at": cal.iso(pl.depleted_at[g]),
            "gaming_yuan": float(yuan(pl.gamed[g])),
        }
        for g in pl.foundation
    ]
    days = t["days"]
    # in fen, then yuan once each (the total too: a sum of yuan floats can miss the fen)
    public_fen = int(c.projects.public.sum())
    fmatch_fen = int(pl.paid[pl.foundation].sum())
    ematch_fen = int(pl.paid[ent].sum())
    public, fmatch, ematch = (float(yuan(f)) for f in (public_fen, fmatch_fen, ematch_fen))
    m = metrics(c, t)
    return {
        "scenario": c.cfg.scenario.name,
        "policy": c.cfg.policy.name,
        "seed": int(c.cfg.seed),
        "scale": float(c.cfg.scale),
        "wall_seconds": round(c.wall_seconds, 3),
        "public_donations_yuan": public,
        "donation_count": int(c.projects.count.sum()),
        "donor_count": int(c.donors.gave),
        "average_gift_yuan": public / max(1, int(c.projects.count.sum())),
        "foundation_match_yuan": fmatch,
        "enterprise_match_yuan": ematch,
        "total_raised_yuan": float(yuan(public_fen + fmatch_fen + ematch_fen)),
        "flowers_earned": int(c.series.flowers.sum()),
        "projects": int(c.projects.n),
        "projects_funded": int(np.count_nonzero(c.projects.count)),
        "organisations": int(c.projects.n_orgs),
        "organisations_funded": int(np.count_nonzero(orgs.donation_count)),
        "enterprises": int(ent.sum()),
        "enterprises_matching": int(np.count_nonzero(pl.paid[ent])),
        "top10_org_share": m["top10_org_share"],
        "org_gini": m["org_gini"],
        "days": [
            {
                "date": r.date,
                "kind": r.kind,
                "public_donations_yuan": float(r.public_donations_yuan),
                "donation_count": int(r.donation_count),
                "foundation_match_yuan": float(r.foundation_match_yuan),
                "enterprise_match_yuan": float(r.enterprise_match_yuan),
            }
            for r in days.itertuples()
        ],
        "pools": foundation,
        "enterprise_pools": {
            "count": int(ent.sum()),
            "budget_yuan": float(yuan(pl.budget[ent].sum())),
            "paid_yuan": ematch,
            "depleted": int(np.isfinite(pl.depleted_at[ent]).sum()),
            "median_depleted_at": cal.iso(np.nanmedian(pl.depleted_at[ent]))
            if np.isfinite(pl.depleted_at[ent]).any()
            else None,
        },
        "metrics": m,
        "flowers": flower_summary(c),
        "landscape": landscape_summary(c, m),
    }


def landscape_summary(c: CampaignResult, m: dict) -> dict:
    """The organisations, their enterprise partners and the caps (issue 17): the top-10
    share and Gini, what the enterprise pools paid of their pledge (and the organisations'
    own pools), how many projects a per-project cap stopped, and the first Foundation pool's
    spread over projects (2017's day-1 figures: the largest match a project had from it, and
    among the 99 projects that raised most by its close the worst ratio of money raised to
    its match; ``m``: the run's :func:`metrics`). Money is in yuan of the run (divide by
    ``scale`` for full scale)."""
    pl, p = c.pools, c.projects
    ent = pl.is_enterprise
    own = pl.own & ent
    f = pl.foundation
    cap = pl.project_cap
    fcap = cap[f][:, None]
    at_cap = ((fcap > 0) & (pl.paid_by_project >= fcap)).any(axis=0)
    lcap = cap[pl.link_pool]
    at_cap[pl.link_project[(lcap > 0) & (pl.link_paid >= lcap)]] = True
    out: dict[str, Any] = {
        "organisations": int(p.n_orgs),
        "top10_org_share": m["top10_org_share"],
        "org_gini": m["org_gini"],
        "enterprise_pledged_yuan": float(yuan(pl.budget[ent].sum())),
        "enterprise_paid_yuan": float(yuan(pl.paid[ent].sum())),
        "enterprise_share_paid": float(pl.paid[ent].sum() / max(pl.budget[ent].sum(), 1)),
        "enterprise_pools_depleted": int(np.isfinite(pl.depleted_at[ent]).sum()),
        "own_pools": int(own.sum()),
        "own_paid_yuan": float(yuan(pl.paid[own].sum())),
        "projects_backed_by_enterprises": int(np.count_nonzero(pl.links_per_project)),
        "projects_at_project_cap": int(np.count_nonzero(at_cap)),
    }
    if c.at_first_close is not None and f.size:
        public, ematch = c.at_first_close
        first = f[pl.close_at[f] == pl.close_at[f[0]]]
        fmatch = pl.paid_by_project[first].sum(axis=0)
        raised = public + ematch + fmatch
        top = np.argsort(-raised, kind="stable")[:99]
        ratio = raised[top] / np.maximum(fmatch[top], 1)
        out["first_pool_top_project_match_yuan"] = float(yuan(fmatch.max()))
        out["first_pool_worst_top99_raised_per_match"] = float(ratio.max()) if top.size else None
    return out


def _windows(c: CampaignResult) -> list[dict]:
    """The Foundation's pools as the scenario names them (tranches of one pool together):
    opening, closing, budget, and when the last of its money ran out (None if never)."""
    pl = c.pools
    out: dict[str, dict] = {}
    for g in pl.foundation:
        base = pl.names[g].split("/")[0]
        w = out.setdefault(
            base,
            {
                "name": base,
                "open": pl.open_at[g],
                "close": pl.close_at[g],
                "budget": 0,
                "remaining": 0,
                "depleted": [],
            },
        )
        w["open"] = min(w["open"], pl.open_at[g])
        w["budget"] += int(pl.budget[g])
        w["remaining"] += int(pl.remaining[g])
        w["depleted"].append(pl.depleted_at[g])
    for w in out.values():
        dep = np.array(w["depleted"])
        w["exhausted_at"] = (
            float(dep.max())
            if w["budget"] > 0 and w["remaining"] == 0 and np.isfinite(dep).all()
            else None
        )
    return list(out.values())


def metrics(c: CampaignResult, t: dict[str, pd.DataFrame]) -> dict:
    """What a planner compares policies by (issue 4); money in yuan, shares in [0, 1].

    Matched gifts by arrival ("fastest fingers"): the share of gifts in the first hour of
    each Foundation window that the Foundation matched, against the rest of the window (for
    a post-event rule, a gift counts as matched when its project got an allocation).

    Lift and shift (:mod:`sim.model.response`): ``lifted_*`` are the gifts a match brought
    that would not have been made, ``shifted_*`` those moved in time to a match (not new
    money), ``lost_intents`` the intents that waited for a match that was gone and were not
    given; the gatherer also reports the difference from the no-match run with the same
    seed when the sweep has one."""
    pl, p = c.pools, c.projects
    f = pl.foundation
    budget = int(pl.budget[f].sum())
    fpaid = int(pl.paid[f].sum())
    epaid = int(pl.paid[pl.is_enterprise].sum())
    match = p.foundation_match + p.enterprise_match
    total_match = int(match.sum())
    total = p.public + match
    wins = _windows(c)
    to_exhaust = [w["exhausted_at"] - w["open"] for w in wins if w["exhausted_at"] is not None]
    gave, gave_matched = c.donors.gave_honest, c.donors.matched_honest
    gifts, matched = c.series.gifts, c.series.foundation_matched_gifts
    first = np.zeros(c.calendar.n_minutes, dtype=bool)
    later = np.zeros(c.calendar.n_minutes, dtype=bool)
    for w in wins:
        o, e = int(w["open"]), int(w["close"])
        first[o : min(o + 60, e)] = True
        later[min(o + 60, e) : e] = True
    share = lambda num, den: float(num / den) if den else 0.0  # noqa: E731
    orgs = t["organisations"]
    return {
        "total_raised_yuan": float(yuan(total.sum())),
        "public_donations_yuan": float(yuan(p.public.sum())),
        "lifted_gifts": int(c.series.lifted_gifts.sum()),
        "lifted_public_yuan": float(yuan(c.series.lifted_public_fen.sum())),
        "shifted_gifts": int(c.series.shifted_gifts.sum()),
        "shifted_public_yuan": float(yuan(c.series.shifted_public_fen.sum())),
        "lost_intents": float(c.series.lost_intents.sum()),
        "match_yuan": float(yuan(total_match)),
        "foundation_budget_yuan": float(yuan(budget)),
        "foundation_paid_yuan": float(yuan(fpaid)),
        "pool_share_paid": share(fpaid, budget),
        "pools_exhausted": len(to_exhaust),
        "pools": len(wins),
        "median_minutes_to_exhaustion": float(np.median(to_exhaust)) if to_exhaust else None,
        "matched_donor_share": share(gave_matched, gave),
        "matched_gift_share": share(c.series.matched_gifts.sum(), gifts.sum()),
        "foundation_matched_gift_share": share(matched.sum(), gifts.sum()),
        "matched_gift_share_first_hour": share(matched[first].sum(), gifts[first].sum()),
        "matched_gift_share_after_first_hour": share(matched[later].sum(), gifts[later].sum()),
        "org_gini": gini(orgs.total_yuan.to_numpy()),
        "top10_org_share": share(orgs.total_yuan.head(10).sum(), orgs.total_yuan.sum()),
        "match_share_less_developed": share(match[p.less_developed].sum(), total_match),
        "match_share_small_orgs": share(match[p.small_org].sum(), total_match),
        "raised_share_less_developed": share(total[p.less_developed].sum(), total.sum()),
        "raised_share_small_orgs": share(total[p.small_org].sum(), total.sum()),
        "projects_reaching_goal": share(np.count_nonzero(total >= p.goal), p.n),
        "gaming_gifts": int(c.series.gaming_gifts.sum()),
        "gaming_public_yuan": float(yuan(c.series.gaming_public_fen.sum())),
        "gaming_match_yuan": float(yuan(pl.gamed.sum())),
        "gaming_share_of_foundation_match": share(int(pl.gamed[f].sum()), fpaid),
        "gaming_share_of_match": share(int(pl.gamed.sum()), fpaid + epaid),
        "projects_frozen": int(np.count_nonzero(p.frozen)),
    }
