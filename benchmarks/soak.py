"""Fault soak: many runs over the four mock providers with a share of responses faulty (``fault_rate``).

Checks that every run ends in the state the mock decided, with the outputs it produced (or in a
typed error that says what is known), that no run was started twice, and that no exception other
than flowdeck's escapes. ``python -m benchmarks.soak --runs 10000`` (``make soak``) prints the
report table; the test suite runs it at 2,000. ``--contention 2 --iterations 20`` (``make
soak-contention``) repeats the async soak with busy processes competing for the CPU and one run in
twenty abandoned by its caller mid-request, and fails as soon as no run has finished for
``--stall-after`` seconds, printing where the tasks wait and the pools' state.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import flowdeck
from flowdeck._batch import BatchRow, Journal, run_batch
from flowdeck.testing import Faults, MockConfig, MockProviders

SUPERAI_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
# Each mock's decided outcome, in flowdeck's uniform words.
EXPECTED = {
    "databar": {"succeed": "SUCCEEDED", "fail": "FAILED", "cancel": "CANCELLED"},
    "gumloop": {"succeed": "SUCCEEDED", "fail": "FAILED", "cancel": "CANCELLED"},
    "stackai": {"succeed": "SUCCEEDED", "fail": "FAILED", "cancel": "FAILED"},
    "superai": {"succeed": "SUCCEEDED", "fail": "FAILED", "cancel": "FAILED"},
}


def fate(number: int) -> str:
    """What row ``number`` (1-based) is scripted to do: one in seven fails, one in seven is cancelled.

    Seven, not ten: a period coprime to the four providers gives each provider every fate.
    """
    return "fail" if number % 7 == 3 else "cancel" if number % 7 == 5 else "succeed"


def row(i: int) -> BatchRow:
    """Row ``i``: the four providers in turn, each told its fate by a ``mock_outcome`` input."""
    number, key = i + 1, f"row-{i}"
    scripted = {} if fate(number) == "succeed" else {"mock_outcome": fate(number)}
    ref, inputs = [
        ("databar:flow/soak", {"key": key, **scripted}),
        ("stackai:soak/flow", {"in-0": key, **scripted}),
        ("gumloop:soak", {"key": key, **scripted}),
        (f"superai:{SUPERAI_FLOW}", {"key": key, **scripted}),
    ][i % 4]
    return BatchRow(number, ref, inputs)


def expected_outputs_ok(provider: str, outputs: Any, inputs: dict[str, Any]) -> bool:
    """Do a successful run's outputs match what the mock computes from its inputs?"""
    if provider == "databar":
        return bool(outputs["inputs"] == inputs)
    if provider == "stackai":
        return bool(outputs["out-1"] == len(inputs))
    if provider == "gumloop":
        return bool(outputs["summary"] == f"summary of {sorted(inputs)}")
    return bool(outputs["extract"]["fields"] == sorted(inputs))


@attrs.define
class SoakReport:
    """What a soak did and found."""

    mode: str
    runs: int
    seconds: float = 0.0
    faults: Counter[str] = attrs.field(factory=Counter)
    outcomes: Counter[str] = attrs.field(factory=Counter)
    started_at_mocks: int = 0
    duplicates: int = 0
    wrong: list[str] = attrs.field(factory=list)
    unhandled: list[str] = attrs.field(factory=list)

    @property
    def ok(self) -> bool:
        """No wrong outcome, no duplicate start, no unhandled exception."""
        return not self.wrong and not self.unhandled and self.duplicates == 0


def check(
    report: SoakReport, mocks: MockProviders, r: BatchRow, run: flowdeck.Run | None, error: Exception | None
) -> None:
    """Record one row's outcome and whether it is right."""
    provider = r.ref.split(":", 1)[0]
    if error is not None:
        if not isinstance(error, flowdeck.FlowdeckError):
            report.unhandled.append("".join(traceback.format_exception(error)))
        report.outcomes[type(error).__name__] += 1
        return
    assert run is not None
    report.outcomes[run.status.value] += 1
    if run.id not in mocks.states[provider].runs:
        report.wrong.append(f"row {r.number}: {provider} run {run.id} unknown to the mock")
        return
    want = EXPECTED[provider][fate(r.number)]
    if run.status.value != want:
        report.wrong.append(f"row {r.number}: {provider} run {run.id} ended {run.status.value}, expected {want}")
    elif run.succeeded and not expected_outputs_ok(provider, run.outputs, dict(r.inputs)):
        report.wrong.append(f"row {r.number}: {provider} outputs {run.outputs!r} do not match inputs {r.inputs!r}")


def mocks_for(seed: int, fault_rate: float) -> MockProviders:
    """Mocks with faults on ``fault_rate`` of responses and near-instant runs."""
    faults = Faults(rate=fault_rate, retry_after=0, slow_seconds=0.6)
    return MockProviders(MockConfig(seed=seed, run_seconds=(0.0, 0.05), faults=faults))


def client_options(wait_timeout: float | None = 120.0) -> dict[str, Any]:
    """A client tuned for the soak: short timeouts (so 'slow' faults are read timeouts), quick polls."""
    return {
        "timeout": 0.3,
        "max_retries": 3,
        "poll_policy": flowdeck.PollPolicy(initial=0.02, factor=1.5, max_interval=0.2, max_poll_errors=20),
        "wait_timeout": wait_timeout,
    }


# Cancellations mid-request are what make httpcore lose pool slots.
ABANDON_RATE = 0.05


class Stalled(Exception):
    """No run finished for too long: the client stopped making progress."""


async def soak_async(
    n: int,
    *,
    seed: int = 0,
    fault_rate: float = 0.2,
    concurrency: int = 200,
    abandon_rate: float = 0.0,
    stall_after: float | None = None,
    backend: str = "httpcore",
) -> SoakReport:
    """``n`` runs with the async client, ``concurrency`` at a time.

    ``abandon_rate``: that share of runs is given up by the caller (``asyncio.timeout``) early on,
    cancelling whatever request is in flight, as an application's deadline or a failing TaskGroup
    does. ``backend``: the client's ``http_backend``. ``stall_after``: raise :class:`Stalled` (saying
    where the tasks wait) once no run has finished for that many seconds; a healthy soak finishes runs
    far more often, and each retry waits at most a few seconds.
    """
    report = SoakReport("async client" if backend == "httpcore" else f"async client on {backend}", n)
    rng = random.Random(seed)
    deadlines = [rng.uniform(0.0, 0.3) if rng.random() < abandon_rate else None for _ in range(n)]
    with mocks_for(seed, fault_rate) as mocks:
        gate = asyncio.Semaphore(concurrency)
        begun = time.monotonic()
        last_finished = [begun]
        async with mocks.async_client(**client_options(), http_backend=backend) as client:

            async def one(r: BatchRow, deadline: float | None) -> None:
                async with gate:
                    caller = asyncio.timeout(deadline)
                    try:
                        async with caller:
                            run = await client.start(r.ref, r.inputs)
                            run = await client.wait(run, raise_on_failure=False)
                    except Exception as exc:
                        if deadline is not None and caller.expired():
                            report.outcomes["abandoned by caller"] += 1
                        else:
                            check(report, mocks, r, None, exc)
                        return
                    finally:
                        last_finished[0] = time.monotonic()
                    check(report, mocks, r, run, None)

            runs = asyncio.ensure_future(asyncio.gather(*(one(row(i), deadlines[i]) for i in range(n))))
            if stall_after is None:
                await runs
            else:
                await _watch(runs, last_finished, stall_after, client)
        _finish(report, mocks, begun)
    return report


async def _watch(
    runs: asyncio.Future[Any], last_finished: list[float], stall_after: float, client: flowdeck.AsyncClient
) -> None:
    while not runs.done():
        await asyncio.wait([runs], timeout=1.0)
        idle = time.monotonic() - last_finished[0]
        if not runs.done() and idle > stall_after:
            state = describe_stall(client)
            runs.cancel()
            await asyncio.gather(runs, return_exceptions=True)
            raise Stalled(f"no run finished for {idle:.0f} s\n{state}")
    runs.result()


def describe_stall(client: flowdeck.AsyncClient) -> str:
    """Where the event loop's tasks wait (innermost frames, counted) and the connection pools' state."""
    where: Counter[str] = Counter()
    for task in asyncio.all_tasks():
        frames = task.get_stack()
        where[" <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames[-3:]))] += 1
    lines = [f"{count:5d} tasks at {frames}" for frames, count in where.most_common(8)]
    inner = getattr(client._http, "_inner", None)
    every = [getattr(getattr(inner, lane, None), "_shards", None) for lane in ("others", "starts")]
    for shard in [s for shards in every for s in getattr(shards, "live", [])]:
        pool = getattr(shard.transport, "_pool", None)
        if pool is None:
            continue
        states = Counter(c.info().split(",")[2].strip() if "," in c.info() else c.info() for c in pool.connections)
        lines.append(f"pool: flowdeck requests in it {shard.busy}; {pool!r}; connections {dict(states)}")
    return "\n".join(lines)


@contextmanager
def cpu_contention(processes: int) -> Iterator[None]:
    """``processes`` busy loops competing for the CPU while the block runs; killed after it."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for proc in busy:
            proc.kill()
        for proc in busy:
            proc.wait(timeout=10)


def soak_contended(
    iterations: int,
    runs: int,
    *,
    busy: int = 2,
    seed: int = 0,
    abandon_rate: float = ABANDON_RATE,
    stall_after: float = 30.0,
    backend: str = "httpcore",
) -> list[SoakReport]:
    """The async soak ``iterations`` times under CPU contention, a share of runs abandoned by the
    caller; :class:`Stalled` at the first stall."""
    reports = []
    with cpu_contention(busy):
        for i in range(iterations):
            report = asyncio.run(
                soak_async(runs, seed=seed + i, abandon_rate=abandon_rate, stall_after=stall_after, backend=backend)
            )
            report.mode = f"{report.mode}, {busy} busy processes, iteration {i + 1}"
            reports.append(report)
    return reports


def soak_sync(n: int, *, seed: int = 0, fault_rate: float = 0.2) -> SoakReport:
    """``n`` runs with the sync client: started one by one, then awaited together with ``wait_many``."""
    report = SoakReport("sync client", n)
    with mocks_for(seed, fault_rate) as mocks:
        begun = time.monotonic()
        # No deadline: one thread polls, so every backoff delays all runs.
        with mocks.client(**client_options(wait_timeout=None)) as client:
            started: list[tuple[BatchRow, flowdeck.Run]] = []
            for i in range(n):
                r = row(i)
                try:
                    started.append((r, client.start(r.ref, r.inputs)))
                except Exception as exc:
                    check(report, mocks, r, None, exc)
            try:
                finals = client.wait_many([run for _, run in started])
            except Exception as exc:
                report.unhandled.append(f"wait_many raised {type(exc).__name__}: {exc}")
                finals = []
            for (r, _), run in zip(started, finals, strict=False):
                check(report, mocks, r, run, None)
        _finish(report, mocks, begun)
    return report


def soak_batch(n: int, *, seed: int = 0, fault_rate: float = 0.2, concurrency: int = 200) -> SoakReport:
    """``n`` rows through the batch runner (what ``flowdeck batch`` does)."""
    import json

    report = SoakReport("flowdeck batch", n)
    rows = [row(i) for i in range(n)]
    with mocks_for(seed, fault_rate) as mocks, tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        begun = time.monotonic()

        async def main() -> None:
            async with mocks.async_client(**client_options()) as client:
                await run_batch(client, rows, Journal(out), concurrency=concurrency)

        try:
            asyncio.run(main())
        except Exception as exc:
            report.unhandled.append(f"batch raised {type(exc).__name__}: {exc}")
        results = {r["row"]: r for r in map(json.loads, out.read_text().splitlines())} if out.exists() else {}
        for r in rows:
            result = results.get(r.number)
            if result is None:
                report.wrong.append(f"row {r.number}: no result line")
                continue
            status = result["status"]
            if result["run_id"] is None or status in ("UNKNOWN", "NOT_STARTED", "POLL_ERROR", "TIMEOUT"):
                report.outcomes[status] += 1
                continue
            run = flowdeck.Run(
                provider=result["provider"], workflow=flowdeck.parse_ref(r.ref), id=result["run_id"],
                status=flowdeck.Status(status), provider_status=result["provider_status"] or "",
                outputs=result["outputs"],
            )  # fmt: skip
            check(report, mocks, r, run, None)
        _finish(report, mocks, begun)
    return report


def _finish(report: SoakReport, mocks: MockProviders, begun: float) -> None:
    report.seconds = time.monotonic() - begun
    report.faults = Counter(mocks.config.faults.injected)
    report.started_at_mocks = mocks.start_count
    report.duplicates = sum(len(d) for d in mocks.duplicate_starts().values())


def table(reports: list[SoakReport]) -> str:
    """The reports as a Markdown table (the reliability page's table)."""
    kinds = sorted({k for r in reports for k in r.faults})
    outcomes = sorted({k for r in reports for k in r.outcomes})
    lines = [
        "| mode | runs | wall (s) | faults injected | " + " | ".join(kinds) + " | " + " | ".join(outcomes)
        + " | started at mocks | duplicates | wrong | unhandled |",
        "|---" * (8 + len(kinds) + len(outcomes)) + "|",
    ]  # fmt: skip
    for r in reports:
        lines.append(
            f"| {r.mode} | {r.runs} | {r.seconds:.1f} | {sum(r.faults.values())} | "
            + " | ".join(str(r.faults.get(k, 0)) for k in kinds) + " | "
            + " | ".join(str(r.outcomes.get(k, 0)) for k in outcomes)
            + f" | {r.started_at_mocks} | {r.duplicates} | {len(r.wrong)} | {len(r.unhandled)} |"
        )  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks.soak``: run the soak in every mode and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument(
        "--contention",
        type=int,
        default=0,
        metavar="N",
        help="only the async soak, with N busy processes competing for the CPU",
    )
    parser.add_argument("--iterations", type=int, default=1, help="with --contention: how many soaks in a row")
    parser.add_argument("--stall-after", type=float, default=30.0, help="with --contention: seconds without progress")
    parser.add_argument(
        "--http-backend", choices=("httpcore", "aiohttp"), default="httpcore", help="the async client's"
    )
    args = parser.parse_args(argv)  # fmt: skip
    reports = []
    if args.contention:
        with cpu_contention(args.contention):
            for i in range(args.iterations):
                try:
                    report = asyncio.run(
                        soak_async(
                            args.runs, seed=args.seed + i, abandon_rate=ABANDON_RATE, stall_after=args.stall_after,
                            backend=args.http_backend,
                        )
                    )  # fmt: skip
                except Stalled as exc:
                    print(f"iteration {i + 1} of {args.iterations} STALLED: {exc}", flush=True)
                    return 1
                report.mode = f"{report.mode}, {args.contention} busy processes, iteration {i + 1}"
                reports.append(report)
                print(f"{report.mode}: done in {report.seconds:.1f}s", flush=True)
    else:
        modes: list[Callable[[], SoakReport]] = [
            lambda: asyncio.run(soak_async(args.runs, seed=args.seed, fault_rate=args.fault_rate)),
            lambda: asyncio.run(soak_async(args.runs, seed=args.seed, fault_rate=args.fault_rate, backend="aiohttp")),
            lambda: soak_batch(args.runs, seed=args.seed, fault_rate=args.fault_rate),
            lambda: soak_sync(args.runs // 10, seed=args.seed, fault_rate=args.fault_rate),
        ]
        for mode in modes:
            reports.append(mode())
            print(f"{reports[-1].mode}: done in {reports[-1].seconds:.1f}s", flush=True)
    print(table(reports))
    for r in reports:
        for problem in [*r.wrong[:5], *(u.strip().splitlines()[-1] for u in r.unhandled[:3])]:
            print(f"[{r.mode}] {problem}")
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
