"""The change report, as Markdown (for people and pull requests) or JSON (for tools)."""

from __future__ import annotations

import json
from collections import Counter

from specpipe._diff import LEVELS, Change, diff_specs, is_breaking

__all__ = ["Change", "diff_specs", "format_json", "format_markdown", "is_breaking", "summary"]


def summary(changes: list[Change]) -> str:
    """``3 changes: 1 breaking, 2 info`` (or ``no API changes``).

    >>> summary([])
    'no API changes'
    """
    if not changes:
        return "no API changes"
    counts = Counter(c.level for c in changes)
    parts = ", ".join(f"{counts[level]} {level}" for level in LEVELS if counts[level])
    return f"{len(changes)} change{'s' if len(changes) != 1 else ''}: {parts}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def format_markdown(title: str, changes: list[Change], *, note: str = "") -> str:
    """A Markdown section: a heading with the counts, then one table row per change.

    >>> print(format_markdown("demo", [Change("breaking", "GET /a", "", "operation removed")]))
    ## demo: 1 change: 1 breaking
    <BLANKLINE>
    | level | operation | where | change |
    |---|---|---|---|
    | **breaking** | `GET /a` |   | operation removed |
    """
    lines = [f"## {title}: {summary(changes)}", ""]
    if note:
        lines += [note, ""]
    if changes:
        lines += ["| level | operation | where | change |", "|---|---|---|---|"]
        for c in changes:
            level = f"**{c.level}**" if c.level == "breaking" else c.level
            operation = f"`{c.operation}`" if c.operation else "(document)"
            where = f"`{c.path}`" if c.path else " "
            lines.append(f"| {level} | {_cell(operation)} | {_cell(where)} | {_cell(c.message)} |")
    return "\n".join(lines).rstrip()


def format_json(changes: list[Change]) -> str:
    """The JSON list ``[{"level", "operation", "path", "message"}, ...]``."""
    return json.dumps([c.to_json() for c in changes], indent=2)
