"""The httpx transport every flowdeck request goes through: retries, the no-double-start rule, logging.

Retries live here, below the generated clients, so every generated call inherits them. What may be
retried is decided per call by :class:`CallPolicy`, which the client sets in a context variable
around each call (context variables follow both threads' and asyncio tasks' own flow).
"""

from __future__ import annotations

import contextvars
import email.utils
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import httpx
import stamina

logger = logging.getLogger("flowdeck")

# The request certainly never reached the server: retrying cannot start anything twice.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_BODY_SECONDS = 60.0


class ResponseTooLarge(httpx.ReadError):
    """The response body is larger than flowdeck accepts (a hostile or broken server)."""


class ResponseTooSlow(httpx.ReadTimeout):
    """The response body arrived too slowly in total (a slow-drip server), though each chunk was in time."""


@attrs.frozen
class CallPolicy:
    """How one call may be retried, and how much of a response is accepted.

    ``idempotent=False`` marks a request that may start a paid run. A body is read whole, at most
    ``max_body_bytes``, within ``max_body_seconds`` of the headers arriving (httpx's read timeout
    bounds each chunk, not the total, so a slow drip could otherwise hold a call forever).
    """

    idempotent: bool = True
    max_retries: int = 2
    wait_initial: float = 0.25
    wait_max: float = 8.0
    max_body_bytes: int = MAX_BODY_BYTES
    max_body_seconds: float = MAX_BODY_SECONDS


_policy: contextvars.ContextVar[CallPolicy] = contextvars.ContextVar(
    "flowdeck_call_policy",
    default=CallPolicy(),  # noqa: B039 - CallPolicy is frozen
)


@contextmanager
def call_policy(policy: CallPolicy) -> Iterator[None]:
    """Apply ``policy`` to the requests sent inside the block."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


class _RetryableResponse(Exception):
    def __init__(self, response: httpx.Response) -> None:
        self.response = response


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The ``Retry-After`` hint in seconds (delta or HTTP date), capped; None if absent or unreadable.

    >>> retry_after_seconds(httpx.Headers({"Retry-After": "3"}))
    3.0
    """
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        seconds = parsed.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _should_retry(policy: CallPolicy) -> Any:
    def on(exc: Exception) -> bool | float:
        if isinstance(exc, _RetryableResponse):
            hint = retry_after_seconds(exc.response.headers)
            return hint if hint is not None else True
        if isinstance(exc, _NEVER_SENT):
            return True
        return policy.idempotent and isinstance(exc, httpx.TransportError)

    return on


def _retryable(policy: CallPolicy, response: httpx.Response, body: bytes) -> bool:
    # A 429 is a refusal, so even a start may be retried; a 5xx on a start may have started the run.
    status = response.status_code
    if status == 429 or (policy.idempotent and status in _RETRY_STATUSES):
        return True
    # A 2xx JSON answer cut short or replaced by a proxy's HTML page: worth asking again when that is
    # safe. Checked by its ends, not parsed: the client parses once, later.
    if policy.idempotent and 200 <= status < 300 and status != 204:
        body = body.strip()
        return not body or body[:1] not in (b"{", b"[") or body[-1:] not in (b"}", b"]")
    return False


def _limited(response: httpx.Response, size: int, started: float, policy: CallPolicy) -> None:
    if size > policy.max_body_bytes:
        raise ResponseTooLarge(f"response body larger than {policy.max_body_bytes} bytes")
    if time.perf_counter() - started > policy.max_body_seconds:
        raise ResponseTooSlow(f"response body took longer than {policy.max_body_seconds} s")


def _whole(response: httpx.Response, body: bytes) -> httpx.Response:
    # stream=, not content=: a content= response counts as read and closed at once, and httpx's client
    # would then never record .elapsed on it.
    return httpx.Response(
        response.status_code, headers=response.headers, stream=httpx.ByteStream(body), extensions=response.extensions
    )


def read_body(response: httpx.Response, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
    """The response (re-streamable) and its body, read within ``policy``'s limits (sync)."""
    started, size, chunks = time.perf_counter(), 0, []
    try:
        for chunk in response.stream:  # type: ignore[union-attr]
            size += len(chunk)
            _limited(response, size, started, policy)
            chunks.append(chunk)
    finally:
        response.close()
    body = b"".join(chunks)
    return _whole(response, body), body


async def aread_body(response: httpx.Response, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
    """The response (re-streamable) and its body, read within ``policy``'s limits (async)."""
    started, size, chunks = time.perf_counter(), 0, []
    try:
        async for chunk in response.stream:  # type: ignore[union-attr]
            size += len(chunk)
            _limited(response, size, started, policy)
            chunks.append(chunk)
    finally:
        await response.aclose()
    body = b"".join(chunks)
    return _whole(response, body), body


def _log(request: httpx.Request, attempt: int, started: float, outcome: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        # Only method, host, path: never headers (credentials) or query strings (may carry ids of users).
        logger.debug(
            "%s %s%s -> %s (attempt %d, %.1f ms)",
            request.method,
            request.url.host,
            request.url.path,
            outcome,
            attempt,
            (time.perf_counter() - started) * 1000,
        )


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """Several small connection pools used in turn, instead of one large one.

    httpcore's pool does work proportional to its number of connections on every request
    (encode/httpcore#1035): at 100 connections that bookkeeping was most of flowdeck's CPU with
    thousands of runs in flight. Pools of ``per_shard`` keep it small; ``shards`` of them keep
    enough requests in flight for real network latency.
    """

    def __init__(self, shards: int = 4, per_shard: int = 16) -> None:
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._next = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pools[self._next]
        self._next = (self._next + 1) % len(self._pools)
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with flowdeck's retry policy (sync)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        # Fast path: most requests succeed at once, and building a retry loop costs more than the
        # request itself on loopback. Only a failure enters stamina's loop, where it is replayed as
        # attempt 1 so backoff and Retry-After apply exactly as if the loop had sent it.
        try:
            response, body = self._attempt(request, 1, policy)
        except httpx.TransportError as exc:
            first: Exception = exc
        else:
            if policy.max_retries == 0 or not _retryable(policy, response, body):
                return response
            first = _RetryableResponse(response)
        if policy.max_retries == 0 or _should_retry(policy)(first) is False:  # a 0.0 hint still means retry
            raise first
        attempts = policy.max_retries + 1
        for attempt in stamina.retry_context(
            on=_should_retry(policy), attempts=attempts, timeout=None,
            wait_initial=policy.wait_initial, wait_max=policy.wait_max,
        ):  # fmt: skip
            with attempt:
                if attempt.num == 1:
                    raise first
                response, body = self._attempt(request, attempt.num, policy)
                if attempt.num < attempts and _retryable(policy, response, body):
                    raise _RetryableResponse(response)
                return response
        raise AssertionError("unreachable: stamina re-raises after the last attempt")  # pragma: no cover

    def _attempt(self, request: httpx.Request, num: int, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
        started = time.perf_counter()
        try:
            response, body = read_body(self._inner.handle_request(request), policy)
        except httpx.TransportError as exc:
            _log(request, num, started, type(exc).__name__)
            raise
        _log(request, num, started, str(response.status_code))
        return response, body

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with flowdeck's retry policy (async)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        try:  # the fast path of RetryTransport.handle_request, awaited
            response, body = await self._attempt(request, 1, policy)
        except httpx.TransportError as exc:
            first: Exception = exc
        else:
            if policy.max_retries == 0 or not _retryable(policy, response, body):
                return response
            first = _RetryableResponse(response)
        if policy.max_retries == 0 or _should_retry(policy)(first) is False:  # a 0.0 hint still means retry
            raise first
        attempts = policy.max_retries + 1
        async for attempt in stamina.retry_context(
            on=_should_retry(policy), attempts=attempts, timeout=None,
            wait_initial=policy.wait_initial, wait_max=policy.wait_max,
        ):  # fmt: skip
            with attempt:
                if attempt.num == 1:
                    raise first
                response, body = await self._attempt(request, attempt.num, policy)
                if attempt.num < attempts and _retryable(policy, response, body):
                    raise _RetryableResponse(response)
                return response
        raise AssertionError("unreachable: stamina re-raises after the last attempt")  # pragma: no cover

    async def _attempt(self, request: httpx.Request, num: int, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
        started = time.perf_counter()
        try:
            response, body = await aread_body(await self._inner.handle_async_request(request), policy)
        except httpx.TransportError as exc:
            _log(request, num, started, type(exc).__name__)
            raise
        _log(request, num, started, str(response.status_code))
        return response, body

    async def aclose(self) -> None:
        await self._inner.aclose()
