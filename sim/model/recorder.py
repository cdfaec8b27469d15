"""Taps on the gift stream: what every settled minute drew and paid, for those who want it.

A campaign given a recorder calls ``recorder.add(minute, flower_events, gifts, settled)``
after each minute and ``recorder.close(ok)`` never (the caller does). :class:`MemoryRecorder`
keeps everything in memory (small runs; the reference engine replays it);
:class:`sim.outputs.gift_ledger.ParquetRecorder` writes the per-gift ledger to a file.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from sim.model.gifts import FlowerEvents, Gifts
from sim.model.settlement import Settled

GIFT_COLUMNS = Gifts._fields
RESULT_COLUMNS = ("foundation_match", "enterprise_match", "enterprise_pool")


class Recorder(Protocol):
    def add(
        self, minute: int, flower_events: FlowerEvents, gifts: Gifts, settled: Settled
    ) -> None: ...


class MemoryRecorder:
    """Keeps every minute's non-gift flower events, gifts and results (small runs only),
    as dicts of arrays by column name."""

    def __init__(self):
        self.minutes: list[tuple[int, dict, dict, dict]] = []

    def add(self, minute: int, flower_events: FlowerEvents, gifts: Gifts, settled: Settled) -> None:
        res = settled._asdict()
        self.minutes.append(
            (
                minute,
                {k: v.copy() for k, v in flower_events._asdict().items()},
                {k: v.copy() for k, v in gifts._asdict().items()},
                {k: res[k].copy() for k in RESULT_COLUMNS},
            )
        )

    def column(self, name: str) -> np.ndarray:
        """One column over the whole run, gifts in settlement order."""
        gift = name in GIFT_COLUMNS
        return np.concatenate([(m[2] if gift else m[3])[name] for m in self.minutes])

    def close(self, ok: bool) -> None:
        pass
