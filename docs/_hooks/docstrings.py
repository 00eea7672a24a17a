"""griffe extension: flowdeck's reST-flavoured docstrings read as Markdown on the API reference.

Doctest examples become Python code blocks (their output would otherwise read as Markdown, and a
``[...]`` in it as a link), and Sphinx roles become inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|func|meth|attr|data|exc|mod|obj):`~?([^`]+)`")


def fence_doctests(text: str) -> str:
    """Each run of ``>>>`` lines and their output, fenced as Python.

    >>> fence_doctests(">>> 1 + 1\\n2").splitlines()
    ['```python', '>>> 1 + 1', '2', '```']
    """
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>") and not inside:
            out.append("```python")
            inside = True
        elif inside and not stripped:
            out.append("```")
            inside = False
        out.append(line.strip() if inside else line)
    if inside:
        out.append("```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Rewrites every docstring griffe loads from flowdeck."""

    def on_instance(self, *, obj: griffe.Object, **_: Any) -> None:
        """Fence the examples and turn the roles into code."""
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(ROLE.sub(r"`\1`", obj.docstring.value))
