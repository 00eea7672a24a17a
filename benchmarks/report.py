"""The performance page's table and the throughput chart, made from ``bench-results/latest.json``.

``make bench`` draws the chart; the documentation's build renders the table (``docs/_hooks``), so the
page always shows the latest figures. ``python -m benchmarks.report`` prints the table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
LATEST = ROOT / "bench-results" / "latest.json"

# key, what it measures, how it is shown, target, whether the value meets it
Row = tuple[str, str, Callable[[Any], str], str, Callable[[Any, Mapping[str, Any]], bool]]


def _x(v: Any) -> str:
    return f"{v:.2f}×"


def _pct(v: Any) -> str:
    return f"{100 * v:.1f}%"


ROWS: list[Row] = [
    ("per_call_vs_httpx", "per-call overhead, one poll, vs raw httpx (median)", _x, "≤ 1.05×", lambda v, r: v <= 1.05),
    ("runs_10k_vs_ideal", "10,000 runs of 1-5 s started at 500/s, async client, vs the ideal", _x,
     "≤ 1.10×, within 0.1 of the floor", lambda v, r: v <= 1.10 and v - r["plain_asyncio_vs_ideal"] <= 0.1),
    ("batch_10k_vs_ideal", "the same 10,000 runs through `flowdeck batch`", _x, "≤ 1.15×", lambda v, r: v <= 1.15),
    ("runs_10k_vs_ideal_aiohttp", "the same, `AsyncClient(http_backend=\"aiohttp\")`", _x, "≤ 1.10×",
     lambda v, r: v <= 1.10),
    ("plain_asyncio_vs_ideal", "the floor: a plain asyncio + httpx loop, same runs and polls", _x, "(reference)",
     lambda v, r: True),
    ("cpu_ms_per_run", "client CPU per run (start + polls), flowdeck", lambda v: f"{v:.2f} ms",
     "(plain loop: see next)", lambda v, r: True),
    ("cpu_ms_per_run_aiohttp", "client CPU per run, flowdeck on aiohttp", lambda v: f"{v:.2f} ms", "(reference)",
     lambda v, r: True),
    ("cpu_ms_per_run_plain", "client CPU per run, plain asyncio + httpx", lambda v: f"{v:.2f} ms", "(reference)",
     lambda v, r: True),
    ("first_run_lag", "detection lag, first run of a workflow (10 s and 60 s runs, worse of the two)", _pct,
     "≤ 15%", lambda v, r: v <= 0.15),
    ("learned_run_lag", "detection lag, later runs (the length learned)", _pct, "≤ 5%", lambda v, r: v <= 0.05),
    ("polls_per_run", "polls per later run", lambda v: f"{v:g}", "≤ 4", lambda v, r: v <= 4),
    ("rss_mb_10k", "peak RSS with 10,000 runs in flight", lambda v: f"{v:.0f} MB", "≤ 150 MB",
     lambda v, r: v <= 150),
    ("import_ms_flowdeck", "`import flowdeck` (fresh interpreter, fastest of 15 rounds, in turn with the rows below)",
     lambda v: f"{v:.0f} ms", "≤ httpx + 25 ms", lambda v, r: v - r["import_ms_httpx"] <= 25),
    ("import_ms_httpx", "`import httpx`, the same way", lambda v: f"{v:.0f} ms", "(reference)", lambda v, r: True),
    ("import_ms_flowdeck_clients", "`import flowdeck`, then an `AsyncClient()` and a `Client()`",
     lambda v: f"{v:.0f} ms", "(what a program pays to start)", lambda v, r: True),
    ("import_ms_httpx_clients", "`import httpx`, then an `AsyncClient()` and a `Client()`", lambda v: f"{v:.0f} ms",
     "(reference)", lambda v, r: True),
    ("quota_10k_vs_ideal", "batch against a start quota, vs the quota-limited ideal", _x, "≤ 1.2×",
     lambda v, r: v <= 1.2),
    ("quota_429_share", "start requests answered 429 in that batch", _pct, "≤ 5%", lambda v, r: v <= 0.05),
    ("random_429s_adaptive_vs_off", "batch under 30% random 429s (no quota), adaptive rate vs off", _x,
     "≤ 1.10×", lambda v, r: v <= 1.10),
    ("tls_10k_vs_ideal", "10,000 runs of 1-5 s over TLS at 80 ms round trip, started at 200/s, vs the ideal", _x,
     "≤ 1.10×", lambda v, r: v <= 1.10),
    ("tls_connections_vs_peak", "connections opened in that run, vs the peak requests in flight", _x, "≤ 2×",
     lambda v, r: v <= 2),
    ("tls_handshakes_per_connection", "TLS handshakes per connection in that run", lambda v: f"{v:.2f}", "1",
     lambda v, r: v <= 1.0),
    ("tls_10k_vs_ideal_aiohttp", "the same over TLS, on aiohttp", _x, "≤ 1.10×", lambda v, r: v <= 1.10),
    ("tls_connections_vs_peak_aiohttp", "connections opened vs peak in flight, on aiohttp", _x, "≤ 2×",
     lambda v, r: v <= 2),
    ("batch_10k_rss_mb", "`flowdeck batch`, 10,000 rows (Databar bulk): peak RSS", lambda v: f"{v:.0f} MB",
     "(cost curve)", lambda v, r: True),
    ("batch_100k_rss_mb", "the same, 100,000 rows: peak RSS", lambda v: f"{v:.0f} MB", "(cost curve)",
     lambda v, r: True),
    ("batch_1m_rss_mb", "the same, 1,000,000 rows (`make bench-scale`): peak RSS", lambda v: f"{v:.0f} MB",
     "≤ 250 MB", lambda v, r: v <= 250),
    ("batch_1m_rss_vs_100k", "peak RSS at 1,000,000 rows vs 100,000", _x, "≤ 1.5×", lambda v, r: v <= 1.5),
    ("batch_1m_s", "wall time of the 1,000,000-row batch", lambda v: f"{v:.0f} s", "(cost curve)",
     lambda v, r: True),
    ("batch_1m_rerun_s", "a rerun over the 1,000,000 finished rows", lambda v: f"{v:.1f} s", "≤ 10 s",
     lambda v, r: v <= 10),
    ("vs_databar_sdk", "speed-up vs the databar SDK's `run_flow_sync` in a loop", lambda v: f"{v:g}×", "≥ 20×",
     lambda v, r: v >= 20),
    ("vs_gumloop_sdk", "speed-up vs the gumloop SDK's `run_flow` in a loop", lambda v: f"{v:g}×", "≥ 20×",
     lambda v, r: v >= 20),
]  # fmt: skip


def render(latest: Mapping[str, Any]) -> str:
    """The Markdown table of ``latest`` (every key of :data:`ROWS`, with its target and ✓ or ✗).

    >>> render({"machine": "m", **{k: 1 for k, *_ in ROWS}}).splitlines()[2]
    '| key | measure | result | target |'
    """
    quota = latest.get("details", {}).get("quota", {})
    lines = [f"Machine: {latest['machine']}.", "", "| key | measure | result | target |", "|---|---|---|---|"]
    for key, what, show, target, met in ROWS:
        value = latest[key]
        if key.startswith("quota_") and quota:
            what += f" ({quota['rows']:,} rows, {quota['quota_per_s']:g} starts/s)"
        mark = "" if target.startswith("(") else (" ✓" if met(value, latest) else " ✗")
        lines.append(f"| `{key}` | {what} | {show(value)} | {target}{mark} |")
    return "\n".join(lines)


def chart(curves: Mapping[str, list[float]], n: int, rate: float, ideal: Callable[[int, float, float], float]) -> str:
    """An SVG line chart of runs finished over time: each measured curve, and the ideal.

    >>> chart({"a": [1.0, 2.0]}, 2, 1.0, lambda n, r, t: min(n, t)).startswith("<svg")
    True
    """
    width, height, left, bottom, top, right = 720, 400, 70, 50, 40, 190
    end = max([*(max(c) for c in curves.values() if c), n / rate + 5.0]) * 1.02

    def x(t: float) -> float:
        return left + (width - left - right) * t / end

    def y(count: float) -> float:
        return height - bottom - (height - bottom - top) * count / n

    colors = ["#d62728", "#ff7f0e", "#1f77b4", "#7f7f7f"]  # the ideal is the last series, dashed
    series: list[tuple[str, list[tuple[float, float]], str]] = []
    for name, done in curves.items():
        times = sorted(done)
        points = [(0.0, 0.0)] + [(t, i + 1) for i, t in enumerate(times) if i % max(1, len(times) // 400) == 0]
        points.append((times[-1], len(times)) if times else (0.0, 0.0))
        series.append((name, points, ""))
    steps = 200
    series.append(("ideal", [(end * k / steps, ideal(n, rate, end * k / steps)) for k in range(steps + 1)], "6 4"))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14">Runs finished over time ({n:,} runs of 1-5 s, started at '
        f"{rate:g}/s)</text>",
        f'<line x1="{left}" y1="{y(0)}" x2="{x(end)}" y2="{y(0)}" stroke="black"/>',
        f'<line x1="{left}" y1="{y(0)}" x2="{left}" y2="{y(n)}" stroke="black"/>',
        f'<text x="{(left + x(end)) / 2}" y="{height - 12}" text-anchor="middle">seconds</text>',
        f'<text x="16" y="{(y(0) + y(n)) / 2}" transform="rotate(-90 16 {(y(0) + y(n)) / 2})" '
        'text-anchor="middle">runs finished</text>',
    ]
    tick = next(t for t in (1, 2, 5, 10, 20, 30, 60, 120, 300, 600) if end / t <= 10)
    for k in range(int(end // tick) + 1):
        t = k * tick
        out.append(f'<line x1="{x(t):.1f}" y1="{y(0)}" x2="{x(t):.1f}" y2="{y(0) + 5}" stroke="black"/>')
        out.append(f'<text x="{x(t):.1f}" y="{y(0) + 18}" text-anchor="middle">{t:g}</text>')
    for k in range(5):
        count = n * k / 4
        out.append(f'<text x="{left - 6}" y="{y(count) + 4:.1f}" text-anchor="end">{count:,.0f}</text>')
        out.append(f'<line x1="{left}" y1="{y(count):.1f}" x2="{x(end):.1f}" y2="{y(count):.1f}" stroke="#eee"/>')
    for (_, points, dash), color in zip(series, colors[-len(series) :], strict=True):
        path = " ".join(f"{x(t):.1f},{y(c):.1f}" for t, c in points)
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{style} points="{path}"/>')
    for i, ((name, _, dash), color) in enumerate(zip(series, colors[-len(series) :], strict=True)):
        ly = top + 20 + 22 * i
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{width - right + 15}" y1="{ly}" x2="{width - right + 45}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"{style}/>')  # fmt: skip
        out.append(f'<text x="{width - right + 52}" y="{ly + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main() -> int:
    """Print the performance table of bench-results/latest.json."""
    print(render(json.loads(LATEST.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
