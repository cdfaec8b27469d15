"""benchmarks/kernel_profile.py: the perf map names the process's compiled kernels."""

from __future__ import annotations

from benchmarks.kernel_profile import MAX_SPAN, main, write_perf_map


def test_the_map_names_each_kernel_once_from_its_start_to_the_next(tmp_path):
    where = tmp_path / "perf-1.map"
    assert main(["--scale", "0.0005", "--map", str(where), "--dump", "settle_batch"]) == 0
    rows = [line.split(" ", 2) for line in where.read_text(encoding="utf-8").splitlines()]
    starts = [int(a, 16) for a, _, _ in rows]
    sizes = [int(s, 16) for _, s, _ in rows]
    names = {n for _, _, n in rows}
    assert {"settle_batch", "draw_minute_kernel", "batch_rows"} <= names
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert all(0 < s <= MAX_SPAN for s in sizes)
    assert all(a + s <= b for a, s, b in zip(starts, sizes, starts[1:], strict=False))
    code = where.with_name("perf-1-settle_batch.bin").read_bytes()
    assert 0 < len(code) <= MAX_SPAN


def test_a_function_spans_to_the_next_start_at_most_a_mebibyte_within_its_mapping(tmp_path):
    rows = write_perf_map(
        tmp_path / "m", {0x2000: "b", 0x1000: "a", 0x900000: "c"}, [(0x800000, 0x900800)]
    )
    assert rows == [(0x1000, 0x1000, "a"), (0x2000, MAX_SPAN, "b"), (0x900000, 0x800, "c")]
    assert (tmp_path / "m").read_text(encoding="utf-8").splitlines()[0] == "1000 1000 a"
