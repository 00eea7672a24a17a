"""``specpipe conform FILE.har``: recorded traffic held against the normalized specs, with an overlay
action proposed for each deviation.

Each entry of the recording (``flowdeck --record``, ``Client(record=...)``, or any HAR of calls to a
provider) is validated with openapi-core against its provider's normalized spec: the request as
sent, and the answer as received. The provider is the one the entry names (``_flowdeck.provider``),
else the one whose server host the URL has, else ``--provider``. The path is matched without the
recorded base path (a recording against a mock or a proxy conforms as one against the provider).

A deviation says: the operation, the HTTP status, the JSON path in the body, what the spec says,
what was seen; the same deviation seen in many entries is reported once, with a count. Beside the
spec, the status word of each answer (its top-level ``status`` or ``state``) is checked against the
facade's status table for the provider: a word flowdeck cannot map is a deviation too. Each
deviation carries a proposal, marked as one: an overlay action (YAML) that makes the spec say what
was seen, or, for a status word, the status table entry to add. Nothing is applied.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from specpipe._errors import InputError

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
PROPOSAL = "# PROPOSAL from specpipe conform: check it against the provider's documentation before adding it"


@attrs.frozen
class Deviation:
    """One way recorded traffic differs from the spec (or from the facade's status table)."""

    kind: str  # request | response | status-code | operation | status-word
    provider: str
    operation: str  # operationId, or "METHOD /path" when the spec has none for it
    status: int  # the answer's, or 0 where there is none
    path: str  # JSON path in the body ("$" for the whole body), or "" where none applies
    spec: str  # what the spec says
    seen: str  # what was recorded
    proposal: str  # a YAML overlay action (or a status table entry), marked as a proposal
    count: int = 1

    def to_json(self) -> dict[str, Any]:
        """The deviation as a JSON object (``specpipe conform --json``)."""
        return attrs.asdict(self)


@attrs.frozen
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    op: dict[str, Any]
    server: str


class _Spec:
    """A provider's normalized spec: openapi-core's validator and its operations by recorded path."""

    def __init__(self, provider: str, doc: dict[str, Any]) -> None:
        self.provider, self.doc = provider, doc
        self.api = OpenAPI.from_dict(doc)
        servers = [s["url"] for s in doc.get("servers") or [{"url": "/"}]]
        self.hosts = {urlsplit(url).hostname for url in servers if urlsplit(url).hostname}
        self.routes: list[_Route] = []
        for path, item in (doc.get("paths") or {}).items():
            for method, op in item.items():
                if method in _METHODS and isinstance(op, dict):
                    server = ((op.get("servers") or item.get("servers") or [{"url": servers[0]}])[0])["url"]
                    regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
                    self.routes.append(_Route(method.upper(), path, re.compile(f"(.*?){regex}$"), op, server))
        self.routes.sort(key=lambda r: -len(r.template))  # the most specific template first

    def route(self, method: str, path: str, operation: str | None) -> tuple[_Route, str] | None:
        """The operation serving ``method path``, and the path without the recorded base path."""
        for route in self.routes:
            found = route.pattern.match(path) if route.method == method else None
            if found and (operation is None or route.op.get("operationId") in (operation, None)):
                return route, path[len(found.group(1)) :]
        return None


def _body(entry: Mapping[str, Any], side: str) -> bytes:
    part = entry.get(side) or {}
    text = (part.get("postData") or {}).get("text") if side == "request" else (part.get("content") or {}).get("text")
    if not text:
        return b""
    if (part.get("content") or {}).get("encoding") == "base64":
        import base64

        return base64.b64decode(text)
    return str(text).encode()


def _headers(part: Mapping[str, Any]) -> dict[str, str]:
    return {str(h.get("name", "")).lower(): str(h.get("value", "")) for h in part.get("headers") or []}


def _mime(headers: Mapping[str, str], fallback: str = "application/json") -> str:
    return headers.get("content-type", "").split(";")[0].strip() or fallback


def _json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


_JSON_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def _type_of(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "object")


def _target(keys: list[Any]) -> str:
    out = "$"
    for key in keys:
        out += f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(key)) else f"['{key}']"
    return out


def _deref(doc: Mapping[str, Any], node: Any, keys: list[Any]) -> tuple[Any, list[Any]]:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        keys = node["$ref"][2:].split("/")
        node = doc
        for key in keys:
            node = node[key]
    return node, keys


def _locate(doc: Mapping[str, Any], keys: list[Any], parts: list[Any]) -> tuple[Any, list[Any]]:
    """The schema (and its place in ``doc``) that describes the value at ``parts`` under the schema at ``keys``."""
    node: Any = doc
    for key in keys:
        node = node[key]
    for part in parts:
        node, keys = _deref(doc, node, keys)
        if not isinstance(node, dict):
            break
        if isinstance(part, int) and isinstance(node.get("items"), dict):
            node, keys = node["items"], [*keys, "items"]
        elif part in (node.get("properties") or {}):
            node, keys = node["properties"][part], [*keys, "properties", part]
        elif isinstance(node.get("additionalProperties"), dict):
            node, keys = node["additionalProperties"], [*keys, "additionalProperties"]
        else:
            break
    return _deref(doc, node, keys)


def _snippet(action: dict[str, Any]) -> str:
    return _snippets(action)


def _snippets(*actions: dict[str, Any]) -> str:
    return PROPOSAL + "\n" + yaml.safe_dump(list(actions), sort_keys=False, width=100).rstrip()


def _schema_proposal(spec: _Spec, error: Any, schema_keys: list[Any], why: str) -> tuple[str, str, str, str]:
    """(JSON path, what the spec says, what was seen, proposal) for one jsonschema error."""
    parts = list(error.absolute_path)
    schema, keys = _locate(spec.doc, schema_keys, parts)
    where = _target(keys)
    if error.validator == "required":
        name = re.match(r"'([^']+)'", error.message)
        field = name.group(1) if name else "?"
        action = {"target": f"{where}.required[?@ == '{field}']", "description": f"{why} without `{field}`.",
                  "remove": True}  # fmt: skip
        named = set((schema or {}).get("properties") or {}) if isinstance(schema, dict) else set()
        extra = sorted(set(error.instance) - named) if isinstance(error.instance, dict) else []
        if not extra:
            return _json_path([*parts, field]), "a required property", "missing", _snippet(action)
        values = {name: {"type": _type_of(error.instance[name])} for name in extra}
        added = {"target": where, "description": f"{why} with {', '.join(extra)} instead.",
                 "update": {"properties": values}}  # fmt: skip
        seen = f"missing; the answer has {', '.join(extra)}, which the spec does not name"
        return _json_path([*parts, field]), "a required property", seen, _snippets(action, added)
    seen = error.instance
    if error.validator == "enum":
        action = {"target": f"{where}.enum", "description": f"{why} with {_short(seen)}.", "update": [seen]}
        return _json_path(parts), f"one of {_short(error.validator_value)}", _short(seen), _snippet(action)
    if error.validator == "type":
        wanted = error.validator_value
        update: dict[str, Any]
        if str(spec.doc.get("openapi", "")).startswith("3.0"):
            update = {"nullable": True} if seen is None else {"type": _type_of(seen)}
        else:
            both = [*([wanted] if isinstance(wanted, str) else wanted), _type_of(seen)]
            update = {"type": both}
        action = {"target": where, "description": f"{why} with {_type_of(seen)} here.", "update": update}
        return _json_path(parts), f"type {_short(wanted)}", f"{_type_of(seen)} {_short(seen)}", _snippet(action)
    if error.validator == "additionalProperties":
        extra = sorted(set(seen) - set((schema or {}).get("properties") or {})) if isinstance(seen, dict) else []
        action = {"target": where, "description": f"{why} with {', '.join(extra)}.",
                  "update": {"properties": {name: {} for name in extra}}}  # fmt: skip
        return _json_path(parts), "no other properties", ", ".join(extra), _snippet(action)
    said = f"{error.validator} {_short(error.validator_value)}"
    return _json_path(parts), said, _short(seen), f"{PROPOSAL}\n# none: {error.message}"


def _schema_errors(exc: BaseException) -> list[Any]:
    cause: BaseException | None = exc
    while cause is not None:
        if getattr(cause, "schema_errors", None):
            return list(cause.schema_errors)  # type: ignore[attr-defined]
        cause = cause.__cause__
    return []


def _request(route: _Route, entry: Mapping[str, Any], path: str) -> MockRequest:
    request = entry.get("request") or {}
    server = urlsplit(route.server)
    headers = _headers(request)
    query = dict(parse_qsl(urlsplit(str(request.get("url", ""))).query, keep_blank_values=True))
    return MockRequest(
        f"{server.scheme}://{server.netloc}", route.method.lower(), server.path.rstrip("/") + path,
        args=query, headers=headers, data=_body(entry, "request") or None, content_type=_mime(headers),
    )  # fmt: skip


def _deviation(base: Mapping[str, str], kind: str, **fields: Any) -> Deviation:
    return Deviation(kind, base["provider"], base["operation"], **fields)


def _documented(op: Mapping[str, Any], status: int) -> str | None:
    responses = op.get("responses") or {}
    return next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)


def check_entry(spec: _Spec, entry: Mapping[str, Any], statuses: Mapping[str, Any] | None) -> Iterator[Deviation]:
    """The deviations of one recorded exchange from ``spec`` (and from the facade's status table)."""
    request, response = entry.get("request") or {}, entry.get("response") or {}
    method, url = str(request.get("method", "GET")).upper(), urlsplit(str(request.get("url", "")))
    status = int(response.get("status") or 0)
    operation = (entry.get("_flowdeck") or {}).get("operation")
    found = spec.route(method, url.path, operation)
    if found is None:
        yield _missing_operation(spec, method, url.path, status, _body(entry, "response"))
        return
    route, path = found
    op_id = str(route.op.get("operationId") or f"{method} {route.template}")
    keys = ["paths", route.template, method.lower()]
    base = {"provider": spec.provider, "operation": op_id}
    mock_request = _request(route, entry, path)
    for error in spec.api.iter_request_errors(mock_request):
        mime = _mime(_headers(request))
        schema_keys = [*keys, "requestBody", "content", mime, "schema"]
        why = f"flowdeck's recorded {op_id} requests send a body"
        for schema_error in _schema_errors(error):
            where, said, seen, proposal = _schema_proposal(spec, schema_error, schema_keys, why)
            yield _deviation(base, "request", status=0, path=where, spec=said, seen=seen, proposal=proposal)
        if not _schema_errors(error):
            fix = f"{PROPOSAL}\n# none: the request itself is flowdeck's to fix"
            yield _deviation(base, "request", status=0, path="", spec=str(error), seen=f"{method} {url.path}",
                            proposal=fix)  # fmt: skip
    if status == 0:  # a transport error: no answer to check
        return
    yield from _check_response(spec, route, keys, base, mock_request, entry, status)
    yield from _check_status_word(spec, op_id, status, _body(entry, "response"), statuses)


def _check_response(
    spec: _Spec, route: _Route, keys: list[Any], base: dict[str, str], request: MockRequest,
    entry: Mapping[str, Any], status: int,
) -> Iterator[Deviation]:  # fmt: skip
    headers = _headers(entry.get("response") or {})
    body, mime = _body(entry, "response"), _mime(headers)
    code = _documented(route.op, status)
    if code is None:
        description = f"Seen in a recording of {base['operation']} (specpipe conform)."
        answer: dict[str, Any] = {"description": description}
        if body:
            answer["content"] = {mime: {"schema": {}}}
        action = {"target": _target([*keys, "responses"]), "description": description, "update": {str(status): answer}}
        documented = ", ".join(map(str, (route.op.get("responses") or {}).keys()))
        yield _deviation(base, "status-code", status=status, path="", spec=f"documents {documented}",
                        seen=f"HTTP {status}", proposal=_snippet(action))  # fmt: skip
        return
    response = MockResponse(body, status_code=status, headers=headers, content_type=mime)
    schema_keys = [*keys, "responses", code, "content", mime, "schema"]
    why = f"Recorded answers of {base['operation']} (HTTP {status}) come"
    for error in spec.api.iter_response_errors(request, response):
        schema_errors = _schema_errors(error)
        for schema_error in schema_errors:
            where, said, seen, proposal = _schema_proposal(spec, schema_error, schema_keys, why)
            yield _deviation(base, "response", status=status, path=where, spec=said, seen=seen, proposal=proposal)
        if not schema_errors:
            yield _deviation(base, "response", status=status, path="$", spec=str(error)[:200], seen=f"{mime} body",
                            proposal=f"{PROPOSAL}\n# none: {type(error).__name__}")  # fmt: skip


def _check_status_word(
    spec: _Spec, op_id: str, status: int, body: bytes, statuses: Mapping[str, Any] | None
) -> Iterator[Deviation]:
    if statuses is None or not 200 <= status < 300:
        return
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return
    if not isinstance(data, dict):
        return
    for field in ("status", "state"):
        word = data.get(field)
        if isinstance(word, str) and word not in statuses:
            proposal = (
                f"{PROPOSAL}\n# not an overlay: facade/flowdeck/_providers/{spec.provider}.py, its status table:\n"
                f'"{word}": Status.RUNNING,  # or SUCCEEDED, FAILED, CANCELLED: what the provider means by it'
            )
            known = ", ".join(sorted(statuses))
            yield Deviation("status-word", spec.provider, op_id, status, f"$.{field}", f"one of {known}",
                            json.dumps(word), proposal)  # fmt: skip


def _missing_operation(spec: _Spec, method: str, path: str, status: int, body: bytes) -> Deviation:
    for route in spec.routes:  # the path less the spec's base path
        prefix = urlsplit(route.server).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
            break
    answer: dict[str, Any] = {"description": "Seen in a recording (specpipe conform)."}
    if body:
        answer["content"] = {"application/json": {"schema": {}}}
    operation = {"x-flowdeck-added": True, "responses": {str(status or 200): answer}}
    action = {"target": "$.paths", "description": f"flowdeck sends {method} {path}; the spec has no such operation.",
              "update": {path: {method.lower(): operation}}}  # fmt: skip
    return Deviation("operation", spec.provider, f"{method} {path}", status, "", "no such operation",
                     f"{method} {path}", _snippet(action))  # fmt: skip


def status_table(provider: str) -> Mapping[str, Any] | None:
    """The facade's status words for ``provider`` (its module's status table), or None when it has none."""
    try:
        module = importlib.import_module(f"flowdeck._providers.{provider}")
    except ImportError:
        return None
    table = getattr(module, "STATUSES", None) or getattr(module, "STATES", None)
    return table if isinstance(table, Mapping) else None


def load_specs(root: Path) -> dict[str, _Spec]:
    """Every normalized spec under ``root``, by provider."""
    folder = root / "specs" / "normalized"
    if not folder.is_dir():
        raise InputError(f"no specs/normalized/ under {root} (run it from the project folder or pass --root)")
    return {p.stem: _Spec(p.stem, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in sorted(folder.glob("*.yaml"))}


def _provider_of(entry: Mapping[str, Any], specs: Mapping[str, _Spec], fallback: str | None) -> str | None:
    named = (entry.get("_flowdeck") or {}).get("provider")
    if named in specs:
        return str(named)
    host = urlsplit(str((entry.get("request") or {}).get("url", ""))).hostname
    return next((name for name, spec in specs.items() if host in spec.hosts), fallback)


@attrs.frozen
class Result:
    """What ``conform`` found: the deviations (each once, with a count), and the exchanges per provider."""

    deviations: list[Deviation]
    exchanges: dict[str, int]
    unassigned: int  # entries no provider could be found for

    @property
    def clean(self) -> bool:
        """Nothing deviates and every entry was checked."""
        return not self.deviations and not self.unassigned


def conform(root: Path, har: Path, provider: str | None = None) -> Result:
    """Every entry of the HAR file ``har`` held against the normalized specs under ``root``."""
    from flowdeck._har import HarError, read_entries

    specs = load_specs(root)
    if provider is not None and provider not in specs:
        raise InputError(f"--provider {provider}: no specs/normalized/{provider}.yaml (have: {', '.join(specs)})")
    try:
        entries = read_entries(har)
    except HarError as exc:
        raise InputError(str(exc)) from None
    found: dict[tuple[Any, ...], Deviation] = {}
    exchanges: dict[str, int] = {}
    unassigned = 0
    tables: dict[str, Mapping[str, Any] | None] = {}
    for entry in entries:
        name = _provider_of(entry, specs, provider)
        if name is None:
            unassigned += 1
            continue
        exchanges[name] = exchanges.get(name, 0) + 1
        if name not in tables:
            tables[name] = status_table(name)
        for deviation in check_entry(specs[name], entry, tables[name]):
            key = attrs.astuple(attrs.evolve(deviation, seen="" if deviation.kind == "response" else deviation.seen))
            if key in found:
                found[key] = attrs.evolve(found[key], count=found[key].count + 1)
            else:
                found[key] = deviation
    return Result(list(found.values()), exchanges, unassigned)


def format_markdown(title: str, result: Result) -> str:
    """The report for people: a heading with the counts, then each deviation with its proposal."""
    seen = ", ".join(f"{name} {n}" for name, n in sorted(result.exchanges.items())) or "none"
    count = len(result.deviations)
    lines = [f"## {title}: {count or 'no'} deviation{'s' if count != 1 else ''} (exchanges: {seen})", ""]
    if result.unassigned:
        lines += [f"{result.unassigned} exchange(s) to no known provider's host were not checked (--provider).", ""]
    for d in result.deviations:
        times = f" ({d.count} exchanges)" if d.count > 1 else ""
        status = f" HTTP {d.status}" if d.status else ""
        lines += [
            f"### {d.kind}: {d.provider} `{d.operation}`{status} `{d.path or '-'}`{times}",
            "",
            f"- the spec says: {d.spec}" if d.kind != "status-word" else f"- flowdeck knows: {d.spec}",
            f"- seen: {d.seen}",
            "",
            "```yaml",
            d.proposal,
            "```",
            "",
        ]
    return "\n".join(lines).rstrip()


def format_json(result: Result) -> str:
    """The JSON list of deviations (``kind, provider, operation, status, path, spec, seen, proposal, count``)."""
    return json.dumps([d.to_json() for d in result.deviations], indent=2)
