"""Pull the OpenAPI document out of a vendored documentation page, mechanically."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from specpipe._errors import ExtractError

# A fence closes with the backticks it opened with: the pages' YAML,
# fenced with four, may itself hold three.
_FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


def yaml_problem(exc: yaml.YAMLError, *, first_line: int = 1) -> str:
    r"""The parser's own words and where, counting lines from ``first_line`` (a fence's body in a page).

    >>> try:
    ...     yaml.safe_load("a: 1\nb: [2\n")
    ... except yaml.YAMLError as exc:
    ...     print(yaml_problem(exc))
    expected ',' or ']', but got '<stream end>' at line 3, column 1
    """
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{exc.problem} at line {mark.line + first_line}, column {mark.column + 1}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def extract_openapi(page: str, *, name: str = "<page>") -> dict[str, Any]:
    r"""Return the single OpenAPI document found in a fenced code block of ``page``.

    A fence the parser cannot read is named with the parser's message and the page's line number:
    a typo inside the spec's fence is not the same mistake as a page without one.

    >>> extract_openapi("intro\n```json\n{\"openapi\": \"3.1.0\", \"paths\": {}}\n```\n")
    {'openapi': '3.1.0', 'paths': {}}
    """
    found: list[dict[str, Any]] = []
    broken: list[str] = []
    for match in _FENCE.finditer(page):
        info = match.group("info").strip().split()
        lang = info[0].lower() if info else ""
        body = match.group("body")
        first_line = page.count("\n", 0, match.start("body")) + 1
        try:
            doc = json.loads(body) if lang == "json" else yaml.safe_load(body)
        except json.JSONDecodeError as exc:
            broken.append(f"the JSON fence at line {first_line - 1} is not valid JSON: "
                          f"{exc.msg} at line {exc.lineno + first_line - 1}, column {exc.colno}")  # fmt: skip
            continue
        except yaml.YAMLError as exc:
            if lang in ("yaml", "yml", "") or "openapi:" in body:  # a shell or HTTP sample is no concern of ours
                broken.append(f"the fence at line {first_line - 1} is not valid YAML: "
                              f"{yaml_problem(exc, first_line=first_line)}")  # fmt: skip
            continue
        if isinstance(doc, dict) and "openapi" in doc:
            found.append(doc)
    if len(found) != 1:
        why = f" ({'; '.join(broken)})" if broken and not found else ""
        raise ExtractError(f"{name}: expected exactly one fenced OpenAPI document, found {len(found)}{why}")
    return found[0]
