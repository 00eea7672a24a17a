"""mkdocs hook: the parts of the site made from the project itself when the site is built.

The command line's reference is read from the command (so it cannot drift from ``--help``), the
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
ERRORS_MARK = "<!-- errors-reference -->"


def _text(text: object) -> str:
    """Help text as Markdown shows it: ``<name>`` is a word here, not an HTML tag."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: object) -> str:
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _command(name: str, command: Any, parent: Any) -> list[str]:
    """One command's section: what it does, its usage, its arguments and options, as --help has them."""
    ctx = command.context_class(command, info_name=name, parent=parent)
    summary, _, rest = (command.help or "").strip().partition("\n\n")
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"### `{ctx.command_path}`", "", _text(summary), "", "```text", usage]
    lines += ["", rest, "```"] if rest else ["```"]
    rows = ["| argument or option | type | default | what |", "|---|---|---|---|"]
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        if param.param_type_name == "argument":
            names = f"`{(param.metavar or param.name).upper()}`"
        default = "" if param.default is None or param.required or param.is_flag is True else param.default
        rows.append(f"| {names} | {_cell(param.type.name)} | {_cell(default)} | {_cell(param.help or '')} |")
    return [*lines, "", *rows, ""]


def cli_reference() -> str:
    """Markdown for ``flowdeck`` and each of its commands, read from the command line itself."""
    import typer.main
    from flowdeck._cli import app

    group = typer.main.get_group(app)
    root = group.context_class(group, info_name="flowdeck")
    sections = _command("flowdeck", group, None)
    for name, command in group.commands.items():
        sections += _command(name, command, root)
    return "\n".join(sections)


def bench_table() -> str:
    """The headline figures of the latest ``make bench``, with their targets."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from benchmarks.report import LATEST, render

    return render(json.loads(LATEST.read_text(encoding="utf-8")))


def errors_reference() -> str:
    """A reference entry for each error, in the order ``_errors.py`` defines them (the hierarchy's)."""
    import flowdeck
    from flowdeck import _errors

    names = [n for n, v in vars(_errors).items() if isinstance(v, type) and issubclass(v, flowdeck.FlowdeckError)]
    return "\n\n".join(f"::: flowdeck.{name}" for name in names)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Fill the pages' generated parts."""
    if CLI_MARK in markdown:
        markdown = markdown.replace(CLI_MARK, cli_reference())
    if ERRORS_MARK in markdown:
        markdown = markdown.replace(ERRORS_MARK, errors_reference())
    if BENCH_MARK in markdown:
        markdown = markdown.replace(BENCH_MARK, bench_table())
    return markdown


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """The charts, as ``make bench`` drew them, beside the performance page."""
    for name in ("throughput.svg", "cost_curve.svg"):
        files.append(File.generated(config, name, abs_src_path=str(ROOT / "bench-results" / name)))
    return files
