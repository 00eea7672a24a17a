"""``make bench``: flowdeck against its floor (raw httpx) and against the official SDKs, in one run.

Every figure is a ratio against a baseline measured in the same run (machines here are noisy). The
mock providers run in a separate process (``flowdeck mock``) so client and server do not share a GIL.
Writes ``bench-results/latest.json`` (the figures) and ``bench-results/throughput.svg`` (runs finished over
time); the documentation's performance page renders them (``benchmarks/report.py``) when it is built.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flowdeck
import httpx
from flowdeck._batch import BatchRow
from flowdeck.testing import MockClock, MockConfig, MockProviders

from benchmarks.bench_tls import tls_network, tls_summary

ROOT = Path(__file__).resolve().parent.parent
KEY = "mock-databar-key"
PROVIDERS = ("databar", "stackai", "gumloop", "superai")


def _free_port_block(n: int = 4) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + n < 65000 and all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextmanager
def mock_process(min_seconds: float, max_seconds: float, *extra: str) -> Iterator[dict[str, str]]:
    """``flowdeck mock`` in a subprocess; yields the environment pointing at it."""
    port = _free_port_block()
    cmd = [sys.executable, "-m", "flowdeck", "mock", "--port", str(port), "--run-seconds", str(max_seconds),
           "--min-run-seconds", str(min_seconds), *extra]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    env: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:  # together, once every mock serves
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        if "SUPERAI_PASSWORD" in env:  # the last of them
            break
    try:
        if "SUPERAI_PASSWORD" not in env:  # it exited: say so, not a KeyError
            raise RuntimeError(f"flowdeck mock did not start on ports {port}..{port + 3}")
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- 1. per-call overhead ---


def per_call_overhead(env: dict[str, str], calls: int) -> dict[str, Any]:
    """One poll (GET /v1/tasks/{id}) via raw httpx, the generated client, and the facade, interleaved."""
    from flowdeck_generated.databar import Client as GenClient
    from flowdeck_generated.databar.api.tasks import get_task

    base = env["DATABAR_BASE_URL"]
    with flowdeck.Client(env=env) as fd:
        task_id = fd.start("databar:flow/bench", {"d": "x"}).id
        raw = httpx.Client(base_url=base, headers={"x-apikey": KEY})
        gen = GenClient(base_url=base, headers={"x-apikey": KEY}, raise_on_unexpected_status=True)

        def raw_call() -> None:
            raw.get(f"/v1/tasks/{task_id}", params={"include_partial": "false"}).json()

        def gen_call() -> None:
            assert get_task.sync_detailed(task_id, client=gen).parsed is not None

        def facade_call() -> None:
            fd.databar.get_task(task_id)

        timings: dict[str, list[float]] = {"raw httpx": [], "generated client": [], "flowdeck facade": []}
        fns: dict[str, Callable[[], None]] = {"raw httpx": raw_call, "generated client": gen_call,
                                              "flowdeck facade": facade_call}  # fmt: skip
        for fn in fns.values():  # warm up connections and caches
            for _ in range(50):
                fn()
        for _ in range(calls // 100):  # interleave rounds so drift hits all three alike
            for name, fn in fns.items():
                started = time.perf_counter()
                for _ in range(100):
                    fn()
                timings[name].append((time.perf_counter() - started) / 100)
        raw.close()
        gen.get_httpx_client().close()
    medians = {name: statistics.median(t) for name, t in timings.items()}
    return {
        "median_us": {k: round(v * 1e6, 1) for k, v in medians.items()},
        "ratio_vs_raw": {k: round(v / medians["raw httpx"], 3) for k, v in medians.items()},
    }


# --- 2. throughput ---

LONGEST, SHORTEST = 5.0, 1.0
REFUSED_SHARE = 0.3  # answered 429 at random in that scenario
TLS_RATE = 200.0  # starts per second of the TLS scenario


async def _flowdeck_many(
    env: dict[str, str], n: int, rate: float, done_at: list[float], backend: str = "httpcore"
) -> float:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(rate, 1.0)
    started = time.perf_counter()
    async with flowdeck.AsyncClient(env=env, max_concurrent_requests=100, http_backend=backend) as client:  # type: ignore[arg-type]

        async def one(i: int) -> flowdeck.Run:
            await limiter.acquire()
            run = await client.start("databar:flow/bench", {"row": str(i)})
            run = await client.wait(run, timeout=600)
            done_at.append(time.perf_counter() - started)
            return run

        runs = await asyncio.gather(*(one(i) for i in range(n)))
    assert all(r.succeeded for r in runs)
    return time.perf_counter() - started


async def _plain_many(env: dict[str, str], n: int, rate: float, done_at: list[float]) -> float:
    """The floor: the same runs with nothing but asyncio and httpx (start, then poll on flowdeck's schedule)."""
    from aiolimiter import AsyncLimiter

    limiter, gate, policy = AsyncLimiter(rate, 1.0), asyncio.Semaphore(100), flowdeck.PollPolicy()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=env["DATABAR_BASE_URL"], headers={"x-apikey": KEY}, limits=limits) as http:

        async def call(method: str, url: str, **kwargs: Any) -> Any:
            # Any user's loop sends a poll lost to a closing connection
            # again; never a start (it would pay twice).
            attempts = 3 if method == "GET" else 1
            for attempt in range(1, attempts + 1):
                try:
                    async with gate:
                        response = await http.request(method, url, **kwargs)
                    break
                except httpx.TransportError:
                    if attempt == attempts:
                        raise
            response.raise_for_status()
            return response.json()

        async def one(i: int) -> None:
            await limiter.acquire()
            task = await call("POST", "/v1/flows/bench/run", json={"inputs": {"row": str(i)}})
            polls = 0
            while True:
                await asyncio.sleep(policy.interval(polls))
                polls += 1
                body = await call("GET", f"/v1/tasks/{task['task_id']}", params={"include_partial": "false"})
                if body["status"] not in ("created", "processing", "no_data"):
                    break
            done_at.append(time.perf_counter() - started)

        await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - started


def _batch_many(env: dict[str, str], n: int, rate: float | None, work: Path, concurrency: int) -> float:
    inputs = work / "bench-in.jsonl"
    inputs.write_text("".join(json.dumps({"row": str(i)}) + "\n" for i in range(n)))
    out = work / "bench-out.jsonl"
    for stale in (out, out.with_name(out.name + ".flowdeck-state.jsonl")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    # --bulk 1: the async client's runs (bulk tasks: bench_bulk.py).
    cmd = [sys.executable, "-m", "flowdeck", "batch", "databar:flow/bench", str(inputs), "--out", str(out),
           "--concurrency", str(concurrency), "--bulk", "1"] + ([] if rate is None else ["--rate", f"{rate}/s"])  # fmt: skip
    subprocess.run(cmd, env={**os.environ, **env}, check=True, capture_output=True)  # noqa: S603
    wall = time.perf_counter() - started
    statuses = [json.loads(line)["status"] for line in out.read_text().splitlines()]
    assert statuses.count("SUCCEEDED") == n, {s: statuses.count(s) for s in set(statuses)}
    return wall


def _sdk_per_run(env: dict[str, str], n: int) -> dict[str, float]:
    """Seconds per run of each official SDK's loop, measured in .venv-sdks (see bench_sdks.py)."""
    python = ROOT / ".venv-sdks" / "bin" / "python"
    if not python.exists():
        raise SystemExit("official SDKs are not installed: run `make sdks`")
    script = Path(__file__).with_name("bench_sdks.py")
    done = subprocess.run(  # noqa: S603
        [str(python), str(script), env["DATABAR_BASE_URL"], env["GUMLOOP_BASE_URL"], str(n)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def ideal_finished(n: int, rate: float, t: float) -> float:
    """Runs ended by ``t`` at best: run i starts at i/rate and lasts U(SHORTEST, LONGEST) seconds."""

    def share(x: float) -> float:  # P(length <= x)
        return min(1.0, max(0.0, (x - SHORTEST) / (LONGEST - SHORTEST)))

    # Sum over starts in blocks of rate / 10: exact enough for a chart.
    step = max(1, int(rate / 10))
    return sum(share(t - i / rate) * min(step, n - i) for i in range(0, n, step))


def throughput(n: int, rate: float, sdk_sample: int, work: Path) -> dict[str, Any]:
    """``n`` runs of SHORTEST-LONGEST seconds: flowdeck async and batch, a plain asyncio + httpx loop, vs the ideal and the SDKs."""
    ideal = n / rate + LONGEST
    curves: dict[str, list[float]] = {"flowdeck": [], "flowdeck, aiohttp backend": [], "plain asyncio + httpx": []}
    with mock_process(SHORTEST, LONGEST) as env:
        cpu0, rss_before = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async_wall = asyncio.run(_flowdeck_many(env, n, rate, curves["flowdeck"]))
        cpu_async = time.process_time() - cpu0
        rss_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu0 = time.process_time()
        aiohttp_wall = asyncio.run(_flowdeck_many(env, n, rate, curves["flowdeck, aiohttp backend"], "aiohttp"))
        cpu_aiohttp = time.process_time() - cpu0
        cpu0 = time.process_time()
        plain_wall = asyncio.run(_plain_many(env, n, rate, curves["plain asyncio + httpx"]))
        cpu_plain = time.process_time() - cpu0
        batch_wall = _batch_many(env, n, rate, work, concurrency=n)
        per_run = _sdk_per_run(env, sdk_sample)
    result: dict[str, Any] = {
        "runs": n, "start_rate_per_s": rate, "ideal_s": round(ideal, 1),
        "flowdeck_async_s": round(async_wall, 1), "flowdeck_batch_s": round(batch_wall, 1),
        "plain_asyncio_s": round(plain_wall, 1), "flowdeck_aiohttp_s": round(aiohttp_wall, 1),
        "cpu_ms_per_run_aiohttp": round(1000 * cpu_aiohttp / n, 2),
        "cpu_ms_per_run_flowdeck": round(1000 * cpu_async / n, 2), "cpu_ms_per_run_plain": round(1000 * cpu_plain / n, 2),
        "peak_rss_mb": round(rss_peak_kb / 1024, 1), "rss_before_mb": round(rss_before / 1024, 1),
        "sdk_sample_runs": sdk_sample, "curves": curves,
    }  # fmt: skip
    for name, seconds in per_run.items():
        projected = seconds * n  # their loops are sequential: per-run time times n
        result[f"{name}_per_run_s"] = round(seconds, 2)
        result[f"{name}_projected_s"] = round(projected)
        result[f"speedup_vs_{name.split()[0]}"] = round(projected / async_wall, 1)
    return result


# --- 2b. a provider's quota ---


def quota(rows: int, per_second: float, work: Path) -> dict[str, Any]:
    """``rows`` rows through the batch runner against mocks accepting ``per_second`` starts a second.

    In this process, so the starts answered 429 can be counted: each is either retried (one record on
    ``flowdeck.retries``) or ends its row NOT_STARTED.
    """
    ran = _batch_429s(rows, work, "--start-quota", f"{per_second:g}")
    ideal = rows / per_second + LONGEST
    return {"rows": rows, "quota_per_s": per_second, "ideal_s": round(ideal, 1), **ran}


def refusals(rows: int, share: float, work: Path) -> dict[str, Any]:
    """``rows`` rows against mocks refusing ``share`` of all requests at random (429, no quota), with
    adaptive rate on and off, alternately twice: does pacing cost anything where it cannot help?"""
    extra = ("--rate-limit", f"{share:.0%}", "--retry-after", "1")
    on, off, trials = [], [], []
    for _ in range(2):
        ran = _batch_429s(rows, work, *extra)
        on.append(ran["wall_s"])
        trials.append(ran["cuts_kept_undone"])
        off.append(_batch_429s(rows, work, *extra, adaptive=False)["wall_s"])
    return {"rows": rows, "refused_share": share, "adaptive_wall_s": on, "off_wall_s": off, "cuts_kept_undone": trials}


def _batch_429s(rows: int, work: Path, *mock_args: str, adaptive: bool = True) -> dict[str, Any]:
    """One batch of ``rows`` rows against ``flowdeck mock *mock_args``: its wall time and the starts refused."""
    import logging

    from flowdeck._batch import Journal, run_batch

    class Count(logging.Handler):
        throttled = 0

        def emit(self, record: logging.LogRecord) -> None:
            retry = getattr(record, "flowdeck_retry", {})
            if retry.get("reason") == "429" and isinstance(record.args, tuple) and record.args[0] == "POST":
                Count.throttled += 1

    retries = logging.getLogger("flowdeck.retries")
    handler, level = Count(), retries.level
    retries.addHandler(handler)
    retries.setLevel(logging.DEBUG)
    out = work / "quota-out.jsonl"
    for stale in (out, out.with_name(out.name + ".flowdeck-state.jsonl")):
        stale.unlink(missing_ok=True)
    rows_in = [BatchRow(i + 1, "databar:flow/quota", {"row": str(i)}) for i in range(rows)]
    try:
        with mock_process(SHORTEST, LONGEST, *mock_args) as env:
            trials: dict[str, list[int]] = {}

            async def go() -> float:
                started = time.perf_counter()
                async with flowdeck.AsyncClient(env=env, max_concurrent_requests=100, adaptive_rate=adaptive) as client:
                    await run_batch(client, rows_in, Journal(out), concurrency=rows)
                    for (_, starts), rate in client._rates.items():  # what the pacing did: cuts, kept, undone
                        trials["starts" if starts else "other requests"] = [rate.cuts, rate.kept, rate.undone]
                return time.perf_counter() - started

            wall = asyncio.run(go())
    finally:
        retries.removeHandler(handler)
        retries.setLevel(level)
    statuses = [json.loads(line)["status"] for line in out.read_text().splitlines()]
    lost = statuses.count("NOT_STARTED")  # refused on its last attempt too
    return {
        "wall_s": round(wall, 1), "start_requests": rows + Count.throttled, "answered_429": Count.throttled + lost,
        "succeeded": statuses.count("SUCCEEDED"), "cuts_kept_undone": trials,
    }  # fmt: skip


# --- 3. polling efficiency (on a shared fake clock: a long run takes no time) ---


def polling_efficiency(durations: tuple[float, ...], samples: int) -> dict[str, Any]:
    """Polls per run and detection lag: flowdeck's first run of a workflow (a fresh client each time),
    its later runs (it learns the workflow's length), and the official SDKs' fixed intervals. Runs
    last within a tenth of the length either way."""
    out: dict[str, Any] = {}
    for duration in durations:
        learned = _simulate(duration, None, samples)
        row = {
            "flowdeck, first run": [_simulate(duration, None, 1, seed=k)[0] for k in range(samples)],
            "flowdeck, later runs": learned[2:],
            "databar SDK (2 s)": _simulate(duration, 2.0, samples),
            "gumloop SDK (1 s)": _simulate(duration, 1.0, samples),
        }
        out[f"{duration:g}s"] = {
            name: {
                "polls": round(statistics.mean(p for p, _, _ in r), 1),
                "lag_s": round(statistics.mean(lag for _, lag, _ in r), 2),
                "lag_pct": round(100 * statistics.mean(lag / d for _, lag, d in r), 1),
            }
            for name, r in row.items()
        }
    return out


def _simulate(
    duration: float, fixed_interval: float | None, samples: int, seed: int = 0
) -> list[tuple[int, float, float]]:
    """(polls, lag, run length) for ``samples`` runs, on a mock clock that only moves when a client sleeps."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    results = []
    config = MockConfig(seed=int(duration) * 1000 + seed, run_seconds=(0.9 * duration, 1.1 * duration))
    with MockProviders(config, clock) as mocks:
        base = clock.now()
        client = mocks.client(sleep=clock.advance, clock=lambda: clock.now() - base, wait_timeout=None)
        state = mocks.states["databar"]
        for i in range(samples):
            run = client.start("databar:flow/poll", {"row": str(i)})
            before, began = state.calls["get_task"], clock.now()
            if fixed_interval is None:
                client.wait(run)
            else:  # the SDKs' loops: sleep a fixed interval, then poll
                while not run.is_terminal:
                    clock.advance(fixed_interval)
                    run = client.refresh(run)
            length = state.runs[run.id].duration
            results.append((state.calls["get_task"] - before, clock.now() - began - length, length))
        client.close()
    return results


# --- 5. start-up ---


# `import flowdeck` beside `import httpx`, its floor; then one client
# of each kind, which pulls in its HTTP stack.
IMPORT_PROGRAMS = {
    "bare": "pass",
    "httpx": "import httpx",
    "flowdeck": "import flowdeck",
    "httpx_clients": "import httpx; httpx.AsyncClient(); httpx.Client().close()",
    "flowdeck_clients": "import flowdeck; flowdeck.AsyncClient(env={}); flowdeck.Client(env={}).close()",
}
IMPORT_REPEATS = 15


def import_times(repeats: int = IMPORT_REPEATS) -> dict[str, dict[str, float]]:
    """Milliseconds for a fresh interpreter to run each of :data:`IMPORT_PROGRAMS`, minus a bare one's start:
    the fastest of ``repeats`` rounds (``best``) and the median (``median``).

    The programs take turns, round after round, so a change in the machine's load falls on all of them
    alike rather than on whichever was measured last. The headline is the fastest round, as ``timeit``
    advises: other processes only ever add time, so on a shared machine the fastest round is the
    steadiest. Measured as installed: pip compiles a wheel's modules to bytecode when it installs
    them, so the editable checkout's are compiled first (with PYTHONDONTWRITEBYTECODE set, as on CI
    machines, they would otherwise be compiled from source at every import, and httpx's would not).
    """
    import compileall

    compileall.compile_dir(str(Path(flowdeck.__file__).parent), quiet=1)
    samples: dict[str, list[float]] = {name: [] for name in IMPORT_PROGRAMS}
    for _ in range(repeats):
        for name, code in IMPORT_PROGRAMS.items():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
            samples[name].append(time.perf_counter() - started)
    bare = samples.pop("bare")
    return {
        "best": {name: round((min(s) - min(bare)) * 1000, 1) for name, s in samples.items()},
        "median": {
            name: round((statistics.median(s) - statistics.median(bare)) * 1000, 1) for name, s in samples.items()
        },
    }


def import_summary(ms: dict[str, dict[str, float]]) -> dict[str, float]:
    """The import figures of :func:`import_times` under their headline keys (the fastest rounds)."""
    return {f"import_ms_{name}": value for name, value in ms["best"].items()}


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark; write bench-results/latest.json and throughput.svg (the performance page's source)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--sdk-sample", type=int, default=4)
    parser.add_argument("--quota-rows", type=int, default=2000)
    parser.add_argument("--quota", type=float, default=40.0, help="starts per second the quota mock accepts")
    parser.add_argument("--refusal-rows", type=int, default=1000, help="rows of the random-429s batch")
    parser.add_argument(
        "--only",
        choices=["quota", "import", "tls"],
        help="run only the quota scenarios, the import times or the TLS network; their figures replace latest.json's",
    )
    parser.add_argument("--tls-runs", type=int, default=10_000, help="runs of the TLS scenario (started at 200/s)")
    args = parser.parse_args(argv)
    work = ROOT / "bench-results"
    work.mkdir(exist_ok=True)
    if args.only == "import":  # replaces its figures in latest.json
        load = os.getloadavg()[0]
        times = import_times()
        figures = import_summary(times)
        details = {"load_average": [round(load, 1), round(os.getloadavg()[0], 1)], "repeats": IMPORT_REPEATS, **times}
        print(json.dumps({**figures, "details": {"imports": details}}, indent=2))
        latest_path = work / "latest.json"
        if latest_path.exists():
            latest = json.loads(latest_path.read_text())
            latest.update(figures)
            latest.setdefault("details", {})["imports"] = details
            latest_path.write_text(json.dumps(latest, indent=2) + "\n")
        return 0
    if args.only == "tls":  # replaces its figures in latest.json
        load = os.getloadavg()[0]
        t = tls_network(args.tls_runs, TLS_RATE)
        t["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
        figures = tls_summary(t)
        print(json.dumps({**figures, "details": {"tls": t}}, indent=2))
        latest_path = work / "latest.json"
        if latest_path.exists():
            latest = json.loads(latest_path.read_text())
            latest.update(figures)
            latest.setdefault("details", {})["tls"] = t
            latest_path.write_text(json.dumps(latest, indent=2) + "\n")
        return 0
    if args.only == "quota":  # replaces its figures in latest.json
        load = os.getloadavg()[0]
        q = quota(args.quota_rows, args.quota, work)
        r = refusals(args.refusal_rows, REFUSED_SHARE, work)
        q["load_average"] = r["load_average"] = [round(load, 1), round(os.getloadavg()[0], 1)]
        figures = quota_summary(q, r)
        print(json.dumps({**figures, "details": {"quota": q, "refusals": r}}, indent=2))
        latest_path = work / "latest.json"
        if latest_path.exists():
            latest = json.loads(latest_path.read_text())
            latest.update(figures)
            latest.setdefault("details", {}).update({"quota": q, "refusals": r})
            latest_path.write_text(json.dumps(latest, indent=2) + "\n")
        return 0
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    with mock_process(0.0, 0.0) as env:
        per_call = per_call_overhead(env, args.calls)
    print("per-call overhead done", flush=True)
    polling = polling_efficiency((1.0, 10.0, 60.0), samples=16)
    print("polling efficiency done", flush=True)
    tp = throughput(args.runs, args.rate, args.sdk_sample, work)
    print("throughput done", flush=True)
    q = quota(args.quota_rows, args.quota, work)
    r = refusals(args.refusal_rows, REFUSED_SHARE, work)
    print("quota done", flush=True)
    t = tls_network(args.tls_runs, TLS_RATE)
    print("tls network done", flush=True)
    imports = import_times()
    curves = tp.pop("curves")
    latest = {**summary(per_call, polling, tp), **quota_summary(q, r), **tls_summary(t), **import_summary(imports)}
    latest["machine"] = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; {time.strftime('%Y-%m-%d')}"
    )
    latest["bench_seconds"] = round(time.perf_counter() - began)
    bulk = work / "bulk.json"
    if bulk.exists():  # bench_bulk's, when it ran first
        latest.update(json.loads(bulk.read_text()))
    latest["details"] = {
        "per_call": per_call,
        "polling": polling,
        "throughput": tp,
        "quota": q,
        "refusals": r,
        "tls": t,
    }
    latest["details"]["imports"] = {"repeats": IMPORT_REPEATS, **imports}
    (work / "latest.json").write_text(json.dumps(latest, indent=2) + "\n")
    from benchmarks.report import chart

    (work / "throughput.svg").write_text(chart(curves, args.runs, args.rate, ideal_finished))
    from benchmarks.report import render

    print(render(latest))
    return 0


def summary(
    per_call: dict[str, Any],
    polling: dict[str, Any],
    tp: dict[str, Any],
) -> dict[str, Any]:
    """The headline figures (the performance page's table), each a ratio within this run where it can be."""
    long_runs = [polling[k] for k in ("10s", "60s") if k in polling]
    return {
        "per_call_vs_httpx": per_call["ratio_vs_raw"]["flowdeck facade"],
        "runs_10k_vs_ideal": round(tp["flowdeck_async_s"] / tp["ideal_s"], 3),
        "batch_10k_vs_ideal": round(tp["flowdeck_batch_s"] / tp["ideal_s"], 3),
        "plain_asyncio_vs_ideal": round(tp["plain_asyncio_s"] / tp["ideal_s"], 3),
        "runs_10k_vs_ideal_aiohttp": round(tp["flowdeck_aiohttp_s"] / tp["ideal_s"], 3),
        "cpu_ms_per_run_aiohttp": tp["cpu_ms_per_run_aiohttp"],
        "cpu_ms_per_run": tp["cpu_ms_per_run_flowdeck"],
        "cpu_ms_per_run_plain": tp["cpu_ms_per_run_plain"],
        "first_run_lag": round(max(p["flowdeck, first run"]["lag_pct"] for p in long_runs) / 100, 3),
        "learned_run_lag": round(max(p["flowdeck, later runs"]["lag_pct"] for p in long_runs) / 100, 3),
        "polls_per_run": max(p["flowdeck, later runs"]["polls"] for p in long_runs),
        "rss_mb_10k": tp["peak_rss_mb"],
        "vs_databar_sdk": tp["speedup_vs_databar"],
        "vs_gumloop_sdk": tp["speedup_vs_gumloop"],
    }  # fmt: skip


def quota_summary(q: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    """The adaptive rate's headline figures: against a quota, and where refusals are random."""
    return {
        "quota_10k_vs_ideal": round(q["wall_s"] / q["ideal_s"], 3),
        "quota_429_share": round(q["answered_429"] / q["start_requests"], 4),
        "random_429s_adaptive_vs_off": round(sum(r["adaptive_wall_s"]) / sum(r["off_wall_s"]), 3),
    }


if __name__ == "__main__":
    raise SystemExit(main())
