"""Write the golden baselines again: ``python -m uv run python -m tests.golden [case ...]``.

Do this only on purpose, when a change is meant to move the numbers; say in CHANGELOG.md
which numbers moved and why. With case names, only those cases are written again."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.golden import BASELINES, CASES, fingerprint


def main(argv: list[str]) -> int:
    unknown = [c for c in argv if c not in CASES]
    if unknown:
        print(f"error: unknown case(s) {unknown}; cases: {sorted(CASES)}", file=sys.stderr)
        return 2
    old = json.loads(BASELINES.read_text(encoding="utf-8")) if BASELINES.exists() else {}
    new = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, overrides in CASES.items():
            if argv and name not in argv and name in old:
                new[name] = old[name]
                continue
            new[name] = fingerprint(overrides, Path(tmp) / name)
            moved = (
                "new" if name not in old else ("unchanged" if old[name] == new[name] else "CHANGED")
            )
            print(f"{name:32s} {moved}")
    BASELINES.write_text(json.dumps(new, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {BASELINES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
