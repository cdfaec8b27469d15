"""Reproduce every year's reported figures and write the researcher's report.

    python -m uv run python experiments/reproduce.py              # the sweeps, then the report
    python -m uv run python experiments/reproduce.py --gather-only
    python -m uv run python experiments/reproduce.py hydra/launcher=ray   # any Hydra override

Runs ``python -m sim -m experiment=reproduce`` (six scenarios x five seeds, full scale) and
``python -m sim -m experiment=sensitivity`` (2021, seven parameters x 0.8 / 1.2), each
resumable (a finished job is not run again), then writes ``outputs/reproduce/report.md`` with
its tables and figures (:mod:`sim.reproduce`). Extra arguments go to both sweeps.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
from pathlib import Path

from sim.reproduce import write_report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gather-only", action="store_true", help="only write the report")
    ap.add_argument("--no-sensitivity", action="store_true")
    ap.add_argument("--seeds", default=None, help="seeds of the reproduction, e.g. 1,2,3 "
                    "(default: the experiment's 1-5)")
    ap.add_argument("--runs", type=Path, default=Path("outputs/sweeps/reproduce"))
    ap.add_argument("--sensitivity", type=Path, default=Path("outputs/sweeps/sensitivity"))
    ap.add_argument("--out", type=Path, default=Path("outputs/reproduce"))
    args, overrides = ap.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s")
    experiments = ["reproduce"] + ([] if args.no_sensitivity else ["sensitivity"])
    if not args.gather_only:
        for exp, d in zip(experiments, (args.runs, args.sensitivity), strict=False):
            cmd = [sys.executable, "-m", "sim", "-m", f"experiment={exp}",
                   f"hydra.sweep.dir={d}", *overrides]
            if exp == "reproduce" and args.seeds:
                cmd.append(f"seed={args.seeds}")
            logging.info("running %s", " ".join(cmd))
            rc = subprocess.run(cmd).returncode
            if rc != 0:
                print(f"error: {' '.join(cmd)} exited with {rc}", file=sys.stderr)
                return rc
    path = write_report(args.runs, None if args.no_sensitivity else args.sensitivity,
                        args.out)
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
