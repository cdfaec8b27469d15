"""The benchmark script runs and writes its table, figure and verdicts (times are measured,
never asserted). The benchmark run end to end is ``slow`` (about 20 s; CI runs the slow tier
too); its record, its repeats and the sweep's timing are checked here without running."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import benchmark
from benchmarks.benchmark import main, verdicts


@pytest.mark.slow
def test_the_benchmark_writes_its_table_and_figure(tmp_path):
    main(
        [
            "--scales",
            "0.0005",
            "0.001",
            "--no-reference",
            "--repeat",
            "1",
            "--no-warmup",
            "--out",
            str(tmp_path),
            "--record",
            str(tmp_path / "record.csv"),
        ]
    )
    df = pd.read_csv(tmp_path / "benchmark.csv")
    assert list(df.case) == ["engine", "engine", "engine", "floor", "command"]
    assert list(df.threads.fillna(0)) == [1, 1, 2, 0, 1]
    assert (df.gifts > 0).all() and (df.peak_gib > 0).all()
    # one or two threads, the same gifts; the floor draws them; the main command (its
    # figures and report included) makes them too, and takes longer than its campaign
    assert df.loc[1, "gifts"] == df.loc[2, "gifts"] == df.loc[3, "gifts"] == df.loc[4, "gifts"]
    assert df.loc[4, "wall_s"] > df.loc[4, "run_s"] > 0
    assert (df.wall_s <= df.median_wall_s).all()
    engine = df[df.case == "engine"]
    assert (engine.cpu_s > 0).all() and (engine.cpu_s < 2 * engine.wall_s + 1).all()
    v = verdicts(df)
    assert {"floor_multiple", "one_thread_floor_multiple", "peak_gib", "engine_ns_per_gift"} <= set(
        v
    )
    assert v["full_wall_s"] == df.loc[2, "wall_s"]  # the run as a user runs it: 2 threads
    # the cost a gift is per core: the slope between the one-thread runs
    assert v["engine_ns_per_gift"] == pytest.approx(
        (df.loc[1, "run_s"] - df.loc[0, "run_s"]) / (df.loc[1, "gifts"] - df.loc[0, "gifts"]) * 1e9
    )
    assert v["command_floor_multiple"] == pytest.approx(df.loc[4, "wall_s"] / df.loc[3, "wall_s"])
    assert v["campaign_floor_multiple"] == pytest.approx(df.loc[2, "run_s"] / df.loc[3, "wall_s"])
    text = (tmp_path / "benchmark.md").read_text(encoding="utf-8")
    assert "the floor" in text and "GiB" in text and "the main command end to end" in text
    assert (tmp_path / "benchmark.png").stat().st_size > 0
    rec = pd.read_csv(tmp_path / "record.csv")
    assert len(rec) == 1 and list(rec.columns) == benchmark.RECORD_COLUMNS
    assert rec.command_x_floor[0] == pytest.approx(v["command_floor_multiple"], abs=0.01)


def test_the_record_says_how_a_run_compares_with_the_last(tmp_path):
    def table(campaign_s):
        return pd.DataFrame(
            [
                {"case": "engine", "scale": 1.0, "threads": 1, "gifts": 10, "run_s": 20.0,
                 "wall_s": 21.0, "median_wall_s": 21.0, "peak_gib": 1.5, "machine": "m"},
                {"case": "engine", "scale": 1.0, "threads": 2, "gifts": 10, "run_s": campaign_s,
                 "wall_s": campaign_s + 1, "median_wall_s": campaign_s + 1, "peak_gib": 1.5,
                 "machine": "m"},
                {"case": "floor", "scale": 1.0, "gifts": 10, "run_s": 2.0, "wall_s": 2.0,
                 "median_wall_s": 2.0, "peak_gib": 0.5, "machine": "m"},
            ]
        )  # fmt: skip

    path = tmp_path / "record.csv"
    benchmark.append_record(path, table(10.0))
    text = benchmark.append_record(path, table(12.0))
    rec = pd.read_csv(path)
    assert rec.campaign_x_floor.tolist() == [5.0, 6.0]
    assert "campaign_x_floor: 6.00 against 5.00" in text and "+20%" in text


def test_a_case_repeated_keeps_its_fastest_run(monkeypatch):
    walls = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(
        benchmark, "_in_subprocess", lambda name, arg: {"case": name, "wall_s": next(walls)}
    )
    best = benchmark._best("floor", None, 3)
    assert (best["wall_s"], best["median_wall_s"], best["repeats"]) == (1.0, 2.0, 3)


def test_the_policy_sweep_timing_reports_runs_an_hour(tmp_path, monkeypatch):
    """The planner's sweep timed as a user runs it: its runs read back from the sweep's
    folders, its rate in runs an hour and the time 150 runs would take."""
    import json
    import subprocess

    import yaml

    def fake_sweep(cmd, **kw):
        assert "experiment=policy_sweep" in cmd and "hydra.sweeper.params.seed=1,2" in cmd
        if fail:
            return subprocess.CompletedProcess(cmd, 1, "", "a job failed: why")
        d = tmp_path / "policy-sweep"
        for seed in (1, 2):
            for policy, s in (("qf", 30.0), ("y2021", 20.0)):
                job = d / f"policy={policy},seed={seed}"
                (job / ".hydra").mkdir(parents=True)
                (job / ".hydra" / "overrides.yaml").write_text(
                    yaml.safe_dump([f"seed={seed}", f"policy={policy}"])
                )
                (job / "summary.json").write_text(json.dumps({"wall_seconds": s + seed}))
        return subprocess.CompletedProcess(cmd, 0, "", "")

    fail = False
    monkeypatch.setattr(benchmark.subprocess, "run", fake_sweep)
    clock = iter([100.0, 136.0, 0.0, 1.0])  # the sweep takes 36 s
    monkeypatch.setattr(benchmark.time, "perf_counter", lambda: next(clock))
    df = benchmark.policy_sweep_timing(2, tmp_path)
    assert len(df) == 4 and sorted(df.policy.unique()) == ["qf", "y2021"]
    assert df.runs_an_hour.iloc[0] == pytest.approx(4 / 36 * 3600)
    text = (tmp_path / "policy_sweep.md").read_text(encoding="utf-8")
    assert "400 runs an hour" in text and "150 runs would take 22.5 min" in text
    assert "not met" in text and "| qf | 31.5 |" in text
    fail = True  # a sweep with a failed job: an error that says why, no rate
    with pytest.raises(SystemExit, match="(?s)exit 1.*a job failed: why"):
        benchmark.policy_sweep_timing(2, tmp_path)
    with pytest.raises(SystemExit):
        main(["--scales", "--policy-sweep", "-1"])
