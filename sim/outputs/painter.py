"""The run's figures drawn by a process of its own, ready before the campaign ends.

matplotlib and seaborn take about a second to load and the five figures about 1.1 s to draw
at full scale (2026-12-04), all after the campaign, where one core is idle. A
:class:`Painter` forks when the run starts (before the build makes its threads), loads
:mod:`sim.outputs.plots` in the child while the parent builds and runs the campaign, and
draws the figures when handed the tables: the child draws some itself and forks once more
(matplotlib already loaded) for the others, so they are drawn on both cores. The figures
are the same files as drawn in the run's own process (the same code and data; tested).

The fork is made only where it is safe and can help: on a platform with ``fork``, from a
process with no other thread (a thread holding a lock at the fork would leave it held in
the child) and with at least two cores to use; else the figures are drawn in the run's
process, as before. A child that died or cannot be reached is also replaced by drawing in
process; a figure that fails in the child fails the run as it would in process. A child
ended by SIGTERM (a run that failed while it drew, a scheduler) ends its own child too,
so that no figure is written into a run that has ended.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path

import pandas as pd

from sim.outputs import FIGURES

# the figures each process draws: the child (first) and its own child, about 0.55 s each
# at full scale (campaign 0.46 s, days 0.14, Lorenz 0.08, gift sizes 0.31, flowers 0.20)
SHARES = (("campaign.png", "lorenz.png"), ("days.png", "gift_sizes.png", "flowers.png"))
assert sorted(sum(SHARES, ())) == sorted(FIGURES)
# the tables the figures read
FIGURE_TABLES = ("minutes", "days", "organisations", "gift_sizes", "flowers")


def draw(names: tuple[str, ...], t: dict[str, pd.DataFrame], summary: dict, out: Path) -> None:
    """Draw the figures ``names`` (of :data:`sim.outputs.FIGURES`) into ``out``."""
    from sim.outputs import plots

    plots.draw(names, t, summary, out)


def can_fork() -> bool:
    """Whether a painter may fork here (see the module's docstring)."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and len(os.sched_getaffinity(0)) >= 2
    )


def _reply(conn: Connection, message: tuple) -> None:
    try:
        conn.send(message)
    except OSError:  # the run has closed its end (it failed or was stopped): nobody to tell
        pass


def _serve(conn: Connection, parent_end: Connection) -> None:
    """The child: load the plotting code, then draw one job's figures and answer."""
    parent_end.close()
    drawing: list[int] = []  # the grandchild, while it draws

    def end(signum: int, frame: object) -> None:
        # SIGTERM (the run's own, or a scheduler's) ends this process at once, and the
        # grandchild with it: no figure is written into a run that has ended
        for pid in drawing:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(128 + signum)

    # a Ctrl-C at a terminal reaches the whole process group: the run handles it and
    # ends this process
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, end)
    try:
        import sim.outputs.plots  # noqa: F401  (the second this process is for)
    except BaseException:
        pass  # reported with the job, where drawing needs it
    try:
        job = conn.recv()
    except (EOFError, OSError):  # the run ended without figures
        return
    try:
        t, summary, out = job
        first, second = SHARES
        # SIGTERM held until the grandchild is known (else a SIGTERM between the fork and
        # the note of its pid would leave it drawing)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        pid = os.fork()
        if pid == 0:  # the grandchild: its share, then out without cleanup
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            code = 1
            try:
                draw(second, t, summary, out)
                code = 0
            except BaseException:
                pass  # drawn again by its parent, which reports the error
            finally:
                os._exit(code)
        drawing.append(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        draw(first, t, summary, out)
        _, status = os.waitpid(pid, 0)
        drawing.clear()
        if os.waitstatus_to_exitcode(status) != 0:
            # drawn again here, so that the error (if it is one) is reported with its cause
            draw(second, t, summary, out)
        _reply(conn, ("ok", None))
    except BaseException as exc:
        _reply(conn, ("error", "".join(traceback.format_exception(exc))))
    finally:
        conn.close()


class FigureError(RuntimeError):
    """A figure failed in the painter; the message holds the child's traceback."""


class Painter:
    """A process that draws a run's figures (see the module's docstring). ``start`` it as
    the run starts; ``paint`` draws the figures (in the child if there is one, else here);
    ``close`` ends the child if the run ends without figures."""

    def __init__(self) -> None:
        self.proc: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def start(self) -> Painter:
        if can_fork():
            ctx = multiprocessing.get_context("fork")
            parent_end, child_end = ctx.Pipe(duplex=True)
            proc = ctx.Process(
                target=_serve, args=(child_end, parent_end), name="sim-figures", daemon=True
            )
            proc.start()
            child_end.close()
            self.proc, self.conn = proc, parent_end
        return self

    def paint(self, t: dict[str, pd.DataFrame], summary: dict, out: Path) -> list[str]:
        """Write every figure (:data:`sim.outputs.FIGURES`) into ``out``; returns their
        names. Raises :class:`FigureError` if a figure fails in the child."""
        if self.conn is not None:
            try:
                self.conn.send(({n: t[n] for n in FIGURE_TABLES}, summary, Path(out)))
                kind, detail = self.conn.recv()
            except (EOFError, OSError):  # OSError: BrokenPipeError among them
                kind, detail = "lost", None
            self.close()
            if kind == "ok":
                return list(FIGURES)
            if kind == "error":
                raise FigureError(f"a figure failed in the figure process:\n{detail}")
        from sim.outputs.plots import all_figures  # no child, or it died: drawn here

        return all_figures(t, summary, Path(out))

    def close(self) -> None:
        """End the child (if any) and wait for it."""
        conn, proc = self.conn, self.proc
        self.conn = self.proc = None
        if conn is not None:
            conn.close()  # a child still waiting for its job sees the end and returns
        if proc is not None:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
