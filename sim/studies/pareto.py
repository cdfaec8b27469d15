"""The planner's Pareto search over a policy's parameters (issue 18).

``experiment=pareto`` searches the parameters of a matching rule (its ratio or odds, its caps
a gift, a donor-day and a project, the number of tranches) for the runs that no other run
beats on every aim at once: money raised, new money (the lift), donors matched, equality
across organisations, and the Foundation match that gaming takes. It is a Hydra sweeper
(``hydra.sweeper.pareto`` of the checked sweeper, :mod:`hydra_plugins.giving_day_sweeper`) driving Optuna's
multi-objective NSGA-II; its search space is written in Hydra's sweep grammar, as for Hydra's
own Optuna sweeper (``interval(0.25, 2)``, ``tag(log, interval(1, 999))``, ``choice(a, b)``,
``range(1, 7)``). Hydra's Optuna sweeper itself is not used: its last release
(hydra-optuna-sweeper 1.3.0) requires ``optuna<3``, whose storage does not work with
SQLAlchemy 2, and its sampler configs do not construct under Optuna 4.

What this module does for the sweeper, each part tested on its own:

- :func:`space_from`: the sweep grammar as Optuna distributions (and the fixed overrides);
- :func:`trial_overrides`: a trial's values as the overrides of its run, in a folder of its
  own (``trial_0007``), so every point of the front is a run that can be opened and rerun;
- :func:`sampler_for`: the sampler of a trial, seeded by the search's seed and the trial's
  number, and every generation asked whole before any of it runs, so the trials do not
  depend on how many workers run them nor on where a search was killed and resumed;
- :func:`non_dominated`, :func:`knee`: the front and its knee (the point nearest the best of
  every aim, each aim scaled to the front's range);
- :func:`write_front`: ``trials.csv`` (every trial), ``front.csv`` / ``front.md`` (the front
  in 亿 / 万 and percentages, its knee against 2021's rules run at the same seed and scale)
  and ``front.png``.

The study lives in ``study.journal`` in the sweep directory (Optuna's journal storage: a
plain file, safe for a killed process). Run again, the same command finishes the trials that
were running when it was killed (with their stored values, in their own folders: a run that
had finished is found complete and not run again) and goes on to ``n_trials``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim import command
from sim.studies.sweeps import need_folder

log = logging.getLogger("sim")

DIRECTIONS = ("maximize", "minimize")
STUDY_NAME = "pareto"
JOURNAL = "study.journal"
REFERENCE_DIR = "reference"


def trial_dir(number: int) -> str:
    return f"trial_{number:04d}"


def space_from(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The search space of ``params`` (key -> Hydra sweep text) as Optuna distributions,
    and the overrides that are plain values (fixed for every trial). A sweep this search
    cannot express is an error naming its key."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import (
        ChoiceSweep,
        IntervalSweep,
        RangeSweep,
        Transformer,
    )
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    parser = OverridesParser.create()
    space: dict[str, Any] = {}
    fixed: list[str] = []
    for key, text in params.items():
        try:
            ov = parser.parse_override(f"{key}={text}")
        except Exception as exc:
            raise ValueError(f"pareto search space {key}={text!r}: {exc}") from None
        if not ov.is_sweep_override():
            fixed.append(f"{key}={ov.get_value_element_as_str()}")
            continue
        v = ov.value()
        if isinstance(v, ChoiceSweep) or (isinstance(v, RangeSweep) and v.shuffle):
            choices = list(ov.sweep_iterator(transformer=Transformer.encode))
            bad = [c for c in choices if not isinstance(c, str | int | float | bool | type(None))]
            if bad:
                raise ValueError(f"pareto search space {key}: choices must be plain values: {bad}")
            space[key] = CategoricalDistribution(choices)  # type: ignore[arg-type]
        elif isinstance(v, RangeSweep):
            if v.start is None or v.stop is None:
                raise ValueError(f"pareto search space {key}: a range needs a start and a stop")
            start, stop, step = v.start, v.stop, v.step
            if not step > 0 or not stop > start:
                raise ValueError(f"pareto search space {key}: range needs start < stop, step > 0")
            if any(isinstance(x, float) for x in (start, stop, step)):
                last = round(start + step * (math.ceil((stop - start) / step - 1e-9) - 1), 12)
                space[key] = FloatDistribution(start, last, step=step)
            else:  # range(a, b) stops before b, as Python's
                space[key] = IntDistribution(int(start), int(stop) - 1, step=int(step))
        elif isinstance(v, IntervalSweep):
            log_scale = "log" in v.tags
            if v.start is None or v.end is None:
                raise ValueError(f"pareto search space {key}: an interval needs two ends")
            if not v.start < v.end:
                raise ValueError(f"pareto search space {key}: interval {v.start}..{v.end} is empty")
            if isinstance(v.start, int) and isinstance(v.end, int):
                space[key] = IntDistribution(v.start, v.end, log=log_scale)
            else:
                space[key] = FloatDistribution(float(v.start), float(v.end), log=log_scale)
        else:
            raise ValueError(
                f"pareto search space {key}={text!r}: allowed are interval(...), "
                "tag(log, interval(...)), choice(...) and range(...)"
            )
    return space, fixed


def is_sweep(override: str) -> bool:
    """Whether a command-line override is a sweep (``key=interval(1, 2)``, ``key=a,b``)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_override(override).is_sweep_override()


def corner(space: Mapping[str, Any], end: int) -> dict[str, Any]:
    """A point of the space at one end of every range (``end`` 0: every low and first choice;
    1: every high and last choice): the two points whose configs are checked before any
    trial runs."""
    out = {}
    for key, dist in space.items():
        if hasattr(dist, "choices"):
            out[key] = dist.choices[-1 if end else 0]
        else:
            out[key] = dist.high if end else dist.low
    return out


def check_points(space: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The points of the space whose configs are checked before any trial runs: both
    corners (:func:`corner`), then as many points as the longest list of choices, the
    ``i``-th taking each choice list's ``i``-th value (cyclically) and each range's low end
    or high end in turn, so that every choice is checked (a bad value among the middle
    choices stopped only the trials that drew it)."""
    points = [corner(space, 0), corner(space, 1)]
    longest = max([0, *(len(d.choices) for d in space.values() if hasattr(d, "choices"))])
    for i in range(longest):
        point = {
            key: dist.choices[i % len(dist.choices)]
            if hasattr(dist, "choices")
            else (dist.high if i % 2 else dist.low)
            for key, dist in space.items()
        }
        if point not in points:
            points.append(point)
    return points


def conditions_from(when: Mapping[str, str] | None, space: Mapping[str, Any]) -> dict:
    """``when`` (a key of the space -> ``other_key=value``: the key is searched only in the
    trials where the other has that value, as a ratio only for fixed-ratio matching) as
    key -> (other key, value), checked against the space."""
    out = {}
    for key, cond in (when or {}).items():
        other, sep, value = str(cond).partition("=")
        if key not in space or not sep or other not in space or other == key:
            raise ValueError(
                f"pareto: when.{key}={cond!r}: both keys must be in the search space "
                f"({', '.join(space)}) and the condition written other_key=value"
            )
        choices = getattr(space[other], "choices", None)
        if choices is None or value not in {_value_text(c) for c in choices}:
            raise ValueError(
                f"pareto: when.{key}={cond!r}: {other} is not a choice with the value "
                f"{value!r} (its choices: {choices})"
            )
        if list(space).index(other) > list(space).index(key):
            raise ValueError(f"pareto: when.{key}: {other} must come before {key} in params")
        out[key] = (other, value)
    return out


def suggest(trial: Any, space: Mapping[str, Any], conditions: Mapping[str, tuple]) -> dict:
    """Ask ``trial`` for the values of the space in its order, each conditional key only
    where its condition holds; returns the trial's values."""
    values: dict[str, Any] = {}
    for key, dist in space.items():
        if key in conditions:
            other, value = conditions[key]
            if other not in values or _value_text(values[other]) != value:
                continue
        values[key] = trial._suggest(key, dist)
    return values


def _setting_text(x: Any, key: str = "") -> str:
    """A setting as the front's table shows it: 4 significant digits (whole yuan with
    thousands separators for a key in yuan), a dash if the trial's rule does not use it."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        return f"{x:,.0f}" if key.endswith("_yuan") and abs(x) >= 100 else f"{x:.4g}"
    return _value_text(x)


def _value_text(x: Any) -> str:
    if isinstance(x, np.generic):
        x = x.item()
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return repr(x)
    return str(x)


def trial_overrides(number: int, params: Mapping[str, Any], fixed: Sequence[str]) -> list[str]:
    """The overrides of trial ``number``'s run: its values, the fixed ones and its folder."""
    return [
        *(f"{k}={_value_text(v)}" for k, v in params.items()),
        *fixed,
        f"hydra.sweep.subdir={trial_dir(number)}",
    ]


def sampler_for(seed: int, number: int, population_size: int) -> Any:
    """The NSGA-II sampler that asks trial ``number``: seeded by the search's ``seed`` and
    the trial's number, so a trial's values depend only on the trials before its generation
    (which are complete when it is asked) and not on a sampler's history in this process."""
    import optuna

    return optuna.samplers.NSGAIISampler(
        population_size=population_size, seed=(seed * 1_000_003 + number) % 2**32
    )


def check_objectives(objectives: Mapping[str, str]) -> None:
    """Objectives are summary metrics, each to maximize or minimize; else an error naming
    the key and the allowed values."""
    from sim.studies.gather import KEY_METRICS

    if len(objectives) < 2:
        raise ValueError(
            f"pareto objectives: {dict(objectives)}; give at least two metric: direction pairs"
        )
    for m, d in objectives.items():
        if m not in KEY_METRICS:
            raise ValueError(f"pareto objective {m!r}: allowed metrics are {sorted(KEY_METRICS)}")
        if d not in DIRECTIONS:
            raise ValueError(f"pareto objective {m}: direction {d!r}; allowed {list(DIRECTIONS)}")


def non_dominated(values: np.ndarray, maximize: Sequence[bool]) -> np.ndarray:
    """Which rows of ``values`` (trials x objectives) no other row dominates: another row
    dominates a row when it is at least as good on every objective and better on one."""
    v = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0) * np.asarray(values, dtype=float)
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        ge = (v >= v[i]).all(axis=1)
        gt = (v > v[i]).any(axis=1)
        keep[i] = not (ge & gt).any()
    return keep


def knee(values: np.ndarray, maximize: Sequence[bool]) -> int:
    """The row of a front nearest the point that is best on every objective, each objective
    scaled to the front's range (0 its worst, 1 its best)."""
    v = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0) * np.asarray(values, dtype=float)
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = (v - lo) / span
    return int(np.argmin(((1.0 - scaled) ** 2).sum(axis=1)))


def load_study(sweep_dir: Path, directions: Sequence[str] | None = None) -> Any:
    """The search's study in ``sweep_dir`` (created with ``directions`` if it is new)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(Path(sweep_dir) / JOURNAL)))
    if directions is None:
        return optuna.load_study(study_name=STUDY_NAME, storage=storage)
    return optuna.create_study(
        study_name=STUDY_NAME,
        storage=storage,
        directions=list(directions),  # type: ignore[arg-type]
        load_if_exists=True,
    )


def objective_values(run_dir: Path, objectives: Sequence[str]) -> list[float]:
    """A finished run's objective metrics, from its ``summary.json``."""
    m = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))["metrics"]
    out = [float(m[k]) for k in objectives]
    if not all(math.isfinite(x) for x in out):
        raise ValueError(
            f"{run_dir}: an objective is not a number: {dict(zip(objectives, out, strict=True))}"
        )
    return out


def trials_table(study: Any, objectives: Sequence[str]) -> pd.DataFrame:
    """Every trial: number, state, folder, values of the search space and objectives."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row = {"trial": t.number, "state": t.state.name, "run": trial_dir(t.number), **t.params}
        for k, v in zip(objectives, t.values or [np.nan] * len(objectives), strict=True):
            row[k] = v
        rows.append(row)
    return pd.DataFrame(rows)


def front_markdown(
    front: pd.DataFrame,
    objectives: Mapping[str, str],
    knee_row: int,
    reference: dict[str, float] | None,
    scale: float | None,
    n_complete: int,
) -> str:
    """The front as a planner reads it: each point's values (亿 / 万, percentages), its
    settings and folder; the knee, and the knee against 2021's rules."""
    from sim.studies.gather import KEY_METRICS
    from sim.studies.planner import value_text

    names = list(objectives)
    settings = [c for c in front.columns if c not in {"trial", "state", "run", *names}]
    lines = [
        "# The Pareto front of the policy search",
        "",
        f"{len(front)} of {n_complete} complete trials are on the front (no other trial is at "
        "least as good on every aim and better on one)"
        + (f"; every run at scale {scale:g}, one seed (common random numbers)." if scale else "."),
        "Aims: "
        + "; ".join(
            f"{KEY_METRICS[m]} ({'highest' if d == 'maximize' else 'lowest'})"
            for m, d in objectives.items()
        )
        + ".",
        "",
    ]
    k = front.iloc[knee_row]
    lines += [
        f"**Knee** (nearest the best of every aim, each aim scaled to the front's range): "
        f"`{k['run']}`: "
        + ", ".join(
            f"{s}={_setting_text(k[s], s)}" for s in settings if _setting_text(k[s]) != "—"
        ),
        "",
    ]
    if reference:
        lines += ["| aim | knee | 2021's rules | knee − 2021 |", "|---|---:|---:|---:|"]
        for m in names:
            lines.append(
                f"| {KEY_METRICS[m]} | {value_text(m, float(k[m]))} | "
                f"{value_text(m, reference[m])} | "
                f"{value_text(m, float(k[m]) - reference[m], signed=True)} |"
            )
        lines.append("")
    head = ["run", *(s.removeprefix("policy.") for s in settings), *(KEY_METRICS[m] for m in names)]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in front.iterrows():
        cells = [f"`{r['run']}`", *(_setting_text(r[s], s) for s in settings)]
        cells += [value_text(m, float(r[m])) for m in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def front_figure(
    trials: pd.DataFrame,
    front_mask: np.ndarray,
    objectives: Mapping[str, str],
    knee_trial: int,
    reference: dict[str, float] | None,
    path: Path,
) -> None:
    """The first aim against each of the others, every trial grey, the front blue, the knee
    and 2021's rules marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.studies.gather import KEY_METRICS

    names = list(objectives)
    pairs = [(names[0], n) for n in names[1:]]

    def unit(m: str) -> tuple[float, str]:
        if m.endswith("_yuan"):
            return 1e8, "100M yuan"
        if "share" in m:
            return 0.01, "%"
        return 1.0, ""

    fig, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 4.2))
    axes = np.atleast_1d(axes)
    kn = trials[trials.trial == knee_trial]
    for ax, (x, y) in zip(axes, pairs, strict=True):
        (ux, lx), (uy, ly) = unit(x), unit(y)
        ax.scatter(trials[x] / ux, trials[y] / uy, s=10, color="0.75", label="trial")
        fr = trials[front_mask]
        ax.scatter(fr[x] / ux, fr[y] / uy, s=16, color="tab:blue", label="on the front")
        ax.scatter(kn[x] / ux, kn[y] / uy, s=80, marker="*", color="tab:red", label="knee")
        if reference:
            ax.scatter(
                reference[x] / ux,
                reference[y] / uy,
                s=60,
                marker="D",
                color="black",
                label="2021's rules",
            )
        ax.set(xlabel=f"{KEY_METRICS[x]} ({lx})", ylabel=f"{KEY_METRICS[y]} ({ly})")
    axes[0].legend(fontsize=7)
    fig.suptitle("Policy search: every trial, the Pareto front, its knee and 2021's rules")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_front(
    sweep_dir: Path, objectives: Mapping[str, str], figure: bool = True
) -> pd.DataFrame:
    """``trials.csv``, ``front.csv``, ``front.md`` (and ``front.png``) of the search in
    ``sweep_dir``; returns the front."""
    sweep_dir = Path(sweep_dir)
    study = load_study(sweep_dir)
    names = list(objectives)
    trials = trials_table(study, names)
    trials.to_csv(sweep_dir / "trials.csv", index=False)
    done = trials[trials.state == "COMPLETE"].reset_index(drop=True)
    if done.empty:
        raise SystemExit(f"no complete trial in {sweep_dir}")
    maximize = [objectives[m] == "maximize" for m in names]
    mask = non_dominated(done[names].to_numpy(), maximize)
    front = done[mask].sort_values(names[0], ascending=not maximize[0]).reset_index(drop=True)
    k = knee(front[names].to_numpy(), maximize)
    front.assign(knee=front.index == k).to_csv(sweep_dir / "front.csv", index=False)
    reference = None
    if (sweep_dir / REFERENCE_DIR / "summary.json").exists():
        reference = dict(
            zip(names, objective_values(sweep_dir / REFERENCE_DIR, names), strict=True)
        )
    scale = None
    cfg = sweep_dir / trial_dir(int(front.trial.iloc[0])) / "config.yaml"
    if cfg.exists():
        import yaml

        scale = yaml.safe_load(cfg.read_text(encoding="utf-8")).get("scale")
    (sweep_dir / "front.md").write_text(
        front_markdown(front, objectives, k, reference, scale, len(done)), encoding="utf-8"
    )
    if figure:
        front_figure(
            done, mask, objectives, int(front.trial.iloc[k]), reference, sweep_dir / "front.png"
        )
    return front


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write the front of a Pareto search's directory.")
    ap.add_argument("sweep_dir", type=Path)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import yaml

    need_folder(a.sweep_dir, "a Pareto search's folder, experiment=pareto", "multirun.yaml")
    conf = yaml.safe_load((a.sweep_dir / "multirun.yaml").read_text(encoding="utf-8"))
    hydra_conf = (conf or {}).get("hydra") or {}
    pareto = (hydra_conf.get("sweeper") or {}).get("pareto")
    if not pareto:
        raise SystemExit(f"{a.sweep_dir}: not a Pareto search's folder (experiment=pareto)")
    write_front(a.sweep_dir, pareto["objectives"])
    print((a.sweep_dir / "front.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    command(lambda: main(sys.argv[1:]))
