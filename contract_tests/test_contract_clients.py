"""The clients honour the contract: the facade's whole lifecycle against the mocks and against Prism,
every response validated against the normalized spec; a broken mock fails naming the operation."""

from __future__ import annotations

import contextvars
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
from flowdeck import Status
from flowdeck.testing import MockConfig, MockProviders

from contract_tests._spec import PROVIDERS, documented_errors, validating_http_client

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.contract

SUPERAI_FLOW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
LIFECYCLES = {
    "databar": ("databar:flow/77", {"domain": "stripe.com"}),
    "stackai": ("stackai:org-1/flow-1", {"in-0": "hello"}),
    "gumloop": ("gumloop:saved-1", {"topic": "weekly"}),
    "superai": (f"superai:{SUPERAI_FLOW}", {"file_key": "a.pdf"}),
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lifecycle_on_mocks_conforms(served_mocks: MockProviders, provider: str) -> None:
    """Each provider's lifecycle against the mocks conforms to its spec, every answer validated."""
    seen: list[str] = []
    ref, inputs = LIFECYCLES[provider]
    http = validating_http_client(served_mocks.urls, seen)
    with served_mocks.client(http_client=http) as client:
        run = client.run(ref, inputs, timeout=30)
    assert run.status is Status.SUCCEEDED and run.outputs
    assert seen, "no response was validated"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_async_lifecycle_on_mocks(served_mocks: MockProviders, provider: str) -> None:
    """Each provider's runs start and end SUCCEEDED on the async client against the mocks."""
    ref, inputs = LIFECYCLES[provider]
    async with served_mocks.async_client() as client:
        runs = [await client.start(ref, {**inputs, "row": str(i)}) for i in range(3)]
        done = await client.wait_many(runs, timeout=30)
    assert [r.status for r in done] == [Status.SUCCEEDED] * 3


def test_mock_failures_via_facade() -> None:
    """The mocks' failures, expiry, credits and cancels reach the facade as typed results."""
    clock = flowdeck.testing.MockClock(frozen_at=1_800_000_000.0)
    with MockProviders(MockConfig(run_seconds=(5.0, 5.0), databar_credits=2), clock) as mocks, ExitStack() as stack:
        client = mocks.client(poll_policy=flowdeck.PollPolicy(initial=0.01, max_interval=0.01), wait_timeout=5)
        stack.callback(client.close)
        run = client.start("databar:flow/1", {"domain": "a"})
        assert client.refresh(run).provider_status == "processing"
        assert client.cancel(run).status is Status.CANCELLED
        with pytest.raises(flowdeck.ConflictError):
            client.cancel(run)
        failing = client.start("databar:flow/fail-x", {"domain": "b"})  # the cancel refunded its credit
        client.start("databar:flow/1", {"domain": "c"})  # the last credit, reserved while it runs
        with pytest.raises(flowdeck.InsufficientCreditsError, match="credits"):
            client.start("databar:flow/1", {"domain": "d"})
        clock.advance(6)
        assert client.refresh(failing).status is Status.FAILED
        clock.advance(25 * 3600)
        assert client.refresh(failing).provider_status == "gone"
        clock.advance(24 * 3600)
        expired = client.refresh(failing)  # now HTTP 410
        assert expired.status is Status.EXPIRED and expired.provider_status == "gone"
        with pytest.raises(flowdeck.NotFoundError):
            client.databar.get_task("nope")
        g = client.start("gumloop:saved-1", {"topic": "x"})
        assert client.cancel(g).status is Status.CANCELLED
        assert mocks.states["databar"].start_count == 3 and mocks.duplicate_starts() == {}


def test_mock_auth_enforced(served_mocks: MockProviders) -> None:
    """Each mock refuses wrong credentials as its provider does."""
    bad = {k: ("wrong" if k.endswith(("_KEY", "_PASSWORD")) else v) for k, v in served_mocks.env.items()}
    with flowdeck.Client(env=bad, max_retries=0) as client:
        with pytest.raises(flowdeck.PermissionDeniedError):
            client.start("databar:flow/1", {"domain": "a"})
        with pytest.raises(flowdeck.AuthenticationError):
            client.start("stackai:o/f", {"in-0": "a"})
        with pytest.raises(flowdeck.AuthenticationError):
            client.start("gumloop:f", {})
        with pytest.raises(flowdeck.BadRequestError):  # wrong password: the password grant answers 400
            client.start(f"superai:{SUPERAI_FLOW}", {})


# --- a broken mock makes the contract check fail, naming the operation --------------------------------

BREAKS = {
    "databar": (b'"task_id"', b'"taskId"', "run_flow"),
    "stackai": (b'"outputs"', b'"output"', "run_deployed_flow"),
    "gumloop": (b'"run_id"', b'"runId"', "start_pipeline"),
    "superai": (b'"status"', b'"state"', "create_flow_execution"),
}


def renaming(app: Any, old: bytes, new: bytes) -> Any:
    """ASGI middleware that renames a JSON field in every response body (content-length kept right)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        async def rename(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": message.get("body", b"").replace(old, new)}
            elif message["type"] == "http.response.start":
                message = {**message, "headers": [h for h in message["headers"] if h[0] != b"content-length"]}
            await send(message)

        await app(scope, receive, rename)

    return wrapped


@pytest.mark.parametrize("provider", PROVIDERS)
def test_broken_mock_fails(provider: str) -> None:
    """A broken mock fails the contract, naming the operation."""
    old, new, operation = BREAKS[provider]
    mocks = MockProviders()
    mocks.apps[provider] = renaming(mocks.apps[provider], old, new)
    ref, inputs = LIFECYCLES[provider]
    with (
        mocks,
        mocks.client(http_client=validating_http_client(mocks.urls)) as client,
        pytest.raises(AssertionError, match=rf"{provider} {operation} \("),
    ):
        client.run(ref, inputs, timeout=10)


# --- Prism serving the normalized specs ----------------------------------------------------------------

_prefer: contextvars.ContextVar[str | None] = contextvars.ContextVar("prefer", default=None)


@pytest.fixture(scope="module")
def prism(prism_urls: dict[str, str]) -> dict[str, str]:
    """One Prism mock server per normalized spec (installed by `make install` from package.json),
    shared by the session (conftest.py's ``prism_urls``)."""
    return prism_urls


def prism_client(urls: dict[str, str], **options: Any) -> flowdeck.Client:
    def prefer(request: httpx.Request) -> None:
        if value := _prefer.get():
            request.headers["Prefer"] = value

    env = {
        **{f"{p.upper()}_BASE_URL": u for p, u in urls.items()},
        "SUPERAI_AUTH_URL": urls["superai"],
        "DATABAR_API_KEY": "k", "STACKAI_API_KEY": "k", "GUMLOOP_API_KEY": "k", "GUMLOOP_USER_ID": "u",
        "SUPERAI_EMAIL": "e@x.com", "SUPERAI_PASSWORD": "p",
    }  # fmt: skip
    http = validating_http_client(urls, request=[prefer])
    return flowdeck.Client(env=env, http_client=http, **options)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_lifecycle_on_prism(prism: dict[str, str], provider: str) -> None:
    """Each provider's lifecycle ends SUCCEEDED against Prism serving its spec."""
    ref, inputs = LIFECYCLES[provider]
    with prism_client(prism) as client:
        run = client.run(ref, inputs, timeout=30)
    assert run.status is Status.SUCCEEDED


# Every documented error status of every operation, requested from Prism with `Prefer: code=N`.
OPERATIONS: dict[str, Callable[[flowdeck.Client], Any]] = {
    "databar run_flow": lambda c: c.databar.run_flow("1", {"domain": "x"}),
    "databar run_waterfall": lambda c: c.databar.run_waterfall("w", {"email": "a@b.c"}, [833]),
    "databar get_task": lambda c: c.databar.get_task("t-1"),
    "databar cancel_task": lambda c: c.databar.cancel_task("t-1"),
    "databar get_flow": lambda c: c.drive(c.adapter("databar").get_flow("1")),  # type: ignore[attr-defined]
    "databar get_user": lambda c: c.drive(c.adapter("databar").get_user()),  # type: ignore[attr-defined]
    "stackai run_deployed_flow": lambda c: c.stackai.run_deployed_flow("o", "f", {"in-0": "x"}),
    "gumloop start_pipeline": lambda c: c.gumloop.start_pipeline("s", {"a": "b"}),
    "gumloop get_pipeline_run": lambda c: c.gumloop.get_run("r"),
    "gumloop kill_pipeline": lambda c: c.cancel(
        flowdeck.Run("gumloop", flowdeck.WorkflowRef("gumloop", "flow", "s"), "r", Status.RUNNING, "RUNNING")
    ),
    "superai create_flow_execution": lambda c: c.superai.create_execution(SUPERAI_FLOW, {"a": 1}),
    "superai get_flow_execution": lambda c: c.superai.get_execution(SUPERAI_FLOW),
    "superai list_flow_executions": lambda c: list(c.superai.list_executions(SUPERAI_FLOW)),
    "superai reexecute_flow_execution": lambda c: c.superai.reexecute(SUPERAI_FLOW),
    "superai list_task_executions": lambda c: c.superai.task_outputs(SUPERAI_FLOW),
}
STARTS = {"run_flow", "run_waterfall", "run_deployed_flow", "start_pipeline", "create_flow_execution",
          "reexecute_flow_execution"}  # fmt: skip
EXPECTED_ERROR = {
    400: flowdeck.BadRequestError, 401: flowdeck.AuthenticationError, 403: flowdeck.PermissionDeniedError,
    404: flowdeck.NotFoundError, 406: flowdeck.InsufficientCreditsError, 409: flowdeck.ConflictError,
    410: flowdeck.GoneError, 422: flowdeck.ValidationError, 429: flowdeck.RateLimitError, 500: flowdeck.ServerError,
}  # fmt: skip


@pytest.mark.parametrize(("operation", "status"), documented_errors(OPERATIONS))
def test_documented_errors_typed(prism: dict[str, str], operation: str, status: int) -> None:
    """Every error status a spec documents maps to its typed error."""
    token = _prefer.set(f"code={status}")
    try:
        with prism_client(prism, superai_token="static", max_retries=0) as client:
            if operation == "databar get_task" and status == 410:
                assert OPERATIONS[operation](client).status is Status.EXPIRED  # a poll's 410 is an expired run
                return
            expected: type[Exception] = EXPECTED_ERROR[status]
            if status >= 500 and operation.split()[1] in STARTS:
                expected = flowdeck.StartOutcomeUnknown
            with pytest.raises(expected):
                OPERATIONS[operation](client)
    finally:
        _prefer.reset(token)


def test_waterfall_no_enrichments_valid(prism: dict[str, str], served_mocks: MockProviders) -> None:
    """Prism checks requests against the spec: omitting `enrichments` (the SDK's default cascade) is valid."""
    with prism_client(prism, max_retries=0) as client:
        assert client.databar.run_waterfall("email_getter", {"email": "a@b.c"}).id
    with served_mocks.client(http_client=validating_http_client(served_mocks.urls)) as client:
        run = client.run("databar:waterfall/email_getter", {"email": "a@b.c"}, timeout=30)
    assert run.outputs["inputs"]["enrichments"] == [833, 966]


def test_databar_reads_conform(prism: dict[str, str], served_mocks: MockProviders) -> None:
    """The operations our overlay adds (GET /v1/flows/{id}, GET /v1/user/me), against Prism and the mock."""
    for client in (prism_client(prism), served_mocks.client(http_client=validating_http_client(served_mocks.urls))):
        with client:
            adapter: Any = client.adapter("databar")
            assert isinstance(client.drive(adapter.get_flow("1"))["inputs"], list)
            assert isinstance(client.drive(adapter.get_user())["balance"], float | int)


def test_prism_pinned() -> None:
    """Prism is pinned in package.json, and node is there to run it."""
    import json

    assert json.loads((ROOT / "package.json").read_text())["devDependencies"]["@stoplight/prism-cli"] == "5.16.0"
    assert shutil.which("node"), "node is needed for Prism"


def test_polling_learns_length() -> None:
    """Polling learns a workflow's length: few polls and a small lag."""
    clock = flowdeck.testing.MockClock(frozen_at=1_800_000_000.0)
    with MockProviders(MockConfig(seed=5, run_seconds=(54.0, 66.0)), clock) as mocks, ExitStack() as stack:
        base = clock.now()
        client = mocks.client(sleep=clock.advance, clock=lambda: clock.now() - base, wait_timeout=None)
        stack.callback(client.close)
        polls, lags = [], []
        for i in range(6):
            run = client.start("databar:flow/sixty", {"row": str(i)})
            before, began = mocks.states["databar"].calls["get_task"], clock.now()
            client.wait(run)
            record = mocks.states["databar"].runs[run.id]
            polls.append(mocks.states["databar"].calls["get_task"] - before)
            lags.append(clock.now() - began - record.duration)
    assert polls[0] >= 10  # the first run: nothing known, the adaptive schedule
    assert max(polls[2:]) <= 5 and max(lags[2:]) <= 0.1 * 66, (polls, lags)
