"""The optional per-gift ledger: every gift with its match, as drawn and settled.

At full scale this is 6870万 rows, so it is off by default and written in chunks to parquet
(``output.record_gifts=true``); tests keep it in memory to replay through the reference
engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GIFT_COLUMNS = ("t", "donor", "project", "amount", "helpee", "u1", "u2", "u3")
RESULT_COLUMNS = ("foundation_match", "enterprise_match", "enterprise_pool")


class MemoryRecorder:
    """Keeps every minute's non-gift flower events, gifts and results (small runs only)."""

    def __init__(self):
        self.minutes: list[tuple[int, dict, dict, dict]] = []

    def add(self, minute: int, flower_events: dict, gifts: dict, results: dict) -> None:
        self.minutes.append((minute, {k: v.copy() for k, v in flower_events.items()},
                             {k: v.copy() for k, v in gifts.items()},
                             {k: results[k].copy() for k in RESULT_COLUMNS}))

    def column(self, name: str) -> np.ndarray:
        """One column over the whole run, gifts in settlement order."""
        src = 2 if name in GIFT_COLUMNS else 3
        return np.concatenate([m[src][name] for m in self.minutes])

    def close(self, ok: bool) -> None:
        pass


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

    def add(self, minute: int, flower_events: dict, gifts: dict, results: dict) -> None:
        if gifts["t"].shape[0] == 0:
            return
        self.buffer.append({**{k: gifts[k] for k in GIFT_COLUMNS if not k.startswith("u")},
                            **{k: results[k] for k in RESULT_COLUMNS}})
        self.rows += gifts["t"].shape[0]
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
