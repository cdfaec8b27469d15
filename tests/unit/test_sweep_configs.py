"""A sweep's jobs are composed once: the launcher that runs them in this process takes the
configs composed for the check before any run (:func:`sim.studies.sweeps.reuse_composed`),
and they are the configs it would have composed itself."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from sim.studies import sweeps
from tests.conftest import CONF

JOBS = [["policy=none", "seed=1"], ["policy=qf", "seed=2", "scale=0.01"]]


@pytest.fixture
def loader_and_master():
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        master = compose("config", overrides=["scale=0.002"], return_hydra_config=True)
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        yield hydra.config_loader, master


def test_a_checked_config_is_handed_to_the_launcher_once_and_is_the_fresh_one(
    loader_and_master,
):
    loader, master = loader_and_master
    fresh = {tuple(j): OmegaConf.to_yaml(loader.load_sweep_config(master, j)) for j in JOBS}
    composed = sweeps.check_jobs(loader, master, JOBS)
    assert set(composed) == {tuple(j) for j in JOBS}
    with sweeps.reuse_composed(loader, master, composed) as counts:
        for job in JOBS:
            cfg = loader.load_sweep_config(master, list(job))
            assert OmegaConf.to_yaml(cfg) == fresh[tuple(job)]
            assert cfg.policy.name == job[0].split("=")[1]
        assert counts == {"reused": 2, "composed": 0}
        # a job launched again, or one not checked, is composed as before
        again = loader.load_sweep_config(master, list(JOBS[0]))
        other = loader.load_sweep_config(master, ["policy=breadth"])
        assert counts == {"reused": 2, "composed": 2}
        assert OmegaConf.to_yaml(again) == fresh[tuple(JOBS[0])]
        assert other.policy.name == "breadth"
    # the loader's own method again, and nothing kept
    assert "load_sweep_config" not in vars(loader) and composed == {}


def test_a_config_handed_out_resolves_with_the_masters_cache_as_it_is_then(loader_and_master):
    loader, master = loader_and_master
    composed = sweeps.check_jobs(loader, master, JOBS[:1])
    # something the master resolves after the check (as hydra.sweep.dir's ${now:...} is)
    OmegaConf.set_cache(master, {"now": {"('%H',)": "12"}})
    with sweeps.reuse_composed(loader, master, composed):
        cfg = loader.load_sweep_config(master, list(JOBS[0]))
    assert OmegaConf.get_cache(cfg) == OmegaConf.get_cache(master)


def test_another_master_config_is_composed_fresh(loader_and_master):
    loader, master = loader_and_master
    composed = sweeps.check_jobs(loader, master, JOBS[:1])
    other = master.copy()
    with sweeps.reuse_composed(loader, master, composed) as counts:
        loader.load_sweep_config(other, list(JOBS[0]))
    assert counts == {"reused": 0, "composed": 1}
