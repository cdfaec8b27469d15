"""Same seed, same result: summary and every table."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf

from sim.app import job_threads
from sim.model.campaign import Campaign, threads_to_use
from sim.model.recorder import MemoryRecorder
from sim.outputs import TABLES
from sim.outputs.tables import summary, tables
from sim.runner import run
from tests.conftest import tiny_cfg


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "wall_seconds"}


def test_same_seed_gives_identical_summary_and_tables(tmp_path):
    a = run(tiny_cfg(), tmp_path / "a")
    b = run(tiny_cfg(), tmp_path / "b")
    assert _strip(a) == _strip(b)
    for name in TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "a" / f"{name}.parquet"),
            pd.read_parquet(tmp_path / "b" / f"{name}.parquet"),
        )


def test_another_seed_gives_another_run(tmp_path):
    a = run(tiny_cfg(), tmp_path / "a")
    b = run(tiny_cfg("seed=7"), tmp_path / "b")
    assert a["public_donations_yuan"] != b["public_donations_yuan"]


@pytest.mark.parametrize(
    "overrides", [(), ("scenario=y2017", "gaming=machines"), ("scenario=y2020",)]
)
def test_a_second_thread_changes_nothing(overrides):
    """Made ahead on a second thread or not, every minute's gifts and so every figure are
    the same; the runs include minutes whose ahead-made gifts were thrown away because a
    pool emptied or opened before them."""
    cfg = tiny_cfg(*overrides)
    one, two = Campaign(cfg, MemoryRecorder()), Campaign(cfg, MemoryRecorder())
    r1, r2 = one.run(threads=1), two.run(threads=2)
    assert _strip(summary(r1, tables(r1))) == _strip(summary(r2, tables(r2)))
    for a, b in zip(one.recorder.minutes, two.recorder.minutes, strict=True):
        assert a[0] == b[0]
        for part in (1, 2, 3):
            assert a[part].keys() == b[part].keys()
            for k in a[part]:
                np.testing.assert_array_equal(a[part][k], b[part][k], err_msg=k)
    np.testing.assert_array_equal(one.donors.records, two.donors.records)


def test_threads_must_be_one_or_two(monkeypatch):
    with pytest.raises(ValueError, match="threads: 3; allowed values are 1 and 2"):
        Campaign(tiny_cfg()).run(threads=3)
    monkeypatch.setenv("SIM_THREADS", "4")
    with pytest.raises(ValueError, match="SIM_THREADS: '4'; allowed values are 1 and 2"):
        Campaign(tiny_cfg()).run()
    monkeypatch.setenv("SIM_THREADS", "1")
    assert threads_to_use(None) == 1
    assert threads_to_use(2) == 2  # an explicit choice wins over the environment
    monkeypatch.delenv("SIM_THREADS")
    assert threads_to_use(None, scale=1.0) == min(2, len(os.sched_getaffinity(0)))
    assert threads_to_use(None, scale=0.01) == 1  # small minutes: one thread is faster


@pytest.mark.parametrize(
    ("mode", "launcher", "expected"),
    [
        (RunMode.RUN, "hydra._internal.core_plugins.basic_launcher.BasicLauncher", None),
        (RunMode.MULTIRUN, "hydra._internal.core_plugins.basic_launcher.BasicLauncher", None),
        (RunMode.MULTIRUN, "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher", 1),
        (RunMode.MULTIRUN, "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher", 1),
    ],
)
def test_jobs_side_by_side_take_one_thread_each(mode, launcher, expected):
    hc = OmegaConf.create({"mode": mode, "launcher": {"_target_": launcher}})
    assert job_threads(hc) == expected
