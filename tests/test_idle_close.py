"""Starts never go out on a connection the server is closing for idleness."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from flowdeck import _client, _transport
from flowdeck._aiohttp import AiohttpTransport
from flowdeck._transport import AsyncRetryTransport, CallPolicy, call_policy

# The server's idle timeout and flowdeck's start window, both scaled down from uvicorn's 5 s and
# flowdeck's own window so that thousands of starts meet the server's timeout in a few seconds.
SERVER_IDLE = 0.4
START_WINDOW = 0.15
LANES = 4  # clients side by side, each sending a burst of starts once per idle period
BURST = 32
BURSTS = 10  # per lane: a fixed count, so a busy machine sends as many starts as an idle one


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"run_id": "r-1"}'})


@pytest.fixture
def idle_closing_server() -> Iterator[str]:
    """uvicorn on loopback, closing every connection idle for ``SERVER_IDLE`` seconds."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_app, timeout_keep_alive=SERVER_IDLE, log_level="error", lifespan="off")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/start"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def _lane(send: Any, offset: float, lost: Counter[str]) -> int:
    """Bursts of starts, each after the connections of the last burst have been idle about as long as
    the server keeps them (a little less or more, so that some meet the very moment it closes)."""
    rng = random.Random(offset)
    await asyncio.sleep(offset)
    sent = 0
    for _ in range(BURSTS):
        outcomes = await asyncio.gather(*(send() for _ in range(BURST)), return_exceptions=True)
        sent += len(outcomes)
        for outcome in outcomes:
            if isinstance(outcome, httpx.TransportError):
                lost[type(outcome).__name__] += 1
            elif isinstance(outcome, BaseException):
                raise outcome
        await asyncio.sleep(SERVER_IDLE + rng.uniform(-0.03, 0.01))
    return sent


def _sender_httpcore(url: str) -> tuple[Any, Any]:
    http = httpx.AsyncClient(transport=AsyncRetryTransport(_client._async_transport(BURST)))

    async def send() -> None:
        with call_policy(CallPolicy(idempotent=False, max_retries=2)):
            (await http.post(url, json={"inputs": {}})).raise_for_status()

    return send, http.aclose


def _sender_aiohttp(url: str) -> tuple[Any, Any]:
    transport = AiohttpTransport()
    policy = CallPolicy(idempotent=False, max_retries=2)

    async def send() -> None:
        response = await transport.send({"method": "POST", "url": url, "json": {"inputs": {}}}, policy)
        assert response.status_code == 200

    return send, transport.aclose


@pytest.mark.timeout(30)
@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
def test_no_start_meets_idle_close(backend: str, idle_closing_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of starts on connections the server closes when idle: none is lost after being sent."""
    monkeypatch.setattr(_client, "START_KEEPALIVE", START_WINDOW)
    monkeypatch.setattr("flowdeck._aiohttp.START_KEEPALIVE", START_WINDOW)
    lost: Counter[str] = Counter()

    async def main() -> int:
        senders = [
            (_sender_httpcore if backend == "httpcore" else _sender_aiohttp)(idle_closing_server) for _ in range(LANES)
        ]
        try:
            counts = await asyncio.gather(
                *(_lane(send, i * SERVER_IDLE / LANES, lost) for i, (send, _) in enumerate(senders))
            )
        finally:
            for _, close in senders:
                await close()
        return sum(counts)

    sent = asyncio.run(main())
    assert lost == Counter(), f"{sum(lost.values())} of {sent} starts lost after being sent: {dict(lost)}"
    assert sent == LANES * BURSTS * BURST
    assert _transport.START_KEEPALIVE < 2.0  # well under the shortest idle timeout of common servers


def test_sync_starts_use_their_own_pool() -> None:
    """The sync client sends a start through its short-lived pool and anything else through the other."""
    seen: list[str] = []

    def lane(name: str) -> httpx.MockTransport:
        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(name)
            return httpx.Response(200, json={})

        return httpx.MockTransport(answer)

    transport = _transport.RetryTransport(_transport.StartsApart(lane("others"), lane("starts")))
    with httpx.Client(transport=transport) as http:
        with call_policy(CallPolicy(idempotent=False)):
            http.post("https://api.example.com/v1/run", json={})
        with call_policy(CallPolicy()):
            http.get("https://api.example.com/v1/run/1")
    assert seen == ["starts", "others"]
    apart = _client._sync_transport()
    assert apart.starts._shards.live[0].transport._pool._keepalive_expiry == _transport.START_KEEPALIVE  # type: ignore[attr-defined]
