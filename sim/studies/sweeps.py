"""What a sweep does beyond Hydra's basic sweeper (:mod:`hydra_plugins.giving_day_sweeper`):

- :func:`check_jobs`: every job's config is composed and validated before the first job
  runs; a bad one stops the sweep at once, naming its overrides and what is wrong, before
  hours of the others have run; a launcher that runs the jobs in this process takes the
  configs composed for the check (:func:`reuse_composed`) instead of composing each again;
- :func:`failures`: a job that fails while it runs leaves its failed record (its
  ``status.json`` and ``error.txt``) and the sweep goes on; :func:`report_failures` names
  the failed jobs at the end, and ``python -m sim`` then exits with status 1.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict

from sim.checks import composition_error, validate
from sim.model.campaign import threads_to_use
from sim.schema import ConfigError

log = logging.getLogger("sim")
# the failed jobs of the sweeps this process ran: (overrides, error)
FAILED: list[tuple[str, str]] = []


def need_folder(path: Path, what: str, holding: str | None = None, hint: str = "") -> None:
    """Stop a study's command with a message, not a traceback, where ``path`` is not a
    folder, or does not hold ``holding`` (``what`` names the folder the command wants)."""
    if not Path(path).is_dir():
        raise SystemExit(f"{path}: no such folder ({what})")
    if holding is not None and not (Path(path) / holding).exists():
        raise SystemExit(f"{path}: no {holding}, so not {what}{hint}")


class SweepConfigError(HydraException):
    """A job of a sweep has a config that cannot be simulated; nothing was run."""


def check_jobs(
    config_loader: Any, master: DictConfig, jobs: list[list[str]]
) -> dict[tuple[str, ...], DictConfig]:
    """Compose and validate every job's config; raise one error naming each bad job.
    Returns the configs composed, by the job's overrides (each as composed: validated on a
    copy)."""
    try:  # the environment every job runs in (a single run checks it the same way)
        threads_to_use(None)
    except ValueError as exc:
        raise SweepConfigError(f"{exc} (nothing was run)") from None
    bad = []
    composed = {}
    for job in jobs:
        try:
            cfg = config_loader.load_sweep_config(master_config=master, sweep_overrides=job)
            composed[tuple(job)] = cfg
            task = copy.deepcopy(cfg)
            with open_dict(task):
                del task["hydra"]
            validate(task)
        except (ConfigError, HydraException, ValueError) as exc:
            bad.append(f"  {' '.join(job) or '(no overrides)'}: {composition_error(exc) or exc}")
    if bad:
        raise SweepConfigError(
            f"{len(bad)} of the sweep's {len(jobs)} jobs cannot run (nothing was run):\n"
            + "\n".join(bad)
        )
    log.info("checked the configs of the sweep's %d jobs", len(jobs))
    return composed


@contextmanager
def reuse_composed(
    config_loader: Any, master: DictConfig, composed: dict[tuple[str, ...], DictConfig]
) -> Iterator[dict[str, int]]:
    """While the block runs, ``config_loader.load_sweep_config`` hands out each config of
    ``composed`` (:func:`check_jobs`) once, to the first launch of its job's overrides from
    ``master``, instead of composing it again (a fifth of a second each; a tiny run takes
    about three); any other is composed as before. A config handed out takes ``master``'s
    resolver cache as it is then, as a fresh one does (Hydra's ``load_sweep_config``), so
    the two are the same config. Only for launchers that compose in this process (the
    basic launcher): the loader is not pickled with the wrapper to another process. Yields
    the counts of configs ``reused`` and ``composed`` (again)."""
    fresh = config_loader.load_sweep_config
    counts = {"reused": 0, "composed": 0}

    def load_sweep_config(master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        cfg = composed.pop(tuple(sweep_overrides), None) if master_config is master else None
        if cfg is None:
            counts["composed"] += 1
            return fresh(master_config, sweep_overrides)
        counts["reused"] += 1
        OmegaConf.copy_cache(from_config=master_config, to_config=cfg)
        return cfg

    config_loader.load_sweep_config = load_sweep_config
    try:
        yield counts
    finally:
        del config_loader.load_sweep_config  # the class's own again
        composed.clear()


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
