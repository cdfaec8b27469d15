"""The model's random streams: one for each part of the build and one for each minute's
gaming gifts (a minute's own gifts and flower events draw counter-based numbers instead,
:mod:`sim.model.arrivals`; its ``"minute"`` stream is the benchmark floor's).

``SeedSequence(seed, spawn_key=(part, *key))``: a change in one minute or one part does not
shift the draws of any other, so policies compared at one seed share their random numbers
(common random numbers), and a part drawn on another thread draws the same numbers.
"""

from __future__ import annotations

import numpy as np

STREAMS = {"projects": 1, "donors": 2, "enterprises": 3, "minute": 4, "gaming": 5}


def stream(seed: int, name: str, *key: int) -> np.random.Generator:
    """The random stream of one part of the model (``name``: a key of :data:`STREAMS`;
    ``key``: e.g. the minute)."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(STREAMS[name], *key)))
    )
