"""``python -m sim`` keeps the cyclic collector out of its start and end (sim/__main__.py),
and runs with it on."""

from __future__ import annotations

import gc
import runpy

import sim.app


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
