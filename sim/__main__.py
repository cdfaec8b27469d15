"""``python -m sim``: the Hydra app (see :mod:`sim.app`).

The cyclic collector is kept out of the command's start and end: the imports make about
220,000 objects it tracks, never cyclic garbage, yet each collection went over them again (in
Hydra's composition, the build, the tables) and the last one at the interpreter's exit too.
It is off while the imports run; what they made is then frozen (:func:`gc.freeze`: later
collections skip it), the collector turned on for the run, and what is left frozen again
at the end. A tiny run end to end took 3.36 s against 4.14 s (docs/performance.md).
"""

import gc

if __name__ == "__main__":
    gc.disable()
    from sim.app import main

    gc.freeze()
    gc.enable()
    try:
        main()
    finally:
        gc.freeze()
