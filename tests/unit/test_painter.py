"""The figure process (issue 19): the same figures as drawn in the run's process, errors
reported, a dead child replaced, no process left behind.

The painter forks only from a process with no other Python thread, and pytest's workers have
threads: the checks run in a fresh interpreter (one script, its findings read back as JSON).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.outputs import FIGURES

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    from pathlib import Path

    from hydra import compose, initialize_config_dir

    from sim.checks import validate
    from sim.model.campaign import Campaign
    from sim.model.recorder import MemoryRecorder
    from sim.outputs import painter as P
    from sim.outputs.tables import summary as make_summary, tables
    from sim.schema import register_configs

    conf, root = sys.argv[1], Path(sys.argv[2])
    register_configs()
    with initialize_config_dir(config_dir=conf, version_base="1.3"):
        cfg = compose("config", overrides=["scale=0.002", "output.progress=false"])
    found = {"can_fork_before": P.can_fork()}
    painter = P.Painter().start()  # as the runner does: before the campaign
    found["forked"] = painter.proc is not None
    res = Campaign(validate(cfg), MemoryRecorder()).run()
    t = tables(res)
    s = make_summary(res, t)

    def files(d):
        return {p.name: p.read_bytes().hex() for p in sorted(d.iterdir())}

    for d in ("painter", "here", "dead", "error_child", "error_grandchild", "closed"):
        (root / d).mkdir()
    found["painted"] = painter.paint(t, s, root / "painter")
    found["painter_alive_after"] = painter.proc is not None
    from sim.outputs.plots import all_figures

    all_figures(t, s, root / "here")
    found["same"] = files(root / "painter") == files(root / "here")
    found["names"] = sorted(files(root / "painter"))

    p = P.Painter().start()  # a child that died: drawn here instead
    os.kill(p.proc.pid, signal.SIGKILL)
    p.proc.join()
    found["dead_painted"] = p.paint(t, s, root / "dead")
    found["dead_same"] = files(root / "dead") == files(root / "here")

    def error(broken_t, broken_s, out):
        p = P.Painter().start()
        proc = p.proc
        try:
            p.paint(broken_t, broken_s, out)
            return {"raised": None}
        except P.FigureError as exc:
            return {"raised": "FigureError", "message": str(exc), "alive": proc.is_alive()}

    # the Lorenz curve is the child's, the days figure its own child's
    found["error_child"] = error(t, {k: v for k, v in s.items() if k != "org_gini"},
                                 root / "error_child")
    broken = dict(t, days=t["days"].drop(columns=["public_donations_yuan"]))
    found["error_grandchild"] = error(broken, s, root / "error_grandchild")

    # a painter ended (SIGTERM) while its own child draws: that child ends with it
    import time

    real_draw = P.draw
    P.draw = lambda names, *a: time.sleep(60) if names == P.SHARES[1] else real_draw(names, *a)
    p = P.Painter().start()
    P.draw = real_draw
    (root / "ended").mkdir()
    p.conn.send(({n: t[n] for n in P.FIGURE_TABLES}, s, root / "ended"))
    children = f"/proc/{p.proc.pid}/task/{p.proc.pid}/children"
    deadline = time.monotonic() + 30
    grandchild = ""
    while not grandchild and time.monotonic() < deadline:
        grandchild = open(children).read().strip()
        time.sleep(0.01)
    found["grandchild_seen"] = bool(grandchild)
    p.proc.terminate()
    p.proc.join()

    def state(pid):  # the process's state letter, or None once it is gone
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return None

    deadline = time.monotonic() + 5
    while state(grandchild) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.01)
    found["grandchild_state"] = state(grandchild)
    p.close()

    p = P.Painter().start()  # a run that ends before its figures
    proc = p.proc
    p.close()
    found["closed_alive"] = proc.is_alive()
    found["closed_exitcode"] = proc.exitcode
    found["children_left"] = len(__import__("multiprocessing").active_children())
    print(json.dumps(found))
    """
)


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    root = tmp_path_factory.mktemp("painter")
    conf = str(Path(__file__).resolve().parents[2] / "conf")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, conf, str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_painter_forks_from_a_single_threaded_process(found):
    assert found["can_fork_before"] and found["forked"]
    assert found["painter_alive_after"] is False  # ended once the figures are drawn


def test_figures_drawn_by_the_painter_are_the_files_drawn_in_process(found):
    assert found["painted"] == list(FIGURES)
    assert found["names"] == sorted(FIGURES)
    assert found["same"]


def test_a_dead_painter_is_replaced_by_drawing_in_process(found):
    assert found["dead_painted"] == list(FIGURES)
    assert found["dead_same"]


@pytest.mark.parametrize("where", ["error_child", "error_grandchild"])
def test_a_figure_that_fails_in_the_painter_fails_with_its_traceback(found, where):
    err = found[where]
    assert err["raised"] == "FigureError"
    assert "Traceback" in err["message"]
    assert ("org_gini" if where == "error_child" else "days_figure") in err["message"]
    assert err["alive"] is False


def test_a_painter_ended_while_drawing_ends_its_own_child(found):
    assert found["grandchild_seen"]
    assert found["grandchild_state"] in (None, "Z")  # gone, or dead and not yet reaped


def test_a_painter_closed_without_figures_ends_its_process(found):
    assert found["closed_alive"] is False
    assert found["closed_exitcode"] == 0
    assert found["children_left"] == 0


def test_the_painter_does_not_fork_from_a_threaded_process(monkeypatch):
    import threading

    from sim.outputs import painter

    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not painter.can_fork()
    p = painter.Painter().start()
    assert p.proc is None and p.conn is None
    p.close()  # nothing to end
