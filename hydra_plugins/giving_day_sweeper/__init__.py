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


ConfigStore.instance().store(group="hydra/sweeper", name="checked", node=CheckedSweeperConf)


class CheckedSweeper(BasicSweeper):
    """Hydra's basic sweeper (the cartesian product of the sweep's values, in batches),
    which checks every job's config before launching any and goes on past a job that
    fails (the basic sweeper reads every job's return value, which raises for the first
    failure and ends the sweep)."""

    def sweep(self, arguments: list[str]) -> Any:
        assert self.hydra_context is not None and self.config is not None
        assert self.launcher is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        self.overrides = self.split_arguments(overrides, self.max_batch_size)
        jobs = [list(job) for batch in self.overrides for job in batch]
        try:
            sweeps.check_jobs(self.hydra_context.config_loader, self.config, jobs)
        except sweeps.SweepConfigError as exc:
            print(f"error: bad sweep: {exc}", file=sys.stderr)
            sys.exit(2)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
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
