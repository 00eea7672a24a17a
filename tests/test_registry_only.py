"""Only the registry knows the providers: outside `_providers/` and `testing/`, no code names one."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from flowdeck._providers import BUILTIN

PACKAGE = Path(__file__).resolve().parents[1] / "facade" / "flowdeck"
# Where providers are declared (and their mocks live); everything else asks the registry.
DECLARED_IN = ("_providers", "testing")
# A provider's name, or its title's distinctive word, in any case ("StackAI", "SuperAI Flows").
NAMED = re.compile("|".join(BUILTIN), re.IGNORECASE)


def _docstring_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def naming_providers(source: str) -> list[tuple[int, str]]:
    """(line, token) of every name or string in ``source``'s code (not comments, not docstrings) naming a provider."""
    docstrings = _docstring_lines(ast.parse(source))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if (
            token.type in (tokenize.NAME, tokenize.STRING)
            and token.start[0] not in docstrings
            and NAMED.search(token.string)
        ):
            found.append((token.start[0], token.string))
    return found


def test_the_scan_finds_a_name() -> None:
    """The scan sees a provider named in code, and not in a comment or docstring."""
    code = 'KEY = "gumloop"  # StackAI\nclass C:\n    databar: int\nx = f"at {y} SuperAI"\n'
    assert naming_providers(code) == [(1, '"gumloop"'), (3, "databar"), (4, 'f"at {y} SuperAI"')]
    assert naming_providers('"""Gumloop."""\ndef f():\n    """databar"""  # stackai\n') == []


def test_only_registry_names_providers() -> None:
    """Outside `_providers/` and `testing/`, code asks the registry; docstrings and comments may give examples."""
    found = {
        f"{path.relative_to(PACKAGE)}:{line}": text
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in DECLARED_IN
        for line, text in naming_providers(path.read_text(encoding="utf-8"))
    }
    assert found == {}, found
