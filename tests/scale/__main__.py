"""Write the full-scale references again: ``python -m uv run python -m tests.scale [case ...]``
(full scale, seeds 1-5 of every case; about 5 minutes on 2 cores). Do it when a change is
meant to move the numbers, in the same commit as the golden baselines (CHANGELOG.md)."""

from __future__ import annotations

import json
import math
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from tests.scale import CASES, REFERENCE, SEEDS, figures


def _one(args):
    name, seed, tmp = args
    return name, seed, figures(CASES[name], 1.0, seed, Path(tmp) / f"{name}-{seed}")


def main(argv: list[str]) -> int:
    unknown = [c for c in argv if c not in CASES]
    if unknown:
        print(f"error: unknown case(s) {unknown}; cases: {sorted(CASES)}", file=sys.stderr)
        return 2
    old = json.loads(REFERENCE.read_text(encoding="utf-8")) if REFERENCE.exists() else {}
    names = [n for n in CASES if not argv or n in argv]
    runs: dict[str, dict[int, dict]] = {n: {} for n in names}
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(2) as ex:
        for name, seed, figs in ex.map(_one, [(n, s, tmp) for n in names for s in SEEDS]):
            runs[name][seed] = figs
            print(f"{name} seed {seed}: {figs}", flush=True)
    new = dict(old)
    for name in names:
        keys = runs[name][SEEDS[0]].keys()
        case = {}
        for k in keys:
            xs = [runs[name][s][k] for s in SEEDS]
            ok = [x for x in xs if not math.isnan(x)]
            case[k] = {
                "mean": float(np.mean(ok)) if ok else None,
                "sd": float(np.std(ok, ddof=1)) if len(ok) > 1 else 0.0,
                "seeds": [None if math.isnan(x) else x for x in xs],
            }
        new[name] = {"overrides": CASES[name], "scale": 1.0, "figures": case}
    REFERENCE.write_text(json.dumps(new, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
