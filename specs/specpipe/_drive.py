"""The facade driven against a new spec: the gate's run-time half, run in a child process.

``python -m specpipe._drive <provider> <normalized spec>`` runs with the new generated clients first on
``sys.path`` (see ``_gate.py``). It serves the mock providers, drives the facade's public operations for
one provider end to end (start, wait, cancel, and the provider's own reads) through a client that keeps
every request and answer, then checks each request flowdeck sent and each answer the mock gave against
the new spec. It prints the problems as JSON lines (``_gate.Finding`` fields); none means flowdeck,
its mock and the new spec agree.
"""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator

SUPERAI_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"

Scenario = Callable[[Any], object]


_DATABAR: dict[str, Scenario] = {
    "client.run (databar:flow/…)": lambda c: c.run("databar:flow/enrich-company", {"domain": "stripe.com"}),
    "client.cancel (databar:flow/…)": lambda c: c.cancel(c.start("databar:flow/long", {"domain": "x"})),
    "client.databar.run_waterfall": lambda c: c.wait(
        c.databar.run_waterfall("email_getter", {"email": "a@b.c"}, [833])
    ),
    "client.databar.run_flow_bulk": lambda c: c.wait(c.databar.run_flow_bulk("enrich", [{"domain": "a.com"}])),
    "client.databar.run_waterfall_bulk": lambda c: c.wait(
        c.databar.run_waterfall_bulk("email_getter", [{"email": "a@b.c"}])
    ),
    "client.databar.get_flow": lambda c: c.databar.get_flow("enrich-company"),
    "client.databar.me": lambda c: c.databar.me(),
}


_STACKAI: dict[str, Scenario] = {"client.run (stackai:…)": lambda c: c.run("stackai:org-1/flow-1", {"in-0": "x"})}


_GUMLOOP: dict[str, Scenario] = {
    "client.run (gumloop:…)": lambda c: c.run("gumloop:saved-1", {"topic": "x"}),
    "client.cancel (gumloop:…)": lambda c: c.cancel(c.start("gumloop:saved-2", {"topic": "y"})),
}


_SUPERAI: dict[str, Scenario] = {
    "client.run (superai:…)": lambda c: c.run(f"superai:{SUPERAI_FLOW}", {"file_key": "a.pdf"}),
    "client.superai.list_executions": lambda c: list(c.superai.list_executions(SUPERAI_FLOW)),
    "client.superai.reexecute": lambda c: c.superai.reexecute(
        c.start(f"superai:{SUPERAI_FLOW}", {"file_key": "b.pdf"}).id
    ),
}


# What the gate drives for each provider: every operation its adapter calls, through the public API.
SCENARIOS: Mapping[str, Mapping[str, Scenario]] = {
    "databar": _DATABAR, "stackai": _STACKAI, "gumloop": _GUMLOOP, "superai": _SUPERAI,
}  # fmt: skip


class Spec:
    """The new normalized spec: its operations by method and path, and JSON Schema checks of bodies."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.validator = OAS30Validator if str(doc.get("openapi", "")).startswith("3.0") else OAS31Validator
        self.routes: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        for path, item in (self.doc.get("paths") or {}).items():
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    template = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
                    self.routes.append((method.upper(), re.compile(f"(?:.*?){template}$"), path, op))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        """The template and operation serving ``method path`` (any base path before it)."""
        for verb, pattern, template, op in self.routes:
            if verb == method and pattern.match(path):
                return template, op
        return None

    def problems(self, schema: Any, value: Any) -> list[tuple[str, str]]:
        """(field, message) for each way ``value`` breaks ``schema`` (refs resolved in the spec)."""
        root = {**schema, "components": self.doc.get("components") or {}} if isinstance(schema, dict) else schema
        errors = sorted(self.validator(root).iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        out = []
        for error in errors[:5]:
            field = ".".join(str(p) for p in error.absolute_path)
            if error.validator == "required" and (missing := re.match(r"'([^']+)'", error.message)):
                field = f"{field}.{missing.group(1)}" if field else missing.group(1)
            out.append((field, error.message[:200]))
        return out


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return content.decode("utf-8", "replace")[:200]


def _body_schema(node: Mapping[str, Any]) -> Any:
    content = node.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None) or {}
    return media.get("schema")


def check_exchange(spec: Spec, request: httpx.Request, response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Findings for one request flowdeck sent and the answer the mock gave, against the new spec."""
    found = spec.operation(request.method, request.url.path)
    if found is None:
        yield {"kind": "request", "operation": "", "path": f"{request.method} {request.url.path}", "field": "",
               "message": "flowdeck sends this request; the new spec has no such operation"}  # fmt: skip
        return
    template, op = found
    base = {"operation": str(op.get("operationId", "")), "path": f"{request.method} {template}"}
    query = parse_qs(request.url.query.decode(), keep_blank_values=True)
    for param in op.get("parameters") or []:
        sent = {"query": set(query), "header": {k.lower() for k in request.headers}}.get(param.get("in", ""))
        if param.get("required") and sent is not None and param["name"].lower() not in sent:
            yield {**base, "kind": "request", "field": param["name"],
                   "message": f"required {param['in']} parameter missing from flowdeck's request"}  # fmt: skip
    body_schema = _body_schema(op.get("requestBody") or {})
    if body_schema is not None and request.content:
        for field, message in spec.problems(body_schema, _json(request.content)):
            yield {**base, "kind": "request", "field": field, "message": message}
    responses = op.get("responses") or {}
    status = str(response.status_code)
    documented = next((responses[k] for k in (status, f"{status[0]}XX", "default") if k in responses), None)
    if documented is None:
        yield {**base, "kind": "response", "field": "", "message": f"HTTP {status} is not documented"}
        return
    schema = _body_schema(documented)
    if schema is not None and response.content:
        for field, message in spec.problems(schema, _json(response.content)):
            yield {**base, "kind": "response", "field": field, "message": f"HTTP {status}: {message}"}


_OURS = ("/flowdeck/_providers/", "/flowdeck_generated/")


def _code(exc: BaseException) -> str:
    """Where the failure happened: the deepest frame in an adapter or the generated client."""
    frames: list[traceback.FrameSummary] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames += traceback.extract_tb(current.__traceback__)
        current = current.__cause__ or current.__context__
    hits = [f for f in frames if any(m in f.filename.replace("\\", "/") for m in _OURS)]
    if not hits:
        return ""
    name = hits[-1].filename.replace("\\", "/")
    for top in ("flowdeck_generated/", "facade/"):
        name = name[name.index(top) :] if top in name else name
    return f"{name}:{hits[-1].lineno} ({hits[-1].name})"


def drive(provider: str, spec_path: Path) -> list[dict[str, Any]]:
    """Drive ``provider``'s scenarios against the mocks and check the traffic against ``spec_path``."""
    from flowdeck import _providers
    from flowdeck.testing import MockClock, MockConfig, MockProviders

    spec = Spec(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
    clock = MockClock(frozen_at=1_800_000_000.0)
    exchanges: list[tuple[str, httpx.Response]] = []
    findings: list[dict[str, Any]] = []
    scenario = [""]
    # Runs take a second of the mocks' frozen clock, which only the client's sleeps move: a run can be
    # cancelled while it runs, and nothing waits in real time.
    with MockProviders(MockConfig(run_seconds=(1.0, 1.0)), clock) as mocks, ExitStack() as stack:
        ours = {httpx.URL(u).netloc for p, u in mocks.urls.items() if p == provider}

        def keep(response: httpx.Response) -> None:
            if response.request.url.netloc in ours:
                response.read()
                exchanges.append((scenario[0], response))

        from flowdeck._transport import RetryTransport

        http = httpx.Client(transport=RetryTransport(httpx.HTTPTransport()), event_hooks={"response": [keep]})
        base = clock.now()
        client = stack.enter_context(
            mocks.client(http_client=http, sleep=clock.advance, clock=lambda: clock.now() - base, max_retries=0)
        )
        _providers.get(provider)  # an unknown provider is an error here, before anything runs
        for name, run in SCENARIOS[provider].items():
            scenario[0] = name
            try:
                run(client)
            except Exception as exc:  # every failure of the facade is a finding, named by the scenario
                findings.append({"kind": "facade", "scenario": name, "operation": getattr(exc, "operation", ""),
                                 "path": "", "field": "", "code": _code(exc),
                                 "message": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]})  # fmt: skip
    for name, response in exchanges:
        for finding in check_exchange(spec, response.request, response):
            findings.append({"scenario": name, "code": "", **finding})
    return findings


def main(argv: list[str]) -> int:
    """Print each finding as one JSON line; exit 0 (the findings say whether the gate passed)."""
    provider, spec_path = argv
    for finding in drive(provider, Path(spec_path)):
        print(json.dumps(finding))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
