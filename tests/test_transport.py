"""The transport against real loopback servers: pool slots, timeouts, retries, retry logs, user clients."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import flowdeck
import httpcore
import httpx
import pytest
import stamina
from flowdeck._transport import ShardedAsyncTransport, SlotTransport, build_request, ssl_context
from flowdeck.testing import MockProviders
from hypothesis import given, settings
from hypothesis import strategies as st

from tests._fakes import ENV
from tests._loopback import Answer, LoopbackServer, cancel_waiters_as_slots_free


def task(status: str) -> dict[str, Any]:
    return {"task_id": "t-1", "status": status, "data": {}}


POLL = "GET /v1/tasks/t-1"
START = "POST /v1/flows/42/run"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


def sync_client(server: LoopbackServer, **options: Any) -> flowdeck.Client:
    return flowdeck.Client(env=ENV, base_urls={"databar": server.url}, **options)


def async_client(server: LoopbackServer, **options: Any) -> flowdeck.AsyncClient:
    return flowdeck.AsyncClient(env=ENV, base_urls={"databar": server.url}, **options)


def httpcore_pools(client: flowdeck.AsyncClient) -> list[httpcore.AsyncConnectionPool]:
    """The httpcore pools behind an AsyncClient's own transport (its shards, for starts and the rest)."""
    apart = client._http._inner  # type: ignore[union-attr]
    return [shard.transport._pool for sharded in (apart.others, apart.starts) for shard in sharded._shards.live]


def fill_with_never_opening_connections(pool: httpcore.AsyncConnectionPool, url: str) -> None:
    """Leave ``pool`` as httpcore's slot leak does: every slot held by a connection that will never open."""
    origin = httpcore.URL(url).origin
    while len(pool.connections) < pool._max_connections:
        pool._connections.append(pool.create_connection(origin))
    assert {c.info() for c in pool.connections} == {"CONNECTING"}


# --- pool slots and timeouts ----------------------------------------------------------------------


async def test_dead_pool_stackai_start() -> None:
    """A StackAI start waits for a connection only its pool timeout; a dead pool is replaced."""
    # A StackAI start may wait 600 s for its answer, but not for a connection: the start goes through
    # at the next attempt, on a fresh pool.
    with MockProviders() as mocks:
        async with mocks.async_client(timeout=1.0) as client:
            for pool in httpcore_pools(client):
                fill_with_never_opening_connections(pool, mocks.urls["stackai"])
            began = time.monotonic()
            async with asyncio.timeout(30):  # the 600 s pool wait this guards against fails here, named
                run = await client.start("stackai:soak/flow", {"in-0": "x"})
            assert run.succeeded
            assert time.monotonic() - began < 1.0 * 3  # one pool timeout, then a fresh pool


async def test_cancelled_waiters_keep_slots(server: LoopbackServer) -> None:
    """Requests cancelled while they wait for a connection lose no pool slot."""
    # Many are cancelled just as a connection is handed to them (the moment httpcore 1.0.9 loses a
    # slot, encode/httpcore#1093), others all at once.
    transport = ShardedAsyncTransport(shards=1, per_shard=8)
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        for _ in range(3):
            await cancel_waiters_as_slots_free(http, server.url, held=8, waiting=40, pause=0.05)
        # Every slot came back: a full round of requests gets connections at once.
        async with asyncio.timeout(3):
            answers = await asyncio.gather(*(http.get(f"{server.url}/after") for _ in range(8)))
        assert [a.status_code for a in answers] == [200] * 8
        pool = transport._shards.live[0].transport._pool  # type: ignore[attr-defined]
        assert all(c.info() != "CONNECTING" for c in pool.connections)


async def test_slot_passed_on_cancel(
    server: LoopbackServer,
) -> None:
    """A slot handed to a request cancelled in the same loop turn is passed on."""
    transport = ShardedAsyncTransport(shards=1, per_shard=1)
    async with httpx.AsyncClient(transport=transport, timeout=5.0) as http:
        holder = await http.send(http.build_request("GET", f"{server.url}/a"), stream=True)  # takes the only slot
        waiting = asyncio.create_task(http.get(f"{server.url}/b"))
        await asyncio.sleep(0.05)
        await holder.aclose()  # hands the slot to the waiting request...
        waiting.cancel()  # ...which is cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await waiting
        async with asyncio.timeout(3):
            assert (await http.get(f"{server.url}/c")).status_code == 200
    assert server.calls["GET /b"] == 0


async def test_pool_timeout(server: LoopbackServer) -> None:
    """A request waits for a slot at most its pool timeout."""
    transport = ShardedAsyncTransport(shards=2, per_shard=1)
    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, pool=0.2)) as http:
        held = [await http.send(http.build_request("GET", f"{server.url}/a"), stream=True) for _ in range(2)]
        began = time.monotonic()
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{server.url}/b")
        assert 0.2 <= time.monotonic() - began < 2
        for response in held:
            await response.aclose()
        assert (await http.get(f"{server.url}/b")).status_code == 200
    assert server.calls["GET /b"] == 1


def test_sync_threads_wait_for_slot(server: LoopbackServer) -> None:
    """Sync threads beyond the pool wait for a slot, not inside httpcore."""
    transport = SlotTransport(max_connections=2)
    with httpx.Client(transport=transport, timeout=5.0) as http:
        statuses: list[int] = []

        def one() -> None:
            statuses.append(http.get(f"{server.url}/slow?sleep=0.1").status_code)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert statuses == [200] * 8
        assert server.max_in_flight <= 2
        with httpx.Client(transport=SlotTransport(max_connections=1), timeout=httpx.Timeout(5.0, pool=0.2)) as one_slot:
            held = one_slot.send(one_slot.build_request("GET", f"{server.url}/a"), stream=True)
            with pytest.raises(httpx.PoolTimeout):
                one_slot.get(f"{server.url}/b")
            held.close()
            assert one_slot.get(f"{server.url}/b").status_code == 200


async def test_copies_share_concurrency(server: LoopbackServer) -> None:
    """Copies made with with_options share the concurrency limit."""
    server.answer(POLL, [Answer(200, task("processing"))] * 12)
    server.delay = 0.1  # every answer takes a while, so concurrent requests overlap at the server
    async with async_client(server, max_concurrent_requests=2) as client:
        copies = [client, client.with_options(max_retries=0), client.with_options(timeout=5.0)]
        await asyncio.gather(*(copies[i % 3].databar.get_task("t-1") for i in range(12)))
    assert server.calls[POLL] == 12
    assert server.max_in_flight <= 2


# --- retries: the outcome is always a public error, and logged only to flowdeck's logger -------------


@pytest.mark.parametrize(
    ("status", "error"), [(503, flowdeck.ServerError), (429, flowdeck.RateLimitError), (502, flowdeck.ServerError)]
)
@pytest.mark.parametrize("switch", ["testing", "inactive"])
def test_stamina_testing_mode(server: LoopbackServer, status: int, error: type[Exception], switch: str) -> None:
    """With stamina in testing mode or off, a retryable status is a public error."""
    server.answer(POLL, [Answer(status, {"detail": "busy"}, {"Retry-After": "0"})] * 5)
    with sync_client(server) as client:
        if switch == "testing":
            with stamina.set_testing(True, attempts=1), pytest.raises(error):
                client.databar.get_task("t-1")
        else:
            stamina.set_active(False)
            try:
                with pytest.raises(error):
                    client.databar.get_task("t-1")
            finally:
                stamina.set_active(True)
            assert server.calls[POLL] == 1  # retries are off


async def test_async_stamina_testing_mode(server: LoopbackServer) -> None:
    """The async client with stamina in testing mode raises ServerError."""
    server.answer(POLL, [Answer(503, {"detail": "busy"})] * 5)
    async with async_client(server) as client:
        with stamina.set_testing(True, attempts=1), pytest.raises(flowdeck.ServerError):
            await client.databar.get_task("t-1")


def test_retry_one_debug_record(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    """A retry is one debug record on flowdeck.retries and nothing on stamina's."""
    server.answer(POLL, [Answer(429, {"detail": "slow down"}, {"Retry-After": "0"}), Answer(200, task("completed"))])
    caplog.set_level(logging.DEBUG)
    with sync_client(server) as client:
        assert client.databar.get_task("t-1").succeeded
    assert [r for r in caplog.records if r.name.startswith("stamina")] == []
    retries = [r for r in caplog.records if r.name == "flowdeck.retries"]
    assert len(retries) == 1
    record = retries[0]
    assert record.levelno == logging.DEBUG
    assert record.flowdeck_retry == {"reason": "429", "attempt": 2, "wait": 0.0}  # type: ignore[attr-defined]
    where = server.url.removeprefix("http://")
    assert record.getMessage() == f"retrying GET {where}/v1/tasks/t-1 after HTTP 429 (attempt 2 of 3, in 0.0 s)"


ODD = "GET /v1/tasks/a%2Fb%20c"  # the task id "a/b c", quoted into one path segment


def _logged_as_sent(caplog: pytest.LogCaptureFixture, server: LoopbackServer) -> None:
    # A decoded path ("/v1/tasks/a/b c") would name a request that was never sent; the port tells two
    # servers on one host apart.
    where = server.url.removeprefix("http://") + "/v1/tasks/a%2Fb%20c"
    (retry,) = [r.getMessage() for r in caplog.records if r.name == "flowdeck.retries"]
    assert retry.startswith(f"retrying GET {where} after HTTP 429"), retry
    sent = [r.getMessage() for r in caplog.records if r.name == "flowdeck"]
    assert [m.split(" (")[0] for m in sent] == [f"GET {where} -> 429", f"GET {where} -> 200"]


def test_logs_path_as_sent(server: LoopbackServer, caplog: pytest.LogCaptureFixture) -> None:
    """The retry logs name the path as sent, not decoded."""
    server.answer(ODD, [Answer(429, {"detail": "slow down"}, {"Retry-After": "0"}), Answer(200, task("completed"))])
    caplog.set_level(logging.DEBUG)
    with sync_client(server) as client:
        assert client.databar.get_task("a/b c").succeeded
    _logged_as_sent(caplog, server)


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
async def test_async_logs_path_as_sent(server: LoopbackServer, caplog: pytest.LogCaptureFixture, backend: str) -> None:
    """The async retry logs name the path as sent, on either backend."""
    server.answer(ODD, [Answer(429, {"detail": "slow down"}, {"Retry-After": "0"}), Answer(200, task("completed"))])
    caplog.set_level(logging.DEBUG)
    async with async_client(server, http_backend=backend) as client:
        assert (await client.databar.get_task("a/b c")).succeeded
    _logged_as_sent(caplog, server)


def test_retry_silent_in_library(server: LoopbackServer) -> None:
    """A script using flowdeck with no logging set up: a 429 then a 200 prints nothing."""
    server.answer(POLL, [Answer(429, {"detail": "slow down"}, {"Retry-After": "0"}), Answer(200, task("completed"))])
    script = textwrap.dedent(
        f"""
        import json, logging, flowdeck

        records = []
        handler = logging.Handler()
        handler.emit = records.append
        retries = logging.getLogger("flowdeck.retries")
        retries.addHandler(handler)
        retries.setLevel(logging.DEBUG)
        with flowdeck.Client(env={ENV!r}, base_urls={{"databar": {server.url!r}}}) as c:
            status = c.databar.get_task("t-1").status.value
        print(json.dumps({{"status": status, "retries": [r.flowdeck_retry["reason"] for r in records]}}))
        """
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout) == {"status": "SUCCEEDED", "retries": ["429"]}
    assert server.calls[POLL] == 2


# --- a user's own http_client keeps flowdeck's rules ------------------------------------------------


def test_users_http_client(server: LoopbackServer) -> None:
    """A user's httpx client keeps flowdeck's retries, never double-starts, and is closed."""
    server.answer(POLL, [Answer(503), Answer(200, task("completed"))])
    server.answer(START, [Answer(500, {"detail": "oops"})])
    theirs = httpx.Client(headers={"user-agent": "their-app"}, follow_redirects=True)
    with sync_client(server, http_client=theirs) as client:  # closing flowdeck's client closes theirs
        assert client.databar.get_task("t-1").succeeded  # the 503 was retried
        with pytest.raises(flowdeck.StartOutcomeUnknown):
            client.start("databar:flow/42", {"domain": "x.com"})
        # Their own requests through the same client, outside flowdeck, are not retried.
        server.answer("GET /theirs", [Answer(503)])
        assert theirs.get(f"{server.url}/theirs").status_code == 503
    assert server.calls == {POLL: 2, START: 1, "GET /theirs": 1}  # a start that may have run is never sent twice


async def test_users_async_http_client(server: LoopbackServer) -> None:
    """A user's async httpx client keeps flowdeck's retries and never double-starts."""
    server.answer(POLL, [Answer(503), Answer(200, task("completed"))])
    server.answer(START, [Answer(429, {}, {"Retry-After": "0"}), Answer(502)])
    async with httpx.AsyncClient() as theirs, async_client(server, http_client=theirs) as client:
        assert (await client.databar.get_task("t-1")).succeeded
        with pytest.raises(flowdeck.StartOutcomeUnknown):
            await client.start("databar:flow/42", {"domain": "x.com"})  # 429 retried, then 502: not again
    assert server.calls == {POLL: 2, START: 2}


def test_wrong_http_client_kind() -> None:
    """An httpx client of the wrong kind is refused, saying which is needed."""
    with pytest.raises(flowdeck.InvalidRequestError, match=r"httpx\.Client for flowdeck\.Client, not AsyncClient"):
        flowdeck.Client(env=ENV, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(flowdeck.InvalidRequestError, match=r"httpx\.AsyncClient for flowdeck\.AsyncClient"):
        flowdeck.AsyncClient(env=ENV, http_client=httpx.Client())  # type: ignore[arg-type]


# --- flowdeck's own connections, driven below httpx's client -------------------------------------


def test_built_request_parameters() -> None:
    """Requests built without a client carry every parameter and the timeout."""
    base = {"method": "GET", "url": "https://api.example.com/v1/x", "timeout": httpx.Timeout(5.0)}
    listed = build_request({**base, "params": {"a": ["1", "2"], "b": "3"}})
    assert str(listed.url) == "https://api.example.com/v1/x?a=1&a=2&b=3"
    assert str(build_request({**base, "params": {"b": "4"}}).url).endswith("/v1/x?b=4")
    assert str(build_request(base).url).endswith("/v1/x")  # a remembered URL is not reused with other parameters
    assert build_request(base).extensions["timeout"]["read"] == 5.0


_VALUES = st.one_of(st.booleans(), st.integers(), st.text(max_size=8), st.lists(st.text(max_size=4), max_size=3))


@settings(max_examples=60, deadline=None)
@given(
    path=st.text(st.characters(codec="utf-8"), max_size=12) | st.text(st.sampled_from("ab0-._~/%é ?#&="), max_size=12),
    quoted=st.booleans(),
    params=st.none() | st.dictionaries(st.text(min_size=1, max_size=6), _VALUES, max_size=4),
    accept=st.sampled_from([None, "Accept", "ACCEPT", "accept"]),
)
def test_built_request_as_httpx(path: str, quoted: bool, params: dict[str, Any] | None, accept: str | None) -> None:
    """Requests built without a client are those an httpx client builds."""
    # The fast way (the query appended as text, lower-case header names merged as a dict) must give
    # the request httpx's own merging would: same URL, same headers bar their names' case.
    from urllib.parse import quote

    # Quoted as generated code quotes ids, or not (a base URL or a path may hold "?" or "#" itself).
    url = f"https://api.example.com/v1/tasks/{quote(path, safe='') if quoted else path}"
    headers = {"x-apikey": "k", **({accept: "application/json"} if accept else {})}
    agent = {"User-Agent": f"flowdeck/{flowdeck.__version__}"}
    unused = httpx.MockTransport(lambda _: httpx.Response(204))  # given, so no TLS context is built per example
    with httpx.Client(headers=agent, transport=unused, trust_env=False) as client:
        try:
            theirs = client.build_request("GET", url, params=params, headers=headers)
        except httpx.InvalidURL:  # refused by httpx: by flowdeck too
            with pytest.raises(httpx.InvalidURL):
                build_request({"method": "GET", "url": url, "params": params, "headers": headers})
            return
    ours = build_request({"method": "GET", "url": url, "params": params, "headers": headers})
    assert ours.url == theirs.url
    # httpx.Client also says "Connection: keep-alive", which HTTP/1.1 means without saying it.
    assert sorted(ours.headers.multi_items()) == sorted(i for i in theirs.headers.multi_items() if i[0] != "connection")


def test_unsendable_argument() -> None:
    """A request argument the transport cannot send is a TypeError, not dropped."""
    with pytest.raises(TypeError, match="cookies"):
        build_request({"method": "GET", "url": "https://api.example.com/", "cookies": {"a": "b"}})


def _named_without_cookies_and_decoded(server: LoopbackServer) -> None:
    assert len(server.headers) == 2  # the compressed poll was read as what it is, not retried as cut short
    for headers in server.headers:
        assert headers["user-agent"] == f"flowdeck/{flowdeck.__version__}"
        assert "cookie" not in headers  # a provider's session cookie is never sent back with the key


def _script_cookie_then_gzip(server: LoopbackServer) -> None:
    server.answer(START, [Answer(body={"task_id": "t-1", "status": "processing"}, headers={"set-cookie": "s=1"})])
    body = gzip.compress(json.dumps(task("completed")).encode())
    server.answer(POLL, [Answer(raw=body, headers={"content-encoding": "gzip"})])


def test_requests_headers_and_bodies(server: LoopbackServer) -> None:
    """Requests name flowdeck, keep no cookies and decode compressed bodies."""
    _script_cookie_then_gzip(server)
    with sync_client(server) as client:
        run = client.refresh(client.start("databar:flow/42", {"a": "1"}))
    assert run.provider_status == "completed"
    _named_without_cookies_and_decoded(server)


def test_decoded_size_limited(server: LoopbackServer) -> None:
    """A compressed body is limited by its decoded size."""
    bomb = gzip.compress(b'{"task_id": "t-1", "status": "completed", "data": {"x": "' + b"0" * 2_000_000 + b'"}}')
    server.answer(POLL, [Answer(raw=bomb, headers={"content-encoding": "gzip"})] * 3)
    client = sync_client(server, max_retries=0, max_response_bytes=1_000_000)
    with client, pytest.raises(flowdeck.TransportError, match="larger than 1000000 bytes"):
        client.databar.get_task("t-1")
    assert len(bomb) < 10_000


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
async def test_undecodable_start_unknown(server: LoopbackServer, backend: str) -> None:
    """A start answered with a body that does not decode is an unknown outcome."""
    server.answer(START, [Answer(raw=b'{"task_id": "t-1"}', headers={"content-encoding": "gzip"})])
    async with async_client(server, http_backend=backend) as client:
        with pytest.raises(flowdeck.StartOutcomeUnknown, match="ResponseUndecodable"):
            await client.start("databar:flow/42", {"a": "1"})
    assert server.calls[START] == 1  # it may have started: never sent again


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
async def test_async_headers_and_bodies(server: LoopbackServer, backend: str) -> None:
    """Async requests name flowdeck, keep no cookies and decode bodies, on both backends."""
    _script_cookie_then_gzip(server)
    async with async_client(server, http_backend=backend) as client:
        run = await client.refresh(await client.start("databar:flow/42", {"a": "1"}))
    assert run.provider_status == "completed"
    _named_without_cookies_and_decoded(server)


async def test_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients share one TLS context per process."""
    # Building a context parses every root certificate: once per process, not once per client.
    built: list[ssl.SSLContext] = []

    def build(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(ssl.create_default_context())
        return built[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", build)
    ssl_context.cache_clear()
    try:
        for _ in range(3):
            flowdeck.Client(env=ENV).close()
            for backend in ("httpcore", "aiohttp"):
                await flowdeck.AsyncClient(env=ENV, http_backend=backend).close()
    finally:
        ssl_context.cache_clear()  # later tests build httpx's real context again
    assert len(built) == 1


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
async def test_non_ascii_header(server: LoopbackServer, backend: str) -> None:
    """A header value that is not ASCII is read as httpx reads it, on both backends."""
    # Servers send Latin-1 bytes in header values now and then; httpx accepts them, so must every backend.
    server.answer(POLL, [Answer(200, task("completed"), {"x-served-by": "café-1"})])
    async with async_client(server, http_backend=backend) as client:
        assert (await client.databar.get_task("t-1")).succeeded
