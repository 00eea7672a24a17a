"""Merge several documents of one provider (Databar publishes one page per operation)."""

from __future__ import annotations

import copy
from typing import Any

from specpipe._errors import MergeConflictError


def merge_documents(docs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Union the paths and components of ``docs``; the first document gives ``info`` and ``servers``.

    Identical duplicates (shared error schemas) are kept once; differing ones are a conflict.

    >>> a = {"openapi": "3.1.0", "paths": {"/a": {"get": {}}}}
    >>> sorted(merge_documents([("a", a), ("b", {"paths": {"/b": {"get": {}}}})])["paths"])
    ['/a', '/b']
    """
    if not docs:
        raise MergeConflictError("nothing to merge")
    merged = copy.deepcopy(docs[0][1])
    for name, doc in docs[1:]:
        for path, item in doc.get("paths", {}).items():
            target = merged.setdefault("paths", {}).setdefault(path, {})
            for method, operation in item.items():
                if method in target and target[method] != operation:
                    raise MergeConflictError(f"{name}: {method.upper()} {path} differs from an earlier document")
                target[method] = copy.deepcopy(operation)
        for section, entries in doc.get("components", {}).items():
            target = merged.setdefault("components", {}).setdefault(section, {})
            for key, value in entries.items():
                if key in target and target[key] != value:
                    raise MergeConflictError(f"{name}: components.{section}.{key} differs from an earlier document")
                target[key] = copy.deepcopy(value)
    return merged
