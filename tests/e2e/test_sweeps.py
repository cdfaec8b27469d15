"""Sweeps: any launcher gives the same numbers, and an interrupted sweep resumes.

Each test runs ``python -m sim -m ...`` as a user would, in a subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.runner import run
from tests.conftest import TINY, compose_cfg

QUIET = ("output.figures=false", "output.progress=false")


def sweep(sweep_dir: Path, *overrides: str, **kw) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "sim",
        "-m",
        f"scale={TINY}",
        *QUIET,
        f"hydra.sweep.dir={sweep_dir}",
        *overrides,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def job_dirs(sweep_dir: Path) -> dict[str, Path]:
    return {p.name: p for p in sweep_dir.iterdir() if (p / "config.yaml").exists()}


def numbers(job: Path) -> dict:
    """What a job computed: its summary without the wall time."""
    s = json.loads((job / "summary.json").read_text(encoding="utf-8"))
    s.pop("wall_seconds")
    return s


def test_joblib_launcher_gives_the_numbers_of_the_basic_launcher(tmp_path):
    basic = sweep(tmp_path / "basic", "seed=1,2")
    joblib = sweep(
        tmp_path / "joblib", "seed=1,2", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"
    )
    assert basic.returncode == 0, basic.stderr[-2000:]
    assert joblib.returncode == 0, joblib.stderr[-2000:]
    assert "Joblib" in joblib.stderr + joblib.stdout
    a, b = job_dirs(tmp_path / "basic"), job_dirs(tmp_path / "joblib")
    assert sorted(a) == sorted(b) and len(a) == 2
    for name in a:
        assert numbers(a[name]) == numbers(b[name]), name
        pd.testing.assert_frame_equal(
            pd.read_parquet(a[name] / "projects.parquet"),
            pd.read_parquet(b[name] / "projects.parquet"),
        )
    # seeds come from the config: the two jobs differ, and by their seed only
    s1, s2 = (numbers(a[n]) for n in sorted(a))
    assert s1["public_donations_yuan"] != s2["public_donations_yuan"]


def test_a_complete_job_is_not_run_again_but_a_half_written_one_is(tmp_path):
    cfg = compose_cfg(f"scale={TINY}", *QUIET)
    first = run(cfg, tmp_path)
    stamp = (tmp_path / "summary.json").stat().st_mtime_ns
    assert run(cfg, tmp_path) == first
    assert (tmp_path / "summary.json").stat().st_mtime_ns == stamp  # skipped
    # another config in the same directory is run, not taken from the old one
    other = run(compose_cfg(f"scale={TINY}", "seed=5", *QUIET), tmp_path)
    assert other["public_donations_yuan"] != first["public_donations_yuan"]
    # killed between the summary and the status: status says running, so it is redone
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"status": "running"}), encoding="utf-8")
    again = run(compose_cfg(f"scale={TINY}", "seed=5", *QUIET), tmp_path)
    assert json.loads(status.read_text(encoding="utf-8"))["status"] == "complete"
    assert (tmp_path / "summary.json").stat().st_mtime_ns != stamp
    again.pop("wall_seconds"), other.pop("wall_seconds")
    assert again == other
    # and output.resume=false always runs
    stamp = (tmp_path / "summary.json").stat().st_mtime_ns
    run(compose_cfg(f"scale={TINY}", "seed=5", "output.resume=false", *QUIET), tmp_path)
    assert (tmp_path / "summary.json").stat().st_mtime_ns != stamp


def test_an_interrupted_sweep_run_again_redoes_only_what_did_not_finish(tmp_path):
    seeds = "seed=1,2,3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            "scale=0.01",
            *QUIET,
            f"hydra.sweep.dir={tmp_path}",
            seeds,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    first_done = None
    deadline = time.monotonic() + 240
    while first_done is None and time.monotonic() < deadline and proc.poll() is None:
        for p in tmp_path.glob("*seed=*/status.json"):
            try:
                if json.loads(p.read_text(encoding="utf-8"))["status"] == "complete":
                    first_done = p.parent
            except (OSError, ValueError):
                pass  # being replaced at this moment
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the crash: mid-way through the second job
    proc.wait()
    assert first_done is not None, "the first job never finished"
    complete = {p.name for p in job_dirs(tmp_path).values() if (p / "summary.json").exists()}
    assert len(complete) < 3, "the sweep finished before it could be interrupted"
    stamp = (first_done / "summary.json").stat().st_mtime_ns

    res = sweep(tmp_path, seeds, "scale=0.01")
    assert res.returncode == 0, res.stderr[-2000:]
    jobs = job_dirs(tmp_path)
    assert len(jobs) == 3
    for job in jobs.values():
        status = json.loads((job / "status.json").read_text(encoding="utf-8"))
        assert status["status"] == "complete"
        assert not (job / "error.txt").exists()
    assert (first_done / "summary.json").stat().st_mtime_ns == stamp
    assert "not run again" in res.stderr + res.stdout


def assert_launcher_gives_the_basic_numbers(tmp_path, *launcher: str) -> None:
    basic = sweep(tmp_path / "basic", "seed=1,2")
    other = sweep(tmp_path / "other", "seed=1,2", *launcher, timeout=900)
    assert basic.returncode == 0, basic.stderr[-2000:]
    assert other.returncode == 0, other.stderr[-3000:]
    a, b = job_dirs(tmp_path / "basic"), job_dirs(tmp_path / "other")
    assert sorted(a) == sorted(b) and len(a) == 2
    for name in a:
        assert numbers(a[name]) == numbers(b[name]), name


@pytest.mark.slow
def test_ray_launcher_on_a_local_instance_gives_the_same_numbers(tmp_path):
    pytest.importorskip(
        "hydra_plugins.hydra_ray_launcher",
        reason="the ray extra: uv run --extra ray pytest -m slow",
    )
    assert_launcher_gives_the_basic_numbers(
        tmp_path, "hydra/launcher=ray", "+hydra.launcher.ray.init.num_cpus=2"
    )


def test_the_slurm_template_composes_to_the_submitit_launcher(tmp_path):
    import shutil

    from hydra import compose, initialize_config_dir

    conf = tmp_path / "conf"
    shutil.copytree(Path(__file__).resolve().parents[2] / "conf", conf)
    shutil.copytree(conf / "local.template", conf / "local")  # what the README says to do
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("config", overrides=["+local=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert launcher.partition == "YOUR_PARTITION" and launcher.cpus_per_task == 1
    assert cfg.seed == 2021 and cfg.scale == 1.0  # the model's config is untouched


@pytest.mark.slow
def test_submitit_local_launcher_gives_the_same_numbers(tmp_path):
    """The submitit path the SLURM template uses, with submitit's local executor."""
    assert_launcher_gives_the_basic_numbers(tmp_path, "hydra/launcher=submitit_local")


def _session(sid: int) -> list[int]:
    """The processes of session ``sid`` (``/proc``)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # the session: the sixth field, the fourth after the name
            out.append(int(stat.parent.name))
    return out


@pytest.mark.slow  # a sweep of six jobs on two worker processes (about 9 s)
def test_sigterm_to_a_joblib_sweep_stops_its_workers_too(tmp_path):
    """SIGTERM to the command alone (as a scheduler sends it), not its process group: exit
    143, and the joblib workers end with it, not left to finish their jobs and idle."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "-m",
            f"scale={TINY}",
            *QUIET,
            "seed=1,2,3,4,5,6",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            f"hydra.sweep.dir={tmp_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("*seed=*/status.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be stopped"
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 10
        while _session(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session(proc.pid) == [], "the sweep's workers outlived it"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
