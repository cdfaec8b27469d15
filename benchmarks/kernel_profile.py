"""A campaign run whose compiled kernels the ``perf`` profiler can name.

    perf record -F 999 -o /tmp/perf.data -- \\
        python -m uv run python benchmarks/kernel_profile.py --scale 1.0 --threads 1
    perf report -i /tmp/perf.data --no-children --sort sym

numba's kernels are machine code in memory that ``perf`` sees as ``[JIT] 0x7f...``: the
kernels loaded from numba's cache are not announced to it. After the campaign this script
writes ``/tmp/perf-<pid>.map`` (the format ``perf report`` reads for JIT code: start, size and
name, one function a line), from every compiled function of every numba dispatcher in the
process: a function spans from its start to the next one's, at most 1 MiB and never past
the memory mapping it starts in (``/proc/self/maps``). The helpers
inlined into a kernel are counted in it. ``--dump NAME`` also writes the kernel's machine
code beside the map, ``/tmp/perf-<pid>-NAME.bin`` (``objdump -D -b binary -m i386:x86-64``),
to read the samples of ``perf script -F ip`` against its instructions.

docs/performance.md gives a profile made this way.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_SPAN = 1 << 20  # a function's code is taken to end at the next one, or 1 MiB on


def compiled_functions() -> dict[int, str]:
    """The start address of every compiled function of the process's numba dispatchers,
    named by its Python function (its own entry) or by its LLVM name (the others of its
    library)."""
    from numba.core.dispatcher import Dispatcher

    found: dict[int, str] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, Dispatcher):
            continue
        for cres in obj.overloads.values():
            lib, entry = cres.library, cres.fndesc.llvm_func_name
            names = [entry]
            try:  # a library compiled in this process also lists its other functions
                names += [f.name for f in lib._final_module.functions if not f.is_declaration]
            except Exception:  # loaded from numba's cache: its entry only
                pass
            for name in names:
                try:
                    addr = lib.get_pointer_to_function(name)
                except Exception:
                    continue
                if addr:
                    found[addr] = obj.py_func.__name__ if name == entry else name[:120]
    return found


def mapping_ends() -> list[tuple[int, int]]:
    """The (start, end) of this process's memory mappings (``/proc/self/maps``)."""
    out = []
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        lo, hi = line.split(" ", 1)[0].split("-")
        out.append((int(lo, 16), int(hi, 16)))
    return out


def write_perf_map(
    path: Path, functions: dict[int, str], mappings: list[tuple[int, int]] | None = None
) -> list[tuple[int, int, str]]:
    """Write ``functions`` (start -> name) as a perf map: each spans to the next start, at
    most :data:`MAX_SPAN` and never past the end of the memory mapping it starts in (of
    ``mappings``, (start, end) pairs; none: no such bound). Returns the (start, size,
    name) rows written, by start."""
    starts = sorted(functions)
    rows = []
    for i, a in enumerate(starts):
        nxt = starts[i + 1] if i + 1 < len(starts) else a + MAX_SPAN
        end = min(nxt, a + MAX_SPAN)
        for lo, hi in mappings or ():
            if lo <= a < hi:
                end = min(end, hi)
        rows.append((a, end - a, functions[a]))
    path.write_text("".join(f"{a:x} {s:x} {n}\n" for a, s, n in rows), encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--threads", type=int, choices=(1, 2), default=1)
    ap.add_argument("--dump", action="append", default=[], help="a kernel's code to a file")
    ap.add_argument("--map", type=Path, help="the map's path (default /tmp/perf-<pid>.map)")
    args = ap.parse_args(argv)
    where = args.map or Path(f"/tmp/perf-{os.getpid()}.map")
    sys.path.insert(0, str(ROOT))
    from benchmarks.benchmark import _config
    from sim.model.campaign import Campaign

    cfg = _config(args.scale)
    t0 = time.perf_counter()
    campaign = Campaign(cfg)
    t1 = time.perf_counter()
    campaign.run(threads=args.threads)
    t2 = time.perf_counter()
    print(f"build {t1 - t0:.2f} s, campaign {t2 - t1:.2f} s ({args.threads} thread(s))")
    rows = write_perf_map(where, compiled_functions(), mapping_ends())
    print(f"{where}: {len(rows)} compiled functions")
    for a, size, name in rows:
        if name in args.dump:
            out = where.with_name(f"{where.stem}-{name}.bin")
            out.write_bytes(ctypes.string_at(a, size))
            print(f"{out}: {name} at {a:#x}, {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
