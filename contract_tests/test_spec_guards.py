"""What the overlay fixes are for, tested: each test here fails when a fix it stands for is removed.

`make mutate` removes every overlay action in turn and runs this file first; the table it prints
names the test below that catches each one. The checks are behavioural: Prism (serving the
normalized specs) must refuse a request without the credentials the spec declares, and answer it
with a status the spec documents; the mocks' error answers must be ones the spec documents;
flowdeck's own requests must satisfy each operation's security exactly as the spec states it.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import flowdeck
import httpx
import pytest
import yaml
from flowdeck import Status, _providers
from flowdeck.testing import Faults, MockConfig, MockProviders

from contract_tests._prism import ROOT
from contract_tests._spec import PROVIDERS, documented_errors, operation_for, schema, validate

pytestmark = pytest.mark.contract

SUPERAI_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
KEYS = {
    "DATABAR_API_KEY": "k", "STACKAI_API_KEY": "k", "GUMLOOP_API_KEY": "k", "GUMLOOP_USER_ID": "u",
    "SUPERAI_TOKEN": "static-jwt",
}  # fmt: skip


def spec(provider: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((ROOT / "specs" / "normalized" / f"{provider}.yaml").read_text())
    return doc


@pytest.fixture(scope="module")
def prism(prism_urls: dict[str, str]) -> dict[str, str]:
    return prism_urls  # conftest.py: one set of Prism servers for the session


_strip: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("strip", default=())
_prism_401: contextvars.ContextVar[bool] = contextvars.ContextVar("prism_401", default=False)
_prefer: contextvars.ContextVar[str | None] = contextvars.ContextVar("prefer", default=None)


def _edit(request: httpx.Request) -> None:
    for header in _strip.get():
        request.headers.pop(header, None)
    if prefer := _prefer.get():
        request.headers["Prefer"] = prefer


def conforms(provider: str, response: httpx.Response) -> None:
    """The response's status is documented for its operation, and its body matches what is documented.

    (schemathesis' response validation alone lets an undocumented status through unchecked.)
    """
    op = operation_for(provider, response.request.method, response.request.url.path).definition.raw
    documented = {str(code) for code in op["responses"]}
    status = str(response.status_code)
    if status == "401" and _prism_401.get() and "403" in documented:
        return  # Prism's own 401 for a provider that answers a missing key with a documented 403
    if not {status, f"{status[0]}XX", "default"} & documented:
        raise AssertionError(f"{provider} {op['operationId']}: HTTP {status} is not documented ({sorted(documented)})")
    validate(provider, response)


def strict_http_client(urls: dict[str, str], request: list[Any] | None = None) -> httpx.Client:
    """An httpx client for flowdeck checking every response with :func:`conforms`."""
    from flowdeck._transport import RetryTransport

    by_origin = {httpx.URL(u).copy_with(path="/", query=None): p for p, u in urls.items()}

    def check(response: httpx.Response) -> None:
        conforms(by_origin[response.request.url.copy_with(path="/", query=None)], response)

    return httpx.Client(
        transport=RetryTransport(httpx.HTTPTransport()), event_hooks={"response": [check], "request": request or []}
    )


def prism_client(urls: dict[str, str]) -> flowdeck.Client:
    """A client for Prism whose every response is checked against the spec it came from."""
    env = {**{f"{p.upper()}_BASE_URL": u for p, u in urls.items()}, "SUPERAI_AUTH_URL": urls["superai"], **KEYS}
    return flowdeck.Client(env=env, http_client=strict_http_client(urls, [_edit]), max_retries=0)


# Every operation the facade calls, as the facade calls it. The Databar flow id is not a number on
# purpose: the published page says integer, the providers' ids are opaque strings.
OPERATIONS: dict[str, Callable[[flowdeck.Client], Any]] = {
    "databar run_flow": lambda c: c.databar.run_flow("enrich-company", {"domain": "stripe.com"}),
    "databar run_waterfall": lambda c: c.databar.run_waterfall("email_getter", {"email": "a@b.c"}, [833]),
    "databar get_task": lambda c: c.databar.get_task("t-1"),
    "databar cancel_task": lambda c: c.databar.cancel_task("t-1"),
    "databar get_flow": lambda c: c.drive(c.databar._adapter.get_flow("enrich-company")),
    "databar get_user": lambda c: c.drive(c.databar._adapter.get_user()),
    "stackai run_deployed_flow": lambda c: c.stackai.run_deployed_flow("org-1", "flow-1", {"in-0": "x"}),
    "gumloop start_pipeline": lambda c: c.gumloop.start_pipeline("saved-1", {"topic": "x"}),
    "gumloop get_pipeline_run": lambda c: c.gumloop.get_run("r-1"),
    "gumloop kill_pipeline": lambda c: c.cancel(
        flowdeck.Run("gumloop", flowdeck.WorkflowRef("gumloop", "flow", "s"), "r-1", Status.RUNNING, "RUNNING")
    ),
    "superai create_flow_execution": lambda c: c.superai.create_execution(SUPERAI_FLOW, {"file_key": "a.pdf"}),
    "superai get_flow_execution": lambda c: c.superai.get_execution(SUPERAI_FLOW),
    "superai list_flow_executions": lambda c: list(c.superai.list_executions(SUPERAI_FLOW)),
    "superai reexecute_flow_execution": lambda c: c.superai.reexecute(SUPERAI_FLOW),
    "superai list_task_executions": lambda c: c.superai.task_outputs(SUPERAI_FLOW),
}
# The credential headers flowdeck sends to each provider's API (SuperAI: its bearer JWT).
CREDENTIALS = {
    "databar": ("x-apikey",),
    "stackai": ("authorization",),
    "gumloop": ("authorization", "x-auth-key"),
    "superai": ("authorization",),
}


def test_prism_accepts_our_requests(prism: dict[str, str]) -> None:
    """The positive control of the test below (and: a Databar flow id need not be a number)."""
    with prism_client(prism) as client:
        for name, call in OPERATIONS.items():
            try:
                call(client)
            except flowdeck.FlowdeckError as exc:
                raise AssertionError(f"{name}: Prism refused what flowdeck sends: {exc!r}") from exc


@pytest.mark.parametrize(("operation", "header"), [(op, h) for op in OPERATIONS for h in CREDENTIALS[op.split()[0]]])
def test_prism_needs_each_credential(prism: dict[str, str], operation: str, header: str) -> None:
    """The spec declares every credential the provider needs, and the 401 it answers without one."""
    # Prism enforces exactly the spec's security: if a credential were missing from it, Prism would
    # answer 2xx; if the operation did not document 401, the response check would fail on Prism's
    # own undocumented 401. Databar answers a missing key with 403 (documented; its spec declares no
    # 401), so there Prism's 401 only has to be a refusal.
    tokens = (_strip.set((header,)), _prism_401.set(operation.startswith("databar ")))
    try:
        with prism_client(prism) as client, pytest.raises(flowdeck.AuthenticationError):
            OPERATIONS[operation](client)
    finally:
        _strip.reset(tokens[0])
        _prism_401.reset(tokens[1])


def test_operation_ids_match() -> None:
    """Each operation the facade calls is in its spec under the operationId flowdeck names it by."""
    # flowdeck's errors (``.operation``), the contract tests and the change report name operations so.
    for name in OPERATIONS:
        provider, op_id = name.split()
        found = [r.ok() for r in schema(provider).get_all_operations() if r.ok().definition.raw["operationId"] == op_id]
        assert len(found) == 1, f"{provider}: no operation has operationId {op_id!r}"


@pytest.mark.parametrize(("operation", "status"), documented_errors(OPERATIONS))
def test_documented_errors_have_body(prism: dict[str, str], operation: str, status: int) -> None:
    """An error the spec documents has a body the facade can read a message from, not an empty one."""
    token = _prefer.set(f"code={status}")
    try:
        with prism_client(prism) as client:
            try:
                result = OPERATIONS[operation](client)
            except (flowdeck.ApiError, flowdeck.StartOutcomeUnknown) as exc:  # 5xx on a start: outcome unknown
                body = exc.body
                assert exc.operation == operation.split()[1]  # named as the spec names it
            else:
                assert isinstance(result, flowdeck.Run) and result.status is Status.EXPIRED, result  # a poll's 410
                body = result.raw
    finally:
        _prefer.reset(token)
    assert isinstance(body, dict) and body, f"{operation} {status}: body {body!r}"


def test_waterfall_created_pending(prism: dict[str, str], served_mocks: MockProviders) -> None:
    """Databar's two words for a new run (the waterfall page's example says `created`): both accepted."""
    with prism_client(prism) as client:  # Prism answers the page's own example
        run = client.databar.run_waterfall("email_getter", {"email": "a@b.c"}, [833])
    assert (run.provider_status, run.status) == ("created", Status.PENDING)
    with served_mocks.client() as client:
        run = client.databar.run_waterfall("email_getter", {"email": "a@b.c"}, [833])
    assert (run.provider_status, run.status) == ("processing", Status.RUNNING)


# --- flowdeck's requests against the spec's security, read exactly as OpenAPI defines it ------------


def _satisfies(scheme: dict[str, Any], request: httpx.Request) -> bool:
    kind = scheme.get("type")
    if kind == "apiKey":
        where = {"header": request.headers, "query": request.url.params, "cookie": {}}[scheme["in"]]
        return bool(where.get(scheme["name"]))
    if kind == "http":
        prefix = {"bearer": "bearer ", "basic": "basic "}[str(scheme["scheme"]).lower()]
        value = request.headers.get("authorization", "")
        return value.lower().startswith(prefix) and len(value) > len(prefix)
    # oauth2 / openIdConnect: a client must run the flow (tokenUrl...) first. flowdeck runs none, so a
    # spec declaring one describes an API flowdeck does not speak.
    return False


def _lifecycles(client: flowdeck.Client) -> None:
    client.run("databar:flow/enrich-company", {"domain": "stripe.com"}, timeout=30)
    client.cancel(client.start("databar:flow/long", {"domain": "x"}))
    client.wait(client.databar.run_waterfall("email_getter", {"email": "a@b.c"}, [833]), timeout=30)
    client.run("stackai:org-1/flow-1", {"in-0": "x"})
    client.run("gumloop:saved-1", {"topic": "x"}, timeout=30)
    client.cancel(client.start("gumloop:saved-2", {"topic": "y"}))
    client.run(f"superai:{SUPERAI_FLOW}", {"file_key": "a.pdf"}, timeout=30)  # logs in: anon key, password grant


def test_requests_meet_security() -> None:
    """flowdeck's requests meet each operation's security and use every declared scheme."""
    clock = flowdeck.testing.MockClock(frozen_at=1_800_000_000.0)
    seen: list[tuple[str, httpx.Request]] = []
    # Runs take a second of the mocks' frozen clock, which only the client's sleeps move: a run can be
    # cancelled while it runs, and nothing waits in real time (but StackAI's blocking call: 1 s).
    with MockProviders(MockConfig(run_seconds=(1.0, 1.0)), clock) as mocks, ExitStack() as stack:
        by_origin = {httpx.URL(u).copy_with(path="/", query=None): p for p, u in mocks.urls.items()}

        def record(request: httpx.Request) -> None:
            seen.append((by_origin[request.url.copy_with(path="/", query=None)], request))

        http = strict_http_client(mocks.urls, [record])
        base = clock.now()
        client = stack.enter_context(
            mocks.client(http_client=http, sleep=clock.advance, clock=lambda: clock.now() - base)
        )
        _lifecycles(client)
    used: dict[str, set[str]] = {p: set() for p in PROVIDERS}
    for provider, request in seen:
        doc = spec(provider)
        op = operation_for(provider, request.method, request.url.path).definition.raw
        alternatives = (op["security"] if "security" in op else doc.get("security")) or [{}]  # []: no auth
        schemes = (doc.get("components") or {}).get("securitySchemes") or {}
        met = [alt for alt in alternatives if all(_satisfies(schemes[name], request) for name in alt)]
        assert met, f"{provider} {op['operationId']}: flowdeck's request satisfies none of {alternatives}"
        used[provider].update(name for alt in met for name in alt)
    for provider in PROVIDERS:
        declared = set((spec(provider).get("components") or {}).get("securitySchemes") or {})
        assert declared <= used[provider], (
            f"{provider} declares security schemes flowdeck never satisfies: {sorted(declared - used[provider])}"
        )


def test_default_urls_are_servers() -> None:
    """flowdeck's default base URLs are the specs' servers."""
    for provider in PROVIDERS:
        assert _providers.get(provider).config.urls[0].default == spec(provider)["servers"][0]["url"], provider
    token = spec("superai")["paths"]["/auth/v1/token"]["post"]
    auth = next(u for u in _providers.get("superai").config.urls if u.key == "auth")
    assert token["servers"][0]["url"] == auth.default


# --- the mocks' error answers are documented by the spec --------------------------------------------

# (provider, mock config, env override, call, expected error). Each response is validated against
# the spec on its way to the facade: an undocumented status or body fails with AssertionError.
BAD_KEY = {"DATABAR_API_KEY": "bad", "STACKAI_API_KEY": "bad", "GUMLOOP_API_KEY": "bad"}
ERRORS: list[tuple[str, str, dict[str, str], Callable[[flowdeck.Client], Any], type[Exception]]] = [
    ("databar run_flow 403", "plain", BAD_KEY, OPERATIONS["databar run_flow"], flowdeck.PermissionDeniedError),
    ("databar run_flow 404", "plain", {}, lambda c: c.databar.run_flow("missing-1", {}), flowdeck.NotFoundError),
    ("databar run_flow 406", "broke", {}, OPERATIONS["databar run_flow"], flowdeck.InsufficientCreditsError),
    ("databar run_flow 429", "429", {}, OPERATIONS["databar run_flow"], flowdeck.RateLimitError),
    ("databar run_waterfall 406", "broke", {}, OPERATIONS["databar run_waterfall"], flowdeck.InsufficientCreditsError),
    ("databar run_waterfall 429", "429", {}, OPERATIONS["databar run_waterfall"], flowdeck.RateLimitError),
    ("databar get_task 404", "plain", {}, OPERATIONS["databar get_task"], flowdeck.NotFoundError),
    ("databar get_task 429", "429", {}, OPERATIONS["databar get_task"], flowdeck.RateLimitError),
    ("stackai 401", "plain", BAD_KEY, OPERATIONS["stackai run_deployed_flow"], flowdeck.AuthenticationError),
    ("stackai 404", "plain", {}, lambda c: c.stackai.run_deployed_flow("o", "missing", {}), flowdeck.NotFoundError),
    ("stackai 429", "429", {}, OPERATIONS["stackai run_deployed_flow"], flowdeck.RateLimitError),
    ("stackai 500", "500", {}, OPERATIONS["stackai run_deployed_flow"], flowdeck.StartOutcomeUnknown),
    ("gumloop start 401", "plain", BAD_KEY, OPERATIONS["gumloop start_pipeline"], flowdeck.AuthenticationError),
    ("gumloop start 403", "plain", {"GUMLOOP_USER_ID": "someone-else"}, OPERATIONS["gumloop start_pipeline"],
     flowdeck.PermissionDeniedError),
    ("gumloop start 429", "429", {}, OPERATIONS["gumloop start_pipeline"], flowdeck.RateLimitError),
    ("gumloop start 500", "500", {}, OPERATIONS["gumloop start_pipeline"], flowdeck.StartOutcomeUnknown),
    ("gumloop get_pl_run 404", "plain", {}, OPERATIONS["gumloop get_pipeline_run"], flowdeck.NotFoundError),
]  # fmt: skip
CONFIGS = {
    "plain": MockConfig(),
    "broke": MockConfig(databar_credits=0),
    "429": MockConfig(faults=Faults(rate=1.0, kinds=("429",))),
    "500": MockConfig(faults=Faults(rate=1.0, kinds=("500",))),
}


@pytest.fixture(scope="module")
def mocks_by_config() -> Iterator[dict[str, MockProviders]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(MockProviders(config)) for name, config in CONFIGS.items()}


@pytest.mark.parametrize(("case", "config", "env", "call", "expected"), ERRORS, ids=[e[0] for e in ERRORS])
def test_mock_errors_documented(
    mocks_by_config: dict[str, MockProviders],
    case: str,
    config: str,
    env: dict[str, str],
    call: Callable[[flowdeck.Client], Any],
    expected: type[Exception],
) -> None:
    """The mocks' error answers are documented by the spec."""
    mocks = mocks_by_config[config]
    with (
        flowdeck.Client(env={**mocks.env, **env}, http_client=strict_http_client(mocks.urls), max_retries=0) as c,
        pytest.raises(expected),
    ):
        call(c)


def test_gumloop_start_needs_run_id() -> None:
    """The spec promises run_id on every 200 (the run cannot be followed without it)."""
    from contract_tests.test_contract_clients import renaming

    mocks = MockProviders()
    mocks.apps["gumloop"] = renaming(mocks.apps["gumloop"], b'"run_id"', b'"runId"')
    with (
        mocks,
        mocks.client(http_client=strict_http_client(mocks.urls)) as client,
        pytest.raises(AssertionError, match=r"gumloop start_pipeline \("),
    ):
        client.start("gumloop:saved-1", {"topic": "x"})


# --- stateful contract tests follow the spec's links ----------------------------------------------

# start -> poll (-> cancel / re-execute): what the stateful schemathesis run is there to exercise.
LINKS = {
    "databar": [("run_flow", "get_task"), ("run_flow", "cancel_task"), ("run_waterfall", "get_task")],
    "gumloop": [("start_pipeline", "get_pipeline_run")],
    "superai": [("create_flow_execution", "get_flow_execution"), ("create_flow_execution", "list_task_executions")],
}


def _label(method: str, path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{method} {path}").strip("_")


@pytest.mark.parametrize("provider", list(LINKS))
def test_stateful_start_to_poll(provider: str) -> None:
    """The stateful tests can go from each start to its poll."""
    ops = {o.definition.raw["operationId"]: o for o in (r.ok() for r in schema(provider).get_all_operations())}
    rules = [name for name in dir(schema(provider).as_state_machine()) if "___" in name]
    steps = set()
    for rule in rules:
        source, rest = rule.split("___", 1)
        target = rest.split("__", 1)[1] if "__" in rest else ""
        steps.add((source.strip("_"), target.strip("_")))
    for start, poll in LINKS[provider]:
        a, b = ops[start], ops[poll]
        step = (_label(a.method.upper(), a.path), _label(b.method.upper(), b.path))
        assert step in steps, f"{provider}: the state machine cannot follow {start} -> {poll}"
