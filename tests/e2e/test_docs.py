"""The docs cannot rot: every command in the README's and docs/' bash blocks runs, at a tiny
scale, as a user would type it (in a fresh folder, so what it writes under ``outputs/`` is
its own), and the README's tree is the real tree.

A command is made tiny by :func:`tiny`: ``scale`` is set to :data:`SCALE`, sweeps over many
policies, scenarios or seeds keep a few of them and run one job after another (the joblib
launcher's equivalence is tested in ``test_sweeps.py``), studies get their smallest options.
Those that still run more than three campaigns are marked slow; a command this file does not
know fails the test, so a new example in the docs is one this file is taught to run. Single
runs are composed and run in this process, as the app would; the README's first command and
every sweep and study go through the command line."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.runner import run
from tests.conftest import compose_cfg

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SCALE = "0.002"
UV = ("python -m pip install uv && ", "python -m uv run --locked ", "python -m uv run ")
README_TEST_COMMAND = "python -m uv run --locked pytest"


def commands(path: Path) -> list[str]:
    """The commands of a page's bash blocks, comments and the uv prefix taken off."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _strip_uv(cmd: str) -> tuple[str, list[str]]:
    """The command without ``pip install uv && uv run [--locked] [--extra X]``, and the
    extras it asks for."""
    for prefix in UV:
        cmd = cmd.removeprefix(prefix)
    extras = re.findall(r"--extra (\w+) ", cmd)
    cmd = re.sub(r"--extra \w+ ", "", cmd)
    return cmd, extras


def _with(args: list[str], **values: str) -> list[str]:
    """``args`` with ``key=value`` overrides set: replaced where the command has the key."""
    out = [a for a in args if a.split("=")[0] not in values]
    return out + [f"{k}={v}" for k, v in values.items()]


def tiny(cmd: str, tmp: Path, plan: bool = False) -> tuple[list[str] | None, bool, str]:
    """(argv to run, or None to check only; whether it is slow; why not run). ``plan``:
    only the classification is wanted (nothing is prepared in ``tmp``)."""
    cmd, extras = _strip_uv(cmd)
    for extra in extras:
        if extra == "slurm":
            return None, False, "needs a SLURM cluster"
        if extra == "ray" and not plan:
            pytest.importorskip("ray", reason="the ray extra is not installed")
    args = shlex.split(cmd)
    if args[:3] == ["python", "-m", "sim"]:
        rest = _with(args[3:], scale=SCALE, **{"output.progress": "false"})
        if "output.figures=true" not in rest:
            rest = _with(rest, **{"output.figures": "false"})
        runs = 1
        if "-m" in rest:
            if "experiment=policy_sweep" in rest and not any(a.startswith("policy=") for a in rest):
                rest.append("policy=none,y2021")
            if "experiment=ensemble" in rest:
                if not any(a.startswith("policy=") for a in rest):
                    rest.append("policy=none,y2021")
                rest.append("hydra.sweeper.draws=2")
            if "experiment=pareto" in rest:
                rest += [
                    "hydra.sweeper.pareto.n_trials=2",
                    "hydra.sweeper.pareto.population_size=2",
                ]
            if "experiment=reproduce" in rest:
                rest += ["scenario=y2016,y2021"]
            if not any(a.startswith("seed=") for a in rest) or "experiment=reproduce" in rest:
                rest = _with(rest, seed="1")
            runs = 1
            for a in rest:
                if "=" in a and "," in a and not a.startswith("hydra"):
                    runs *= len(a.split("=", 1)[1].split(","))
            # one job after another in one process: a joblib pool's start-up (its workers
            # import the package) would cost more than the tiny jobs
            rest = [a for a in rest if a != "hydra/launcher=joblib"]
            if not any(a.startswith("hydra/launcher=") for a in rest):
                rest.append("hydra/launcher=basic")
        return [sys.executable, "-m", "sim", *rest], runs > 3, ""
    if args[:3] == ["python", "-m", "sim.studies.gather"]:
        return [sys.executable, *args[1:], "--no-figures"], False, ""
    if args[:3] == ["python", "-m", "sim.studies.planner"]:
        return [sys.executable, *args[1:], "--no-figures"], False, ""
    if args[:3] == ["python", "-m", "sim.studies.pareto"]:
        return [sys.executable, *args[1:]], False, ""
    if args[:3] == ["python", "-m", "sim.studies.reproduction"]:
        extra = [] if "--gather-only" in args else [f"scale={SCALE}", "--seeds", "1"]
        return [sys.executable, *args[1:], *extra, "hydra/launcher=basic"], True, ""
    if args[:3] == ["python", "-m", "sim.studies.calibrate"]:
        conf = tmp / "conf"
        if not plan and not conf.exists():
            shutil.copytree(ROOT / "conf", conf)
        return (
            [
                sys.executable,
                *args[1:],
                "--scale",
                SCALE,
                "--years",
                "2016",
                "--seeds",
                "1",
                "--max-rounds",
                "1",
                "--tol",
                "0.9",
                "--workers",
                "1",
                "--conf",
                str(conf),
                "--out",
                str(tmp / "calibration"),
            ],
            False,
            "",
        )
    if args[:2] == ["python", "benchmarks/benchmark.py"]:
        return (
            [
                sys.executable,
                str(ROOT / "benchmarks" / "benchmark.py"),
                *args[2:],
                "--scales",
                "0.0005",
                "--no-reference",
                "--repeat",
                "1",
                "--sweep-scale",
                SCALE,
                "--out",
                str(tmp / "bench"),
            ],
            True,
            "",
        )
    if args[0] == "make":
        return None, False, "a Makefile target"
    if args[0] == "pytest":
        return None, False, "the test suite itself"
    raise AssertionError(f"a documented command this test does not know how to run: {cmd}")


def _cases():
    for page in DOCS:
        for i, cmd in enumerate(commands(page)):
            slow = tiny(cmd, Path("/nonexistent"), plan=True)[1]
            yield pytest.param(
                page, i, cmd, id=f"{page.stem}-{i}", marks=[pytest.mark.slow] if slow else []
            )


def test_the_docs_have_commands():
    assert sum(len(commands(p)) for p in DOCS) >= 20


@pytest.mark.parametrize("page, i, cmd", list(_cases()))
def test_each_documented_command_runs(page, i, cmd, tmp_path_factory):
    # a page's commands share one folder, in order (a gather reads the sweep before it)
    tmp = tmp_path_factory.getbasetemp() / f"docs-{page.stem}"
    tmp.mkdir(exist_ok=True)
    argv, _, why = tiny(cmd, tmp)
    if argv is None:
        stripped = _strip_uv(cmd)[0]
        if stripped.startswith("make "):
            target = stripped.split()[1]
            assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M), target
        elif stripped.startswith("pytest"):
            assert README_TEST_COMMAND in (ROOT / ".ci" / "run").read_text()
        else:
            assert (ROOT / "conf" / "local.template" / "slurm.yaml").exists(), why
        return
    in_process = not any(a.startswith("--") for a in argv[3:])  # --help, --cfg: the CLI's
    if argv[1:3] == ["-m", "sim"] and "-m" not in argv[3:] and i > 0 and in_process:
        # a single run: composed and run here, as the app would (the README's first
        # command, and every sweep, go through the command line itself)
        summary = run(compose_cfg(*argv[3:]), tmp / f"run-{i}")
        assert summary.get("check") == "ok" or summary["donation_count"] > 0
        return
    r = subprocess.run(argv, cwd=tmp, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{' '.join(argv)}\n{r.stderr[-3000:]}"


def readme_tree() -> set[str]:
    """The paths the README's tree names: on each line, the names before its description
    (files ``*.py``, folders ``name/``), nested by indentation."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = text.split("## The project", 1)[1].split("```", 2)[1]
    listed: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, folder) of the folders above this line
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip())
        names = []
        for token in line.split():
            if not (token.endswith("/") or token.endswith(".py")):
                break
            names.append(token)
        if not names:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        for name in names:
            listed.add(parent + name.rstrip("/"))
        if len(names) == 1 and names[0].endswith("/"):
            stack.append((indent, parent + names[0]))
    return listed


def test_the_readme_tree_is_the_real_tree():
    listed = readme_tree()
    for path in listed:
        assert (ROOT / path).exists(), f"the README's tree names {path}, which is not there"
    real = {
        str(p.relative_to(ROOT)) for p in (ROOT / "sim").rglob("*.py") if p.name != "__init__.py"
    }
    real |= {
        str(p.relative_to(ROOT))
        for p in ROOT.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name != "outputs"
    }
    real |= {
        str(p.relative_to(ROOT))
        for p in (ROOT / "sim").iterdir()
        if p.is_dir() and p.name != "__pycache__"
    }
    assert real <= listed, f"not in the README's tree: {sorted(real - listed)}"
