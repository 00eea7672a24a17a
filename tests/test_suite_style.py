"""The suite reads like a specification: short test names, each with a one-line docstring saying the
behaviour, module docstrings that say what each file covers, and prose without the code's history.
"""

from __future__ import annotations

import ast
import re
import statistics
from collections import Counter
from pathlib import Path

from tests.test_comments import texts

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("tests", "contract_tests")

# History words only: a test's prose states its own setup in figures ("runs take 10 s").
HISTORY = re.compile(r"\b(?:used to|no longer|previously|formerly|nowadays|anymore)\b|\(was\b", re.IGNORECASE)
# These two quote the words they look for.
CHECKERS = {"tests/test_comments.py", "tests/test_suite_style.py"}


def modules(root: Path = ROOT) -> dict[str, ast.Module]:
    """Every test module of the suites, parsed, by its path from ``root``."""
    return {
        path.relative_to(root).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
        for suite in SUITES
        for path in sorted((root / suite).rglob("test_*.py"))
    }


def _test_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The module's test functions, methods of test classes included."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [n for n in found if n.name.startswith("test")]


def median_name_length(root: Path = ROOT) -> float:
    """The median length of the suites' test names."""
    return statistics.median(len(t.name) for tree in modules(root).values() for t in _test_functions(tree))


def without_docstring(root: Path = ROOT) -> list[str]:
    """``file::name`` of each test with no docstring, or one longer than a line."""
    return [
        f"{name}::{t.name}"
        for name, tree in modules(root).items()
        for t in _test_functions(tree)
        if "\n" in (ast.get_docstring(t) or "\n")
    ]


def test_names_are_short() -> None:
    """The median test name is at most 40 characters, as stamina's are."""
    assert median_name_length() <= 40, median_name_length()


def test_every_test_says_its_behaviour() -> None:
    """Every test function has a one-line docstring."""
    assert without_docstring() == []


def test_names_are_unique_per_module() -> None:
    """No test name repeats in its module, where the later one would hide the earlier."""
    repeated = {
        name: [n for n, count in Counter(t.name for t in _test_functions(tree)).items() if count > 1]
        for name, tree in modules().items()
    }
    assert {name: found for name, found in repeated.items() if found} == {}


def openings(root: Path = ROOT) -> dict[str, str]:
    """Each test module's docstring up to its first punctuation: the words that say what it covers."""
    return {name: re.split(r"[.,:;]", ast.get_docstring(tree) or "")[0] for name, tree in modules(root).items()}


def test_module_docstrings_differ() -> None:
    """Each test module has a docstring opening with words of its own."""
    opening = openings()
    assert [name for name, words in opening.items() if not words.strip()] == []
    shared = Counter(opening.values())
    assert sorted(name for name, words in opening.items() if shared[words] > 1) == []


def test_prose_tells_no_history() -> None:
    """No comment or docstring in the suites tells what the code used to do."""
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {match.group(0)!r}"
        for suite in SUITES
        for path in sorted((ROOT / suite).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in CHECKERS
        for line, text in texts(path.read_text(encoding="utf-8"))
        for match in HISTORY.finditer(" ".join(text.split()))
    ]
    assert found == [], "\n".join(found)
