"""The runner: one run of the model into its own folder, what every command builds on.

:func:`run` validates the config before any work, runs the campaign and writes every
artefact into ``out``. The effective config is written first and ``status.json`` says
``running``; ``summary.json`` is written last, atomically, and ``status.json`` then says
``complete``. On any failure the exception goes to ``error.txt`` and ``status.json`` says
``failed``, so a failed job never looks complete.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sim.checks import validate
from sim.model.campaign import Campaign
from sim.outputs.gift_ledger import ParquetRecorder
from sim.outputs.report import comparison_table, write_report
from sim.outputs.tables import summary as make_summary
from sim.outputs.tables import tables
from sim.schema import SimConfig

log = logging.getLogger("sim")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _status(out: Path, status: str, **extra) -> None:
    _write_atomic(
        out / "status.json",
        json.dumps(
            {"status": status, "at": datetime.now(UTC).isoformat(timespec="seconds"), **extra},
            indent=1,
        )
        + "\n",
    )


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
    ``threads``: see :meth:`sim.model.campaign.Campaign.run` (they change the speed, never
    the numbers).

    If ``out`` already holds a complete run of the identical config and
    ``output.resume`` is on, nothing is run and that run's summary is returned.

    Returns the summary (money in yuan). Raises ConfigError for a bad config (after writing
    ``status.json`` = failed and ``error.txt``), and re-raises anything that fails later.
    """
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
        result = Campaign(obj, recorder).run(threads)
        if recorder is not None:
            recorder.close(ok=True)
        t = tables(result)
        summary = make_summary(result, t)
        for name, df in t.items():
            df.to_parquet(out / f"{name}.parquet", index=False)
        comparison = comparison_table(obj, summary, t["minutes"])
        comparison.to_csv(out / "reported_vs_simulated.csv", index=False)
        figures = []
        if obj.output.figures:
            # matplotlib and seaborn take about a second to load: only runs that draw need them
            from sim.outputs.plots import all_figures

            figures = all_figures(t, summary, out)
        write_report(out / "report.md", obj, summary, comparison, figures)
        _write_atomic(
            out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
        )
        _status(out, "complete", wall_seconds=summary["wall_seconds"])
        return summary
    except BaseException as exc:
        if recorder is not None:
            recorder.close(ok=False)
        (out / "summary.json").unlink(missing_ok=True)
        (out / "error.txt").write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        _status(out, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
