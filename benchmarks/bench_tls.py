"""A realistic network: runs over TLS with a round trip's latency, and what the client does with connections.

The mocks serve HTTPS (``MockProviders(tls=True)``) with every response delayed by the round trip, in a
process of their own (this module's ``__main__``), which reports the connections it accepted, the TLS
handshakes completed on them and the most requests it answered at once. A client that keeps its
connections opens about as many as it has requests in flight, and shakes hands once on each.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import flowdeck

SHORTEST, LONGEST = 1.0, 5.0


@contextmanager
def tls_mocks(latency: float, jitter: float) -> Iterator[tuple[dict[str, str], subprocess.Popen[str]]]:
    """The mocks over TLS in a child process; yields their environment and the child (for its counts)."""
    cmd = [sys.executable, "-m", "benchmarks.bench_tls", "--serve", str(latency), str(jitter)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert proc.stdout is not None and proc.stdin is not None
    try:
        env = json.loads(proc.stdout.readline())
        yield env, proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)


def counts(proc: subprocess.Popen[str]) -> dict[str, int]:
    """The serving child's counts for Databar, the provider the runs use."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("counts\n")
    proc.stdin.flush()
    result: dict[str, int] = json.loads(proc.stdout.readline())
    return result


async def _runs(env: dict[str, str], n: int, rate: float, backend: str, concurrency: int) -> float:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(rate, 1.0)
    started = time.perf_counter()
    async with flowdeck.AsyncClient(
        env=env,
        max_concurrent_requests=concurrency,
        http_backend=backend,  # type: ignore[arg-type]
    ) as client:

        async def one(i: int) -> flowdeck.Run:
            await limiter.acquire()
            run = await client.start("databar:flow/tls", {"row": str(i)})
            return await client.wait(run, timeout=600)

        runs = await asyncio.gather(*(one(i) for i in range(n)))
    assert all(r.succeeded for r in runs)
    return time.perf_counter() - started


def tls_network(
    n: int,
    rate: float,
    latency: float = 0.08,
    jitter: float = 0.01,
    backends: tuple[str, ...] = ("httpcore", "aiohttp"),
    concurrency: int = 200,
) -> dict[str, Any]:
    """``n`` runs of SHORTEST-LONGEST seconds started at ``rate`` a second over TLS ``latency`` away, on each backend.

    Per backend: wall time against the ideal (n / rate + the longest run), the connections the mocks
    accepted against the most requests they answered at once, and handshakes per connection.
    """
    ideal = n / rate + LONGEST
    result: dict[str, Any] = {"runs": n, "start_rate_per_s": rate, "latency_s": latency, "jitter_s": jitter,
                              "max_concurrent_requests": concurrency, "ideal_s": round(ideal, 1)}  # fmt: skip
    for backend in backends:
        with tls_mocks(latency, jitter) as (env, proc):
            wall = asyncio.run(_runs(env, n, rate, backend, concurrency))
            seen = counts(proc)
        result[backend] = {
            "wall_s": round(wall, 1), "vs_ideal": round(wall / ideal, 3), **seen,
            "connections_vs_peak": round(seen["connections"] / max(1, seen["peak_in_flight"]), 2),
            "handshakes_per_connection": round(seen["handshakes"] / max(1, seen["connections"]), 3),
        }  # fmt: skip
    return result


def tls_summary(t: dict[str, Any]) -> dict[str, Any]:
    """The headline keys: the default backend's, and aiohttp's ratio (what ``flowdeck batch`` runs on)."""
    main = t["httpcore"]
    out = {
        "tls_10k_vs_ideal": main["vs_ideal"],
        "tls_connections_vs_peak": main["connections_vs_peak"],
        "tls_handshakes_per_connection": main["handshakes_per_connection"],
    }
    if "aiohttp" in t:
        out["tls_10k_vs_ideal_aiohttp"] = t["aiohttp"]["vs_ideal"]
        out["tls_connections_vs_peak_aiohttp"] = t["aiohttp"]["connections_vs_peak"]
    return out


def _serve(latency: float, jitter: float) -> None:
    from flowdeck.testing import Faults, MockConfig, MockProviders

    config = MockConfig(seed=7, run_seconds=(SHORTEST, LONGEST), faults=Faults(latency=latency, jitter=jitter))
    with MockProviders(config, tls=True) as mocks:
        print(json.dumps(mocks.env), flush=True)
        for _ in sys.stdin:  # a line asks for the counts; the end of stdin stops the mocks
            state = mocks.states["databar"]
            seen = {"connections": state.connections, "handshakes": state.handshakes,
                    "peak_in_flight": state.peak_in_flight, "requests": state.delayed}  # fmt: skip
            print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        _serve(float(sys.argv[2]), float(sys.argv[3]))
    else:
        n, rate = (int(sys.argv[1]), float(sys.argv[2])) if len(sys.argv) > 2 else (10_000, 200.0)
        print(json.dumps(tls_network(n, rate), indent=2))
