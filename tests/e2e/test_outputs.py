"""What a run leaves in its output directory, when it succeeds and when it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.runner import run
from sim.schema import ConfigError
from tests.conftest import TINY, tiny_cfg

ROOT = Path(__file__).resolve().parents[2]
TABLES = ("projects", "organisations", "enterprises", "days", "minutes", "gift_sizes", "events")
SUMMARY_KEYS = {
    "scenario",
    "seed",
    "scale",
    "wall_seconds",
    "public_donations_yuan",
    "donation_count",
    "donor_count",
    "foundation_match_yuan",
    "enterprise_match_yuan",
    "total_raised_yuan",
    "flowers_earned",
    "projects_funded",
    "organisations_funded",
    "enterprises_matching",
    "top10_org_share",
    "days",
    "pools",
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run(tiny_cfg("output.figures=true"), out)
    return out


def test_a_run_writes_everything(run_dir):
    for name in TABLES:
        assert not pd.read_parquet(run_dir / f"{name}.parquet").empty, name
    for name in (
        "campaign.png",
        "days.png",
        "lorenz.png",
        "gift_sizes.png",
        "report.md",
        "config.yaml",
        "reported_vs_simulated.csv",
        "summary.json",
    ):
        assert (run_dir / name).stat().st_size > 0, name
    assert json.loads((run_dir / "status.json").read_text())["status"] == "complete"
    assert not (run_dir / "error.txt").exists()


def test_summary_contract(run_dir):
    s = json.loads((run_dir / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(s)
    assert s["scale"] == TINY and s["scenario"] == "y2021"
    assert s["total_raised_yuan"] == pytest.approx(
        s["public_donations_yuan"] + s["foundation_match_yuan"] + s["enterprise_match_yuan"]
    )
    assert [d["date"] for d in s["days"]] == [f"2021-09-0{i}" for i in range(1, 10)]
    for d in s["days"]:
        date.fromisoformat(d["date"])
        assert {"public_donations_yuan", "donation_count", "foundation_match_yuan"} <= set(d)
    assert sum(d["donation_count"] for d in s["days"]) == s["donation_count"]
    assert len(s["pools"]) == 9
    for p in s["pools"]:
        assert {"name", "opens_at", "budget_yuan", "paid_yuan", "depleted_at"} <= set(p)
        datetime.fromisoformat(p["opens_at"])
        assert p["paid_yuan"] <= p["budget_yuan"]
        if p["depleted_at"] is not None:
            assert datetime.fromisoformat(p["depleted_at"]) >= datetime.fromisoformat(p["opens_at"])
            assert p["paid_yuan"] == p["budget_yuan"]
    assert 0 < s["top10_org_share"] <= 1


def test_report_sets_fitted_apart_from_not_fitted(run_dir):
    text = (run_dir / "report.md").read_text()
    assert "## not fitted" in text and "## fitted" in text
    assert text.index("## not fitted") < text.index("## fitted")
    table = pd.read_csv(run_dir / "reported_vs_simulated.csv")
    assert {
        "public_donations_yuan",
        "donation_count",
        "theme_day_donation_count",
        "foundation_match_yuan",
    } <= set(table.figure)
    assert set(table.role) == {"fitted", "not_fitted", "input"}
    # the Foundation's 6亿 is the pools' budgets: paid by the pacing, not fitted
    assert (table.role[table.figure == "foundation_match_yuan"] == "input").all()
    assert table.simulated.notna().all()
    # what a scale-down does not keep (pools reached) is shown as simulated, not compared
    pools = table.set_index("figure").loc["enterprises_matching"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert pools.simulated == summary["enterprises_matching"]
    assert pd.isna(pools.relative_error)
    assert pools.note.startswith("not compared below full scale")
    assert "except those a scale-down does not keep" in text


def test_a_failed_run_never_looks_complete(tmp_path, monkeypatch):
    from sim.model.campaign import Campaign

    def boom(self, threads=None, stop=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Campaign, "run", boom)
    with pytest.raises(RuntimeError):
        run(tiny_cfg(), tmp_path)
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "failed" and "disk on fire" in status["error"]
    assert "disk on fire" in (tmp_path / "error.txt").read_text()
    assert (tmp_path / "config.yaml").exists()
    assert not (tmp_path / "summary.json").exists()


def test_a_bad_config_fails_before_any_work(tmp_path):
    from tests.conftest import compose_cfg

    with pytest.raises(ConfigError, match=r"^scale=0\.0"):
        run(compose_cfg("scale=0"), tmp_path)
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["error.txt", "status.json"]


def _cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_command_line_run_at_tiny_scale(tmp_path):
    r = _cli(f"scale={TINY}", "output.figures=false", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["donation_count"] > 0
    assert (tmp_path / ".hydra" / "config.yaml").exists()
    assert "2021-09-09 action" in (tmp_path / "app.log").read_text()  # progress per day


def test_command_line_bad_value_names_the_key(tmp_path):
    r = _cli("scale=0", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 2
    assert "scale=0.0 is not allowed: 0 < scale <= 1" in r.stderr
    assert json.loads((tmp_path / "status.json").read_text())["status"] == "failed"


def test_command_line_misspelt_key(tmp_path):
    """Refused as a bad config (exit 2) before any folder is made, naming the key and the
    section's settings, not with Hydra's advice to add it with ``+``."""
    r = _cli("scenario.response.pull_strenght=0.3", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 2
    assert (
        "error: bad config: scenario.response.pull_strenght is not a setting of the config "
        "(did you mean pull_strength?); the settings of scenario.response are [" in r.stderr
    )
    assert "To append" not in r.stderr and not (tmp_path / "run").exists()


def test_each_days_money_is_its_minutes_summed_in_fen(run_dir):
    """A day's yuan is its minutes' fen summed, then divided: exact to the fen (a float sum
    of yuan left 56004.00000000001), and the summary's days and total are the same figures."""
    minutes = pd.read_parquet(run_dir / "minutes.parquet")
    days = pd.read_parquet(run_dir / "days.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    day = minutes.minute // (24 * 60)
    for col in ("public_yuan", "foundation_match_yuan", "enterprise_match_yuan"):
        fen = np.rint(minutes[col].to_numpy() * 100).astype(np.int64)
        want = pd.Series(fen).groupby(day.to_numpy()).sum().to_numpy() / 100
        name = "public_donations_yuan" if col == "public_yuan" else col
        np.testing.assert_array_equal(days[name].to_numpy(), want)
        assert [d[name] for d in summary["days"]] == list(want)
    total = sum(
        round(summary[k] * 100)
        for k in ("public_donations_yuan", "foundation_match_yuan", "enterprise_match_yuan")
    )
    assert summary["total_raised_yuan"] == total / 100


def test_enterprise_table_accounts_for_every_link(run_dir):
    ent = pd.read_parquet(run_dir / "enterprises.parquet")
    projects = pd.read_parquet(run_dir / "projects.parquet")
    assert (ent.projects.map(len) >= 1).all()
    # a pool backs projects of the one organisation that recruited it
    org = projects.set_index("project").organisation
    assert ent.projects.map(lambda ps: org.loc[ps].nunique() == 1).all()
    assert (ent.paid_by_project_yuan.map(sum) - ent.paid_yuan).abs().max() < 1e-6
    assert ent.paid_yuan.sum() == pytest.approx(projects.enterprise_match_yuan.sum())
    assert (ent.paid_yuan <= ent.budget_yuan).all()
