"""``make bench`` (cost curve) and ``make bench-scale``: memory and time of ``flowdeck batch`` by row count.

For each row count, a JSON Lines file of Databar rows goes through the real command (``python -m
flowdeck batch``, default bulk tasks) against ``flowdeck mock`` in its own process, twice: the first
run, then a rerun once every row has finished (which sends nothing and must be quick). Each command's
peak RSS is its own (``wait4``), its wall time the whole command's. The figures merge into
``bench-results/latest.json`` (``batch_<rows>_rss_mb``, ``batch_<rows>_s``, ``batch_<rows>_rerun_s``,
``batch_<rows>_rerun_rss_mb``, and ``batch_1m_rss_vs_100k`` once both are there) and
``bench-results/cost_curve.svg`` is drawn from every row count recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import mock_process

ROOT = Path(__file__).resolve().parent.parent
REF = "databar:flow/enrich-company"


def label(rows: int) -> str:
    """``10k``, ``100k``, ``1m``: a row count as the keys name it.

    >>> label(10_000), label(1_000_000), label(2_500)
    ('10k', '1m', '2500')
    """
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}m"
    if rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


def command(argv: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, exit code and peak RSS (MB) of one command, its output discarded."""
    began = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: counts the command's memory only
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execve(argv[0], argv, env)  # noqa: S606
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - began, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024


def measure(rows: int, run_seconds: tuple[float, float] = (0.5, 1.0)) -> dict[str, Any]:
    """One row count: the first run and the rerun over finished rows."""
    with tempfile.TemporaryDirectory(prefix="flowdeck-bench-scale-") as folder:
        work = Path(folder)
        with (work / "rows.jsonl").open("w", encoding="utf-8") as handle:
            for n in range(rows):
                handle.write(f'{{"domain": "company{n}.com"}}\n')
        out = work / "out.jsonl"
        argv = [sys.executable, "-m", "flowdeck", "batch", REF, str(work / "rows.jsonl"), "--out", str(out)]
        with mock_process(*run_seconds) as mock_env:
            env = {**os.environ, **mock_env}
            first_s, first_code, first_mb = command(argv, env)
            rerun_s, rerun_code, rerun_mb = command(argv, env)
        with out.open("rb") as handle:
            lines = sum(1 for _ in handle)
    return {
        "rows": rows,
        "seconds": round(first_s, 1),
        "rss_mb": round(first_mb),
        "exit": first_code,
        "rerun_seconds": round(rerun_s, 1),
        "rerun_rss_mb": round(rerun_mb),
        "rerun_exit": rerun_code,
        "result_lines": lines,
        "load_average": round(os.getloadavg()[0], 1),
    }


def figures(measured: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline keys of every row count measured (by label), and the 1m / 100k memory ratio.

    >>> small = {"rss_mb": 100, "seconds": 9.0, "rerun_seconds": 2.0, "rerun_rss_mb": 70}
    >>> large = {"rss_mb": 140, "seconds": 90.0, "rerun_seconds": 8.0, "rerun_rss_mb": 120}
    >>> figures({"100k": small, "1m": large})["batch_1m_rss_vs_100k"]
    1.4
    """
    out: dict[str, Any] = {}
    for name, m in measured.items():
        out[f"batch_{name}_rss_mb"] = m["rss_mb"]
        out[f"batch_{name}_s"] = m["seconds"]
        out[f"batch_{name}_rerun_s"] = m["rerun_seconds"]
        out[f"batch_{name}_rerun_rss_mb"] = m["rerun_rss_mb"]
    if "1m" in measured and "100k" in measured:
        peak = max(measured["1m"]["rss_mb"], measured["1m"]["rerun_rss_mb"])
        base = max(measured["100k"]["rss_mb"], measured["100k"]["rerun_rss_mb"])
        out["batch_1m_rss_vs_100k"] = round(peak / base, 2)
    return out


def chart(measured: dict[str, dict[str, Any]]) -> str:
    """An SVG of peak RSS and wall time against row count (log scale), first runs and reruns."""
    points = sorted(measured.values(), key=lambda m: m["rows"])
    width, height, pad = 640, 320, 50
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>\n'
    import math

    low, high = math.log10(min(p["rows"] for p in points)), math.log10(max(p["rows"] for p in points))
    span = (high - low) or 1.0

    def x(rows: int) -> float:
        return pad + (math.log10(rows) - low) / span * (width - 2 * pad)

    def line(key: str, top: float, colour: str) -> str:
        coords = " ".join(f"{x(p['rows']):.0f},{height - pad - p[key] / top * (height - 2 * pad):.0f}" for p in points)
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'

    mb = max(max(p["rss_mb"], p["rerun_rss_mb"]) for p in points) or 1
    seconds = max(max(p["seconds"], p["rerun_seconds"]) for p in points) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<text x="{pad}" y="20">flowdeck batch: peak RSS (MB, top {mb}) and wall (s, top {seconds}) by rows</text>',
        line("rss_mb", mb, "#1f77b4"),
        line("rerun_rss_mb", mb, "#aec7e8"),
        line("seconds", seconds, "#d62728"),
        line("rerun_seconds", seconds, "#ff9896"),
        *(
            f'<text x="{x(p["rows"]):.0f}" y="{height - pad + 16}" text-anchor="middle">{label(p["rows"])}</text>'
            for p in points
        ),
        f'<text x="{width - pad}" y="{height - 8}" text-anchor="end">dark: first run, light: rerun; blue RSS, red wall'
        "</text>",
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    work = ROOT / "bench-results"
    work.mkdir(exist_ok=True)
    latest_path = work / "latest.json"
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {}
    measured: dict[str, dict[str, Any]] = dict(latest.get("details", {}).get("batch_scale", {}))
    for rows in args.rows:
        measured[label(rows)] = result = measure(rows)
        print(json.dumps(result), flush=True)
    latest.update(figures(measured))
    latest.setdefault("details", {})["batch_scale"] = measured
    latest_path.write_text(json.dumps(latest, indent=2) + "\n")
    (work / "cost_curve.svg").write_text(chart(measured))
    for key, value in figures(measured).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
