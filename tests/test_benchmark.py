"""The benchmark script runs and writes its table, figure and verdicts (times are measured,
never asserted)."""

from __future__ import annotations

import pandas as pd

from benchmarks.benchmark import main, verdicts


def test_the_benchmark_writes_its_table_and_figure(tmp_path):
    main(["--scales", "0.0005", "0.001", "--no-reference", "--out", str(tmp_path)])
    df = pd.read_csv(tmp_path / "benchmark.csv")
    assert list(df.case) == ["engine", "engine", "floor"]
    assert (df.gifts > 0).all() and (df.peak_gib > 0).all()
    assert df.loc[2, "gifts"] == df.loc[1, "gifts"]  # the floor draws the run's gifts
    v = verdicts(df)
    assert {"floor_multiple", "peak_gib", "engine_ns_per_gift"} <= set(v)
    text = (tmp_path / "benchmark.md").read_text(encoding="utf-8")
    assert "the floor" in text and "GiB" in text
    assert (tmp_path / "benchmark.png").stat().st_size > 0
