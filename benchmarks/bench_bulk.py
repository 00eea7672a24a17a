"""``make bench`` (bulk part): HTTP requests per row of a Databar batch, bulk tasks vs one run per row.

The same rows go through ``flowdeck._batch.run_batch`` twice against the mock Databar: once with
``bulk=1`` (a start and its polls per row) and once with the default bulk size (one start and its
polls per task of rows). Every request the client sends is counted at the HTTP layer. Runs take
``--run-seconds`` on the mock (each input of a bulk task its own time); the mock runs in its own
process (``flowdeck mock``), so the client's polling, not a shared GIL, sets the pace. Writes
``bench-results/bulk.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from flowdeck import AsyncClient
from flowdeck._batch import BatchRow, Journal, run_batch

from benchmarks.bench import mock_process

ROOT = Path(__file__).resolve().parent.parent


async def _batch(env: dict[str, str], rows: list[BatchRow], bulk: int | None, work: Path) -> dict[str, Any]:
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    http = httpx.AsyncClient(event_hooks={"request": [count]}, timeout=60.0)
    begun = time.perf_counter()
    async with AsyncClient(env=env, http_client=http) as client:
        summary = await run_batch(client, rows, Journal(work / f"bulk-{bulk}.jsonl"), concurrency=1000, bulk=bulk)
    await http.aclose()
    starts = sum(1 for path in sent if path.endswith(("/run", "/bulk-run")))
    return {
        "rows": len(rows), "requests": len(sent), "starts": starts, "polls": len(sent) - starts,
        "requests_per_row": len(sent) / len(rows), "succeeded": summary.statuses.get("SUCCEEDED", 0),
        "seconds": round(time.perf_counter() - begun, 2), "statuses": dict(summary.statuses),
        "failures": [f"{g.status} x{len(g.rows)}: {g.reason}" for g in summary.failures][:3],
    }  # fmt: skip


def measure(rows: int, run_seconds: tuple[float, float], bulk: int | None = None) -> dict[str, Any]:
    """Requests per row for ``rows`` Databar rows, one run per row and in bulk tasks."""
    batch = [BatchRow(n + 2, "databar:flow/enrich-company", {"domain": f"company{n}.com"}) for n in range(rows)]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="flowdeck-bench-bulk-") as work:
        for name, size in (("one_run_per_row", 1), ("bulk", bulk)):
            with mock_process(*run_seconds) as env:
                results[name] = asyncio.run(_batch(env, batch, size, Path(work)))
    per_row, in_bulk = results["one_run_per_row"], results["bulk"]
    return {
        **results,
        "bulk_size": bulk or "default",
        "run_seconds": list(run_seconds),
        "fewer_requests": round(per_row["requests"] / in_bulk["requests"], 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bulk", type=int, default=None, help="rows per bulk task (default: the provider's)")
    parser.add_argument("--run-seconds", type=float, nargs=2, default=(1.0, 3.0))
    args = parser.parse_args(argv)
    result = measure(args.rows, tuple(args.run_seconds), args.bulk)
    out = ROOT / "bench-results" / "bulk.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    per_row, in_bulk = result["one_run_per_row"], result["bulk"]
    print(f"| {args.rows} Databar rows | requests | per row | starts | polls | seconds |")
    print("|---|---|---|---|---|---|")
    for name, r in (("one run per row (--bulk 1)", per_row), (f"bulk tasks (--bulk {result['bulk_size']})", in_bulk)):
        cells = [r["requests"], f"{r['requests_per_row']:.3f}", r["starts"], r["polls"], r["seconds"]]
        print(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
    print(f"\nbulk sends {result['fewer_requests']}x fewer requests ({out.relative_to(ROOT)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
