"""The formatter lays out all of the package: no ``# fmt: skip`` packs statements onto one line."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "facade" / "flowdeck"


def skipped_lines(source: str) -> list[int]:
    """Line numbers in ``source`` that opt out of the formatter.

    >>> skipped_lines("x = 1\\ny = [1,2]  # fmt: skip\\n")
    [2]
    """
    return [n for n, line in enumerate(source.splitlines(), 1) if line.rstrip().endswith("# fmt: skip")]


def test_no_fmt_skip() -> None:
    """No module of the package keeps a line out of the formatter."""
    found = {
        str(path.relative_to(PACKAGE)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := skipped_lines(path.read_text(encoding="utf-8")))
    }
    assert found == {}, found
