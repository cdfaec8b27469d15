"""The calibration: the secant iteration converges, a fit writes config that the next run
composes (with its provenance), and 2019/2020 take their gift-size level from the 2018 and
2021 fits and their rules' odds from 2018's."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml

from sim.studies.calibrate import FITS, YearFit, calibrate, compose, main, write_fit, year_seeds
from tests.conftest import CONF


@pytest.fixture
def conf(tmp_path) -> Path:
    """A copy of conf/ to write fits into (without the repository's own fits)."""
    d = tmp_path / "conf"
    shutil.copytree(CONF, d)
    shutil.rmtree(d / "fit", ignore_errors=True)
    (d / "fit").mkdir()
    return d


def test_the_secant_iteration_meets_the_targets_of_a_known_model(conf):
    """A model with cross effects (the gift level moves the money and the flowers too) and
    slopes unlike the first guesses: every target within 0.5% in a few rounds (2021's
    parameters but the theme day's)."""
    f = YearFit(
        2021,
        {
            "scenario.levels.gifts": 1.0,
            "scenario.levels.gift_size_shift": 0.0,
            "scenario.levels.theme_gifts": 1.0,
            "scenario.levels.theme_size_shift": 0.0,
            "scenario.levels.flower_acts": 1.0,
            "policy.rules.theme.gift_cap_yuan": 100.0,
        },
        str(conf),
    )

    def model(v):
        count = 6.0e7 * v["scenario.levels.gifts"] ** 1.3
        public = count * 50 * math.exp(0.8 * v["scenario.levels.gift_size_shift"])
        theme = 4.0e6 * v["scenario.levels.theme_gifts"] ** 1.1 * (count / 6e7) ** 0.2
        theme_yuan = theme * 60 * math.exp(0.9 * v["scenario.levels.theme_size_shift"])
        cap = v["policy.rules.theme.gift_cap_yuan"]
        return {
            "donation_count": count,
            "public_donations_yuan": public,
            "theme_day_donation_count": theme,
            "theme_day_public_yuan": theme_yuan,
            "flowers_earned": count * (1 + 0.4 * v["scenario.levels.flower_acts"] ** 0.7),
            "theme_day_foundation_match_yuan": min(1.6e8, 1.3e8 * (cap / 100) ** 0.5),
        }

    for _ in range(12):
        if f.done:
            break
        f.update(model(f.values), tol=0.005)
    assert f.done
    assert all(abs(e) < 0.005 for e in f.history[-1]["errors"].values())
    assert len(f.history) <= 8


def test_a_fit_writes_config_that_runs_compose_with_its_provenance(conf, tmp_path):
    fits = calibrate(
        [2016],
        seeds=[1],
        workers=2,
        tol=0.02,
        max_rounds=6,
        out=tmp_path / "rounds",
        scale=0.01,
        conf=conf,
    )
    f = fits[2016]
    assert f.done and all(abs(e) < 0.02 for e in f.history[-1]["errors"].values())
    text = (conf / "fit" / "y2016" / "scenario.yaml").read_text()
    assert text.startswith("# @package _global_")
    cfg = compose(2016, 1, {}, conf=str(conf))
    assert cfg.scenario.levels.gifts == pytest.approx(
        f.history[-1]["values"]["scenario.levels.gifts"], rel=1e-5
    )
    prov = cfg.scenario.calibration
    assert prov.seeds == [1] and prov.scale == 0.01 and prov.rounds == len(f.history)
    assert set(prov.targets) == {p.target for p in FITS[2016]}
    assert prov.targets.donation_count.parameter == "scenario.levels.gifts"
    assert not (conf / "fit" / "y2016" / "policy.yaml").exists()  # no rule odds in 2016
    # every round's runs are kept
    assert (tmp_path / "rounds" / "y2016" / "round-01" / "seed-1" / "summary.json").exists()


def test_2019_interpolates_its_gift_level_and_keeps_its_published_odds(conf, tmp_path):
    """2019's gift-size level is interpolated between the 2018 and 2021 fits; no year's
    odds are fitted (the pacing sets them), so 2019 runs its rule's published odds."""
    for year, shift in ((2018, -0.6), (2021, 0.3)):
        d = conf / "fit" / f"y{year}"
        d.mkdir()
        (d / "scenario.yaml").write_text(
            "# @package _global_\n"
            + yaml.safe_dump({"scenario": {"levels": {"gift_size_shift": shift}}})
        )
    calibrate(
        [2019],
        seeds=[1],
        workers=1,
        tol=0.05,
        max_rounds=4,
        out=tmp_path / "r",
        scale=0.003,
        conf=conf,
    )
    cfg = compose(2019, 1, {}, conf=str(conf))
    assert cfg.scenario.levels.gift_size_shift == pytest.approx(-0.6 + 0.9 / 3, abs=1e-6)
    assert cfg.policy.rules["action"].probability == 1.0  # conf/policy/y2019.yaml
    assert "interpolated" in cfg.scenario.calibration
    assert not (conf / "fit" / "y2019" / "policy.yaml").exists()
    assert all(
        not p.key.startswith("policy.") or "theme" in p.key for ps in FITS.values() for p in ps
    )


@pytest.mark.parametrize(
    "args, key",
    [
        (["--scale", "2"], "--scale"),
        (["--tol", "0"], "--tol"),
        (["--max-rounds", "0"], "--max-rounds"),
        (["--years", "2015"], "--years"),
    ],
)
def test_bad_arguments_are_named_before_any_run(args, key, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2 and key in capsys.readouterr().err


def test_a_year_with_a_wide_seed_spread_is_fitted_on_ten_seeds():
    """2017's enterprise match spreads 8.5% over seeds: a mean of two is good to 6%, more
    than the 5% the report allows a fitted figure, so 2017 is fitted on seeds 1-10."""
    assert year_seeds(2017, None) == list(range(1, 11))
    assert year_seeds(2016, None) == [1, 2] and year_seeds(2021, None) == [1, 2]
    assert year_seeds(2017, [3]) == [3]  # --seeds says for every year


def test_the_round_written_is_the_one_closest_to_the_figures(conf):
    """Where the parameters move each other's figures the secant can end farther off than
    it was: the fit keeps the round simulated closest (the smallest worst error)."""
    values = {"scenario.levels.gifts": 1.0, "scenario.levels.gift_size_shift": 0.0}
    f = YearFit(2016, values, str(conf))
    rep = f.reported
    for count, public in ((1.03, 0.99), (1.002, 1.004), (0.97, 1.02)):
        f.update(
            {
                "donation_count": rep["donation_count"] * count,
                "public_donations_yuan": rep["public_donations_yuan"] * public,
            },
            tol=0.001,
        )
    assert f.best() is f.history[1]
    write_fit(f, [1], 0.001, 1.0, conf)
    prov = compose(2016, 1, {}, conf=str(conf)).scenario.calibration
    assert prov.rounds == 3 and prov.round_written == 2
    assert prov.targets.donation_count.error == pytest.approx(0.002)
