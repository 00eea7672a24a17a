"""mkdocs hook: the parts of the site made from the project itself when the site is built.

The command line's reference comes from the command (so it cannot drift from ``--help``), the
performance tables from ``bench-results/latest.json``, and the chart is copied beside them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
CLI_MARK = "<!-- cli-reference -->"
BENCH_MARK = "<!-- bench-table -->"


def cli_reference() -> str:
    """Markdown for every ``flowdeck`` command, from the click command typer builds."""
    import typer.main
    from flowdeck._cli import app
    from mkdocs_click._docs import make_command_docs

    command = typer.main.get_command(app)
    # typer builds on its own copy of click, whose commands mkdocs-click reads as it reads click's.
    docs = make_command_docs("flowdeck", command, depth=2, style="table", list_subcommands=True)  # type: ignore[arg-type]
    return "\n".join(docs)


def bench_table() -> str:
    """The headline figures of the latest ``make bench``, with their targets."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.report import LATEST, render

    return render(json.loads(LATEST.read_text(encoding="utf-8")))


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the pages' generated parts."""
    if CLI_MARK in markdown:
        markdown = markdown.replace(CLI_MARK, cli_reference())
    if BENCH_MARK in markdown:
        markdown = markdown.replace(BENCH_MARK, bench_table())
    return markdown


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """The throughput chart, as ``make bench`` drew it, beside the performance page."""
    chart = ROOT / "bench-results" / "throughput.svg"
    files.append(File.generated(config, "throughput.svg", abs_src_path=str(chart)))
    return files
