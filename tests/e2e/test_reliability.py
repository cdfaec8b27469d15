"""Results that look right and are not, and nights of sweeps lost (issue 14): each numbered
defect of the issue, as a user or a batch scheduler would meet it.

1. settings silently dropped (also ``tests/unit/test_config.py``)   2. reruns mixing results
3. (``tests/model/test_year_policy_matrix*.py``)   4. one bad job ending a sweep
5. resume trusting too little and too much   6. (``tests/unit/test_config.py``)
7. SIGTERM, the environment, the help, the dry run."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pandas as pd
import pytest
from hydra.errors import HydraException

from sim import runner
from sim.checks import composition_error
from sim.model.campaign import Campaign
from sim.runner import code_identity, finished_summary, run, run_state
from sim.schema import ConfigError
from tests.conftest import TINY, compose_cfg, tiny_cfg

ROOT = Path(__file__).resolve().parents[2]
QUIET = ("output.progress=false",)


def cli(*args: str, cwd: Path = ROOT, env: dict | None = None, module: str = "sim", **kw):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
        **kw,
    )


def status(out: Path) -> dict:
    return json.loads((out / "status.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- 1


def test_a_setting_outside_the_schema_stops_the_command(tmp_path):
    r = cli(f"scale={TINY}", "+policy.rules.action.gift_capp=5", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 2
    assert (
        "policy.rules.action.gift_capp is not a setting of the config (did you mean "
        "gift_cap_yuan?)" in r.stderr
    )
    assert status(tmp_path)["status"] == "failed"
    assert not (tmp_path / "summary.json").exists()


def test_a_setting_outside_the_schema_in_a_config_file_stops_the_command(tmp_path):
    conf = tmp_path / "conf"
    shutil.copytree(ROOT / "conf", conf)
    (conf / "experiment" / "typo.yaml").write_text(
        "# @package _global_\npolicy:\n  rules:\n    action:\n      gift_capp: 5\n"
    )
    r = cli(
        f"--config-dir={conf}",
        "experiment=typo",
        f"scale={TINY}",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert r.returncode == 2
    assert "policy.rules.action.gift_capp is not a setting of the config (did you mean" in r.stderr
    assert not (tmp_path / "run" / "summary.json").exists()


def test_what_hydra_cannot_compose_is_refused_naming_what_is_allowed(tmp_path):
    """An unknown option of a group, a value of the wrong type, a misspelt key in a sweep:
    exit 2, the key and what is allowed, nothing run."""
    with pytest.raises(HydraException) as err:
        compose_cfg("policy=qff")
    msg = composition_error(err.value)
    assert msg.startswith("policy=qff is not an option (did you mean qf?); the options are [")
    assert "'threshold_prizes'" in msg and "policy_schema" not in msg
    with pytest.raises(HydraException) as err:
        compose_cfg("scale=half")
    assert composition_error(err.value) == (
        "scale: Value 'half' of type 'str' could not be converted to Float"
    )
    r = cli(
        "-m", f"scale={TINY}", "policy.rules.action.ratioo=1,2", f"hydra.sweep.dir={tmp_path}/c"
    )
    assert r.returncode == 2 and not (tmp_path / "c").exists()
    assert r.stderr.count("is not a setting of the config (did you mean ratio?)") == 2


# --------------------------------------------------------------------------- 2


def test_a_run_into_a_folder_of_another_run_leaves_nothing_of_it(tmp_path):
    """Seed 1 with the gift ledger and figures, then seed 2 without either into one folder:
    the gifts and the figures were seed 1's beside seed 2's summary, status complete."""
    first = run(
        compose_cfg(
            f"scale={TINY}", "seed=1", "output.record_gifts=true", "output.figures=true", *QUIET
        ),
        tmp_path,
    )
    assert (tmp_path / "gifts.parquet").exists() and (tmp_path / "campaign.png").exists()
    second = run(compose_cfg(f"scale={TINY}", "seed=2", "output.figures=false", *QUIET), tmp_path)
    assert second["seed"] == 2 and first["seed"] == 1
    for name in ("gifts.parquet", "campaign.png", "days.png", "lorenz.png", "gift_sizes.png"):
        assert not (tmp_path / name).exists(), name
    assert run_state(tmp_path) == (True, "complete")
    assert set(status(tmp_path)["files"]) == {
        p.name for p in tmp_path.iterdir() if p.name != "status.json"
    }


def test_a_bad_config_into_a_folder_of_another_run_leaves_nothing_of_it(tmp_path):
    run(compose_cfg(f"scale={TINY}", "output.figures=false", *QUIET), tmp_path)
    with pytest.raises(ConfigError):
        run(compose_cfg("scale=0", *QUIET), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["error.txt", "status.json"]


# --------------------------------------------------------------------------- 4


def test_a_bad_job_stops_the_sweep_before_any_job_runs(tmp_path):
    r = cli(
        "-m",
        "policy.tranches=1,0,2",
        f"scale={TINY}",
        "output.figures=false",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 2
    assert "1 of the sweep's 3 jobs cannot run (nothing was run)" in r.stderr
    assert "policy.tranches=0" in r.stderr and "a whole number 1..100" in r.stderr
    assert not tmp_path.exists() or not any(p.is_dir() for p in tmp_path.iterdir())


def test_a_job_that_fails_while_it_runs_does_not_end_the_sweep(tmp_path):
    """The jobs after it run, the failed one leaves its record, the sweep exits 1 and the
    gatherer names it (the joblib launcher, as a workstation's sweep runs)."""
    job = "output.figures=False,output.progress=False,policy.tranches={},scale=0.002".format
    broken = tmp_path / job(2)
    (broken / "summary.json" / "x").mkdir(parents=True)  # a folder the run cannot clear
    r = cli(
        "-m",
        "policy.tranches=1,2,3",
        f"scale={TINY}",
        "output.figures=false",
        *QUIET,
        f"hydra.sweep.dir={tmp_path}",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    )
    assert r.returncode == 1, r.stderr[-2000:]
    assert "1 job(s) of the sweep failed" in r.stdout + r.stderr  # Hydra logs to stdout
    done = {p.name: status(p)["status"] for p in tmp_path.iterdir() if (p / "status.json").exists()}
    assert done == {job(1): "complete", job(2): "failed", job(3): "complete"}
    assert "IsADirectoryError" in (broken / "error.txt").read_text()
    g = cli(str(tmp_path), "--no-figures", module="sim.studies.gather")
    assert g.returncode == 0, g.stderr
    md = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    assert "Left out (1 jobs)" in md and "policy.tranches=2" in md and "failed" in md


# --------------------------------------------------------------------------- 5


@pytest.fixture
def finished(tmp_path):
    cfg = compose_cfg(f"scale={TINY}", "output.figures=false", *QUIET)
    summary = run(cfg, tmp_path)
    return cfg, tmp_path, summary


def _config_yaml(out: Path) -> str:
    return (out / "config.yaml").read_text(encoding="utf-8")


def test_a_truncated_table_is_not_a_finished_run(finished):
    """A job whose minutes.parquet was truncated was "already complete", and the gatherer
    then crashed (ArrowInvalid)."""
    cfg, out, _ = finished
    assert finished_summary(out, _config_yaml(out)) is not None
    data = (out / "minutes.parquet").read_bytes()
    (out / "minutes.parquet").write_bytes(data[: len(data) // 2])
    assert finished_summary(out, _config_yaml(out)) is None
    ok, why = run_state(out)
    assert not ok and why.startswith("minutes.parquet is not the file the run wrote")
    before = status(out)["at"]
    time.sleep(1.1)
    run(cfg, out)  # resumed: run again, not taken as finished
    assert status(out)["at"] != before and run_state(out) == (True, "complete")


def test_a_run_made_by_other_code_is_run_again(finished, monkeypatch):
    cfg, out, _ = finished
    assert status(out)["code"] == code_identity()
    monkeypatch.setattr(runner, "code_identity", lambda: {"version": "0.1.0", "sha256": "new"})
    assert finished_summary(out, _config_yaml(out)) is None


def test_the_code_identity_covers_the_model_and_its_configs(tmp_path, monkeypatch):
    for d in ("sim", "conf"):
        shutil.copytree(ROOT / d, tmp_path / d)
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    monkeypatch.setattr(runner, "CONF_DIR", str(tmp_path / "conf"))
    ident = runner.code_identity.__wrapped__
    base = ident()["sha256"]
    (tmp_path / "conf" / "policy" / "y2021.yaml").write_text("# changed\n", encoding="utf-8")
    assert ident()["sha256"] != base
    (tmp_path / "conf" / "local").mkdir()
    changed = ident()["sha256"]
    (tmp_path / "conf" / "local" / "slurm.yaml").write_text("a: 1\n")  # a site's launcher
    assert ident()["sha256"] == changed


# --------------------------------------------------------------------------- 7


@pytest.mark.parametrize(
    ("signum", "code", "error"),
    [
        (signal.SIGTERM, 128 + signal.SIGTERM, "Terminated: stopped by signal SIGTERM"),
        (signal.SIGINT, -signal.SIGINT, "KeyboardInterrupt"),  # Python dies by the signal
    ],
)
def test_a_signal_is_recorded_as_a_failure(tmp_path, signum, code, error):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "scale=0.05",
            "output.figures=false",
            *QUIET,
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal, whatever started the tests (a job started in the background
        # of a shell inherits SIGINT ignored, and the run keeps it ignored, as it should)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if status(tmp_path)["status"] == "running":
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    st = status(tmp_path)
    assert st["status"] == "failed" and st["error"].startswith(error)
    assert not (tmp_path / "summary.json").exists()


def test_a_second_sigint_stops_at_once_and_an_ignored_one_stays_ignored():
    from sim.runner import _signals_stop

    # as from a terminal, whatever started the tests (see above)
    started = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _second_sigint_and_ignored(_signals_stop)
    finally:
        signal.signal(signal.SIGINT, started)


def _second_sigint_and_ignored(_signals_stop):
    with pytest.raises(KeyboardInterrupt), _signals_stop() as stopped:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # recorded, not raised
        with pytest.raises(KeyboardInterrupt):  # the second: raised where it lands
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        stopped()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _signals_stop() as stopped:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            stopped()  # nothing came: ignored, as the process was told
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_bad_environment_setting_stops_the_run_before_the_build(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM_THREADS", "3")
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="SIM_THREADS: '3'; allowed values are 1 and 2"):
        run(compose_cfg("scale=0.5", *QUIET), tmp_path)
    assert time.perf_counter() - t0 < 5  # no population of 2250万 was built first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["error.txt", "status.json"]


def test_a_bad_environment_setting_stops_a_sweep_before_any_job(tmp_path):
    """Also where the jobs run on one thread each (joblib): the setting is the user's error
    all the same, refused before the first job, not found after every job's campaign."""
    r = cli(
        "-m",
        f"scale={TINY}",
        "seed=1,2",
        "hydra/launcher=joblib",
        f"hydra.sweep.dir={tmp_path / 'sw'}",
        env={"SIM_THREADS": "7"},
    )
    assert r.returncode == 2
    assert "SIM_THREADS: '7'; allowed values are 1 and 2 (nothing was run)" in r.stderr
    assert not list((tmp_path / "sw").glob("*/status.json"))


def test_help_is_the_apps_own():
    r = cli("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("giving-day-sim: a simulator of online charity giving days")
    assert "_schema" not in r.stdout and "Hydra" not in r.stdout.split("Examples:")[0]
    for group in ("scenario", "policy", "gaming", "population", "experiment"):
        for f in (ROOT / "conf" / group).glob("*.yaml"):
            assert f" {f.stem}" in r.stdout, f"--help does not name {group}={f.stem}"
    assert "check=true" in r.stdout


def test_a_dry_run_checks_everything_and_simulates_nothing(tmp_path):
    r = cli("check=true", "scenario=y2020", "policy=breadth", f"hydra.run.dir={tmp_path}")
    assert r.returncode == 0, r.stderr
    assert "check: the config is valid" in r.stdout and "'expected_gifts'" in r.stdout
    assert not any(
        (tmp_path / n).exists() for n in ("summary.json", "status.json", "minutes.parquet")
    )
    bad = cli("check=true", "policy.tranches=0", f"hydra.run.dir={tmp_path / 'bad'}")
    assert bad.returncode == 2 and "policy.tranches=0 is not allowed" in bad.stderr
    assert not (tmp_path / "bad" / "status.json").exists()
    plan = run(compose_cfg("check=true", "scenario=y2018", "scale=0.5"), tmp_path / "p")
    assert plan["check"] == "ok" and plan["donors"] == round(18_341_000 * 0.5)
    assert plan["projects"] == 5498 and plan["expected_gifts"] > 5e6
    # the plan is what a run builds: every project and enterprise pool at any scale
    cfg = tiny_cfg("scenario=y2018", "policy.tranches=2")
    plan = run(
        compose_cfg("check=true", "scenario=y2018", "policy.tranches=2", f"scale={TINY}"),
        tmp_path / "tiny",
    )
    built = Campaign(cfg)
    assert plan["donors"] == built.donors.n and plan["projects"] == built.projects.n
    assert plan["foundation_pools"] == built.pools.foundation.shape[0]
    assert plan["enterprise_pools"] == int(built.pools.is_enterprise.sum())


def test_a_failed_dry_run_leaves_an_earlier_run_alone(tmp_path):
    done = run(compose_cfg(f"scale={TINY}", "output.figures=false", *QUIET), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(ConfigError):
        run(compose_cfg("check=true", "seed=-1", f"scale={TINY}", *QUIET), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert status(tmp_path)["status"] == "complete" and done["donation_count"] > 0


def test_the_gatherer_names_what_it_cannot_read(tmp_path):
    for seed in (1, 2):
        run(
            compose_cfg(f"scale={TINY}", f"seed={seed}", "output.figures=false", *QUIET),
            tmp_path / f"seed={seed}",
        )
    (tmp_path / "seed=2" / "minutes.parquet").write_bytes(b"not parquet")
    g = cli(str(tmp_path), "--no-figures", module="sim.studies.gather")
    assert g.returncode == 0, g.stderr
    left = pd.read_csv(tmp_path / "left_out.csv")
    assert left.job.tolist() == ["seed=2"]
    assert left.why.iloc[0].startswith("minutes.parquet is not the file the run wrote")


def test_a_sigterm_inside_a_finaliser_still_stops_the_run():
    # numba's compiler frees its objects in __del__, where Python ignores an exception: a
    # SIGTERM that lands there must still stop the run before it is recorded complete

    from sim.runner import Terminated, _signals_stop

    class Finaliser:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here

    with pytest.raises(Terminated, match="SIGTERM"), _signals_stop() as stopped:
        Finaliser()
        stopped()


def test_a_sigterm_raises_only_at_the_runs_checks_never_inside_a_kernel_call():
    # A handler that raised where the signal landed raised inside numba's dispatcher, which
    # calls Python from C to unbox a numpy Generator: the run crashed (a segmentation fault,
    # 2 runs in 45 of test_sigterm_is_recorded_like_sigint under load) or the raise came out
    # as a SystemError. Signals sent without pause through a campaign's minutes: the stop
    # comes from the check between two minutes, never from the handler.
    from sim.model.campaign import Campaign
    from sim.runner import Terminated, _signals_stop

    campaign = Campaign(tiny_cfg())
    sending = threading.Event()

    def send():
        while not sending.is_set():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.0002)

    with pytest.raises(Terminated, match="SIGTERM") as caught, _signals_stop() as stopped:
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(0.01)  # signals already came: the first minute's check stops the run
        checks = []

        def counted():
            checks.append(campaign.env.now)
            if len(checks) == 50:  # after 49 minutes of kernels under signals
                stopped()

        try:
            campaign.run(1, counted)
        finally:
            sending.set()
            sender.join()
    # SimPy raises a copy of a process's exception, the original its cause
    names = [f.name for f in traceback.extract_tb(caught.value.__cause__.__traceback__)]
    assert names[-3:] == ["_minutes", "counted", "check"]  # not the handler
    assert checks == list(range(50))


def test_an_error_after_a_sigterm_ends_as_terminated():
    # an exception that leaves the run after the signal came (C code that failed because of
    # it) still ends the run as stopped by SIGTERM (exit 143)
    from sim.runner import Terminated, _signals_stop

    with pytest.raises(Terminated, match="SIGTERM") as caught, _signals_stop():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        raise SystemError("returned a result with an exception set")
    assert isinstance(caught.value.__cause__, SystemError)
    # with no signal, an error is left as it is
    with pytest.raises(SystemError), _signals_stop():
        raise SystemError("a real one")


@pytest.mark.parametrize(
    ("module", "args", "says"),
    [
        ("planner", ["{tmp}/nowhere"], "nowhere: no such folder (a gathered sweep's"),
        ("planner", ["{tmp}"], "no sweep.parquet, so not a gathered sweep's folder"),
        ("pareto", ["{tmp}"], "no multirun.yaml, so not a Pareto search's folder"),
        (
            "reproduction",
            ["--gather-only", "--runs", "{tmp}/nowhere"],
            "nowhere: no such folder (the reproduction sweep's folder",
        ),
    ],
)
def test_a_study_pointed_at_the_wrong_folder_says_so(tmp_path, module, args, says):
    """The command's message (its ``main``, as ``python -m sim.studies.<module>`` runs it),
    not a traceback."""
    main = importlib.import_module(f"sim.studies.{module}").main
    with pytest.raises(SystemExit) as stop:
        main([a.format(tmp=tmp_path) for a in args])
    assert says in str(stop.value.code)
