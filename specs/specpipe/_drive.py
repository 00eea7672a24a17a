"""The facade driven against a new spec: the gate's run-time half, run in a child process.

``python -m specpipe._drive <provider> <normalized spec>`` runs with the new generated clients first on
``sys.path`` (see ``_gate.py``). It serves the mock providers, drives the facade's public operations for
one provider end to end (start, wait, cancel, and the provider's own reads) through a client that keeps
every request and answer, then checks each request flowdeck sent and each answer the mock gave against
the new spec. It prints the problems as JSON lines (``_gate.Finding`` fields); none means flowdeck,
its mock and the new spec agree.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator

SUPERAI_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
PRISM_STARTUP = 30.0
PRISM_LAUNCHES = 3

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
    "client.databar.run_enrichment": lambda c: c.wait(c.databar.run_enrichment(123, {"email": "a@b.c"})),
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


# Every operation each adapter calls, through the public API.
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
    # The generated parser if it failed; else the provider's own module.
    adapter = [f for f in hits if "/flowdeck/_providers/" in f.filename and not f.filename.endswith("_base.py")]
    frame = hits[-1] if "flowdeck_generated" in hits[-1].filename or not adapter else adapter[-1]
    name = frame.filename.replace("\\", "/")
    for top in ("flowdeck_generated/", "facade/"):
        name = name[name.index(top) :] if top in name else name
    return f"{name}:{frame.lineno} ({frame.name})"


class _Recorder:
    """An httpx client for flowdeck keeping every answer from one origin, with the scenario it belongs to."""

    def __init__(self, url: str) -> None:
        from flowdeck._transport import RetryTransport

        self.origin = httpx.URL(url).netloc
        self.scenario = ""
        self.exchanges: list[tuple[str, httpx.Response]] = []
        self.http = httpx.Client(transport=RetryTransport(httpx.HTTPTransport()), event_hooks={"response": [self.keep]})

    def keep(self, response: httpx.Response) -> None:
        if response.request.url.netloc == self.origin:
            response.read()
            self.exchanges.append((self.scenario, response))

    def run(self, scenarios: Mapping[str, Scenario], client: Any, findings: list[dict[str, Any]]) -> None:
        for name, scenario in scenarios.items():
            self.scenario = name
            try:
                scenario(client)
            except Exception as exc:  # every facade failure is a finding
                findings.append({"kind": "facade", "scenario": name, "operation": getattr(exc, "operation", ""),
                                 "path": "", "field": "", "code": _code(exc),
                                 "message": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]})  # fmt: skip


def on_mocks(provider: str, findings: list[dict[str, Any]]) -> list[tuple[str, httpx.Response]]:
    """Drive ``provider``'s scenarios against its mock; the exchanges, for checking against the spec."""
    from flowdeck.testing import MockClock, MockConfig, MockProviders

    clock = MockClock(frozen_at=1_800_000_000.0)
    # On a frozen clock only the client's sleeps move: a run can be
    # cancelled while it runs, and nothing waits in real time.
    with MockProviders(MockConfig(run_seconds=(1.0, 1.0)), clock) as mocks:
        recorder = _Recorder(mocks.urls[provider])
        base = clock.now()
        options = {"sleep": clock.advance, "clock": lambda: clock.now() - base, "max_retries": 0}
        with mocks.client(http_client=recorder.http, **options) as client:
            recorder.run(SCENARIOS[provider], client, findings)
    return recorder.exchanges


class _Lifecycle:
    """Start one workflow, look at it once, cancel it (a provider without cancel is no finding)."""

    def __init__(self, ref: str, inputs: dict[str, Any]) -> None:
        self.ref, self.inputs = ref, inputs
        self.run: Any = None

    def start(self, client: Any) -> None:
        self.run = client.start(self.ref, self.inputs)

    def refresh(self, client: Any) -> None:
        if self.run is not None:
            client.refresh(self.run)

    def cancel(self, client: Any) -> None:
        from flowdeck import UnsupportedOperationError

        if self.run is not None and not self.run.is_terminal:
            with contextlib.suppress(UnsupportedOperationError):
                client.cancel(self.run)


def _prism_scenarios(provider: str) -> dict[str, Scenario]:
    """Each kind of workflow started, looked at and cancelled: Prism answers from the spec's examples."""
    out: dict[str, Scenario] = {}
    for ref, inputs in PRISM_STARTS.get(provider, []):
        life = _Lifecycle(ref, inputs)
        out[f"client.start ({ref}) on Prism"] = life.start
        out[f"client.refresh ({ref}) on Prism"] = life.refresh
        out[f"client.cancel ({ref}) on Prism"] = life.cancel
    return out


# What is started on Prism for each provider: one workflow of each kind.
PRISM_STARTS: Mapping[str, list[tuple[str, dict[str, Any]]]] = {
    "databar": [
        ("databar:flow/enrich-company", {"domain": "stripe.com"}),
        ("databar:waterfall/email_getter", {"email": "a@b.c", "enrichments": [833]}),
    ],
    "stackai": [("stackai:org-1/flow-1", {"in-0": "x"})],
    "gumloop": [("gumloop:saved-1", {"topic": "x"})],
    "superai": [(f"superai:{SUPERAI_FLOW}", {"file_key": "a.pdf"})],
}


def _serve_prism(prism: Path, spec_path: Path, log: Any) -> tuple[subprocess.Popen[bytes] | None, str]:
    """Prism serving ``spec_path`` on a free port: (process, url), or (None, why it did not start).

    A Prism that exits at once lost its port to another process between the probe and its start: it
    is launched again on another port.
    """
    why = ""
    for _ in range(PRISM_LAUNCHES):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        cmd = [str(prism), "mock", str(spec_path), "-p", str(port), "-h", "127.0.0.1"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "NO_COLOR": "1"})  # noqa: S603
        deadline = time.monotonic() + PRISM_STARTUP
        while proc.poll() is None and time.monotonic() < deadline:
            if _is_prism(url):
                return proc, url
            time.sleep(0.1)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
            return None, f"not up within {PRISM_STARTUP:.0f} s"
        log.seek(0)
        why = (log.read().decode(errors="replace").strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return None, why[:200]


def on_prism(provider: str, spec_path: Path, prism: Path, findings: list[dict[str, Any]]) -> list[Any]:
    """Serve the new spec with Prism and drive ``provider``'s starts against it (its answers: the spec's own)."""
    import flowdeck
    from flowdeck import _providers
    from flowdeck.testing import MockConfig

    mock = _providers.get(provider).mock
    if mock is None:
        return []
    with tempfile.TemporaryFile() as log:
        proc, url = _serve_prism(prism, spec_path, log)
        if proc is None:
            findings.append({"kind": "facade", "scenario": "Prism on the new spec", "operation": "", "path": "",
                             "field": "", "code": "", "message": f"Prism did not start: {url}"})  # fmt: skip
            return []
        try:
            recorder = _Recorder(url)
            env = dict(mock.env(MockConfig(), url))
            with flowdeck.Client(env=env, http_client=recorder.http, max_retries=0) as client:
                recorder.run(_prism_scenarios(provider), client, findings)
            return recorder.exchanges
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _is_prism(url: str) -> bool:
    try:
        return "stoplight.io/prism" in httpx.get(url, timeout=1, trust_env=False).text
    except httpx.TransportError:
        return False


def drive(provider: str, spec_path: Path, prism: Path | None = None) -> list[dict[str, Any]]:
    """Drive ``provider`` against its mock (and Prism serving ``spec_path``); check the traffic against the spec."""
    from flowdeck import _providers

    _providers.get(provider)  # unknown: an error before anything runs
    spec = Spec(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
    findings: list[dict[str, Any]] = []
    if provider not in SCENARIOS:  # a gate that drives nothing would pass anything
        return [{"kind": "facade", "scenario": "", "operation": "", "path": "", "field": "", "code": "",
                 "message": f"nothing to drive for {provider}: add its operations to SCENARIOS and "
                 "PRISM_STARTS in specs/specpipe/_drive.py"}]  # fmt: skip
    exchanges = on_mocks(provider, findings)
    if prism is not None:
        exchanges += on_prism(provider, spec_path, prism, findings)
    for name, response in exchanges:
        for finding in check_exchange(spec, response.request, response):
            findings.append({"scenario": name, "code": "", **finding})
    return findings


def main(argv: list[str]) -> int:
    """Print each finding as one JSON line; exit 0 (the findings say whether the gate passed)."""
    provider, spec_path, *prism = argv
    for finding in drive(provider, Path(spec_path), Path(prism[0]) if prism else None):
        print(json.dumps(finding))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
