"""The Hydra application: ``python -m sim [overrides]``.

:func:`run` is the plain function behind it (tests call it directly): it validates the
config before any work, runs the campaign and writes every artefact into ``out``. The
effective config is written first and ``status.json`` says ``running``; ``summary.json`` is
written last, atomically, and ``status.json`` then says ``complete``. On any failure the
exception goes to ``error.txt`` and ``status.json`` says ``failed``, so a failed job never
looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sim.config import ConfigError, SimConfig, register_configs, validate

log = logging.getLogger("sim")
register_configs()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _status(out: Path, status: str, **extra) -> None:
    _write_atomic(out / "status.json", json.dumps(
        {"status": status, "at": datetime.now(UTC).isoformat(timespec="seconds"),
         **extra}, indent=1) + "\n")


def finished_summary(out: Path, config_yaml: str) -> dict | None:
    """The summary of a complete run of exactly this config in ``out``, else None.

    Complete means ``status.json`` says so, ``summary.json`` (written last, atomically) is
    there and parses, and ``config.yaml`` is this config: a job that was killed half-way,
    failed, or ran another config is never taken as finished."""
    try:
        status = json.loads((out / "status.json").read_text(encoding="utf-8"))
        if status.get("status") != "complete":
            return None
        if (out / "config.yaml").read_text(encoding="utf-8") != config_yaml:
            return None
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run(cfg: DictConfig | SimConfig, out: Path, threads: int | None = None) -> dict:
    """Validate ``cfg``, simulate, and write tables, figures, report and summary to ``out``.
    ``threads``: see :meth:`sim.engine.Campaign.run` (they change the speed, never the
    numbers).

    If ``out`` already holds a complete run of the identical config and
    ``output.resume`` is on, nothing is run and that run's summary is returned.

    Returns the summary (money in yuan). Raises ConfigError for a bad config (after writing
    ``status.json`` = failed and ``error.txt``), and re-raises anything that fails later.
    """
    from sim.engine import Campaign
    from sim.recorder import ParquetRecorder
    from sim.report import comparison_table, write_report
    from sim.results import summary as make_summary
    from sim.results import tables

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recorder = None
    try:
        obj = validate(cfg)
        config_yaml = OmegaConf.to_yaml(OmegaConf.structured(obj))
        if obj.output.resume and (done := finished_summary(out, config_yaml)) is not None:
            log.info("already complete in %s: not run again", out)
            return done
        for stale in ("summary.json", "error.txt", "status.json"):
            (out / stale).unlink(missing_ok=True)
        _write_atomic(out / "config.yaml", config_yaml)
        _status(out, "running")
        if obj.output.record_gifts:
            recorder = ParquetRecorder(out / "gifts.parquet")
        campaign = Campaign(obj, recorder).run(threads)
        if recorder is not None:
            recorder.close(ok=True)
        t = tables(campaign)
        summary = make_summary(campaign, t)
        for name, df in t.items():
            df.to_parquet(out / f"{name}.parquet", index=False)
        comparison = comparison_table(obj, summary, t["minutes"])
        comparison.to_csv(out / "reported_vs_simulated.csv", index=False)
        figures = []
        if obj.output.figures:
            from sim.plots import all_figures
            figures = all_figures(t, summary, out)
        write_report(out / "report.md", obj, summary, comparison, figures)
        _write_atomic(out / "summary.json",
                      json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
        _status(out, "complete", wall_seconds=summary["wall_seconds"])
        return summary
    except BaseException as exc:
        if recorder is not None:
            recorder.close(ok=False)
        (out / "summary.json").unlink(missing_ok=True)
        (out / "error.txt").write_text("".join(traceback.format_exception(exc)),
                                       encoding="utf-8")
        _status(out, "failed", error=f"{type(exc).__name__}: {exc}")
        raise


# conf/ sits beside the package in the repository (the project is installed editable)
CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


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
    out = Path(HydraConfig.get().runtime.output_dir)
    try:
        summary = run(cfg, out, job_threads(HydraConfig.get()))
    except ConfigError as exc:
        log.error("bad config: %s", exc)
        print(f"error: bad config: {exc}", file=sys.stderr)
        sys.exit(2)
    log.info("raised %.4g亿 (public %.4g亿 from %.4g万 gifts); outputs in %s",
             summary["total_raised_yuan"] / 1e8, summary["public_donations_yuan"] / 1e8,
             summary["donation_count"] / 1e4, out)
    return summary["total_raised_yuan"]


def main() -> None:
    hydra_main()
