"""The planner's sweep, end to end on a tiny scale: the experiment, the callback that
gathers it, and the gather command on a finished (or partly finished) sweep directory."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from sim.runner import run
from tests.conftest import TINY, tiny_cfg


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            "experiment=policy_sweep",
            f"scale={TINY}",
            "policy=none,qf,y2021",
            "seed=1,2",
            f"hydra.sweep.dir={d}",
            "hydra/launcher=basic",  # the callback and the gatherer are tested here; joblib in test_sweeps
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return d, res


def test_the_callback_writes_one_row_per_run_with_overrides_and_metrics(swept):
    d, res = swept
    df = pd.read_parquet(d / "sweep.parquet")
    assert len(df) == 6
    assert sorted(df.policy.unique()) == ["none", "qf", "y2021"]
    assert set(df.seed_run) == {1, 2}
    for col in (
        "total_raised_yuan",
        "pool_share_paid",
        "matched_donor_share",
        "org_gini",
        "gaming_share_of_foundation_match",
        "extra_public_vs_baseline_yuan",
    ):
        assert col in df, col
    # the no-match run is its own baseline; a match brings new gifts (lift), seed by seed;
    # the rest of the difference (intents lost, and at this scale the draws' own noise)
    # may have either sign
    none, matched = df[df.policy == "none"], df[df.policy != "none"]
    assert (none.extra_public_vs_baseline_yuan == 0).all() and (none.extra_lift_yuan == 0).all()
    assert (matched.extra_lift_yuan > 0).all()
    assert (matched.extra_lift_yuan == matched.lifted_public_yuan).all()
    parts = matched.extra_lift_yuan + matched.extra_gaming_yuan + matched.extra_other_yuan
    assert (parts - matched.extra_public_vs_baseline_yuan).abs().max() < 1e-6
    assert (matched.extra_gaming_yuan >= 0).all() and (none.gaming_public_yuan == 0).all()
    assert pd.read_csv(d / "sweep.csv").shape == df.shape
    for f in (
        "comparison.csv",
        "comparison.md",
        "metrics_by_policy.png",
        "raised_vs_equity.png",
        "pool_level.png",
    ):
        assert (d / f).stat().st_size > 0, f
    md = (d / "comparison.md").read_text(encoding="utf-8")
    assert "most money: policy=" in md and "most robust to gaming" in md
    # the decisions, paired by seed: qf and y2021 compared (none is the reference only)
    dec = pd.read_csv(d / "decisions.csv")
    assert set(dec.pick) <= {"qf", "y2021"} and (dec.blocks == 2).all()
    assert dec.p_best.between(0.5, 1.0).all()
    paired = pd.read_csv(d / "paired.csv")
    assert set(paired.reference) == {"none", "y2021"}
    q = paired[(paired.policy == "qf") & (paired.reference == "none")]
    q = q.set_index("metric").mean_difference["total_raised_yuan"]
    by_seed = df.pivot_table(index="seed_run", columns="policy", values="total_raised_yuan")
    assert q == pytest.approx((by_seed.qf - by_seed["none"]).mean())
    text = (d / "decisions.md").read_text(encoding="utf-8")
    assert "## What to pick for each aim" in text and "## Against y2021, paired by block" in text


def test_the_figures_drawn_again_are_the_same(swept):
    from sim.studies import gather

    d, _ = swept
    df = pd.read_parquet(d / "sweep.parquet")
    comp = gather.comparison(df)
    names = ("metrics_by_policy.png", "raised_vs_equity.png", "pool_level.png")
    before = {n: (d / n).read_bytes() for n in names}
    assert [p.name for p in gather.figures(df, comp, d)] == list(names)
    # no random error bar: each is the table's interval (comparison.md)
    assert {n: (d / n).read_bytes() for n in names} == before


def test_the_gather_command_leaves_out_an_unfinished_run(swept):
    d, _ = swept
    job = next(p for p in d.iterdir() if "policy=qf" in p.name and "seed=2" in p.name)
    status = json.loads((job / "status.json").read_text(encoding="utf-8"))
    (job / "status.json").write_text(json.dumps({**status, "status": "running"}), encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "sim.studies.gather", str(d), "--no-figures"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "(1 left out)" in res.stderr
    # the left-out job is named, with why, in the comparison and its own table
    assert "seed=2`: status 'running'" in (d / "comparison.md").read_text(encoding="utf-8")
    left = pd.read_csv(d / "left_out.csv")
    assert left.job.str.contains("policy=qf").all() and len(left) == 1
    df = pd.read_parquet(d / "sweep.parquet")
    assert len(df) == 5
    comp = pd.read_csv(d / "comparison.csv")
    assert comp.set_index("policy").runs.to_dict() == {"none": 2, "qf": 1, "y2021": 2}


def test_a_budget_sweep_compares_settings_against_the_same_baseline(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            "experiment=policy_sweep",
            f"scale={TINY}",
            "policy=none,fixed_ratio",
            "policy.budget=1e8,6e8",
            "seed=1",
            "gaming=none",
            f"hydra.sweep.dir={tmp_path}",
            "hydra/launcher=basic",  # the callback and the gatherer are tested here; joblib in test_sweeps
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    df = pd.read_parquet(tmp_path / "sweep.parquet")
    one, six = "100000000.0", "600000000.0"  # as Hydra writes the overrides
    assert len(df) == 4 and set(df["policy.budget"]) == {one, six}
    fixed = df[df.policy == "fixed_ratio"].set_index("policy.budget")
    assert fixed.loc[six, "foundation_budget_yuan"] == 6 * fixed.loc[one, "foundation_budget_yuan"]
    assert fixed.extra_public_vs_baseline_yuan.notna().all()
    comp = pd.read_csv(tmp_path / "comparison.csv")
    assert len(comp) == 4 and {"policy", "policy.budget"} <= set(comp.columns)


def _gather(d, *args):
    return subprocess.run(
        [sys.executable, "-m", "sim.studies.gather", str(d), "--no-figures", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_gather_with_no_complete_block_says_so_and_leaves_nothing_of_the_last(swept, tmp_path):
    """Each seed misses a policy: nothing can be compared by seed, which the decisions say
    (it crashed); the last gather's report and figures are gone, not left beside the new
    tables as if they were theirs."""
    d = tmp_path / "sweep"
    shutil.copytree(swept[0], d)
    for name in ("report_best.png", "metrics_by_policy.png"):  # as an earlier gather left them
        (d / name).write_bytes(b"an earlier gather's figure")
    for policy, seed in (("qf", 1), ("none", 2), ("y2021", 1)):
        job = next(
            p for p in d.iterdir() if f"policy={policy}," in p.name and f"seed={seed}" in p.name
        )
        (job / "summary.json").unlink()
    res = _gather(d)
    assert res.returncode == 0, res.stderr[-3000:]
    text = (d / "decisions.md").read_text(encoding="utf-8")
    assert "No aim could be compared: no block (seed_run) holds a complete run of every" in text
    assert not (d / "report_best.png").exists() and not (d / "metrics_by_policy.png").exists()


def test_a_gather_refuses_a_folder_of_runs_at_two_scales_or_none(swept, tmp_path):
    d = tmp_path / "sweep"
    shutil.copytree(swept[0], d)
    run(tiny_cfg("seed=3", "output.figures=false", scale=0.003), d / "seed=3,scale=0.003")
    res = _gather(d)
    assert res.returncode == 1
    assert "are at 2 scales (0.002: " in res.stderr
    assert "0.003: 1 runs): a sweep's runs are compared at one scale" in res.stderr
    assert not (d / "comparison.md").exists() and not (d / "report.md").exists()
    res = _gather(tmp_path / "nowhere")
    assert res.returncode == 1 and "nowhere: no such folder" in res.stderr


def test_output_overrides_are_not_settings_to_compare(tmp_path):
    """``output.*`` changes what a run writes, never its numbers: a sweep run with
    ``output.figures=false`` compares policies, not (policy, figures) pairs."""
    from sim.studies.gather import _overrides

    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text(
        "- policy=qf\n- output.figures=false\n- +output.progress=false\n- experiment=policy_sweep\n"
        "- seed=2\n",
        encoding="utf-8",
    )
    assert _overrides(tmp_path) == {"policy": "qf", "seed": "2"}
