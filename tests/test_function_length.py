"""Rooms small enough to live in: no function in the package is longer than the anchors' longest."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "facade" / "flowdeck"
MAX_LINES = 80  # httpx's, stamina's and openai-python's longest functions are 74-82 lines


def long_functions(source: str, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method in ``source`` longer than ``limit`` lines, decorators and
    signature included.

    >>> long_functions("def f():\\n    return 1\\n", limit=1)
    [('f', 2)]
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            lines = (node.end_lineno or node.lineno) - first + 1
            if lines > limit:
                found.append((node.name, lines))
    return found


def test_no_function_over_80_lines() -> None:
    """Every function in facade/flowdeck, mock apps and command line included, is at most 80 lines."""
    found = {
        f"{path.relative_to(PACKAGE)}:{name}": lines
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, lines in long_functions(path.read_text(encoding="utf-8"))
    }
    assert found == {}, found
