"""A minute's gifts and flower events as arrays: the layouts the arrivals make, the
settlement reads, and gaming, the post-event windows and the recorders take.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class FlowerEvents(NamedTuple):
    """A minute's acts that earn flowers but are not gifts: the donors who answered a quiz,
    made a step donation, or helped a friend (``helper``, with the friend ``helpee``, who
    is credited)."""

    quiz: np.ndarray
    steps: np.ndarray
    helper: np.ndarray
    helpee: np.ndarray


class Gifts(NamedTuple):
    """A minute's gifts in timestamp order, one entry each, with the uniforms their
    settlement uses."""

    t: np.ndarray  # float64 minute of the campaign (fractions within the minute)
    donor: np.ndarray  # int64 population id
    project: np.ndarray  # int64
    amount: np.ndarray  # int64 fen
    helpee: np.ndarray  # int64 the friend a 1-yuan friend-help gift helps, -1 for none
    u_match: np.ndarray  # float64 whether a random match is won
    u_fraction: np.ndarray  # float64 the size of a random match
    u_bonus: np.ndarray  # float64 a flower bonus or multiple
    u_detect: np.ndarray  # float64 whether the platform flags the gift
    reason: np.ndarray  # int8 why it was made: 0 baseline, 1 shifted, 2 lifted (response)
    team: np.ndarray  # int64 the team (一起捐) leader's index, -1 for none
