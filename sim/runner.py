"""The runner: one run of the model into its own folder, what every command builds on.

:func:`run` validates the config (and the environment's settings) before any work, runs the
campaign and writes every artefact into ``out``:

- the folder is the run's own: before it starts, every file a run can write
  (:data:`sim.outputs.RUN_FILES`) is removed, so nothing of an earlier run is left beside it;
- the effective config is written first and ``status.json`` says ``running``; the tables,
  figures and report follow, ``summary.json`` is written last, atomically, and
  ``status.json`` then says ``complete`` with the size and SHA-256 of every file and the
  identity of the code that made them (:func:`code_identity`);
- on any failure, SIGTERM and SIGINT included, the exception goes to ``error.txt``,
  ``summary.json`` is removed and ``status.json`` says ``failed``: a failed job never looks
  complete.

A folder holds a finished run of a config (:func:`finished_summary`, what a resumed sweep
skips) only if its status says complete, every file is whole (the sizes and checksums agree),
the config is the same and the same code made it. ``check=true`` validates everything and
says what would run, without simulating (a dry run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path

from omegaconf import DictConfig

from sim.checks import expected_gifts, validate, year_population
from sim.model.campaign import Campaign, threads_to_use
from sim.outputs import RUN_FILES
from sim.outputs.gift_ledger import ParquetRecorder
from sim.outputs.painter import Painter
from sim.outputs.report import comparison_table, write_report
from sim.outputs.tables import summary as make_summary
from sim.outputs.tables import tables
from sim.schema import CONF_DIR, ConfigError, SimConfig, config_text

log = logging.getLogger("sim")
ROOT = Path(__file__).resolve().parent.parent


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM: what SLURM and other schedulers send)."""


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


def file_digest(path: Path) -> dict:
    """A file's size in bytes and its SHA-256."""
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return {"bytes": path.stat().st_size, "sha256": digest}


@cache
def code_identity() -> dict:
    """What made a run: the package's version and a SHA-256 of the model's code and configs
    (every ``sim/**/*.py`` and ``conf/**/*.yaml`` but the site's own ``conf/local/``)."""
    h = hashlib.sha256()
    files = [*(ROOT / "sim").rglob("*.py"), *Path(CONF_DIR).rglob("*.yaml")]
    for p in sorted(files):
        rel = p.relative_to(ROOT).as_posix()
        if rel.startswith("conf/local/"):
            continue
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    try:
        version = metadata.version("giving-day-sim")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {"version": version, "sha256": h.hexdigest()}


def run_state(out: Path) -> tuple[bool, str]:
    """Whether ``out`` holds a whole, complete run, and if not, why (for the gatherer and
    resume): its status says ``complete``, ``summary.json`` parses, and every file the status
    lists is there with its size and SHA-256."""
    try:
        status = json.loads((out / "status.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False, "no status.json (never started, or not a run)"
    except (OSError, ValueError) as exc:
        return False, f"status.json unreadable ({exc})"
    if status.get("status") != "complete":
        err = status.get("error")
        return False, f"status {status.get('status')!r}" + (f": {err}" if err else "")
    files = status.get("files")
    if not isinstance(files, dict) or "summary.json" not in files:
        return False, "status.json lists no files (made before runs recorded their files)"
    for name, want in files.items():
        p = out / name
        if not p.exists():
            return False, f"{name} is missing"
        if p.stat().st_size != want.get("bytes") or file_digest(p) != want:
            return False, f"{name} is not the file the run wrote (size or checksum differs)"
    return True, "complete"


def finished_summary(out: Path, config_yaml: str) -> dict | None:
    """The summary of a complete run of exactly this config in ``out``, made by this code,
    else None (see :func:`run_state`)."""
    ok, _ = run_state(out)
    if not ok:
        return None
    try:
        status = json.loads((out / "status.json").read_text(encoding="utf-8"))
        if status.get("code") != code_identity():
            return None
        if (out / "config.yaml").read_text(encoding="utf-8") != config_yaml:
            return None
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def _signals_stop() -> Iterator[Callable[[], None]]:
    """SIGTERM and SIGINT (Ctrl-C) stop the run at its next safe point (on the main thread),
    recorded as failed: SIGTERM (what schedulers send) as :class:`Terminated` (exit status
    143), SIGINT as ``KeyboardInterrupt``.

    The handlers only record the signal; the callable yielded raises if one came. The runner
    calls it between its steps and the campaign at every simulated minute
    (:meth:`sim.model.campaign.Campaign.run`), so a stop waits at most a minute's settlement
    (milliseconds) or one step of the build or the outputs (seconds at full scale); a second
    SIGINT raises at once. A raise where the signal landed lands inside numba's dispatcher
    (unboxing an argument calls Python from C; the minute's draw unboxed a numpy Generator
    until its numbers became counter-based): measured 2026-12-03 under load,
    ``scale=0.05``, the signal 0.6-1.4 s into the run, 45 runs each: SIGTERM crashed 2 of
    them (a segmentation fault, the run left saying ``running``); SIGINT crashed 3 and
    recorded 13 as a ``SystemError``. A SIGINT ignored when the process started (a
    background job of a shell) stays ignored. An exception that leaves the run after a
    signal came leaves as that signal's, so the exit status is the signal's."""
    received: list[int] = []

    def stop_exception() -> BaseException:
        if received[0] == signal.SIGINT:
            return KeyboardInterrupt()
        return Terminated(f"stopped by signal {signal.Signals(received[0]).name}")

    def check() -> None:
        if received:
            raise stop_exception()

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def record(signum, frame):
        if signum == signal.SIGINT and signal.SIGINT in received:
            raise KeyboardInterrupt  # the second Ctrl-C: at once
        received.append(signum)

    signums = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signums.append(signal.SIGINT)
    before = {s: signal.signal(s, record) for s in signums}
    try:
        yield check
    except (Terminated, KeyboardInterrupt):
        raise
    except BaseException as exc:
        if received:
            raise stop_exception() from exc
        raise
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _clear(out: Path) -> None:
    """Remove every file a run can write (:data:`sim.outputs.RUN_FILES`) from ``out``."""
    for name in RUN_FILES:
        (out / name).unlink(missing_ok=True)


def plan(obj: SimConfig) -> dict:
    """What a run of ``obj`` would be: the dry run's answer."""
    pop = year_population(obj)
    sc = obj.scenario
    assert pop.donors is not None and pop.projects.count is not None
    return {
        "scenario": sc.name,
        "policy": obj.policy.name,
        "gaming": obj.gaming.name,
        "seed": obj.seed,
        "scale": obj.scale,
        "days": len(sc.days),
        "donors": round(pop.donors * obj.scale),
        # every project and enterprise pool is built at any scale (docs/model.md, "Scale")
        "projects": pop.projects.count,
        "foundation_pools": len(sc.foundation_pools) * obj.policy.tranches,
        "enterprise_pools": sc.enterprise.count,
        "expected_gifts": round(expected_gifts(obj)),
    }


def _asks_check(cfg: DictConfig | SimConfig) -> bool:
    """Whether ``cfg`` asks for a dry run (read before it is validated)."""
    try:
        value = cfg.get("check", False) if isinstance(cfg, DictConfig) else cfg.check
        return value is True
    except Exception:  # a config too broken to say: not a dry run
        return False


def run(cfg: DictConfig | SimConfig, out: Path, threads: int | None = None) -> dict:
    """Validate ``cfg``, simulate, and write tables, figures, report and summary to ``out``.
    ``threads``: see :meth:`sim.model.campaign.Campaign.run` (they change the speed, never
    the numbers).

    If ``out`` already holds a complete run of the identical config made by this code and
    ``output.resume`` is on, nothing is run and that run's summary is returned. With
    ``check`` on, nothing is simulated either: the plan (:func:`plan`) is returned.

    Returns the summary (money in yuan). Raises ConfigError for a bad config or environment
    (after writing ``status.json`` = failed and ``error.txt``), and re-raises anything that
    fails later.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    recorder = None
    painter: Painter | None = None
    owned = False  # the folder cleared of every earlier run's files
    dry = _asks_check(cfg)
    try:
        with _signals_stop() as stopped:
            obj = validate(cfg)
            try:
                threads = threads_to_use(threads, obj.scale)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            config_yaml = config_text(obj)
            if obj.check:
                p = plan(obj)
                log.info("check: the config is valid; a run would be %s", p)
                return {"check": "ok", **p}
            if obj.output.resume and (done := finished_summary(out, config_yaml)) is not None:
                log.info("already complete in %s: not run again", out)
                return done
            _clear(out)  # the folder is this run's: nothing of another is left
            owned = True
            _write_atomic(out / "config.yaml", config_yaml)
            _status(out, "running")
            if obj.output.figures:  # forked now, before the build makes its threads
                painter = Painter().start()
            if obj.output.record_gifts:
                recorder = ParquetRecorder(out / "gifts.parquet")
            campaign = Campaign(obj, recorder)
            stopped()
            result = campaign.run(threads, stopped)
            del campaign
            stopped()
            if recorder is not None:
                recorder.close(ok=True)
            t = tables(result)
            summary = make_summary(result, t)
            if summary["donation_count"] == 0:
                log.warning("the run drew no gift (scale %g): every figure is zero", obj.scale)
            for name, df in t.items():
                df.to_parquet(out / f"{name}.parquet", index=False)
            comparison = comparison_table(obj, summary, t["minutes"])
            comparison.to_csv(out / "reported_vs_simulated.csv", index=False)
            stopped()
            figures = []
            if obj.output.figures:
                # matplotlib and seaborn take about a second to load: only runs that draw
                # figures need them, loaded by the painter while the campaign runs
                assert painter is not None
                figures = painter.paint(t, summary, out)
                stopped()
            write_report(out / "report.md", obj, summary, comparison, figures)
            _write_atomic(
                out / "summary.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n"
            )
            files = {
                n: file_digest(out / n)
                for n in RUN_FILES
                if n != "status.json" and (out / n).exists()
            }
            stopped()  # the last safe point before the run is recorded complete
            _status(
                out,
                "complete",
                wall_seconds=summary["wall_seconds"],
                files=files,
                code=code_identity(),
            )
            return summary
    except BaseException as exc:
        if dry and not owned:  # a dry run writes nothing, valid or not (an earlier run stays)
            raise
        if painter is not None:
            painter.close()
        if recorder is not None:
            recorder.close(ok=False)
        try:  # what an earlier run left is not this one's; a summary must not outlive it
            if owned:
                (out / "summary.json").unlink(missing_ok=True)
            else:
                _clear(out)
        except OSError:  # the folder is broken (the reason this run failed, maybe)
            pass
        (out / "error.txt").write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
        _status(out, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
