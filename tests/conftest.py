"""Shared helpers: compose the real Hydra config and run small campaigns.

The tests come in three tiers, a folder each, marked by it: ``unit`` (pieces on their own,
in seconds), ``model`` (tiny campaigns: behaviour, conservation, determinism, the golden
baselines) and ``e2e`` (commands, files, sweeps, the docs' examples). ``pytest tests/unit``
or ``pytest -m unit`` runs one tier. Long checks are also marked ``slow`` (full-scale runs,
and end-to-end checks of more than a few campaigns whose feature a shorter check covers in
the default suite): ``pytest -m slow`` runs them, and CI runs both (``.ci/run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hypothesis import settings

from sim.checks import validate
from sim.model.campaign import Campaign
from sim.model.recorder import MemoryRecorder
from sim.schema import SimConfig, register_configs

CONF = str(Path(__file__).resolve().parent.parent / "conf")
TIERS = ("unit", "model", "e2e")
# 0.2% of 2021: about 14万 gifts from 9万 donors (10,000 projects and 12,500 enterprise pools
# at every scale)
TINY = 0.002

register_configs()

# CI explores the same examples every time (a red CI always reproduces); locally each run
# explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def compose_cfg(*overrides: str):
    """The real config as ``python -m sim`` composes it, with overrides."""
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("config", overrides=list(overrides))


def tiny_cfg(*overrides: str, scale: float = TINY) -> SimConfig:
    """A validated, typed config at a tiny scale, quiet."""
    return validate(
        compose_cfg(f"scale={scale}", "output.progress=false", "output.figures=false", *overrides)
    )


@pytest.fixture(scope="session")
def tiny_run():
    """One recorded tiny 2021 campaign, shared by the tests that only read it."""
    rec = MemoryRecorder()
    campaign = Campaign(tiny_cfg(), rec)
    return campaign.run(), rec, campaign


def pytest_collection_modifyitems(items):
    """Mark each test with its tier, the folder it is in."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIERS:
            item.add_marker(getattr(pytest.mark, tier))
