"""``python -m sim``: the Hydra app (see :mod:`sim.app`).

The cyclic collector is kept out of the command's start and end, which make and drop
objects that are never cyclic garbage: it is off while the imports make about a million
objects (each of its passes over them cost, together, 0.1-0.2 s), and what exists then,
and again when the command ends, is frozen (:func:`gc.freeze`), so that neither later
collections nor the last one at the interpreter's exit go over it again (0.1-0.3 s).
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
