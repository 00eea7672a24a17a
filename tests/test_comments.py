"""Comments and docstrings say why, once, in the present tense: no measurements, dates or history.

Figures live in bench-results/ and the performance page, history in git and CHANGELOG.md. Doctest
examples are code, not prose, and are not read. "was" alone is not history: "nothing was sent"
says what happened to a request; "(was 16)" and "was two thirds of the cost" compare the code with
its past, and are caught.
"""

from __future__ import annotations

import ast
import doctest
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("facade", "benchmarks", "specs/specpipe", "conftest.py")

_UNIT = r"(?:ms|µs|us|ns|s|secs?|seconds?|minutes?|hours?|h|%|\u00d7|x|KB|MB|GB|KiB|MiB|GiB)"
FORBIDDEN = re.compile(
    rf"(?<![\w.])(?![1-5]\d\ds\b)\d[\d,.]*\s?{_UNIT}(?!\w)"  # a number with a unit; "429s" is a status
    r"|\b(?:19|20)\d\d-[01]\d\b"  # a date
    r"|\b(?:an?|one|two|few|several|tens of|hundreds of|most of a|half a) (?:milli|micro|nano)seconds?\b"
    r"|\b(?:half|thirds?|quarter|tenth|fiftieth)(?: as much| of)[^.;:]{0,25}\b(?:CPU|memory|time)\b"
    r"|\b(?:used to|no longer|previously|formerly|nowadays)\b"
    r"|\(was\b|\bwas (?:\d|most\b|half\b|two thirds\b|a (?:tenth|third|fraction)\b)",
    re.IGNORECASE,
)

# Facts, not measurements: defaults and limits of flowdeck or of what it talks to, said where the
# code relies on them. Each entry is (file, the exact match, why it may stay); an unused one fails.
ALLOWED = {
    ("facade/flowdeck/_errors.py", "24 hours"): "Databar's documented retention of results",
    ("facade/flowdeck/_providers/databar.py", "24 h"): "Databar's documented retention of results",
    ("facade/flowdeck/testing/_databar.py", "24 h"): "the mock keeps results as Databar documents",
    ("facade/flowdeck/testing/_databar.py", "24 hours"): "the mock keeps results as Databar documents",
    ("benchmarks/bench_sdks.py", "2 s"): "the Databar SDK's own poll interval, which the benchmark runs",
    ("benchmarks/bench_sdks.py", "1 s"): "the Gumloop SDK's own poll interval, which the benchmark runs",
}


def _comments(source: str) -> Iterator[tuple[int, str]]:
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def _docstrings(source: str) -> Iterator[tuple[int, str]]:
    """Every bare string statement (module, class, function and attribute docstrings), examples left out."""
    parser = doctest.DocTestParser()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            prose = "".join(part for part in parser.parse(node.value.value) if isinstance(part, str))
            yield node.lineno, prose


def texts(source: str) -> Iterator[tuple[int, str]]:
    """The prose of a module: its comments and docstrings, with line numbers."""
    yield from _comments(source)
    yield from _docstrings(source)


def findings(name: str, source: str) -> list[tuple[str, int, str]]:
    """(file, line, match) for each measurement, date or history word in the module's prose."""
    return [
        (name, line, match.group(0))
        for line, text in texts(source)
        for match in FORBIDDEN.finditer(" ".join(text.split()))
    ]


def _files() -> Iterator[Path]:
    for entry in SCANNED:
        path = ROOT / entry
        yield from [path] if path.is_file() else sorted(path.rglob("*.py"))


def _all_findings() -> list[tuple[str, int, str]]:
    return [
        found
        for path in _files()
        for found in findings(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    ]


def test_no_figures_dates_or_history() -> None:
    """No comment or docstring quotes a measurement, a date or the code's history."""
    left = [f"{name}:{line}: {text!r}" for name, line, text in _all_findings() if (name, text) not in ALLOWED]
    assert not left, "\n".join(left)


def test_allowlist_is_used() -> None:
    """Every allowed figure still appears where the allowlist says."""
    used = {(name, text) for name, _, text in _all_findings()}
    assert not ALLOWED.keys() - used, sorted(ALLOWED.keys() - used)


def test_checker_catches_a_planted_comment() -> None:
    """A comment quoting a figure, a docstring telling history: both found."""
    source = '"""Polls a run; it used to poll twice."""\n\nN = 4  # pools of 4 took 40% less CPU (was 16)\n'
    assert [text for _, _, text in findings("x.py", source)] == ["40%", "(was", "used to"]
    worded = "# building it was about a millisecond; the rest is a third of the CPU\n"
    assert [text for _, _, text in findings("x.py", worded)] == ["a millisecond", "third of the CPU"]


def test_checker_reads_prose_only() -> None:
    """Doctest examples, statuses like 429s and a run's past ("was sent") are not flagged."""
    source = '"""Nothing was sent; 429s are retried.\n\n>>> wait(timeout=5)  # 5 s\n"""\n'
    assert findings("x.py", source) == []


def _comment_text(token: str) -> str:
    """A comment's words, without pragmas (``noqa``, ``type: ignore``...) that may share its line."""
    parts = [part.strip() for part in token.split("#")]
    pragmas = ("noqa", "type:", "pragma:", "fmt:", "isort:", "doctest:")
    return " ".join(part for part in parts if part and not part.startswith(pragmas))


def test_comments_are_short() -> None:
    """facade/'s comments average at most 56 characters a line, as httpx's and stamina's do."""
    lengths = [
        len(text)
        for path in sorted((ROOT / "facade").rglob("*.py"))
        for _, token in _comments(path.read_text(encoding="utf-8"))
        if (text := _comment_text(token))
    ]
    assert sum(lengths) / len(lengths) <= 56, sum(lengths) / len(lengths)
