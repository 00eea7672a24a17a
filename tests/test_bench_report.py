"""The performance page's table is made from bench-results/latest.json when the site is built."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.report import LATEST, ROWS, render

ROOT = Path(__file__).resolve().parents[1]
ISSUE_KEYS = {
    "per_call_vs_httpx", "runs_10k_vs_ideal", "batch_10k_vs_ideal", "plain_asyncio_vs_ideal", "first_run_lag",
    "learned_run_lag", "polls_per_run", "rss_mb_10k", "import_ms_flowdeck", "import_ms_httpx", "quota_10k_vs_ideal",
    "quota_429_share", "vs_databar_sdk", "vs_gumloop_sdk",
}  # fmt: skip


def test_latest_json_keys() -> None:
    """bench-results/latest.json has every headline key."""
    latest = json.loads(LATEST.read_text())
    assert ISSUE_KEYS <= {key for key, *_ in ROWS} <= set(latest), sorted(ISSUE_KEYS - set(latest))
    assert "load average" in latest["machine"]


def test_page_renders_latest() -> None:
    """The page holds the marker the docs build fills with render(latest.json), and no copy of a table."""
    page = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    assert page.count("<!-- bench-table -->") == 1 and "| `runs_10k_vs_ideal` |" not in page
    assert "| `runs_10k_vs_ideal` |" in render(json.loads(LATEST.read_text()))


def test_chart_curves() -> None:
    """The throughput chart is an SVG with its curves."""
    svg = (ROOT / "bench-results" / "throughput.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 4  # flowdeck, on aiohttp, plain loop, ideal
    cost = (ROOT / "bench-results" / "cost_curve.svg").read_text()
    assert cost.startswith("<svg") and cost.count("<polyline") == 4  # RSS and wall, first run and rerun


def test_cost_curve_keys_and_chart() -> None:
    """bench_scale names its keys by row count, relates 1m to 100k, and draws every row count."""
    from benchmarks.bench_scale import chart, figures

    def point(rows: int, mb: int) -> dict[str, float]:
        return {"rows": rows, "rss_mb": mb, "seconds": 1.0, "rerun_seconds": 0.5, "rerun_rss_mb": mb - 10}

    measured = {"10k": point(10_000, 60), "100k": point(100_000, 100), "1m": point(1_000_000, 140)}
    keys = figures(measured)
    assert keys["batch_1m_rss_mb"] == 140 and keys["batch_100k_rerun_s"] == 0.5
    assert keys["batch_1m_rss_vs_100k"] == 1.4
    svg = chart(measured)
    assert svg.count("<polyline") == 4 and all(f">{name}<" in svg for name in measured)
