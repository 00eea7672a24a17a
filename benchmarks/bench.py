"""``make bench``: flowdeck against its floor (raw httpx) and against the official SDKs, in one run.

Every figure is a ratio against a baseline measured in the same run (machines here are noisy). The
mock providers run in a separate process (``flowdeck mock``) so client and server do not share a GIL.
Writes ``bench-results/bench.json`` and prints a Markdown table (the README's Performance section).
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
from flowdeck.testing import MockClock, MockConfig, MockProviders

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
def mock_process(min_seconds: float, max_seconds: float) -> Iterator[dict[str, str]]:
    """``flowdeck mock`` in a subprocess; yields the environment pointing at it."""
    port = _free_port_block()
    cmd = [sys.executable, "-m", "flowdeck", "mock", "--port", str(port), "--run-seconds", str(max_seconds),
           "--min-run-seconds", str(min_seconds)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # noqa: S603
    env: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:  # the export lines arrive together, once every mock is serving
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").strip().partition("=")
            env[key] = value
        if "SUPERAI_PASSWORD" in env:  # the last of them
            break
    try:
        yield env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- 1. per-call overhead ---------------------------------------------------------------------------


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


# --- 2. throughput ----------------------------------------------------------------------------------


async def _flowdeck_many(env: dict[str, str], n: int, rate: float) -> float:
    from aiolimiter import AsyncLimiter

    limiter = AsyncLimiter(rate, 1.0)
    started = time.perf_counter()
    async with flowdeck.AsyncClient(env=env, max_concurrent_requests=100) as client:

        async def one(i: int) -> flowdeck.Run:
            await limiter.acquire()
            run = await client.start("databar:flow/bench", {"row": str(i)})
            return await client.wait(run, timeout=600)

        runs = await asyncio.gather(*(one(i) for i in range(n)))
    assert all(r.succeeded for r in runs)
    return time.perf_counter() - started


def _batch_many(env: dict[str, str], n: int, rate: float, work: Path) -> float:
    inputs = work / "bench-in.jsonl"
    inputs.write_text("".join(json.dumps({"row": str(i)}) + "\n" for i in range(n)))
    out = work / "bench-out.jsonl"
    for stale in (out, out.with_name(out.name + ".flowdeck-state.jsonl")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "flowdeck", "batch", "databar:flow/bench", str(inputs), "--out", str(out),
           "--concurrency", str(n), "--rate", f"{rate}/s"]  # fmt: skip
    subprocess.run(cmd, env={**os.environ, **env}, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


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


def throughput(n: int, rate: float, sdk_sample: int, work: Path) -> dict[str, Any]:
    """``n`` runs of 1-5 s: flowdeck async and batch vs the ideal and the official SDKs' loops."""
    longest = 5.0
    ideal = n / rate + longest
    with mock_process(1.0, longest) as env:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        async_wall = asyncio.run(_flowdeck_many(env, n, rate))
        rss_peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        batch_wall = _batch_many(env, n, rate, work)
        per_run = _sdk_per_run(env, sdk_sample)
    result: dict[str, Any] = {
        "runs": n, "start_rate_per_s": rate, "ideal_s": round(ideal, 1),
        "flowdeck_async_s": round(async_wall, 1), "flowdeck_async_vs_ideal": round(async_wall / ideal, 3),
        "flowdeck_batch_s": round(batch_wall, 1), "flowdeck_batch_vs_ideal": round(batch_wall / ideal, 3),
        "peak_rss_mb": round(rss_peak_kb / 1024, 1), "rss_before_mb": round(rss_before / 1024, 1),
        "sdk_sample_runs": sdk_sample,
    }  # fmt: skip
    for name, seconds in per_run.items():
        projected = seconds * n  # their loops are sequential: per-run time times n
        result[f"{name}_per_run_s"] = round(seconds, 2)
        result[f"{name}_projected_s"] = round(projected)
        result[f"speedup_vs_{name.split()[0]}"] = round(projected / async_wall, 1)
    return result


# --- 3. polling efficiency (on a shared fake clock, so a 60 s run takes no time) -------------------


def polling_efficiency(durations: tuple[float, ...], samples: int) -> dict[str, Any]:
    """Polls per run and detection lag: flowdeck's first run of a workflow, its later runs (it learns
    the workflow's length), and the official SDKs' fixed intervals. Runs last 0.9-1.1x the length."""
    out: dict[str, Any] = {}
    for duration in durations:
        runs = {name: _simulate(duration, interval, samples) for name, interval in
                (("flowdeck", None), ("databar SDK (2 s)", 2.0), ("gumloop SDK (1 s)", 1.0))}  # fmt: skip
        row = {
            "flowdeck, first run": [runs["flowdeck"][0]],
            "flowdeck, later runs": runs["flowdeck"][2:],
            "databar SDK (2 s)": runs["databar SDK (2 s)"],
            "gumloop SDK (1 s)": runs["gumloop SDK (1 s)"],
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


def _simulate(duration: float, fixed_interval: float | None, samples: int) -> list[tuple[int, float, float]]:
    """(polls, lag, run length) for ``samples`` runs, on a mock clock that only moves when a client sleeps."""
    clock = MockClock(frozen_at=1_800_000_000.0)
    results = []
    with MockProviders(MockConfig(seed=int(duration), run_seconds=(0.9 * duration, 1.1 * duration)), clock) as mocks:
        base = clock.now()
        client = mocks.client(sleep=clock.advance, clock=lambda: clock.now() - base, wait_timeout=None)
        state = mocks.states["databar"]
        for i in range(samples):
            run = client.start("databar:flow/poll", {"row": str(i)})
            before, began = state.calls["get_task"], clock.now()
            if fixed_interval is None:
                client.wait(run)
            else:  # the SDKs' loops: sleep a fixed interval, then poll (Databar's poll_task does exactly this)
                while not run.is_terminal:
                    clock.advance(fixed_interval)
                    run = client.refresh(run)
            length = state.runs[run.id].duration
            results.append((state.calls["get_task"] - before, clock.now() - began - length, length))
        client.close()
    return results


# --- 5. start-up ------------------------------------------------------------------------------------


def import_time(module: str, repeats: int = 7) -> float:
    """Median seconds for a fresh interpreter to import ``module`` (minus a bare interpreter's start)."""

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
        return time.perf_counter() - started

    bare = statistics.median(run("pass") for _ in range(repeats))
    return statistics.median(run(f"import {module}") for _ in range(repeats)) - bare


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--sdk-sample", type=int, default=8)
    args = parser.parse_args(argv)
    work = ROOT / "bench-results"
    work.mkdir(exist_ok=True)
    results: dict[str, Any] = {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    }
    with mock_process(0.0, 0.0) as env:
        results["per_call"] = per_call_overhead(env, args.calls)
        print("per-call overhead done", flush=True)
    results["polling"] = polling_efficiency((1.0, 10.0, 60.0), samples=8)
    print("polling efficiency done", flush=True)
    results["throughput"] = throughput(args.runs, args.rate, args.sdk_sample, work)
    print("throughput done", flush=True)
    httpx_s, flowdeck_s = import_time("httpx"), import_time("flowdeck")
    results["startup"] = {"import_httpx_ms": round(httpx_s * 1000), "import_flowdeck_ms": round(flowdeck_s * 1000),
                          "extra_ms": round((flowdeck_s - httpx_s) * 1000)}  # fmt: skip
    (work / "bench.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(r: dict[str, Any]) -> str:
    """The results as Markdown."""
    pc, tp, st = r["per_call"], r["throughput"], r["startup"]
    lines = [
        f"Machine: {r['machine']}.", "",
        "| measure | result | target |", "|---|---|---|",
        f"| per-call overhead, one poll (median) | facade {pc['ratio_vs_raw']['flowdeck facade']}× raw httpx, "
        f"generated client {pc['ratio_vs_raw']['generated client']}× ({pc['median_us']['raw httpx']} µs raw) | ≤ 1.10× |",
        f"| {tp['runs']} runs of 1-5 s, async client | {tp['flowdeck_async_s']} s = {tp['flowdeck_async_vs_ideal']}× ideal "
        f"({tp['ideal_s']} s) | ≤ 1.2× |",
        f"| {tp['runs']} runs, `flowdeck batch` | {tp['flowdeck_batch_s']} s = {tp['flowdeck_batch_vs_ideal']}× ideal | ≤ 1.2× |",
        f"| vs databar SDK `run_flow_sync` loop | {tp['speedup_vs_databar']}× faster (projected {tp['databar SDK_projected_s']} s "
        f"from {tp['sdk_sample_runs']} runs) | ≥ 20× |",
        f"| vs gumloop SDK `run_flow` loop | {tp['speedup_vs_gumloop']}× faster (projected {tp['gumloop SDK_projected_s']} s) | ≥ 20× |",
        f"| peak RSS, {tp['runs']} runs in flight | {tp['peak_rss_mb']} MB | ≤ 150 MB |",
        f"| `import flowdeck` vs `import httpx` | +{st['extra_ms']} ms ({st['import_flowdeck_ms']} vs {st['import_httpx_ms']} ms) | ≤ 150 ms |",
    ]  # fmt: skip
    names = list(next(iter(r["polling"].values())))
    lines += ["", "Polls per run / detection lag (share of the run's length):", "",
              "| run length | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]  # fmt: skip
    for duration, row in r["polling"].items():
        cells = [f"{v['polls']} / {v['lag_s']} s ({v['lag_pct']}%)" for v in row.values()]
        lines.append(f"| {duration} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
