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


@attrs.frozen
class CallPolicy:
    """How one call may be retried. ``idempotent=False`` marks a request that may start a paid run."""

    idempotent: bool = True
    max_retries: int = 2
    wait_initial: float = 0.25
    wait_max: float = 8.0


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


def _retryable_status(policy: CallPolicy, status: int) -> bool:
    # A 429 is a refusal, so even a start may be retried; a 5xx on a start may have started the run.
    return status == 429 or (policy.idempotent and status in _RETRY_STATUSES)


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


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with flowdeck's retry policy (sync)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        attempts = policy.max_retries + 1
        for attempt in stamina.retry_context(
            on=_should_retry(policy), attempts=attempts, timeout=None,
            wait_initial=policy.wait_initial, wait_max=policy.wait_max,
        ):  # fmt: skip
            with attempt:
                started = time.perf_counter()
                try:
                    response = self._inner.handle_request(request)
                except httpx.TransportError as exc:
                    _log(request, attempt.num, started, type(exc).__name__)
                    raise
                _log(request, attempt.num, started, str(response.status_code))
                if attempt.num < attempts and _retryable_status(policy, response.status_code):
                    response.read()
                    response.close()
                    raise _RetryableResponse(response)
                return response
        raise AssertionError("unreachable: stamina re-raises after the last attempt")  # pragma: no cover

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with flowdeck's retry policy (async)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        attempts = policy.max_retries + 1
        async for attempt in stamina.retry_context(
            on=_should_retry(policy), attempts=attempts, timeout=None,
            wait_initial=policy.wait_initial, wait_max=policy.wait_max,
        ):  # fmt: skip
            with attempt:
                started = time.perf_counter()
                try:
                    response = await self._inner.handle_async_request(request)
                except httpx.TransportError as exc:
                    _log(request, attempt.num, started, type(exc).__name__)
                    raise
                _log(request, attempt.num, started, str(response.status_code))
                if attempt.num < attempts and _retryable_status(policy, response.status_code):
                    await response.aread()
                    await response.aclose()
                    raise _RetryableResponse(response)
                return response
        raise AssertionError("unreachable: stamina re-raises after the last attempt")  # pragma: no cover

    async def aclose(self) -> None:
        await self._inner.aclose()
