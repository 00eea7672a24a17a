"""What changed between two versions of an OpenAPI document, and whether it breaks existing clients.

The rules follow oasdiff's breaking-change checker (its ``checker/rules.go``): the same change is
judged by its direction, because a client *sends* requests and *reads* responses. A new required
request property breaks every caller; a new required response property breaks nobody. Levels:

``breaking``  existing client code or requests stop working (oasdiff ``error``)
``warning``   may break a client, cannot be decided from the spec alone (oasdiff ``warn``)
``info``      compatible

References are resolved before comparing, so a schema moved from inline to ``components`` (or
back) is no change, and a property renamed inside an inline schema is seen like one in a component.
Where flowdeck is deliberately stricter than oasdiff, the rule says why (search for ``stricter``):
flowdeck ships *generated* clients, so a renamed operation or model, or a removed response field,
breaks code that compiled yesterday; and a changed authentication scheme gets every existing
client a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from specpipe._overlay import template
from specpipe._refs import lookup

Level = Literal["breaking", "warning", "info"]
LEVELS: tuple[Level, ...] = ("breaking", "warning", "info")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
Direction = Literal["request", "response"]
_JSON = ("application/json", "*/*")
_NUMERIC = {
    "minimum": "min",
    "exclusiveMinimum": "min",
    "minLength": "min",
    "minItems": "min",
    "maximum": "max",
    "exclusiveMaximum": "max",
    "maxLength": "max",
    "maxItems": "max",
}


@attrs.frozen
class Change:
    """One difference: its ``level``, the ``operation`` (``""`` for the whole document), where, and what."""

    level: Level
    operation: str
    path: str
    message: str

    def to_json(self) -> dict[str, str]:
        """The JSON form ``specpipe report --json`` prints."""
        return {"level": self.level, "operation": self.operation, "path": self.path, "message": self.message}


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new``, most severe first.

    >>> old = {"paths": {"/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok"}}}}}}
    >>> [c.to_json() for c in diff_specs(old, {"paths": {}})]
    [{'level': 'breaking', 'operation': 'GET /a', 'path': '', 'message': 'operation removed'}]
    >>> diff_specs(old, old)
    []
    """
    return sorted(_Differ(old, new).run(), key=lambda c: (LEVELS.index(c.level), c.operation, c.path))


def is_breaking(changes: list[Change]) -> bool:
    """True if any change is breaking."""
    return any(c.level == "breaking" for c in changes)


# --- schemas, seen through their references ---


@attrs.frozen
class _View:
    """A schema reduced to what a client depends on (references, allOf and null-unions folded in)."""

    types: frozenset[str] | None  # None: any type
    nullable: bool
    format: str | None
    enum: tuple[Any, ...] | None
    properties: dict[str, Any]
    required: frozenset[str]
    additional: Any  # True (allowed, untyped), False, or a schema
    items: Any
    variants: tuple[Any, ...]
    bounds: dict[str, Any]
    pattern: str | None
    default: Any
    deprecated: bool


_NO_DEFAULT = object()


def _widens(old: frozenset[str] | None, new: frozenset[str] | None) -> bool:
    """``new`` accepts everything ``old`` did (an integer is a number)."""
    if new is None:
        return True
    if old is None:
        return False
    return all(t in new or (t == "integer" and "number" in new) for t in old)


class _Differ:
    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self.renamed_schemes: dict[str, str] = {}

    # -- helpers --

    def add(self, level: Level, operation: str, path: str, message: str) -> None:
        self.changes.append(Change(level, operation, path, message))

    def resolve(self, doc: Mapping[str, Any], node: Any, seen: tuple[str, ...] = ()) -> tuple[Any, tuple[str, ...]]:
        """Follow ``$ref`` chains; returns the node and the references followed (cycle detection)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                return {}, seen
            seen = (*seen, ref)
            try:
                target = lookup(doc, ref)
            except KeyError:
                return {"x-unresolved": ref}, seen
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
        return node, seen

    def view(self, doc: Mapping[str, Any], node: Any, seen: tuple[str, ...]) -> tuple[_View, tuple[str, ...]]:
        node, seen = self.resolve(doc, node, seen)
        if not isinstance(node, dict):
            node = {}
        types: frozenset[str] | None = None
        raw = node.get("type")
        nullable = bool(node.get("nullable"))
        if isinstance(raw, str):
            types = frozenset([raw])
        elif isinstance(raw, list):
            types = frozenset(str(t) for t in raw)
        if types is not None and "null" in types:
            nullable, types = True, types - {"null"}
            if not types:
                types = None
        properties = dict(node.get("properties") or {})
        required = set(node.get("required") or [])
        variants: list[Any] = []
        for key in ("oneOf", "anyOf"):
            for variant in node.get(key) or []:
                resolved, _ = self.resolve(doc, variant, seen)
                if isinstance(resolved, dict) and resolved.get("type") == "null":
                    nullable = True
                else:
                    variants.append(variant)
        for part in node.get("allOf") or []:
            sub, _ = self.view(doc, part, seen)
            properties.update(sub.properties)
            required |= sub.required
            types = types if types is not None else sub.types
            nullable = nullable or sub.nullable
        if len(variants) == 1 and not properties and types is None:
            inner, _ = self.view(doc, variants[0], seen)  # `anyOf: [X, null]` is a nullable X
            return attrs.evolve(inner, nullable=inner.nullable or nullable), seen
        enum = node.get("enum")
        if "const" in node:
            enum = [node["const"]]
        if types is None and (properties or "additionalProperties" in node):
            types = frozenset(["object"])
        return (
            _View(
                types=types,
                nullable=nullable,
                format=node.get("format"),
                enum=tuple(enum) if isinstance(enum, list) else None,
                properties=properties,
                required=frozenset(required),
                additional=node.get("additionalProperties", True),
                items=node.get("items"),
                variants=tuple(variants),
                bounds={k: node[k] for k in _NUMERIC if k in node},
                pattern=node.get("pattern"),
                default=node.get("default", _NO_DEFAULT),
                deprecated=bool(node.get("deprecated")),
            ),
            seen,
        )

    def same_schema(self, a: Any, b: Any) -> bool:
        before = len(self.changes)
        self.schema(a, b, "", "", "request")
        self.schema(a, b, "", "", "response")
        same = len(self.changes) == before
        del self.changes[before:]
        return same

    # -- schema comparison --

    def schema(self, old: Any, new: Any, op: str, path: str, direction: Direction, stack: tuple[Any, ...] = ()) -> None:
        if old is None or new is None:
            return
        pair = (_ref(old), _ref(new))
        if pair != (None, None):
            if pair in stack:
                return  # recursive: each pair once per branch
            stack = (*stack, pair)
        o, _ = self.view(self.old, old, ())
        n, _ = self.view(self.new, new, ())
        req = direction == "request"
        at = path or "body"

        if o.types != n.types:
            compatible = _widens(o.types, n.types) if req else _widens(n.types, o.types)
            word = ("widened" if req else "narrowed") if compatible else "changed"
            self.add(
                "info" if compatible else "breaking", op, at, f"type {_types(o.types)} -> {_types(n.types)} ({word})"
            )
            if not compatible and not ({"object", "array"} & (o.types or set()) & (n.types or set())):
                return
        if o.format != n.format:
            compatible = (n.format is None) if req else (o.format is None)
            self.add("info" if compatible else "breaking", op, at, f"format {o.format} -> {n.format}")
        if o.nullable != n.nullable:
            loosened = n.nullable
            if req:
                self.add(
                    "info" if loosened else "breaking",
                    op,
                    at,
                    "now accepts null" if loosened else "no longer accepts null",
                )
            else:
                self.add(
                    "breaking" if loosened else "info",
                    op,
                    at,
                    "may now be null" if loosened else "is never null any more",
                )
        self.enum(o, n, op, at, req)
        self.bounds(o, n, op, at, req)
        if o.default is not n.default and o.default != n.default and path.startswith("parameters."):
            # oasdiff: a parameter's default is server behaviour callers rely on when they omit it
            self.add("breaking", op, at, f"default {_show(o.default)} -> {_show(n.default)}")
        if n.deprecated and not o.deprecated:
            self.add("info", op, at, "deprecated")
        self.properties(o, n, op, path, direction, stack)
        if isinstance(o.additional, dict) and isinstance(n.additional, dict):
            self.schema(o.additional, n.additional, op, f"{at}.*", direction, stack)
        elif (o.additional is False) != (n.additional is False):
            closed = n.additional is False
            if req:
                self.add(
                    "breaking" if closed else "info",
                    op,
                    at,
                    "no longer accepts extra properties" if closed else "now accepts extra properties",
                )
            else:
                self.add(
                    "info" if closed else "warning",
                    op,
                    at,
                    "no longer sends extra properties" if closed else "may now send extra properties",
                )
        if o.items is not None or n.items is not None:
            self.schema(o.items or {}, n.items or {}, op, f"{at}[]", direction, stack)
        if len(o.variants) == len(n.variants):
            for i, (a, b) in enumerate(zip(o.variants, n.variants, strict=True)):
                self.schema(a, b, op, f"{at}<{i}>", direction, stack)
        else:
            more = len(n.variants) > len(o.variants)
            level: Level = ("info" if more else "breaking") if req else ("warning" if more else "info")
            self.add(level, op, at, f"alternatives (oneOf/anyOf) {len(o.variants)} -> {len(n.variants)}")

    def enum(self, o: _View, n: _View, op: str, at: str, req: bool) -> None:
        if o.enum == n.enum:
            return
        if o.enum is None:
            self.add("breaking" if req else "info", op, at, f"now restricted to {list(n.enum or ())}")
            return
        if n.enum is None:
            self.add("info" if req else "warning", op, at, "no longer restricted to a list of values")
            return
        for value in [v for v in o.enum if v not in n.enum]:
            self.add("breaking" if req else "info", op, at, f"enum value {_show(value)} removed")
        for value in [v for v in n.enum if v not in o.enum]:
            # a response value the client has never seen may fall through its handling (oasdiff: warn)
            self.add("info" if req else "warning", op, at, f"enum value {_show(value)} added")

    def bounds(self, o: _View, n: _View, op: str, at: str, req: bool) -> None:
        for key, kind in _NUMERIC.items():
            a, b = o.bounds.get(key), n.bounds.get(key)
            if a == b:
                continue
            tighter = b is not None and (a is None or (b > a if kind == "min" else b < a))
            # Generated clients do not enforce bounds on what they read:
            # a looser response bound is a warning (oasdiff: error).
            level: Level = ("breaking" if tighter else "info") if req else ("info" if tighter else "warning")
            self.add(level, op, at, f"{key} {_show(a)} -> {_show(b)}")
        if o.pattern != n.pattern:
            tighter = n.pattern is not None
            level = ("breaking" if tighter else "info") if req else ("info" if tighter else "warning")
            self.add(level, op, at, f"pattern {_show(o.pattern)} -> {_show(n.pattern)}")

    def properties(self, o: _View, n: _View, op: str, path: str, direction: Direction, stack: tuple[Any, ...]) -> None:
        req = direction == "request"
        prefix = f"{path}." if path else ""
        removed = [p for p in o.properties if p not in n.properties]
        added = [p for p in n.properties if p not in o.properties]
        for name in removed:
            twin = next((a for a in added if self.same_schema(o.properties[name], n.properties[a])), None)
            hint = f" (renamed to {twin!r}?)" if twin else ""
            if req:
                # oasdiff: warn; the provider may ignore it or reject requests that still send it
                self.add("warning", op, prefix + name, f"request property removed{hint}")
            else:
                # stricter than oasdiff for optional ones: the generated model loses the attribute
                self.add("breaking", op, prefix + name, f"response property removed{hint}")
        for name in added:
            if req and name in n.required:
                self.add("breaking", op, prefix + name, "new required request property")
            else:
                kind = "required" if name in n.required else "optional"
                self.add("info", op, prefix + name, f"new {kind} {direction} property")
        for name in o.properties.keys() & n.properties.keys():
            was, now = name in o.required, name in n.required
            if was != now:
                if req:
                    self.add(
                        "breaking" if now else "info", op, prefix + name, "now required" if now else "now optional"
                    )
                else:
                    self.add(
                        "info" if now else "breaking",
                        op,
                        prefix + name,
                        "now always present" if now else "now optional (may be missing)",
                    )
        for name in sorted(o.properties.keys() & n.properties.keys()):
            self.schema(o.properties[name], n.properties[name], op, prefix + name, direction, stack)

    # -- document parts --

    def run(self) -> list[Change]:
        self.servers(self.old.get("servers"), self.new.get("servers"), "", "servers")
        self.security_schemes()
        self.operations()
        self.components()
        return self.changes

    def servers(self, old: Any, new: Any, op: str, path: str) -> None:
        o = [s.get("url") for s in old or [] if isinstance(s, dict)]
        n = [s.get("url") for s in new or [] if isinstance(s, dict)]
        if o == n:
            return
        if (o[:1] or [None]) != (n[:1] or [None]):
            # no oasdiff rule: flowdeck's default base URL is this server, so it must follow
            self.add(
                "warning", op, path, f"default server {_show(o[0] if o else None)} -> {_show(n[0] if n else None)}"
            )
        for url in [u for u in o[1:] if u not in n]:
            self.add("info", op, path, f"server {url} removed")
        for url in [u for u in n[1:] if u not in o]:
            self.add("info", op, path, f"server {url} added")

    def security_schemes(self) -> None:
        o = dict((self.old.get("components") or {}).get("securitySchemes") or {})
        n = dict((self.new.get("components") or {}).get("securitySchemes") or {})
        gone, fresh = [k for k in o if k not in n], [k for k in n if k not in o]
        for name in gone:
            twin = next((k for k in fresh if _scheme_key(o[name]) == _scheme_key(n[k])), None)
            if twin is not None:
                self.renamed_schemes[name] = twin
                fresh.remove(twin)
                self.add("info", "", f"components.securitySchemes.{name}", f"renamed to {twin!r} (same scheme)")
            else:
                self.add("info", "", f"components.securitySchemes.{name}", "security scheme removed")
        for name in fresh:
            self.add("info", "", f"components.securitySchemes.{name}", "security scheme added")
        for name in o.keys() & n.keys():
            a, b = _scheme_key(o[name]), _scheme_key(n[name])
            for field, before, after in zip(("type", "in", "name", "scheme", "flows"), a, b, strict=True):
                if before != after:
                    # stricter than oasdiff (info): every existing client would send the old credential
                    self.add(
                        "breaking",
                        "",
                        f"components.securitySchemes.{name}.{field}",
                        f"{_show(before)} -> {_show(after)}: existing clients would get 401",
                    )

    def requirement(
        self, doc: Mapping[str, Any], op: Mapping[str, Any], rename: Mapping[str, str]
    ) -> set[frozenset[str]]:
        alternatives = op["security"] if "security" in op else doc.get("security") or []
        return {frozenset(rename.get(k, k) for k in alt) for alt in alternatives or [{}]}

    def security(self, o_op: Mapping[str, Any], n_op: Mapping[str, Any], op: str) -> None:
        o = self.requirement(self.old, o_op, self.renamed_schemes)
        n = self.requirement(self.new, n_op, {})
        if o == n:
            return
        for alt in sorted(o - n, key=sorted):
            grown = next((b for b in n if alt < b), None)
            if grown is not None:
                what = f"now also requires {_names(grown - alt)}"
            elif alt == frozenset():
                what = "authentication is now required"
            else:
                what = f"{_names(alt)} no longer accepted"
            # stricter than oasdiff (info): a client authenticating the old way now gets 401
            self.add("breaking", op, "security", what)
        for alt in sorted(n - o, key=sorted):
            if not any(a < alt for a in o - n):
                self.add("info", op, "security", f"{_names(alt) if alt else 'no authentication'} now accepted")

    def operations(self) -> None:
        def index(doc: Mapping[str, Any]) -> dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]]:
            out = {}
            for path, item in (doc.get("paths") or {}).items():
                item, _ = self.resolve(doc, item)
                for method in METHODS:
                    if isinstance(item, dict) and isinstance(item.get(method), dict):
                        out[(method.upper(), template(path))] = (path, item, item[method])
            return out

        o_ops, n_ops = index(self.old), index(self.new)
        for key in o_ops.keys() - n_ops.keys():
            path, _, op = o_ops[key]
            deprecated = bool(op.get("deprecated"))
            self.add(
                "info" if deprecated else "breaking",
                f"{key[0]} {path}",
                "",
                "operation removed" + (" (it was deprecated)" if deprecated else ""),
            )
        for key in n_ops.keys() - o_ops.keys():
            path, _, _ = n_ops[key]
            self.add("info", f"{key[0]} {path}", "", "operation added")
        for key in o_ops.keys() & n_ops.keys():
            (o_path, o_item, o_op), (n_path, n_item, n_op) = o_ops[key], n_ops[key]
            self.operation(f"{key[0]} {n_path}", o_path, o_item, o_op, n_path, n_item, n_op)

    def operation(
        self,
        op: str,
        o_path: str,
        o_item: dict[str, Any],
        o_op: dict[str, Any],
        n_path: str,
        n_item: dict[str, Any],
        n_op: dict[str, Any],
    ) -> None:
        if o_op.get("operationId") != n_op.get("operationId"):
            # stricter than oasdiff (info): the generated function is named after it
            self.add(
                "breaking",
                op,
                "operationId",
                f"{_show(o_op.get('operationId'))} -> {_show(n_op.get('operationId'))} (generated function renamed)",
            )
        if n_op.get("deprecated") and not o_op.get("deprecated"):
            self.add("info", op, "", "operation deprecated")
        o_servers = o_op.get("servers") or o_item.get("servers") or self.old.get("servers")
        n_servers = n_op.get("servers") or n_item.get("servers") or self.new.get("servers")
        if o_op.get("servers") or o_item.get("servers") or n_op.get("servers") or n_item.get("servers"):
            self.servers(o_servers, n_servers, op, "servers")
        self.security(o_op, n_op, op)
        self.parameters(op, o_path, o_item, o_op, n_path, n_item, n_op)
        self.request_body(op, o_op.get("requestBody"), n_op.get("requestBody"))
        self.responses(op, o_op.get("responses") or {}, n_op.get("responses") or {})

    def parameters(
        self,
        op: str,
        o_path: str,
        o_item: dict[str, Any],
        o_op: dict[str, Any],
        n_path: str,
        n_item: dict[str, Any],
        n_op: dict[str, Any],
    ) -> None:
        def collect(
            doc: Mapping[str, Any], path: str, item: dict[str, Any], operation: dict[str, Any]
        ) -> dict[str, Any]:
            params: dict[str, Any] = {}
            for raw in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
                p, _ = self.resolve(doc, raw)
                if not isinstance(p, dict):
                    continue
                where, name = str(p.get("in")), str(p.get("name"))
                if where == "path":  # path parameters are positional: matched by place, not name
                    names = [s[1:-1] for s in path.split("/") if s.startswith("{") and s.endswith("}")]
                    key = f"path#{names.index(name) if name in names else name}"
                else:
                    key = f"{where}:{name.lower() if where == 'header' else name}"
                params[key] = p
            return params

        o, n = collect(self.old, o_path, o_item, o_op), collect(self.new, n_path, n_item, n_op)
        for key in o.keys() - n.keys():
            p = o[key]
            self.add("warning", op, f"parameters.{p['in']}.{p['name']}", "parameter removed")
        for key in n.keys() - o.keys():
            p = n[key]
            required = bool(p.get("required")) or p.get("in") == "path"
            self.add(
                "breaking" if required else "info",
                op,
                f"parameters.{p['in']}.{p['name']}",
                f"new {'required' if required else 'optional'} parameter",
            )
        for key in o.keys() & n.keys():
            a, b = o[key], n[key]
            at = f"parameters.{b['in']}.{b['name']}"
            if a.get("name") != b.get("name"):
                self.add("info", op, at, f"path parameter renamed {a.get('name')!r} -> {b.get('name')!r}")
            if bool(a.get("required")) != bool(b.get("required")):
                now = bool(b.get("required"))
                self.add("breaking" if now else "info", op, at, "now required" if now else "now optional")
            self.schema(a.get("schema") or {}, b.get("schema") or {}, op, at, "request")

    def content(self, doc: Mapping[str, Any], node: Any) -> dict[str, Any]:
        node, _ = self.resolve(doc, node)
        return dict((node or {}).get("content") or {}) if isinstance(node, dict) else {}

    def request_body(self, op: str, old: Any, new: Any) -> None:
        o, _ = self.resolve(self.old, old)
        n, _ = self.resolve(self.new, new)
        if not o and not n:
            return
        if not n:
            self.add("breaking", op, "request.body", "request body removed")
            return
        if not o:
            required = bool(n.get("required"))
            self.add(
                "breaking" if required else "info",
                op,
                "request.body",
                f"new {'required' if required else 'optional'} request body",
            )
            return
        if bool(o.get("required")) != bool(n.get("required")):
            now = bool(n.get("required"))
            self.add("breaking" if now else "info", op, "request.body", "now required" if now else "now optional")
        self.media(op, "request.body", self.content(self.old, o), self.content(self.new, n), "request")

    def media(self, op: str, at: str, o: dict[str, Any], n: dict[str, Any], direction: Direction) -> None:
        for media in o.keys() - n.keys():
            self.add("breaking", op, at, f"media type {media} removed")
        for media in n.keys() - o.keys():
            self.add("info", op, at, f"media type {media} added")
        for media in o.keys() & n.keys():
            a, b = (o[media] or {}).get("schema"), (n[media] or {}).get("schema")
            if a is None and b is not None:
                self.add("breaking" if direction == "request" else "info", op, at, f"{media} now has a schema")
            elif a is not None and b is None:
                self.add("info" if direction == "request" else "warning", op, at, f"{media} lost its schema")
            else:
                self.schema(a, b, op, at, direction)

    def responses(self, op: str, o: Mapping[str, Any], n: Mapping[str, Any]) -> None:
        def success(code: str) -> bool:
            return code.startswith("2")

        for code in [str(c) for c in o if str(c) not in {str(k) for k in n}]:
            self.add(
                "breaking" if success(code) else "info",
                op,
                f"responses.{code}",
                f"{'success' if success(code) else 'error'} response removed",
            )
        old_codes = {str(k) for k in o}
        for code in [str(c) for c in n if str(c) not in old_codes]:
            self.add("info", op, f"responses.{code}", "response added")
        by_code_new = {str(k): v for k, v in n.items()}
        for code, old in ((str(k), v) for k, v in o.items()):
            if code not in by_code_new:
                continue
            a, _ = self.resolve(self.old, old)
            b, _ = self.resolve(self.new, by_code_new[code])
            a, b = a if isinstance(a, dict) else {}, b if isinstance(b, dict) else {}
            self.headers(op, f"responses.{code}.headers", a.get("headers") or {}, b.get("headers") or {})
            self.media(op, f"responses.{code}.body", self.content(self.old, a), self.content(self.new, b), "response")

    def headers(self, op: str, at: str, o: Mapping[str, Any], n: Mapping[str, Any]) -> None:
        lower_n = {k.lower(): k for k in n}
        for name in o:
            if name.lower() not in lower_n:
                self.add("warning", op, f"{at}.{name}", "response header removed")
        lower_o = {k.lower() for k in o}
        for name in n:
            if name.lower() not in lower_o:
                self.add("info", op, f"{at}.{name}", "response header added")
        for name in o:
            if name.lower() in lower_n:
                a, _ = self.resolve(self.old, o[name])
                b, _ = self.resolve(self.new, n[lower_n[name.lower()]])
                self.schema(
                    (a or {}).get("schema") or {}, (b or {}).get("schema") or {}, op, f"{at}.{name}", "response"
                )

    def components(self) -> None:
        o = dict((self.old.get("components") or {}).get("schemas") or {})
        n = dict((self.new.get("components") or {}).get("schemas") or {})
        gone, fresh = [k for k in o if k not in n], [k for k in n if k not in o]
        for name in gone:
            twin = next((k for k in fresh if self.same_schema(o[name], n[k])), None)
            old_class, at = _class_name(name, o[name]), f"components.schemas.{name}"
            if twin is not None:
                fresh.remove(twin)
                new_class = _class_name(twin, n[twin])
                if new_class != old_class:
                    # the generated model class is renamed; code importing it breaks (oasdiff: no rule)
                    self.add("warning", "", at, f"renamed to {twin!r}: generated class {old_class} -> {new_class}")
                else:
                    self.add("info", "", at, f"renamed to {twin!r} (same generated class {new_class})")
            else:
                self.add("warning", "", at, f"schema removed: generated class {old_class} disappears")
        for name in fresh:
            self.add("info", "", f"components.schemas.{name}", "schema added")


def _class_name(key: str, schema: Any) -> str:
    title = schema.get("title") if isinstance(schema, dict) else None
    return str(title or key)


def _scheme_key(scheme: Any) -> tuple[Any, ...]:
    s = scheme if isinstance(scheme, dict) else {}
    flows = s.get("flows")
    flow_key = (
        tuple(sorted((k, (v or {}).get("tokenUrl"), (v or {}).get("authorizationUrl")) for k, v in flows.items()))
        if isinstance(flows, dict)
        else None
    )
    name = s.get("name")
    return (
        s.get("type"),
        s.get("in"),
        name.lower() if isinstance(name, str) and s.get("in") == "header" else name,
        str(s.get("scheme", "")).lower() or None,
        flow_key,
    )


def _types(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _names(names: frozenset[str]) -> str:
    return " + ".join(sorted(names)) or "no authentication"


def _show(value: Any) -> str:
    return "(none)" if value is None or value is _NO_DEFAULT else repr(value)


def _ref(node: Any) -> str | None:
    return node["$ref"] if isinstance(node, dict) and isinstance(node.get("$ref"), str) else None
