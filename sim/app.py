"""The Hydra application: ``python -m sim [overrides]`` (and the ``giving-sim`` script).

A thin main over :func:`sim.runner.run`: it composes the config, runs it into Hydra's
output directory, turns a bad config into an error message and exit status 2, and returns
the money raised (the figure a sweeper optimises). A command line Hydra cannot compose (a
misspelt key, a value of the wrong type, an unknown option of a group) is refused the same
way, before any folder is made: the message names the key and what is allowed
(:func:`sim.checks.composition_error`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from sim.checks import composition_error
from sim.runner import Terminated, run
from sim.schema import CONF_DIR, ConfigError, register_configs
from sim.studies import sweeps

log = logging.getLogger("sim")
register_configs()


def job_threads(hc) -> int | None:
    """A job's threads: one where the sweep's launcher runs jobs side by side (joblib on
    this machine's cores, Ray, SLURM: the other cores are its other jobs'), else the
    engine's choice (two where there are two cores: a single run, or a sweep whose basic
    launcher runs one job at a time)."""
    if hc.mode == RunMode.MULTIRUN and "BasicLauncher" not in hc.launcher.get("_target_", ""):
        return 1
    return None


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def hydra_main(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    out = Path(hc.runtime.output_dir)
    try:
        summary = run(cfg, out, job_threads(hc))
    except ConfigError as exc:
        if hc.mode == RunMode.MULTIRUN:
            raise  # the job's failure: recorded, and the sweep goes on (sim.studies.sweeps)
        log.error("bad config: %s", exc)
        print(f"error: bad config: {exc}", file=sys.stderr)
        sys.exit(2)
    except Terminated as exc:
        log.error("%s; the run is recorded as failed in %s", exc, out)
        sys.exit(128 + signal.SIGTERM)
    if "check" in summary:
        print(f"check: the config is valid; a run would be: {summary}")
        return float("nan")
    log.info(
        "raised %.4g亿 (public %.4g亿 from %.4g万 gifts); outputs in %s",
        summary["total_raised_yuan"] / 1e8,
        summary["public_donations_yuan"] / 1e8,
        summary["donation_count"] / 1e4,
        out,
    )
    return summary["total_raised_yuan"]


def _stop_workers(signum: int, frame) -> None:
    """SIGTERM outside a run (a sweep's process while joblib's workers run its jobs): stop the
    workers too, then exit 128 + 15. The workers outlived the command before: their jobs went
    on to finish (and would race a sweep run again into the folder) and they idled for
    minutes. A job stopped this way is recorded as failed (or left running, if killed
    before its run could record it), and is run again when the sweep is."""
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)
    log.error("stopped by signal %s", signal.Signals(signum).name)
    sys.exit(128 + signal.SIGTERM)


def main() -> None:
    # Hydra's errors reach this function (it would print them itself and exit 1), so that
    # one it could not compose is refused as a bad config is
    os.environ["HYDRA_FULL_ERROR"] = "1"
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _stop_workers)  # a run sets its own while it runs
    try:
        hydra_main()
    except Exception as exc:
        msg = composition_error(exc)
        if msg is None:
            raise
        print(f"error: bad config: {msg}", file=sys.stderr)
        sys.exit(2)
    if sweeps.FAILED:  # a sweep went on past failed jobs: say so in the exit status
        sys.exit(1)
