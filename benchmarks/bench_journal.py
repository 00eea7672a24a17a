"""The journal's storage, measured: JSON Lines (what ``flowdeck batch`` keeps) against the stdlib's
``sqlite3``, for a batch of N finished rows.

For each store: writing every row's outcome as a batch does (one durable record per row, in the OS
before the next start), then what a rerun needs of it (which rows are finished, the outcomes
counted), with its traced peak memory. The JSON Lines figures are the journal's own code
(``Journal.result``, ``Journal.finish``, ``Journal.peek``); the sqlite figures a table keyed by row
with the same columns, committed per row in WAL mode with ``synchronous=NORMAL`` (what survives
``kill -9``, as a flushed line does), and the rerun's marks read by one query.

    PYTHONPATH=. python -m benchmarks.bench_journal --rows 1000000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowdeck._batch import Journal, left_marks

REF = "databar:flow/enrich-company"


def _result(n: int) -> dict[str, Any]:
    return {"row": n, "input": {"domain": f"company{n}.com"}, "workflow": REF, "provider": "databar",
            "run_id": f"task-{n // 500}", "status": "SUCCEEDED", "provider_status": "completed",
            "outputs": {"domain": f"company{n}.com", "employees": n % 5000}, "error": None, "error_type": None,
            "url": None, "bulk": {"task_id": f"task-{n // 500}", "index": n % 500}}  # fmt: skip


def _timed(step: Callable[[], Any]) -> tuple[float, float, Any]:
    """Seconds, traced peak (MB) and value of ``step``."""
    tracemalloc.start()
    began = time.perf_counter()
    try:
        value = step()
        return time.perf_counter() - began, tracemalloc.get_traced_memory()[1] / 1e6, value
    finally:
        tracemalloc.stop()


def jsonl(folder: Path, rows: int) -> dict[str, float]:
    out = folder / "out.jsonl"

    def write() -> None:
        journal = Journal(out)
        journal.load("bench")
        for n in range(1, rows + 1):
            journal.result(_result(n))
        journal.finish()
        journal.close()

    write_s = time.perf_counter()
    write()
    write_s = time.perf_counter() - write_s

    def rerun() -> int:
        earlier = Journal(out).peek("bench")
        done = left_marks(earlier)
        return done.count(1)

    rerun_s, rerun_mb, done = _timed(rerun)
    assert done == rows, done
    return {"write_s": round(write_s, 1), "rerun_s": round(rerun_s, 2), "rerun_peak_mb": round(rerun_mb, 1)}


def sqlite(folder: Path, rows: int) -> dict[str, float]:
    path = folder / "journal.sqlite"
    keys = ("status", "provider", "workflow", "error_type", "error")

    def write() -> None:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE results (row INTEGER PRIMARY KEY, status TEXT, provider TEXT, workflow TEXT, "
                   "error_type TEXT, error TEXT, record TEXT)")  # fmt: skip
        for n in range(1, rows + 1):
            result = _result(n)
            db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (n, *(result[k] for k in keys), json.dumps(result)))  # fmt: skip
        db.close()

    write_s = time.perf_counter()
    write()
    write_s = time.perf_counter() - write_s

    def rerun() -> int:
        db = sqlite3.connect(path)
        top = db.execute("SELECT max(row) FROM results").fetchone()[0]
        done = bytearray(top + 1)
        for (n,) in db.execute("SELECT row FROM results WHERE status NOT IN ('NOT_STARTED', 'TIMEOUT', "
                               "'POLL_ERROR', 'UNKNOWN', 'REJECTED', 'FAILED')"):  # fmt: skip
            done[n] = 1
        db.execute("SELECT status, provider, count(*) FROM results GROUP BY status, provider").fetchall()
        db.close()
        return done.count(1)

    rerun_s, rerun_mb, done = _timed(rerun)
    assert done == rows, done
    return {"write_s": round(write_s, 1), "rerun_s": round(rerun_s, 2), "rerun_peak_mb": round(rerun_mb, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flowdeck-bench-journal-") as folder:
        figures = {"rows": args.rows, "jsonl": jsonl(Path(folder), args.rows),
                   "sqlite": sqlite(Path(folder), args.rows)}  # fmt: skip
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
