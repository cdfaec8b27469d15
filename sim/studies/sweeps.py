"""What a sweep does beyond Hydra's basic sweeper (:mod:`hydra_plugins.giving_day_sweeper`):

- :func:`check_jobs`: every job's config is composed and validated before the first job
  runs; a bad one stops the sweep at once, naming its overrides and what is wrong, before
  hours of the others have run;
- :func:`failures`: a job that fails while it runs leaves its failed record (its
  ``status.json`` and ``error.txt``) and the sweep goes on; :func:`report_failures` names
  the failed jobs at the end, and ``python -m sim`` then exits with status 1.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from omegaconf import DictConfig, open_dict

from sim.checks import validate
from sim.schema import ConfigError

log = logging.getLogger("sim")
# the failed jobs of the sweeps this process ran: (overrides, error)
FAILED: list[tuple[str, str]] = []


class SweepConfigError(HydraException):
    """A job of a sweep has a config that cannot be simulated; nothing was run."""


def check_jobs(config_loader: Any, master: DictConfig, jobs: list[list[str]]) -> None:
    """Compose and validate every job's config; raise one error naming each bad job."""
    bad = []
    for job in jobs:
        try:
            cfg = config_loader.load_sweep_config(master_config=master, sweep_overrides=job)
            task = copy.deepcopy(cfg)
            with open_dict(task):
                del task["hydra"]
            validate(task)
        except (ConfigError, HydraException, ValueError) as exc:
            bad.append(f"  {' '.join(job) or '(no overrides)'}: {exc}")
    if bad:
        raise SweepConfigError(
            f"{len(bad)} of the sweep's {len(jobs)} jobs cannot run (nothing was run):\n"
            + "\n".join(bad)
        )
    log.info("checked the configs of the sweep's %d jobs", len(jobs))


def failures(
    job_overrides: Sequence[Sequence[str]], results: Sequence[JobReturn]
) -> list[tuple[str, str]]:
    """The jobs of a launched batch that failed, as (overrides, error); each is logged."""
    out = []
    for overrides, r in zip(job_overrides, results, strict=True):
        if r.status == JobStatus.FAILED:
            err = r._return_value  # the exception (reading return_value would raise it)
            out.append((" ".join(overrides), f"{type(err).__name__}: {err}"))
            log.error("job %s failed (the sweep goes on): %s", out[-1][0], out[-1][1])
    return out


def report_failures(failed: list[tuple[str, str]]) -> None:
    """Name the sweep's failed jobs at its end, and keep them for the exit status."""
    FAILED.extend(failed)
    if failed:
        log.error(
            "%d job(s) of the sweep failed:\n%s",
            len(failed),
            "\n".join(f"  {o}: {e}" for o, e in failed),
        )
