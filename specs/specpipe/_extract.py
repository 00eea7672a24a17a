"""Pull the OpenAPI document out of a vendored documentation page, mechanically."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from specpipe._errors import ExtractError

# A fenced block opens with three or more backticks and closes with the same run; the docs pages
# use four for YAML (so the YAML may itself contain triple backticks) and three for JSON.
_FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)


def extract_openapi(page: str, *, name: str = "<page>") -> dict[str, Any]:
    """Return the single OpenAPI document found in a fenced code block of ``page``.

    >>> extract_openapi("intro\\n```json\\n{\\"openapi\\": \\"3.1.0\\", \\"paths\\": {}}\\n```\\n")
    {'openapi': '3.1.0', 'paths': {}}
    """
    found: list[dict[str, Any]] = []
    for match in _FENCE.finditer(page):
        info = match.group("info").strip().split()
        lang = info[0].lower() if info else ""
        body = match.group("body")
        try:
            doc = json.loads(body) if lang == "json" else yaml.safe_load(body)
        except (json.JSONDecodeError, yaml.YAMLError):
            continue
        if isinstance(doc, dict) and "openapi" in doc:
            found.append(doc)
    if len(found) != 1:
        raise ExtractError(f"{name}: expected exactly one fenced OpenAPI document, found {len(found)}")
    return found[0]
