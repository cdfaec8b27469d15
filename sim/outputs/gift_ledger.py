"""The optional per-gift ledger: every gift with its match, as drawn and settled.

At full scale this is 6870万 rows, so it is off by default and written in chunks to parquet
(``output.record_gifts=true``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.model.gifts import FlowerEvents, Gifts
from sim.model.recorder import RESULT_COLUMNS
from sim.model.settlement import Settled

# what the file keeps of each gift: its draw without the uniforms, then its settlement
COLUMNS = ("t", "donor", "project", "amount", "helpee")


class ParquetRecorder:
    """Writes gifts to ``path`` in row groups of about ``chunk_rows``; the file takes its
    final name only when the run completes, so a crashed run leaves no whole-looking file."""

    def __init__(self, path: Path, chunk_rows: int = 2_000_000):
        self.path = Path(path)
        self.partial = self.path.with_suffix(".parquet.partial")
        self.chunk_rows = chunk_rows
        self.buffer: list[dict] = []
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None

    def add(self, minute: int, flower_events: FlowerEvents, gifts: Gifts, settled: Settled) -> None:
        if gifts.t.shape[0] == 0:
            return
        res = settled._asdict()
        self.buffer.append(
            {**{k: getattr(gifts, k) for k in COLUMNS}, **{k: res[k] for k in RESULT_COLUMNS}}
        )
        self.rows += gifts.t.shape[0]
        if self.rows >= self.chunk_rows:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        cols = {k: np.concatenate([b[k] for b in self.buffer]) for k in self.buffer[0]}
        table = pa.table(cols)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.partial, table.schema)
        self.writer.write_table(table)
        self.buffer, self.rows = [], 0

    def close(self, ok: bool) -> None:
        self._flush()
        if self.writer is not None:
            self.writer.close()
        if ok and self.partial.exists():
            self.partial.replace(self.path)
