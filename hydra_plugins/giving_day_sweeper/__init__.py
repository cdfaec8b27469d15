"""The project's Hydra sweeper, ``hydra/sweeper=checked`` (the default of
``conf/config.yaml``): a grid, the behavioural ensemble (``hydra.sweeper.priors``,
``experiment=ensemble``) or the Pareto search over a policy's parameters
(``hydra.sweeper.pareto``, ``experiment=pareto``: :mod:`sim.studies.pareto`). One sweeper
with three modes, not three sweepers: the primary config's ``override hydra/sweeper`` comes
after the experiment in the defaults list (Hydra wants overrides last), so an experiment
cannot choose another sweeper.

Hydra finds sweepers in the ``hydra_plugins`` package only; the work is
:mod:`sim.studies.sweeps`: every job's config is checked before the first job runs, and a job
that fails while it runs is recorded and the sweep goes on. (No ``from __future__ import
annotations`` here: Hydra loads plugin modules without registering them, and a dataclass
then cannot resolve string annotations.)
"""

import contextlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from sim.studies import pareto, sweeps

log = logging.getLogger("sim")


@dataclass
class ParetoConf:
    """The Pareto search over a policy's parameters (``experiment=pareto``,
    :mod:`sim.studies.pareto`); its space is the sweeper's ``params``."""

    n_trials: int = 200
    population_size: int = 20  # NSGA-II's generation; a generation's trials run as one batch
    seed: int = 0
    # metric of summary.json -> maximize | minimize
    objectives: dict[str, str] | None = None
    # the overrides of the reference run (2021's rules), run once beside the trials
    reference: list[str] | None = None
    # key -> other_key=value: the key is searched only where the other has that value
    when: dict[str, str] | None = None


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
    # the Pareto search (experiment=pareto): ``params`` in Hydra's sweep grammar (interval,
    # tag(log, ...), choice, range) is the space searched, plain values are fixed
    pareto: ParetoConf | None = None


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
        pareto: Any = None,
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.params_spec = dict(params or {})
        self.pareto_spec = dict(pareto) if pareto else None
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
        if self.pareto_spec is not None:
            if self.priors_spec:
                print(
                    "error: bad sweep: hydra.sweeper.pareto and .priors together", file=sys.stderr
                )
                sys.exit(2)
            search = ParetoSearch(params=self.params_spec, **self.pareto_spec)
            return search.sweep(self.hydra_context, self.config, self.launcher, arguments)
        loader = self.hydra_context.config_loader
        try:
            jobs = self._jobs(arguments)
            composed = sweeps.check_jobs(loader, self.config, self._to_check(jobs))
        except (sweeps.SweepConfigError, ValueError) as exc:
            print(f"error: bad sweep: {exc}", file=sys.stderr)
            sys.exit(2)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        self._prepare(sweep_dir, jobs)
        returns, failed = [], []
        initial_job_idx = 0
        # a launcher that runs the jobs here takes the configs just checked; the others
        # compose each where it runs (another process: the loader is left as it is)
        here = isinstance(self.launcher, BasicLauncher)
        if not here:
            composed.clear()  # not kept through the sweep (a config is about a megabyte)
        with (
            sweeps.reuse_composed(loader, self.config, composed)
            if here
            else contextlib.nullcontext()
        ) as counts:
            while not self.is_done():
                batch = self.get_job_batch()
                results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
                failed += sweeps.failures(batch, results)
                initial_job_idx += len(batch)
                returns.append(results)
        if counts is not None:
            log.info(
                "jobs launched with the configs composed for the check: %d (composed again: %d)",
                counts["reused"],
                counts["composed"],
            )
        sweeps.report_failures(failed)
        return returns


class ParetoSearch:
    """Optuna's multi-objective NSGA-II through Hydra's launchers: a generation of trials
    asked whole, launched as one batch (every core; Ray and SLURM alike), each trial a run
    in its own folder (``trial_0007``); the study in ``study.journal`` so that the same
    command resumes (the trials that were running are finished with their stored values,
    then the search goes on to ``n_trials``); the front written at the end
    (:func:`sim.studies.pareto.write_front`)."""

    def __init__(
        self,
        n_trials: int,
        population_size: int,
        seed: int,
        objectives: dict[str, str] | None,
        params: dict[str, str] | None,
        reference: list[str] | None,
        when: dict[str, str] | None = None,
    ) -> None:
        self.n_trials, self.population_size, self.seed = n_trials, population_size, seed
        self.objectives = dict(objectives or {})
        self.params = dict(params or {})
        self.reference = list(reference or [])
        self.when = dict(when or {})
        self.launcher: Any = None
        self.job_idx = 0

    def _launch(self, jobs: list[list[str]]) -> list[Any]:
        results = self.launcher.launch(jobs, initial_job_idx=self.job_idx)
        self.job_idx += len(jobs)
        self.failed += sweeps.failures(jobs, results)
        return list(results)

    def _tell(self, study: Any, numbers: list[int], results: list[Any], sweep_dir: Path) -> None:
        import optuna

        for number, r in zip(numbers, results, strict=True):
            values = None
            if r.status == JobStatus.COMPLETED:
                try:
                    values = pareto.objective_values(
                        sweep_dir / pareto.trial_dir(number), list(self.objectives)
                    )
                except (OSError, KeyError, ValueError) as exc:
                    self.failed.append((pareto.trial_dir(number), f"{type(exc).__name__}: {exc}"))
            if values is None:
                study.tell(number, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(number, values)

    def sweep(self, hydra_context: Any, config: Any, launcher: Any, arguments: list[str]) -> Any:
        import optuna

        self.launcher = launcher
        params = dict(self.params)
        # the command line: a key of the space, or a sweep, changes the space; any other
        # override (experiment=pareto, scale=...) is the base of every run, the reference's too
        base = []
        for a in arguments:
            key, _, text = a.partition("=")
            if key in params or pareto.is_sweep(a):
                params[key] = text
            else:
                base.append(a)
        try:
            pareto.check_objectives(self.objectives)
            if self.n_trials < 1 or self.population_size < 2:
                raise ValueError(
                    f"pareto: n_trials {self.n_trials} (at least 1) and population_size "
                    f"{self.population_size} (at least 2)"
                )
            space, fixed = pareto.space_from(params)
            fixed = [*base, *fixed]
            conditions = pareto.conditions_from(self.when, space)
            if not space:
                raise ValueError("pareto: the search space is empty (hydra.sweeper.params)")
            jobs = [pareto.trial_overrides(0, p, fixed) for p in pareto.check_points(space)]
            if self.reference:
                jobs.append([*base, *self.reference])
            sweeps.check_jobs(hydra_context.config_loader, config, jobs)
        except (sweeps.SweepConfigError, ValueError) as exc:
            print(f"error: bad sweep: {exc}", file=sys.stderr)
            sys.exit(2)
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(config, sweep_dir / "multirun.yaml")
        directions = list(self.objectives.values())
        study = pareto.load_study(sweep_dir, directions)
        if list(study.directions) != [optuna.study.StudyDirection[d.upper()] for d in directions]:
            print(f"error: {sweep_dir} holds a search with other objectives", file=sys.stderr)
            sys.exit(2)
        self.failed: list[tuple[str, str]] = []
        if self.reference:
            self._launch([[*base, *self.reference, f"hydra.sweep.subdir={pareto.REFERENCE_DIR}"]])
        # resumed: the trials that were running when the search stopped, with their values
        running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if running:
            log.info("resuming: finishing %d trials that were running", len(running))
            numbers = [t.number for t in running]
            jobs = [pareto.trial_overrides(t.number, t.params, fixed) for t in running]
            self._tell(study, numbers, self._launch(jobs), sweep_dir)
        while (asked := len(study.get_trials(deepcopy=False))) < self.n_trials:
            size = min(self.population_size, self.n_trials - asked)
            numbers, jobs = [], []
            for number in range(asked, asked + size):
                study = optuna.load_study(
                    study_name=pareto.STUDY_NAME,
                    storage=study._storage,
                    sampler=pareto.sampler_for(self.seed, number, self.population_size),
                )
                trial = study.ask()
                assert trial.number == number, (trial.number, number)
                values = pareto.suggest(trial, space, conditions)
                numbers.append(number)
                jobs.append(pareto.trial_overrides(number, values, fixed))
            log.info("pareto: trials %d-%d of %d", asked, asked + size - 1, self.n_trials)
            self._tell(study, numbers, self._launch(jobs), sweep_dir)
        pareto.write_front(sweep_dir, self.objectives)
        log.info("pareto: the front is in %s", sweep_dir / "front.md")
        sweeps.report_failures(self.failed)
        return None
