"""The commands keep the cyclic collector off what their imports made (sim.command,
sim/__main__.py), and run with it on."""

from __future__ import annotations

import gc
import runpy
import subprocess
import sys

import pytest

import sim.app
from sim import command


def test_the_command_runs_with_the_collector_on_and_what_the_imports_made_frozen(monkeypatch):
    seen: dict[str, object] = {}

    def main() -> None:
        seen["enabled"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()

    monkeypatch.setattr(sim.app, "main", main)
    was = gc.isenabled()
    try:
        runpy.run_module("sim", run_name="__main__")
    finally:
        gc.unfreeze()  # this test process's objects go back to the collector
    assert seen["enabled"] is True and isinstance(seen["frozen"], int) and seen["frozen"] > 0
    assert gc.isenabled() == was


def test_a_command_returns_its_value_and_freezes_what_is_left_even_when_it_fails():
    try:
        assert command(lambda: gc.get_freeze_count()) > 0
        gc.unfreeze()
        left = []

        def fails() -> None:
            gc.unfreeze()
            left.append(object())
            raise SystemExit(3)

        with pytest.raises(SystemExit):
            command(fails)
        assert gc.get_freeze_count() > 0  # frozen again on the way out
    finally:
        gc.unfreeze()


def test_a_run_does_not_import_what_only_figures_and_studies_need():
    """``python -m sim`` loads the app and the project's sweeper plugin (Hydra finds it at
    start-up): neither brings in the figures' libraries or the studies' statistics (a
    helper moved into the gatherer once pulled scipy.stats into every run: 0.9 s and 40 MB)."""
    code = (
        "import sys, sim.app, hydra_plugins.giving_day_sweeper; "
        "print(sorted(m for m in ('scipy.stats', 'matplotlib', 'seaborn', 'sim.studies.gather', "
        "'sim.studies.planner') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
