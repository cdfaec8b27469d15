"""``python -m sim``: the Hydra app (see :mod:`sim.app`), run by :func:`sim.command`;
the cyclic collector is also off while the imports run (they make no cyclic garbage)."""

import gc

if __name__ == "__main__":
    gc.disable()
    from sim import command
    from sim.app import main

    gc.enable()
    command(main)
