"""A batch's memory by row count: reading, checking and running ten times the rows costs a few bytes a
row more (the compact row store and the journal's indexes), never an object per row."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from pathlib import Path

import flowdeck
from flowdeck._batch import Journal, read_rows, run_batch
from flowdeck._preflight import check

from tests._cli import reap_spawned, spawn  # noqa: F401 - reap_spawned: an autouse fixture

FAST = flowdeck.PollPolicy(initial=0.02, factor=1.5, max_interval=0.2)
REF = "databar:flow/enrich"
# What a row may add: its inputs' text and offset in the row store and a few
# bytes in each index, about fifty; a row kept as an object costs well over a
# hundred more. The bound sits between, clear of the peak's noise.
BYTES_PER_ROW = 100


def _mock() -> dict[str, str]:
    """``flowdeck mock`` in its own process (its memory is not traced here); the variables it exports."""
    proc = spawn(["mock", "--run-seconds", "0.02", "--min-run-seconds", "0"], {})
    assert proc.stdout is not None
    env: dict[str, str] = {}
    while "SUPERAI_PASSWORD" not in env:  # printed last
        line = proc.stdout.readline()
        assert line, "the mock ended before printing its variables"
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
    return env


def _peak(tmp_path: Path, count: int, env: dict[str, str]) -> int:
    """The traced peak over what was live before: reading ``count`` rows, the pre-flight check, the batch, its rerun."""
    source = tmp_path / f"in{count}.jsonl"
    source.write_text("".join(f'{{"domain": "company{n}.com"}}\n' for n in range(count)), encoding="utf-8")
    out = tmp_path / f"out{count}.jsonl"
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(2):  # the rerun reads what the run left, and starts nothing
            # Garbage of the last attempt (a closed loop, pools) is not this attempt's cost.
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            rows = read_rows(source, REF)
            with flowdeck.Client(env=env) as client:
                check(client, rows, Journal(out))
            asyncio.run(_run(rows, out, env))
            del rows
            peaks.append(tracemalloc.get_traced_memory()[1] - base)
        return max(peaks)
    finally:
        tracemalloc.stop()


async def _run(rows: object, out: Path, env: dict[str, str]) -> None:
    async with flowdeck.AsyncClient(env=env, poll_policy=FAST) as client:
        await run_batch(client, rows, Journal(out), bulk=250, concurrency=4)  # type: ignore[arg-type]


def test_memory_flat_in_rows(tmp_path: Path) -> None:
    """Ten times the rows adds a few bytes a row to the traced peak."""
    env = _mock()
    small = _peak(tmp_path, 2_000, env)
    large = _peak(tmp_path, 40_000, env)
    per_row = (large - small) / 38_000
    assert per_row < BYTES_PER_ROW, f"{per_row:.0f} bytes a row ({small} at 2,000 rows, {large} at 40,000)"
