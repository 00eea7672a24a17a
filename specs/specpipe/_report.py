"""The change report, as Markdown (for people and pull requests) or JSON (for tools)."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from specpipe._diff import LEVELS, Change, diff_specs, is_breaking

if TYPE_CHECKING:
    from specpipe._impact import Impact

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


def format_markdown(title: str, changes: list[Change], *, note: str = "", impact: Impact | None = None) -> str:
    """A Markdown section: a heading with the counts, then one table row per change.

    With ``impact`` (the provider is known), a last column says which of flowdeck's public methods
    use the operation: ``breaks `client.databar.run_waterfall``` reads differently from
    ``breaking in the spec, not read by flowdeck``.

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
        extra = ("", "") if impact is None else (" flowdeck |", "---|")
        lines += [f"| level | operation | where | change |{extra[0]}", f"|---|---|---|---|{extra[1]}"]
        for c in changes:
            level = f"**{c.level}**" if c.level == "breaking" else c.level
            operation = f"`{c.operation}`" if c.operation else "(document)"
            where = f"`{c.path}`" if c.path else " "
            used = "" if impact is None else f" {_cell(impact.text(c))} |"
            lines.append(f"| {level} | {_cell(operation)} | {_cell(where)} | {_cell(c.message)} |{used}")
    return "\n".join(lines).rstrip()


def format_json(changes: list[Change], impact: Impact | None = None) -> str:
    """The JSON list ``[{"level", "operation", "path", "message"}, ...]``; with ``impact``, each entry
    also has ``"flowdeck": {"operations", "public", "impact"}``."""
    if impact is None:
        return json.dumps([c.to_json() for c in changes], indent=2)
    return json.dumps([{**c.to_json(), "flowdeck": impact.to_json(c)} for c in changes], indent=2)
