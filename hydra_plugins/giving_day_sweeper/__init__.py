"""The project's Hydra sweeper (``hydra/sweeper=checked``, the default of ``conf/config.yaml``).

Hydra finds sweepers in the ``hydra_plugins`` package only; the work is
:mod:`sim.studies.sweeps`: every job's config is checked before the first job runs, and a job
that fails while it runs is recorded and the sweep goes on. (No ``from __future__ import
annotations`` here: Hydra loads plugin modules without registering them, and a dataclass
then cannot resolve string annotations.)
"""

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from sim.studies import sweeps


@dataclass
class CheckedSweeperConf:
    _target_: str = "hydra_plugins.giving_day_sweeper.CheckedSweeper"
    max_batch_size: int | None = None
    params: dict[str, str] | None = None
    # the behavioural ensemble (experiment=ensemble): with priors, every job of ``params``
    # is run under each of ``draws`` parameter draws (sim.studies.ensemble)
    priors: dict[str, Any] | None = None
    draws: int = 20
    sampler: str = "sobol"
    sampler_seed: int = 0


ConfigStore.instance().store(group="hydra/sweeper", name="checked", node=CheckedSweeperConf)


class CheckedSweeper(BasicSweeper):
    """Hydra's basic sweeper (the cartesian product of the sweep's values, in batches),
    which checks every job's config before launching any and goes on past a job that
    fails (the basic sweeper reads every job's return value, which raises for the first
    failure and ends the sweep).

    With ``priors`` (the behavioural ensemble, ``experiment=ensemble``), every job of that
    product is run under each of ``draws`` parameter draws from the priors
    (:mod:`sim.studies.ensemble`), seed by seed, then draw by draw (so a worker's jobs of a
    seed share its population); the draws go to ``draws.csv`` in the sweep directory."""

    def __init__(
        self,
        max_batch_size: int | None,
        params: dict[str, str] | None = None,
        priors: dict[str, Any] | None = None,
        draws: int = 20,
        sampler: str = "sobol",
        sampler_seed: int = 0,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.priors_spec = priors
        self.n_draws, self.sampler, self.sampler_seed = draws, sampler, sampler_seed
        self.draws: Any = None

    def _jobs(self, arguments: list[str]) -> list[list[str]]:
        """The sweep's jobs (their overrides), batched in ``self.overrides``."""
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        self.overrides = self.split_arguments(overrides, self.max_batch_size)
        jobs = [list(job) for batch in self.overrides for job in batch]
        if not self.priors_spec:
            return jobs
        from sim.studies import ensemble

        priors = ensemble.priors_from(self.priors_spec)
        self.draws = ensemble.draw_parameters(priors, self.n_draws, self.sampler, self.sampler_seed)
        per_draw = ensemble.draw_overrides(self.draws)

        def seed_of(job: list[str]) -> str:
            return next((o.split("=", 1)[1] for o in job if o.startswith("seed=")), "")

        seeds = list(dict.fromkeys(seed_of(j) for j in jobs))
        jobs = [
            [*job, *draw]
            for seed in seeds
            for draw in per_draw
            for job in jobs
            if seed_of(job) == seed
        ]
        size = self.max_batch_size or len(jobs)
        self.overrides = [jobs[i : i + size] for i in range(0, len(jobs), size)]
        return jobs

    def _to_check(self, jobs: list[list[str]]) -> list[list[str]]:
        """The jobs whose configs are composed and checked before any runs: all of them, or
        in an ensemble every job of its first draw (each policy and seed) and one job of
        every other draw (its values): a job is a policy and seed with a draw's values, and
        the checks of the two parts are apart (composing 600 configs took 6 minutes)."""
        if self.draws is None:
            return jobs
        first, seen, out = "ensemble.draw=0", set(), []
        for job in jobs:
            draw = next(o for o in job if o.startswith("ensemble.draw="))
            if draw == first or draw not in seen:
                out.append(job)
                seen.add(draw)
        return out

    def _prepare(self, sweep_dir: Path, jobs: list[list[str]]) -> None:
        """Before the first job: the ensemble's draws beside its jobs."""
        if self.draws is not None:
            self.draws.to_csv(sweep_dir / "draws.csv", index=False)

    def sweep(self, arguments: list[str]) -> Any:
        assert self.hydra_context is not None and self.config is not None
        assert self.launcher is not None
        try:
            jobs = self._jobs(arguments)
            sweeps.check_jobs(self.hydra_context.config_loader, self.config, self._to_check(jobs))
        except (sweeps.SweepConfigError, ValueError) as exc:
            print(f"error: bad sweep: {exc}", file=sys.stderr)
            sys.exit(2)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        self._prepare(sweep_dir, jobs)
        returns, failed = [], []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            failed += sweeps.failures(batch, results)
            initial_job_idx += len(batch)
            returns.append(results)
        sweeps.report_failures(failed)
        return returns
