"""The facade against respx-mocked providers: lifecycle, errors, retries, config, security."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import flowdeck
import httpx
import pytest
import respx
from flowdeck import Status
from flowdeck.testing import MockProviders

from tests._fakes import BASES, ENV, EXEC_UUID, FLOW_UUID, SECRETS, FakeClock, async_client, client

DB, SA, GL, SU, AUTH = BASES["databar"], BASES["stackai"], BASES["gumloop"], BASES["superai"], BASES["superai_auth"]


def task(status: str, **extra: Any) -> dict[str, Any]:
    return {"task_id": "t-1", "status": status, **extra}


def exec_body(status: str) -> dict[str, Any]:
    return {
        "id": EXEC_UUID,
        "flow_id": FLOW_UUID,
        "status": status,
        "created_at": "2026-11-23T10:00:00Z",
        "updated_at": "2026-11-23T10:00:05Z",
    }


def superai_login(mock: respx.MockRouter) -> tuple[respx.Route, respx.Route]:
    anon = mock.get(f"{SU}/auth/anon-key").respond(json={"anon_key": "anon-public"})
    token = mock.post(f"{AUTH}/auth/v1/token").respond(
        json={"access_token": "jwt-1", "refresh_token": "r-1", "expires_in": 3600}
    )
    return anon, token


def mock_all_lifecycles(mock: respx.MockRouter) -> None:
    """Every provider: a run that is started, polled twice, and succeeds."""
    mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
    mock.get(f"{DB}/v1/tasks/t-1").mock(
        side_effect=[
            httpx.Response(200, json=task("processing")),
            httpx.Response(200, json=task("completed", data={"email": "a@b.c"})),
        ]
    )
    mock.post(f"{SA}/inference/v0/run/org/f1").respond(
        json={"outputs": {"out-0": "hi"}, "run_id": "sa-1", "state": "COMPLETED", "error": None}
    )
    mock.post(f"{GL}/start_pipeline").respond(json={"run_id": "g-1", "url": "https://gumloop.com/run/g-1"})
    mock.get(f"{GL}/get_pl_run").mock(
        side_effect=[
            httpx.Response(200, json={"state": "RUNNING"}),
            httpx.Response(200, json={"state": "DONE", "outputs": {"summary": "ok"}, "log": []}),
        ]
    )
    superai_login(mock)
    mock.post(f"{SU}/flow-executions").respond(201, json=exec_body("queued"))
    mock.get(f"{SU}/flow-executions/{EXEC_UUID}").mock(
        side_effect=[httpx.Response(200, json=exec_body("running")), httpx.Response(200, json=exec_body("completed"))]
    )
    mock.get(f"{SU}/task-executions").respond(
        json=[
            {
                "id": EXEC_UUID,
                "flow_execution_id": EXEC_UUID,
                "task_name": "extract",
                "status": "completed",
                "output": {"total": 3},
            }
        ]
    )


EXPECTED = {
    "databar:flow/42": ({"domain": "stripe.com"}, {"email": "a@b.c"}, "completed"),
    "stackai:org/f1": ({"in-0": "hello"}, {"out-0": "hi"}, "COMPLETED"),
    "gumloop:saved-1": ({"topic": "x"}, {"summary": "ok"}, "DONE"),
    f"superai:{FLOW_UUID}": ({"file_key": "a.pdf"}, {"extract": {"total": 3}}, "completed"),
}


@pytest.mark.parametrize("ref", list(EXPECTED))
def test_run_sync(ref: str) -> None:
    """Each provider's run starts, polls and ends SUCCEEDED with its outputs."""
    inputs, outputs, provider_status = EXPECTED[ref]
    clock = FakeClock()
    with respx.mock(assert_all_called=False) as mock, client(clock) as c:
        mock_all_lifecycles(mock)
        run = c.run(ref, inputs)
    assert run.status is Status.SUCCEEDED and run.outputs == outputs and run.provider_status == provider_status
    assert str(run.workflow) == ref
    assert run.is_terminal and run.succeeded


@pytest.mark.parametrize("ref", list(EXPECTED))
async def test_run_async(ref: str) -> None:
    """Each provider's run ends SUCCEEDED with its outputs on the async client."""
    inputs, outputs, _ = EXPECTED[ref]
    clock = FakeClock()
    with respx.mock(assert_all_called=False) as mock:
        mock_all_lifecycles(mock)
        async with async_client(clock) as c:
            run = await c.run(ref, inputs)
    assert run.status is Status.SUCCEEDED and run.outputs == outputs


def test_polling_backs_off() -> None:
    """Polls back off by the policy's intervals and report each status change once."""
    clock, seen = FakeClock(), []
    with (
        respx.mock as mock,
        client(clock, on_status_change=lambda old, new: seen.append((old.status, new.status))) as c,
    ):
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        polls = mock.get(f"{DB}/v1/tasks/t-1").mock(
            side_effect=[httpx.Response(200, json=task("processing"))] * 5
            + [httpx.Response(200, json=task("completed", data=[1]))]
        )
        run = c.run("databar:flow/42", {"domain": "x"})
    assert polls.call_count == 6 and run.outputs == [1]
    assert clock.sleeps == [flowdeck.PollPolicy().interval(n) for n in range(6)]  # growing from 0.5 s
    assert seen == [(Status.RUNNING, Status.SUCCEEDED)]


def test_wait_timeout_carries_last_run() -> None:
    """A wait past its timeout raises WaitTimeout carrying the run as last seen."""
    clock = FakeClock()
    with respx.mock as mock, client(clock) as c:
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        mock.get(f"{DB}/v1/tasks/t-1").respond(json=task("processing"))
        with pytest.raises(flowdeck.WaitTimeout) as info:
            c.run("databar:flow/42", {"domain": "x"}, timeout=30)
    assert info.value.run.status is Status.RUNNING
    assert clock.now - 1000.0 == pytest.approx(30.0)


@pytest.mark.parametrize(
    "expired", [httpx.Response(200, json=task("gone")), httpx.Response(410, json={"detail": "expired"})]
)
def test_databar_expiry(expired: httpx.Response) -> None:
    """A gone task and a 410 on a poll are both EXPIRED, and RunExpired when raised."""
    with respx.mock as mock, client(FakeClock()) as c:
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        mock.get(f"{DB}/v1/tasks/t-1").mock(return_value=expired)
        run = c.wait(c.start("databar:flow/42", {"domain": "x"}), raise_on_failure=False)
        assert run.status is Status.EXPIRED
        with pytest.raises(flowdeck.RunExpired):
            c.wait(c.start("databar:flow/42", {"domain": "x"}))


def test_run_failed_message() -> None:
    """A failed run raises RunFailed with the provider's error messages joined."""
    with respx.mock as mock, client(FakeClock()) as c:
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        mock.get(f"{DB}/v1/tasks/t-1").respond(json=task("failed", error=["no such domain", "quota"]))
        with pytest.raises(flowdeck.RunFailed, match="no such domain; quota") as info:
            c.run("databar:flow/42", {"domain": "x"})
    assert info.value.run.status is Status.FAILED


def test_cancel() -> None:
    """Databar and Gumloop runs cancel; a second cancel conflicts; others refuse."""
    with respx.mock(assert_all_called=False) as mock, client(FakeClock()) as c:
        mock_all_lifecycles(mock)
        mock.post(f"{DB}/v1/tasks/t-1/cancel").mock(
            side_effect=[
                httpx.Response(200, json=task("cancelled", data=[])),
                httpx.Response(409, json={"detail": "terminal"}),
            ]
        )
        run = c.start("databar:flow/42", {"domain": "x"})
        assert c.cancel(run).status is Status.CANCELLED
        with pytest.raises(flowdeck.ConflictError):
            c.cancel(run)
        kill = mock.post(f"{GL}/kill_pipeline").respond(json={"success": True, "run_id": "g-1"})
        mock.get(f"{GL}/get_pl_run").respond(json={"state": "TERMINATED"})
        assert c.cancel(c.start("gumloop:saved-1", {})).status is Status.CANCELLED
        assert json.loads(kill.calls.last.request.content) == {"run_id": "g-1", "user_id": "user-42"}
        with pytest.raises(flowdeck.UnsupportedOperationError, match="stackai"):
            c.cancel(c.start("stackai:org/f1", {"in-0": "x"}))
        with pytest.raises(flowdeck.UnsupportedOperationError, match="superai"):
            c.cancel(c.start(f"superai:{FLOW_UUID}", {}))


ERRORS = [
    (400, {"error": "INVALID_DATA", "detail": "bad", "fields": [{"field": "domain"}]}, flowdeck.BadRequestError),
    (401, {"detail": "no key"}, flowdeck.AuthenticationError),
    (403, {"detail": "Forbidden"}, flowdeck.PermissionDeniedError),
    (404, {"detail": "Flow not found"}, flowdeck.NotFoundError),
    (406, {"detail": "Check the number of remaining credits"}, flowdeck.InsufficientCreditsError),
    (409, {"detail": "conflict"}, flowdeck.ConflictError),
    (410, {"detail": "expired"}, flowdeck.GoneError),
    (
        422,
        {"detail": [{"loc": ["body", "inputs"], "msg": "field required", "type": "missing"}]},
        flowdeck.ValidationError,
    ),
    (429, {"detail": "slow down"}, flowdeck.RateLimitError),
    (503, {"detail": "down"}, flowdeck.ServerError),
]


@pytest.mark.parametrize(("status", "body", "error"), ERRORS, ids=[str(status) for status, _, _ in ERRORS])
def test_error_status_typed(status: int, body: dict[str, Any], error: type[Exception]) -> None:
    """Each error status raises its typed ApiError with status, body and request id."""
    with respx.mock as mock, client(FakeClock(), max_retries=0) as c:
        # cancel_task, not get_task: a 410 on a poll is not an error but an EXPIRED run.
        mock.post(f"{DB}/v1/tasks/t-9/cancel").respond(
            status, json=body, headers={"x-request-id": "req-7", "Retry-After": "4"}
        )
        with pytest.raises(error) as info:
            c.databar.cancel_task("t-9")
    exc = info.value
    assert isinstance(exc, flowdeck.ApiError)
    assert exc.status_code == status and exc.body == body and exc.request_id == "req-7" and exc.provider == "databar"
    if isinstance(exc, flowdeck.BadRequestError):
        assert exc.details
    if isinstance(exc, flowdeck.RateLimitError):
        assert exc.retry_after == 4.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!DOCTYPE HTML>\n<html>\n <body>\n  <h1>Error response</h1>\n  <p>Error code: 404</p>\n </body>\n</html>\n",
         "HTTP 404: an HTML page, not the API: check the base URL (Error response Error code: 404)"),
        ("upstream\nconnect error\n", "HTTP 404: upstream connect error"),
    ],
)  # fmt: skip
def test_non_json_error_body(text: str, expected: str) -> None:
    """A non-JSON error body is one line; an HTML page points at the base URL."""
    # A wrong base URL lands on some web server, whose page printed as is would fill a terminal.
    with respx.mock as mock, client(FakeClock(), max_retries=0) as c:
        mock.post(f"{DB}/v1/tasks/t-9/cancel").respond(404, text=text)
        with pytest.raises(flowdeck.NotFoundError) as info:
            c.databar.cancel_task("t-9")
    assert str(info.value).endswith(expected) and "\n" not in str(info.value), str(info.value)
    assert info.value.body == text  # the raw body stays whole on the error


def test_reads_retry() -> None:
    """Reads retry connect errors, timeouts, 429 and 5xx until they succeed."""
    with respx.mock as mock, client(FakeClock(), max_retries=3) as c:
        route = mock.get(f"{DB}/v1/tasks/t-1").mock(
            side_effect=[
                httpx.ConnectError("refused"),
                httpx.ReadTimeout("slow"),
                httpx.Response(502),
                httpx.Response(200, json=task("completed", data={})),
            ]
        )
        assert c.databar.get_task("t-1").status is Status.SUCCEEDED
    assert route.call_count == 4


def test_retries_per_call() -> None:
    """with_options(max_retries=...) sets the retries of one call."""
    with respx.mock as mock, client(FakeClock(), max_retries=3) as c:
        route = mock.get(f"{DB}/v1/tasks/t-1").respond(503)
        with pytest.raises(flowdeck.ServerError):
            c.with_options(max_retries=0).databar.get_task("t-1")
        assert route.call_count == 1
        with pytest.raises(flowdeck.ServerError):
            c.databar.get_task("t-1")
        assert route.call_count == 5


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (httpx.ConnectError("refused"), True),  # never reached the provider: safe to retry
        (httpx.Response(429, headers={"Retry-After": "0"}), True),  # refused: safe to retry
        (httpx.ReadTimeout("sent, no answer"), False),
        (httpx.RemoteProtocolError("dropped mid-response"), False),
        (httpx.Response(500, json={"detail": "oops"}), False),
        (httpx.Response(502), False),
    ],
    ids=["connect-error", "429", "read-timeout", "dropped-mid-answer", "500", "502"],
)
def test_start_never_sent_twice(failure: Any, retried: bool) -> None:
    """A start is retried only when it certainly did not start; else StartOutcomeUnknown."""
    with respx.mock as mock, client(FakeClock(), max_retries=3) as c:
        route = mock.post(f"{DB}/v1/flows/42/run").mock(
            side_effect=[failure, httpx.Response(200, json=task("processing"))]
        )
        if retried:
            assert c.start("databar:flow/42", {"domain": "x"}).id == "t-1"
            assert route.call_count == 2
        else:
            with pytest.raises(flowdeck.StartOutcomeUnknown) as info:
                c.start("databar:flow/42", {"domain": "x"})
            assert route.call_count == 1
            assert info.value.workflow == "databar:flow/42" and "may have started" in str(info.value)


def test_retry_after_while_polling() -> None:
    """A 429's Retry-After sets the wait before the next poll."""
    clock = FakeClock()
    with respx.mock as mock, client(clock, max_retries=0) as c:
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        mock.get(f"{DB}/v1/tasks/t-1").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=task("completed"))]
        )
        c.run("databar:flow/42", {"domain": "x"})
    assert clock.sleeps == [0.5, 7.0]


def test_unknown_status() -> None:
    """An unknown status word raises UnknownStatusError after one poll."""
    with respx.mock as mock, client(FakeClock()) as c:
        mock.post(f"{DB}/v1/flows/42/run").respond(json=task("processing"))
        route = mock.get(f"{DB}/v1/tasks/t-1").respond(json=task("teleported"))
        with pytest.raises(flowdeck.UnknownStatusError) as info:
            c.run("databar:flow/42", {"domain": "x"})
    assert info.value.status == "teleported" and route.call_count == 1 and b"teleported" in info.value.body


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>502 Bad Gateway</html>"),
        httpx.Response(200, content=b'{"task_id": "t-1", "sta'),
        httpx.Response(200, content=b""),
        httpx.Response(200, json={"status": "processing"}),
        httpx.Response(200, json={"task_id": "t-1", "status": 7}),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(201, json=task("processing")),
    ],
    ids=["html", "cut-json", "empty", "no-id", "status-not-string", "not-object", "undocumented-201"],
)
def test_contract_error_raw_body(response: httpx.Response) -> None:
    """An answer that breaks the contract raises ContractError with the raw body."""
    with respx.mock as mock, client(FakeClock()) as c:
        mock.get(f"{DB}/v1/tasks/t-1").mock(return_value=response)
        with pytest.raises(flowdeck.ContractError) as info:
            c.databar.get_task("t-1")
    assert info.value.body == response.content and info.value.operation == "get_task"


def test_missing_credential() -> None:
    """A missing credential fails at first use, naming its environment variable."""
    c = client(FakeClock(), env={})  # constructing needs no credentials
    with pytest.raises(flowdeck.MissingCredentialError, match="DATABAR_API_KEY"):
        c.start("databar:flow/1", {})
    with pytest.raises(flowdeck.MissingCredentialError, match="GUMLOOP_USER_ID"):
        client(FakeClock(), env={"GUMLOOP_API_KEY": "k"}).gumloop.get_run("r")
    with pytest.raises(flowdeck.MissingCredentialError, match="SUPERAI_TOKEN"):
        c.superai.get_execution(EXEC_UUID)


def test_base_url_and_explicit_key() -> None:
    """The base URL comes from the environment; an explicit credential wins over it."""
    env = {**ENV, "DATABAR_BASE_URL": "http://127.0.0.1:9/"}
    with respx.mock as mock, flowdeck.Client(env=env, databar_api_key="explicit-key") as c:
        route = mock.get("http://127.0.0.1:9/v1/tasks/t-1").respond(json=task("processing"))
        c.databar.get_task("t-1")
    assert route.calls.last.request.headers["x-apikey"] == "explicit-key"


def test_plain_http_refused() -> None:
    """Credentials go over plain HTTP only to loopback, unless allow_insecure_http."""
    c = flowdeck.Client(env={**ENV, "DATABAR_BASE_URL": "http://api.databar.ai"})
    with pytest.raises(flowdeck.InsecureTransportError, match=r"http://api\.databar\.ai"):
        c.databar.get_task("t-1")
    allowed = flowdeck.Client(env={**ENV, "DATABAR_BASE_URL": "http://api.databar.ai"}, allow_insecure_http=True)
    assert allowed.adapter("databar")


def test_auth_headers() -> None:
    """Each provider gets its credentials in its own headers."""
    with respx.mock(assert_all_called=False) as mock, client(FakeClock()) as c:
        mock_all_lifecycles(mock)
        for ref, (inputs, _, _) in EXPECTED.items():
            c.run(ref, inputs)
        sent = {str(call.request.url).split("?")[0]: call.request.headers for call in mock.calls}
    assert sent[f"{DB}/v1/flows/42/run"]["x-apikey"] == ENV["DATABAR_API_KEY"]
    assert sent[f"{SA}/inference/v0/run/org/f1"]["authorization"] == f"Bearer {ENV['STACKAI_API_KEY']}"
    gl = sent[f"{GL}/start_pipeline"]
    assert gl["authorization"] == f"Bearer {ENV['GUMLOOP_API_KEY']}" and gl["x-auth-key"] == "user-42"
    assert sent[f"{AUTH}/auth/v1/token"]["apikey"] == "anon-public"
    assert sent[f"{SU}/flow-executions"]["authorization"] == "Bearer jwt-1"


def test_superai_relogin_on_401() -> None:
    """SuperAI logs in again once on a 401, with the refresh token."""
    with respx.mock as mock, client(FakeClock()) as c:
        _, token = superai_login(mock)
        token.mock(
            side_effect=[
                httpx.Response(200, json={"access_token": "jwt-1", "refresh_token": "r-1", "expires_in": 3600}),
                httpx.Response(200, json={"access_token": "jwt-2", "refresh_token": "r-2", "expires_in": 3600}),
            ]
        )
        get = mock.get(f"{SU}/flow-executions/{EXEC_UUID}").mock(
            side_effect=[
                httpx.Response(401, json={"error": {"message": "expired"}}),
                httpx.Response(200, json=exec_body("running")),
            ]
        )
        assert c.superai.get_execution(EXEC_UUID).status is Status.RUNNING
    assert get.calls[1].request.headers["authorization"] == "Bearer jwt-2"
    assert json.loads(token.calls[1].request.content) == {"refresh_token": "r-1"}
    assert "grant_type=refresh_token" in str(token.calls[1].request.url)


def test_superai_pages_and_reexecute() -> None:
    """SuperAI lists every page, re-executes a run and reads its task outputs."""

    def page(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params["page"])
        return httpx.Response(200, json=[exec_body("completed")] * (2 if n < 3 else 1))

    with respx.mock as mock, client(FakeClock(), superai_token="static-jwt") as c:
        mock.get(f"{SU}/flow-executions").mock(side_effect=page)
        assert len(list(c.superai.list_executions(FLOW_UUID, page_size=2))) == 5
        rexec = mock.post(f"{SU}/flow-executions/{EXEC_UUID}/execute").respond(204)
        mock.get(f"{SU}/flow-executions/{EXEC_UUID}").respond(json=exec_body("running"))
        assert c.superai.reexecute(EXEC_UUID, only_stale=True).status is Status.RUNNING
        assert rexec.calls.last.request.url.params["only_stale"] == "true"
        mock.get(f"{SU}/task-executions").respond(
            json=[
                {"id": EXEC_UUID, "flow_execution_id": EXEC_UUID, "task_name": "ocr", "status": "failed",
                 "error": {"message": "bad scan", "type": "E", "traceback": ""}},
            ]
        )  # fmt: skip
        [t] = c.superai.task_outputs(EXEC_UUID)
    assert t.name == "ocr" and t.error == "bad scan"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nope:1", "must start with one of"),
        ("databar:1", "databar:flow/<id>"),
        ("databar:flow/..", "not a valid id"),
        ("databar:flow/ 1", "whitespace"),
        ("stackai:only-flow", "stackai:<org_id>/<flow_id>"),
        ("gumloop:a/b", "gumloop:<id>"),
        ("superai:not-a-uuid", "must be a UUID"),
    ],
)
def test_bad_reference(ref: str, message: str) -> None:
    """A malformed workflow reference raises InvalidRequestError before any request."""
    with respx.mock(assert_all_mocked=True) as mock, client(FakeClock()) as c:
        with pytest.raises(flowdeck.InvalidRequestError, match=message):
            c.start(ref, {})
        assert mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"domain": 3}, "must be a string"),
        ("domain=x", "must be a mapping"),
        ({"": "x"}, "non-empty strings"),
        ({"d": "x" * 1_100_000}, "the limit is"),
    ],
)
def test_bad_inputs(inputs: Any, message: str) -> None:
    """Malformed inputs raise InvalidRequestError before any request."""
    with respx.mock(assert_all_mocked=True) as mock, client(FakeClock()) as c:
        with pytest.raises(flowdeck.InvalidRequestError, match=message):
            c.start("databar:flow/1", inputs)
        assert mock.calls.call_count == 0


def test_id_cannot_change_path() -> None:
    """An id with path characters is sent escaped as one path segment."""
    with respx.mock as mock, client(FakeClock()) as c:
        route = mock.get(url__regex=rf"{DB}/v1/tasks/[^/?]+(\?|$)").respond(json=task("processing"))
        c.databar.get_task("a/../../admin?x=1#frag")
    assert route.calls.last.request.url.path == "/v1/tasks/a/../../admin?x=1#frag"  # one segment, decoded
    assert route.calls.last.request.url.raw_path.startswith(b"/v1/tasks/a%2F..%2F..%2Fadmin%3Fx%3D1%23frag?")


def test_no_secret_in_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """No credential appears in a repr, an error message or a log record."""
    caplog.set_level(logging.DEBUG, logger="flowdeck")
    with respx.mock(assert_all_called=False) as mock, client(FakeClock()) as c:
        mock_all_lifecycles(mock)
        mock.get(f"{DB}/v1/tasks/t-9").respond(403, json={"detail": "Forbidden"})
        texts = [repr(c), str(c)]
        for ref, (inputs, _, _) in EXPECTED.items():
            run = c.run(ref, inputs)
            texts += [repr(run), str(run)]
        with pytest.raises(flowdeck.PermissionDeniedError) as info:
            c.databar.get_task("t-9")
        texts += [str(info.value), repr(info.value), repr(c._configs)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("GET db.test/v1/tasks/t-1 -> 200 (attempt 1" in t for t in texts)
    for secret in [*SECRETS, "jwt-1"]:
        assert not any(secret in t for t in texts), secret


def test_wait_many_one_scheduler() -> None:
    """wait_many and as_completed poll all runs together, yielding in order of completion."""
    clock = FakeClock()
    with respx.mock as mock, client(clock) as c:
        counts: dict[str, int] = {}

        def poll(request: httpx.Request, tid: str) -> httpx.Response:
            counts[tid] = counts.get(tid, 0) + 1
            done = counts[tid] > int(tid)  # task "3" needs 3 polls
            return httpx.Response(200, json={"task_id": tid, "status": "completed" if done else "processing"})

        mock.get(url__regex=rf"{DB}/v1/tasks/(?P<tid>\d+)\?").mock(side_effect=poll)
        runs = [c.databar.get_task(str(n)) for n in (3, 1, 2)]
        order = [r.id for r in c.as_completed(runs)]
        assert order == ["1", "2", "3"]
        counts.clear()
        assert [r.status for r in c.wait_many(runs)] == [Status.SUCCEEDED] * 3


async def test_async_wait_many() -> None:
    """The async wait_many waits for all runs, and a failed start raises its typed error."""
    clock = FakeClock()
    with respx.mock as mock:
        mock.post(f"{DB}/v1/flows/42/run").mock(
            side_effect=[httpx.Response(200, json={"task_id": f"t-{i}", "status": "processing"}) for i in range(20)]
        )
        mock.get(url__regex=rf"{DB}/v1/tasks/(?P<tid>t-\d+)\?").mock(
            side_effect=lambda request, tid: httpx.Response(
                200, json={"task_id": tid, "status": "completed", "data": tid}
            )
        )
        mock.post(f"{DB}/v1/flows/bad/run").respond(406, json={"detail": "no credits"})
        async with async_client(clock) as c:
            runs = [await c.start("databar:flow/42", {"domain": str(i)}) for i in range(20)]
            done = await c.wait_many(runs)
            with pytest.raises(flowdeck.InsufficientCreditsError):
                await c.databar.run_flow("bad", {})
    assert [r.outputs for r in done] == [f"t-{i}" for i in range(20)]


def test_superai_token_expiry() -> None:
    """A SuperAI token is renewed a margin before it expires on the client's clock."""
    clock = FakeClock()
    with respx.mock as mock, client(clock) as c:
        _, token = superai_login(mock)  # expires_in 3600; flowdeck refreshes 60 s early
        mock.get(f"{SU}/flow-executions/{EXEC_UUID}").respond(json=exec_body("running"))
        c.superai.get_execution(EXEC_UUID)
        clock.now += 3500
        c.superai.get_execution(EXEC_UUID)
        assert token.call_count == 1  # still valid on the client's clock
        clock.now += 100
        c.superai.get_execution(EXEC_UUID)
        assert token.call_count == 2  # past expiry minus the margin: logged in again before the call


async def test_superai_one_login(served_mocks: MockProviders) -> None:
    """Concurrent SuperAI starts share one login."""
    # Rows of a batch start together: one of them logs in, the others wait for its token.
    state = served_mocks.states["superai"]
    before = state.calls["get_token"]
    async with flowdeck.AsyncClient(env=served_mocks.env) as client:
        runs = await asyncio.gather(*(client.start(f"superai:{FLOW_UUID}", {"n": str(i)}) for i in range(20)))
    assert len(runs) == 20
    assert state.calls["get_token"] - before == 1


# Many runs: one run's failed wait costs the others nothing, and an ended run never times out.


def _gumloop_runs(c: flowdeck.Client, n: int) -> list[flowdeck.Run]:
    return [c.start("gumloop:digest", {"topic": str(i)}) for i in range(n)]


def test_wait_many_one_failure(served_mocks: MockProviders) -> None:
    """One failed wait keeps every other run, in order, and names the failed one."""
    import attrs

    with flowdeck.Client(env=served_mocks.env) as c:
        runs = _gumloop_runs(c, 5)
        runs[1], runs[3] = attrs.evolve(runs[1], id="gone-1"), attrs.evolve(runs[3], id="gone-2")  # 404 when polled
        yielded = []
        with pytest.raises(flowdeck.WaitManyError) as info:
            for run in c.as_completed(runs):
                yielded.append(run.id)
        assert sorted(yielded) == sorted(runs[i].id for i in (0, 2, 4))  # every other run first
        with pytest.raises(flowdeck.WaitManyError) as many:
            c.wait_many(runs)
    for error in (info.value, many.value):
        assert [r.id for r in error.runs] == [r.id for r in runs]  # in the order given
        assert [r.status for r in error.runs] == [Status.SUCCEEDED, Status.PENDING] * 2 + [Status.SUCCEEDED]
        assert [(run.id, type(exc)) for run, exc in error.failures] == [
            ("gone-1", flowdeck.NotFoundError),
            ("gone-2", flowdeck.NotFoundError),
        ]
        assert "2 of 5 runs" in str(error) and "gumloop run gone-1: " in str(error) and "gone-2" in str(error)
        assert error.__cause__ is error.failures[0][1]


async def test_async_wait_many_one_failure(served_mocks: MockProviders) -> None:
    """On the async client, one failed wait keeps every other run and names it."""
    import attrs

    async with flowdeck.AsyncClient(env=served_mocks.env) as c:
        runs = [await c.start("gumloop:digest", {"topic": str(i)}) for i in range(3)]
        runs[0] = attrs.evolve(runs[0], id="gone-0")
        yielded = []
        with pytest.raises(flowdeck.WaitManyError) as info:
            async for run in c.as_completed(runs):
                yielded.append(run.id)
        assert sorted(yielded) == sorted(r.id for r in runs[1:])
        with pytest.raises(flowdeck.WaitManyError) as many:
            await c.wait_many(runs)
    for error in (info.value, many.value):
        assert [r.status for r in error.runs] == [Status.PENDING, Status.SUCCEEDED, Status.SUCCEEDED]
        assert [run.id for run, _ in error.failures] == ["gone-0"] and "gumloop run gone-0: " in str(error)


def test_ended_run_never_times_out(served_mocks: MockProviders) -> None:
    """A run that has ended is returned even with a timeout of zero."""
    with flowdeck.Client(env=served_mocks.env) as c:
        runs = _gumloop_runs(c, 3)  # snapshots taken at the start: PENDING, though the mock ends them at once
        assert {r.status for r in runs} == {Status.PENDING}
        assert [r.status for r in c.wait_many(runs, timeout=0)] == [Status.SUCCEEDED] * 3
        assert [r.status for r in c.as_completed(runs, timeout=0)] == [Status.SUCCEEDED] * 3
        assert c.wait(runs[0], timeout=0).status is Status.SUCCEEDED


async def test_async_ended_never_times_out(served_mocks: MockProviders) -> None:
    """On the async client, a run that has ended is returned at a timeout of zero."""
    async with flowdeck.AsyncClient(env=served_mocks.env) as c:
        runs = [await c.start("gumloop:digest", {"topic": str(i)}) for i in range(3)]
        assert [r.status for r in await c.wait_many(runs, timeout=0)] == [Status.SUCCEEDED] * 3
        assert (await c.wait(runs[0], timeout=0)).status is Status.SUCCEEDED


def test_passed_deadline_polls_once() -> None:
    """At a deadline already passed each run is polled once and returned as seen."""
    clock = FakeClock()
    with respx.mock as mock, client(clock) as c:
        polls = mock.get(url__regex=rf"{DB}/v1/tasks/(?P<tid>\w+)\?").mock(
            side_effect=lambda request, tid: httpx.Response(200, json={"task_id": tid, "status": "processing"})
        )
        runs = [c.databar.get_task(t) for t in ("a", "b")]
        assert [r.status for r in c.wait_many(runs, timeout=0)] == [Status.RUNNING] * 2
        assert polls.call_count == 2 + 2 and clock.sleeps == []  # one look each, no waiting
        with pytest.raises(flowdeck.WaitTimeout):
            c.wait(runs[0], timeout=0)  # one run's wait still times out, after that one look
        assert polls.call_count == 5 and clock.sleeps == [0.0]


def test_run_failed_shown_once() -> None:
    """A failed run shows as flowdeck.RunFailed, naming its workflow once."""
    import traceback

    from flowdeck.testing import MockConfig

    with (
        MockProviders(MockConfig(seed=4, run_seconds=(0.0, 0.0))) as mocks,
        mocks.client() as sync,
        pytest.raises(flowdeck.RunFailed) as caught,
    ):
        sync.run("gumloop:my-fail-flow", {"topic": "x"})
    shown = traceback.format_exception_only(caught.value)[-1]
    assert shown.startswith("flowdeck.RunFailed: gumloop:my-fail-flow: run "), shown  # not flowdeck._errors.
    assert "gumloop gumloop" not in shown
    # Every public name says where users import it from.
    assert {
        getattr(flowdeck, name).__module__
        for name in flowdeck.__all__
        if hasattr(getattr(flowdeck, name), "__module__")
    } == {"flowdeck"}
