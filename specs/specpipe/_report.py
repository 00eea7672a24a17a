"""The API-surface report: what changed between two versions of a normalized spec, and what breaks."""

from __future__ import annotations

from typing import Any

import attrs

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@attrs.frozen
class Change:
    """One difference in the API surface; ``breaking`` when existing client code may stop working."""

    kind: str  # "added" | "removed" | "changed"
    where: str
    detail: str = ""
    breaking: bool = False

    def __str__(self) -> str:
        flag = "BREAKING " if self.breaking else ""
        return f"{flag}{self.kind}: {self.where}{(' - ' + self.detail) if self.detail else ''}"


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return f"{key}(" + ",".join(_type_of(s) for s in schema[key]) + ")"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array[{_type_of(schema.get('items'))}]"
    return "|".join(kind) if isinstance(kind, list) else str(kind)


def _resolve(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node


def surface(doc: dict[str, Any]) -> dict[str, Any]:
    """Reduce a spec to what client code depends on: operations, parameters, bodies, responses, schemas."""
    ops: dict[str, Any] = {}
    for path, item in (doc.get("paths") or {}).items():
        shared = item.get("parameters", [])
        for method in _METHODS:
            if method not in item:
                continue
            op = item[method]
            params = {}
            for p in [*shared, *op.get("parameters", [])]:
                p = _resolve(doc, p)
                params[f"{p.get('in')}:{p.get('name')}"] = (
                    bool(p.get("required")),
                    _type_of(p.get("schema")),
                )
            body = _resolve(doc, op.get("requestBody"))
            body_schema = ((body or {}).get("content") or {}).get("application/json", {}).get("schema")
            responses = {}
            for code, resp in (op.get("responses") or {}).items():
                resp = _resolve(doc, resp)
                schema = ((resp or {}).get("content") or {}).get("application/json", {}).get("schema")
                responses[str(code)] = _type_of(schema) if schema is not None else "-"
            ops[f"{method.upper()} {path}"] = {
                "operationId": op.get("operationId"),
                "params": params,
                "body": _type_of(body_schema) if body_schema is not None else None,
                "body_required": bool((body or {}).get("required")),
                "responses": responses,
            }
    schemas = {}
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        schemas[name] = {
            "type": _type_of(schema),
            "properties": {k: _type_of(v) for k, v in (schema.get("properties") or {}).items()},
            "required": set(schema.get("required") or []),
            "enum": list(schema.get("enum") or []),
        }
    return {"operations": ops, "schemas": schemas}


def diff_surfaces(old_doc: dict[str, Any], new_doc: dict[str, Any]) -> list[Change]:
    """Every surface change from ``old_doc`` to ``new_doc``, breaking ones flagged.

    >>> old = {"paths": {"/a": {"get": {"operationId": "a"}}}}
    >>> [str(c) for c in diff_surfaces(old, {"paths": {}})]
    ['BREAKING removed: operation GET /a (a)']
    """
    old, new = surface(old_doc), surface(new_doc)
    changes: list[Change] = []
    o_ops, n_ops = old["operations"], new["operations"]
    for key in sorted(o_ops.keys() - n_ops.keys()):
        changes.append(Change("removed", f"operation {key} ({o_ops[key]['operationId']})", breaking=True))
    for key in sorted(n_ops.keys() - o_ops.keys()):
        changes.append(Change("added", f"operation {key} ({n_ops[key]['operationId']})"))
    for key in sorted(o_ops.keys() & n_ops.keys()):
        changes.extend(_diff_operation(key, o_ops[key], n_ops[key]))
    o_s, n_s = old["schemas"], new["schemas"]
    for name in sorted(o_s.keys() - n_s.keys()):
        changes.append(Change("removed", f"schema {name}", breaking=True))
    for name in sorted(n_s.keys() - o_s.keys()):
        changes.append(Change("added", f"schema {name}"))
    for name in sorted(o_s.keys() & n_s.keys()):
        changes.extend(_diff_schema(name, o_s[name], n_s[name]))
    return changes


def _diff_operation(key: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    where = f"operation {key}"
    if old["operationId"] != new["operationId"]:
        out.append(Change("changed", where, f"operationId {old['operationId']} -> {new['operationId']}", True))
    for p in sorted(old["params"].keys() - new["params"].keys()):
        out.append(Change("removed", f"{where} parameter {p}", breaking=True))
    for p in sorted(new["params"].keys() - old["params"].keys()):
        required = new["params"][p][0]
        out.append(Change("added", f"{where} parameter {p}", "required" if required else "optional", required))
    for p in sorted(old["params"].keys() & new["params"].keys()):
        (o_req, o_type), (n_req, n_type) = old["params"][p], new["params"][p]
        if o_type != n_type:
            out.append(Change("changed", f"{where} parameter {p}", f"type {o_type} -> {n_type}", True))
        if o_req != n_req:
            out.append(Change("changed", f"{where} parameter {p}", f"required {o_req} -> {n_req}", n_req))
    if old["body"] != new["body"]:
        out.append(Change("changed", f"{where} request body", f"{old['body']} -> {new['body']}", True))
    for code in sorted(old["responses"].keys() - new["responses"].keys()):
        out.append(Change("removed", f"{where} response {code}", breaking=code.startswith("2")))
    for code in sorted(new["responses"].keys() - old["responses"].keys()):
        out.append(Change("added", f"{where} response {code}", new["responses"][code]))
    for code in sorted(old["responses"].keys() & new["responses"].keys()):
        if old["responses"][code] != new["responses"][code]:
            detail = f"{old['responses'][code]} -> {new['responses'][code]}"
            out.append(Change("changed", f"{where} response {code}", detail, True))
    return out


def _diff_schema(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    out: list[Change] = []
    where = f"schema {name}"
    if old["type"] != new["type"]:
        out.append(Change("changed", where, f"type {old['type']} -> {new['type']}", True))
    for prop in sorted(old["properties"].keys() - new["properties"].keys()):
        out.append(Change("removed", f"{where}.{prop}", breaking=True))
    for prop in sorted(new["properties"].keys() - old["properties"].keys()):
        required = prop in new["required"]
        out.append(Change("added", f"{where}.{prop}", "required" if required else "optional", required))
    for prop in sorted(old["properties"].keys() & new["properties"].keys()):
        if old["properties"][prop] != new["properties"][prop]:
            detail = f"type {old['properties'][prop]} -> {new['properties'][prop]}"
            out.append(Change("changed", f"{where}.{prop}", detail, True))
        if (prop in old["required"]) != (prop in new["required"]):
            now = "required" if prop in new["required"] else "optional"
            # Either direction can break someone: a new required request field, or a response field
            # that clients relied on becoming optional.
            out.append(Change("changed", f"{where}.{prop}", f"now {now}", True))
    for value in [v for v in old["enum"] if v not in new["enum"]]:
        out.append(Change("removed", f"{where} enum value {value!r}", breaking=True))
    for value in [v for v in new["enum"] if v not in old["enum"]]:
        out.append(Change("added", f"{where} enum value {value!r}"))
    return out


def format_report(provider: str, changes: list[Change]) -> str:
    """Human-readable report of one provider's changes."""
    if not changes:
        return f"{provider}: API surface unchanged"
    breaking = sum(c.breaking for c in changes)
    lines = [f"{provider}: {len(changes)} change(s), {breaking} breaking"]
    lines += [f"  {c}" for c in sorted(changes, key=lambda c: (not c.breaking, c.where))]
    return "\n".join(lines)
