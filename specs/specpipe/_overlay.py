"""A strict OpenAPI Overlay 1.0 applier on python-jsonpath (RFC 9535).

Strict means: an action whose target matches nothing is an error. Our overlays patch documents we
do not control; when the provider changes one, a silently skipped fix would ship a broken client.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonpath

from specpipe._errors import OverlayCollisionError, OverlayError, StaleOverlayError

_VERSION = re.compile(r"^1\.0\.\d+$")
ADDED = "x-flowdeck-added"  # an operation the page lacks
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PARAM = re.compile(r"\{[^}]*\}")


def validate_overlay(overlay: Any, *, name: str = "<overlay>") -> None:
    """Raise :class:`OverlayError` unless ``overlay`` is a well-formed Overlay 1.0 document."""
    if not isinstance(overlay, dict):
        raise OverlayError(f"{name}: an overlay must be a mapping")
    if not _VERSION.match(str(overlay.get("overlay", ""))):
        raise OverlayError(f"{name}: 'overlay' must be a 1.0.x version, got {overlay.get('overlay')!r}")
    info = overlay.get("info")
    if not isinstance(info, dict) or not info.get("title") or not info.get("version"):
        raise OverlayError(f"{name}: 'info' needs 'title' and 'version'")
    actions = overlay.get("actions")
    if not isinstance(actions, list) or not actions:
        raise OverlayError(f"{name}: 'actions' must be a non-empty list")
    for i, action in enumerate(actions):
        where = f"{name}: action #{i}"
        if not isinstance(action, dict):
            raise OverlayError(f"{where} must be a mapping")
        target = action.get("target")
        if not isinstance(target, str) or not target.startswith("$"):
            raise OverlayError(f"{where}: 'target' must be a JSONPath starting with '$'")
        if ("update" in action) == bool(action.get("remove")):
            raise OverlayError(f"{where}: needs exactly one of 'update' or 'remove: true'")
        try:
            jsonpath.compile(target)
        except jsonpath.JSONPathError as exc:
            raise OverlayError(f"{where}: bad JSONPath {target!r}: {exc}") from exc


def merge_update(target: Any, update: Any) -> Any:
    """Overlay 1.0 update semantics: objects merge recursively, arrays append, anything else replaces.

    >>> merge_update({"a": {"b": 1}, "l": [1]}, {"a": {"c": 2}, "l": [2]})
    {'a': {'b': 1, 'c': 2}, 'l': [1, 2]}
    """
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = merge_update(target[key], value) if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list):
        target.extend(copy.deepcopy(update) if isinstance(update, list) else [copy.deepcopy(update)])
        return target
    return copy.deepcopy(update)


def apply_overlay(document: dict[str, Any], overlay: dict[str, Any], *, name: str = "<overlay>") -> dict[str, Any]:
    """Return a copy of ``document`` with every action of ``overlay`` applied in order.

    Every stale action (target matching nothing) is collected and reported together, so one run
    shows everything a provider's spec change broke.

    >>> ov = {"overlay": "1.0.0", "info": {"title": "t", "version": "1"},
    ...       "actions": [{"target": "$.info", "update": {"title": "B"}}]}
    >>> apply_overlay({"info": {"title": "A"}}, ov)["info"]["title"]
    'B'
    """
    validate_overlay(overlay, name=name)
    doc = copy.deepcopy(document)
    stale: list[tuple[int, str, str]] = []
    for i, action in enumerate(overlay["actions"]):
        target = action["target"]
        matches = list(jsonpath.finditer(target, doc))
        if not matches:
            stale.append((i, target, str(action.get("description", ""))))
            continue
        if action.get("remove"):
            _remove(matches)
            continue
        for match in matches:
            _refuse_collisions(doc, tuple(match.parts), action["update"], f"{name} action #{i}", action)
            if match.parent is None:
                doc = merge_update(doc, action["update"])
            else:
                container, key = match.parent.obj, match.parts[-1]
                container[key] = merge_update(container[key], action["update"])  # type: ignore[index]
    if stale:
        raise StaleOverlayError(name, stale)
    return doc


def _remove(matches: list[jsonpath.JSONPathMatch]) -> None:
    # Highest index first, so a deletion shifts none still to come.
    keyed: list[tuple[Any, Any]] = [(m.parent.obj, m.parts[-1]) for m in matches if m.parent is not None]
    for container, key in sorted(keyed, key=lambda ck: ck[1] if isinstance(ck[1], int) else -1, reverse=True):
        del container[key]


def template(path: str) -> str:
    """A path with its parameter names erased: ``/v1/tasks/{id}`` and ``/v1/tasks/{task_id}`` are one path.

    >>> template("/v1/tasks/{task_id}/cancel")
    '/v1/tasks/{}/cancel'
    """
    return _PARAM.sub("{}", path)


def _marked(update: Any, rel: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Relative paths of every object in ``update`` carrying the x-flowdeck-added mark."""
    if not isinstance(update, dict):
        return []
    found = [rel] if update.get(ADDED) else []
    for key, value in update.items():
        found += _marked(value, (*rel, key))
    return found


def _refuse_collisions(doc: Any, at: tuple[Any, ...], update: Any, where: str, action: dict[str, Any]) -> None:
    """An operation we add must not exist yet: when the provider publishes it, our copy must go."""
    for rel in _marked(update):
        parts = (*at, *rel)
        if len(parts) != 3 or parts[0] != "paths" or parts[2] not in _METHODS:
            raise OverlayError(f"{where}: {ADDED} marks operations only (paths.<path>.<method>), not {parts!r}")
        path, method = str(parts[1]), str(parts[2])
        existing = [
            p for p, item in (doc.get("paths") or {}).items() if template(p) == template(path) and method in item
        ]
        if existing:
            desc = f" ({action['description']})" if action.get("description") else ""
            raise OverlayCollisionError(
                f"{where}{desc} adds {method.upper()} {path}, which the provider's page now defines "
                f"({method.upper()} {existing[0]}): delete that operation from the overlay action and keep "
                "only the fixes the published one still needs"
            )
