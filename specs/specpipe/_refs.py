"""Local references only: every ``$ref`` must point inside its own document, and must resolve.

specpipe never fetches anything. A reference to another file or a URL is refused before any
library sees it (openapi-spec-validator would otherwise hand it to urllib), and a reference that
points nowhere is one line naming the file and the JSON pointer where it sits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from specpipe._errors import DanglingRefError


def escape(part: str | int) -> str:
    """One JSON-pointer token (RFC 6901).

    >>> escape("/v1/tasks/{task_id}")
    '~1v1~1tasks~1{task_id}'
    """
    return str(part).replace("~", "~0").replace("/", "~1")


def pointer(parts: tuple[str | int, ...]) -> str:
    """A JSON pointer from path parts.

    >>> pointer(("paths", "/a", "get"))
    '/paths/~1a/get'
    """
    return "".join("/" + escape(p) for p in parts)


def walk_refs(node: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every ``$ref`` value in ``node`` with the path of the object holding it."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield parts, node["$ref"]
        for key, value in node.items():
            if key != "$ref":
                yield from walk_refs(value, (*parts, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_refs(value, (*parts, i))


_MISSING = object()


def lookup(doc: Any, ref: str) -> Any:
    """The node a local ``#/...`` reference points at, or raise ``KeyError``.

    >>> lookup({"components": {"schemas": {"A": {"type": "string"}}}}, "#/components/schemas/A")
    {'type': 'string'}
    """
    if ref == "#":
        return doc
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(ref)
    return node


def problems(doc: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """``(where, ref, why)`` for every reference that is not local or does not resolve."""
    found = []
    for parts, ref in walk_refs(doc):
        if not isinstance(ref, str):
            found.append((parts, repr(ref), "is not a string"))
        elif not ref.startswith("#"):
            found.append((parts, ref, "is not a local '#/...' reference (specpipe never fetches files or URLs)"))
        else:
            try:
                lookup(doc, ref)
            except KeyError:
                found.append((parts, ref, "does not resolve"))
    return found


def check_refs(doc: dict[str, Any], *, origin: Any) -> None:
    """Raise :class:`DanglingRefError` (one line) for the first bad reference in ``doc``.

    ``origin(parts, ref)`` names the file the reference came from.

    >>> check_refs({"a": {"$ref": "#/b"}, "b": {}}, origin=lambda p, r: "x.yaml")
    >>> check_refs({"a": {"$ref": "#/nope"}}, origin=lambda p, r: "x.yaml")
    Traceback (most recent call last):
    specpipe._errors.DanglingRefError: x.yaml: $ref '#/nope' at /a does not resolve
    """
    bad = problems(doc)
    if bad:
        parts, ref, why = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DanglingRefError(f"{origin(parts, ref)}: $ref {ref!r} at {pointer(parts) or '/'} {why}{more}")
