"""The httpx transports every flowdeck request goes through: retries, the no-double-start rule, pool slots.

Retries live here, below the generated clients, so every generated call inherits them. What may be
retried is decided per call by :class:`CallPolicy`, which the client sets in a context variable
around each call (context variables follow both threads' and asyncio tasks' own flow). A request
sent outside such a call (through an ``http_client=`` the user also uses for other things) passes
through untouched.

Below the retries, :class:`SlotTransport` and :class:`ShardedAsyncTransport` let a request into an
httpcore connection pool only when the pool has a free connection for it, so requests never wait
inside httpcore (whose waiting requests can lose pool slots for good when cancelled or timed out).

A request that may start a paid run goes out only on a connection that cannot be closing for
idleness (:class:`StartsApart`): a server closes a kept-alive connection after its idle timeout
(a few seconds for uvicorn, Node and gunicorn), and a request written just as it does is lost after
it is sent, so its outcome is unknown. httpcore keeps idle connections as long as such servers do;
starts have pools of their own whose connections are dropped after :data:`START_KEEPALIVE` seconds
idle. The reasoning and the servers' timeouts are on the reliability page of the docs.
"""

from __future__ import annotations

import contextvars
import email.utils
import functools
import logging
import random
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import httpx

from flowdeck._version import __version__

if TYPE_CHECKING:
    import asyncio  # imported at run time on the async paths only

    from flowdeck._adaptive import AdaptiveRate
    from flowdeck._har import Recording, Sent

logger = logging.getLogger("flowdeck")
retry_logger = logging.getLogger("flowdeck.retries")

# Never reached the server: a retry cannot start anything twice.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
# The longest idle a connection may carry a start: half the shortest
# idle timeout of common servers, so none is closing it as we write.
START_KEEPALIVE = 1.0
# httpx's default; a poll lost on a closing connection is retried.
KEEPALIVE = 5.0


# httpx.Client's defaults, naming flowdeck as the agent. Only the decoders
# httpx always has. Lower case, so a call's own headers replace these.
_DEFAULT_HEADERS = {"accept": "*/*", "accept-encoding": "gzip, deflate", "user-agent": f"flowdeck/{__version__}"}
# httpx.Client.request's arguments a request carries.
_REQUEST_ARGS = frozenset(
    {"method", "url", "params", "headers", "json", "content", "data", "files", "timeout", "follow_redirects"}
)


@functools.cache
def ssl_context(cafile: str | None = None, capath: str | None = None) -> ssl.SSLContext:
    """The TLS context trusting ``cafile`` (or the folder ``capath``), else certifi's roots, as httpx's
    ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``; verification always on. Built once per process for each.

    Building one reads and parses every root certificate, so clients share it: contexts are safe
    to share between connections, threads and clients.

    >>> ssl_context() is ssl_context()
    True
    """
    if cafile or capath:
        context = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    else:
        context = httpx.create_ssl_context(trust_env=False)
    # No TLS 1.3 session tickets: nothing here resumes a session, and a ticket left
    # unread makes httpcore take an idle connection for closed, and open another.
    context.options |= ssl.OP_NO_TICKET
    return context


def env_ssl_context(env: Mapping[str, str]) -> ssl.SSLContext:
    """The TLS context ``env`` asks for: ``SSL_CERT_FILE`` or ``SSL_CERT_DIR``, as httpx reads them.

    >>> env_ssl_context({}) is ssl_context()
    True
    """
    cafile, capath = env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR")
    return ssl_context(cafile, capath) if cafile or capath else ssl_context()


@functools.lru_cache(maxsize=4096)
def _parsed(url: str) -> httpx.URL:
    # A workflow's starts share a URL, as do a run's polls.
    return httpx.URL(url)


def url_text(url: str, params: Any) -> str:
    """``url`` with the query ``params`` merged in as httpx merges them, as text (not yet parsed).

    >>> url_text("https://api.example.com/v1/tasks/7", {"partial": False, "n": [1, 2]})
    'https://api.example.com/v1/tasks/7?partial=false&n=1&n=2'
    """
    if params is None:
        return url
    if "?" not in url and "#" not in url:
        # Appended as text and parsed once: httpx's merge parses the URL twice more.
        return f"{url}?{_query(params)}" if params else url
    return str(httpx.URL(url, params=params))  # httpx's rule: given parameters replace the URL's query


def _query(params: Any) -> str:
    # A poll repeats its parameters. The key holds each value's type:
    # True == 1, but they encode as "true" and "1".
    try:
        return _encoded_query(tuple((k, v.__class__, v) for k, v in params.items()))
    except (TypeError, AttributeError):  # a list value (unhashable), or not a mapping
        return str(httpx.QueryParams(params))


@functools.lru_cache(maxsize=256)
def _encoded_query(items: tuple[tuple[Any, type, Any], ...]) -> str:
    return str(httpx.QueryParams([(k, v) for k, _, v in items]))


def checked(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``kwargs`` of ``httpx.Client.request``, refused if they hold anything flowdeck's requests cannot carry."""
    unknown = kwargs.keys() - _REQUEST_ARGS
    if unknown:  # a regenerated operation passing something new must not lose it silently
        raise TypeError(f"build_request() cannot send {', '.join(sorted(unknown))}")
    return kwargs


def request_headers(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The headers of a request: httpx's defaults naming flowdeck, then the call's own (names in lower case)."""
    own = kwargs.get("headers")
    return {**_DEFAULT_HEADERS, **{k.lower(): v for k, v in own.items()}} if own else _DEFAULT_HEADERS


def build_request(kwargs: Mapping[str, Any]) -> httpx.Request:
    """The request ``httpx.Client.request(**kwargs)`` would send, built without a client.

    flowdeck's own connections are driven below httpx's client: its base URL, cookie jar, auth,
    redirects and event hooks are all unused by flowdeck, and walking through them is a large share
    of the CPU of each request. ``timeout`` becomes the request's timeout extension, as httpx does.

    >>> request = build_request({"method": "GET", "url": "https://api.example.com/v1/tasks/7",
    ...                          "params": {"partial": False}, "timeout": httpx.Timeout(5.0)})
    >>> str(request.url), request.headers["user-agent"].startswith("flowdeck/")
    ('https://api.example.com/v1/tasks/7?partial=false', True)
    """
    timeout = checked(kwargs).get("timeout")
    return httpx.Request(
        kwargs["method"],
        _parsed(url_text(kwargs["url"], kwargs.get("params"))),
        headers=request_headers(kwargs),
        json=kwargs.get("json"),
        content=kwargs.get("content"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
        extensions={} if timeout is None else {"timeout": httpx.Timeout(timeout).as_dict()},
    )


MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_BODY_SECONDS = 60.0


class ResponseTooLarge(httpx.ReadError):
    """The response body is larger than flowdeck accepts (a hostile or broken server)."""


class ResponseUndecodable(httpx.ReadError):
    """The response body does not decode as its Content-Encoding says (cut short, or corrupt): it may
    have been sent whole by the provider, so a start that got it is an unknown outcome, not a retry."""


class ResponseTooSlow(httpx.ReadTimeout):
    """The response body arrived too slowly in total (a slow-drip server), though each chunk was in time."""


@attrs.frozen
class CallPolicy:
    """How one call may be retried, and how much of a response is accepted.

    ``idempotent=False`` marks a request that may start a paid run. A body is read whole, at most
    ``max_body_bytes``, within ``max_body_seconds`` of the headers arriving (httpx's read timeout
    bounds each chunk, not the total, so a slow drip could otherwise hold a call forever). Retry
    ``n`` waits ``min(wait_max, wait_initial * 2 ** (n - 1) + uniform(0, wait_jitter))`` seconds,
    or what the response's ``Retry-After`` asks. ``rate`` (async only) spaces every attempt after the
    first and takes every answer (see :class:`~flowdeck._adaptive.AdaptiveRate`); the client paces
    the first attempt itself.
    """

    idempotent: bool = True
    max_retries: int = 2
    wait_initial: float = 0.25
    wait_max: float = 8.0
    wait_jitter: float = 1.0
    max_body_bytes: int = MAX_BODY_BYTES
    max_body_seconds: float = MAX_BODY_SECONDS
    rate: AdaptiveRate | None = attrs.field(default=None, eq=False, repr=False)


_policy: contextvars.ContextVar[CallPolicy | None] = contextvars.ContextVar("flowdeck_call_policy", default=None)


# The call being recorded (``record=``), set by the client around each call; None when not recording.
_recording: contextvars.ContextVar[Recording | None] = contextvars.ContextVar("flowdeck_recording", default=None)


class _Recorded:
    """The block in which ``record`` records every attempt sent."""

    __slots__ = ("_record", "_token")

    def __init__(self, record: Recording) -> None:
        self._record = record

    def __enter__(self) -> None:
        self._token = _recording.set(self._record)

    def __exit__(self, *exc: object) -> None:
        _recording.reset(self._token)


_NOT_RECORDED = nullcontext()  # reusable: a client that does not record pays one cheap `with` per call


def recording(record: Recording | None) -> AbstractContextManager[None]:
    """Record every attempt sent inside the block into ``record`` (nothing when None)."""
    return _NOT_RECORDED if record is None else _Recorded(record)


def _sent(request: httpx.Request) -> Sent:
    from flowdeck._har import Sent

    return Sent(request.method, str(request.url), request.headers, request.content)


def starting() -> bool:
    """Whether the request being sent may start a paid run (its call's policy is not idempotent).

    >>> with call_policy(CallPolicy(idempotent=False)):
    ...     starting()
    True
    """
    policy = _policy.get()
    return policy is not None and not policy.idempotent


@contextmanager
def call_policy(policy: CallPolicy) -> Iterator[None]:
    """Apply ``policy`` to the requests sent inside the block."""
    token = _policy.set(policy)
    try:
        yield
    finally:
        _policy.reset(token)


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


def _retry_wait(
    policy: CallPolicy, num: int, error: Exception | None, response: httpx.Response | None, body: bytes
) -> float | None:
    """Seconds to wait before attempt ``num + 1``, or None when attempt ``num``'s outcome is final."""
    if num > policy.max_retries:
        return None
    if error is not None:
        # Anything but "never sent" may have reached the server.
        if not (isinstance(error, _NEVER_SENT) or (policy.idempotent and isinstance(error, httpx.TransportError))):
            return None
        hint = None
    else:
        assert response is not None
        if not _retryable(policy, response, body):
            return None
        hint = retry_after_seconds(response.headers)
    if not _stamina_switch("is_active", True):
        return None
    if _stamina_switch("is_testing", False):
        return 0.0
    if hint is not None:
        return hint
    backoff: float = policy.wait_initial * 2 ** (num - 1) + random.uniform(0, policy.wait_jitter)  # noqa: S311
    return min(policy.wait_max, backoff)


def _retryable(policy: CallPolicy, response: httpx.Response, body: bytes) -> bool:
    # A 429 starts nothing, so even a start is retried; a 5xx may have
    # started the run.
    status = response.status_code
    if status == 429 or (policy.idempotent and status in _RETRY_STATUSES):
        return True
    # A 2xx JSON answer cut short, or a proxy's HTML page: ask again when
    # safe. Checked by its ends; the client parses it once, later.
    if policy.idempotent and 200 <= status < 300 and status != 204:
        body = body.strip()
        return not body or body[:1] not in (b"{", b"[") or body[-1:] not in (b"}", b"]")
    return False


def _stamina_switch(name: str, default: bool) -> bool:
    # Test suites turn retries off with stamina's switches; only code that
    # imported stamina can flip them, so flowdeck need not import it.
    stamina = sys.modules.get("stamina")
    return default if stamina is None else bool(getattr(stamina, name)())


class Collected:
    """A body gathered chunk by chunk, refused once it is larger or slower in total than a policy accepts.

    >>> body = Collected(CallPolicy())
    >>> body.add(b"{}")
    >>> body.data()
    b'{}'
    """

    __slots__ = ("_chunks", "_policy", "_size", "_started")

    def __init__(self, policy: CallPolicy) -> None:
        self._policy, self._started, self._size = policy, time.perf_counter(), 0
        self._chunks: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        """Keep ``chunk``, or raise :class:`ResponseTooLarge` / :class:`ResponseTooSlow`."""
        self._size += len(chunk)
        policy = self._policy
        if self._size > policy.max_body_bytes:
            raise ResponseTooLarge(f"response body larger than {policy.max_body_bytes} bytes")
        if time.perf_counter() - self._started > policy.max_body_seconds:
            raise ResponseTooSlow(f"response body took longer than {policy.max_body_seconds} s")
        self._chunks.append(chunk)

    def data(self) -> bytes:
        """The chunks kept, as one body."""
        return b"".join(self._chunks)


def _whole(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = response.headers
    if "content-encoding" in headers:  # or httpx would decode it again
        headers = headers.copy()
        del headers["content-encoding"]
        if "content-length" in headers:
            headers["content-length"] = str(len(body))
    # A content= response counts as closed at once: httpx would never set .elapsed.
    return httpx.Response(
        response.status_code, headers=headers, stream=httpx.ByteStream(body), extensions=response.extensions
    )


def read_body(response: httpx.Response, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
    """The response (re-streamable) and its body, decoded and read within ``policy``'s limits (sync).

    The limits count decoded bytes (a small compressed body can expand to gigabytes), and the checks
    of a body cut short see what the provider meant to send, not its compressed form.
    """
    collected = Collected(policy)
    stream = response.iter_bytes() if "content-encoding" in response.headers else response.stream  # see aread_body
    try:
        for chunk in stream:  # type: ignore[union-attr]
            collected.add(chunk)
    except httpx.DecodingError as exc:
        raise ResponseUndecodable(str(exc)) from exc
    finally:
        response.close()
    body = collected.data()
    return _whole(response, body), body


async def aread_body(response: httpx.Response, policy: CallPolicy) -> tuple[httpx.Response, bytes]:
    """The response (re-streamable) and its body, decoded and read within ``policy``'s limits (async)."""
    collected = Collected(policy)
    # An unencoded body (most are) needs none of httpx's decoders.
    stream = response.aiter_bytes() if "content-encoding" in response.headers else response.stream
    try:
        async for chunk in stream:  # type: ignore[union-attr]
            collected.add(chunk)
    except httpx.DecodingError as exc:
        raise ResponseUndecodable(str(exc)) from exc
    finally:
        await response.aclose()
    body = collected.data()
    return _whole(response, body), body


def _where(url: httpx.URL | str) -> str:
    # Port: two mocks on one host differ by it alone. Path as sent: decoded,
    # "a%2Fb" reads as "a/b". No query string: it may carry users' ids.
    url = _parsed(url) if isinstance(url, str) else url
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    return host + url.raw_path.decode("ascii").partition("?")[0]


def _log(method: str, url: httpx.URL | str, attempt: int, started: float, outcome: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        # Never headers (credentials) or query strings.
        logger.debug(
            "%s %s -> %s (attempt %d, %.1f ms)",
            method,
            _where(url),
            outcome,
            attempt,
            (time.perf_counter() - started) * 1000,
        )


def _log_retry(method: str, url: httpx.URL | str, reason: str, attempt: int, attempts: int, wait: float) -> None:
    # The CLI counts these. stamina's hooks would print a WARNING per retry,
    # hence flowdeck's own loop.
    if retry_logger.isEnabledFor(logging.DEBUG):
        retry_logger.debug(
            "retrying %s %s after %s (attempt %d of %d, in %.1f s)",
            method,
            _where(url),
            f"HTTP {reason}" if reason.isdigit() else reason,
            attempt,
            attempts,
            wait,
            extra={"flowdeck_retry": {"reason": reason, "attempt": attempt, "wait": wait}},
        )


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with flowdeck's retry policy (sync).

    The loop is flowdeck's own, not stamina's: stamina's loops report every retry to its process-wide
    hooks (by default a WARNING line on stderr), and silencing them would change them for the host
    application too. The backoff is stamina's formula, and stamina's testing and active switches apply.

    >>> http = httpx.Client(transport=RetryTransport(SlotTransport()))  # doctest: +SKIP
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        if policy is None:
            return self._inner.handle_request(request)
        num, record = 1, _recording.get()
        while True:
            started, wall = time.perf_counter(), time.time()
            try:
                response, body = read_body(self._inner.handle_request(request), policy)
            except httpx.TransportError as exc:
                _log(request.method, request.url, num, started, type(exc).__name__)
                if record is not None:
                    record.attempt(_sent(request), None, b"", exc, wall, time.perf_counter() - started, num)
                if (wait := _retry_wait(policy, num, exc, None, b"")) is None:
                    raise
                reason = type(exc).__name__
            else:
                _log(request.method, request.url, num, started, str(response.status_code))
                if record is not None:
                    record.attempt(_sent(request), response, body, None, wall, time.perf_counter() - started, num)
                if (wait := _retry_wait(policy, num, None, response, body)) is None:
                    return response
                reason = str(response.status_code)
            num += 1
            _log_retry(request.method, request.url, reason, num, policy.max_retries + 1, wait)
            if wait > 0:
                time.sleep(wait)

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wraps a transport with flowdeck's retry policy (async); see :class:`RetryTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = _policy.get()
        if policy is None:
            return await self._inner.handle_async_request(request)

        async def attempt() -> tuple[httpx.Response, bytes]:
            return await aread_body(await self._inner.handle_async_request(request), policy)

        return await aretrying(policy, request.method, request.url, attempt, lambda: _sent(request))

    async def aclose(self) -> None:
        await self._inner.aclose()


async def aretrying(
    policy: CallPolicy,
    method: str,
    url: httpx.URL | str,
    attempt: Callable[[], Awaitable[tuple[httpx.Response, bytes]]],
    described: Callable[[], Sent],
) -> httpx.Response:
    """The final response of ``attempt()`` (one request sent, its body read whole), retried as ``policy`` allows.

    The async retry loop, written once: :class:`AsyncRetryTransport` sends httpx requests through it,
    the aiohttp backend its own (see :meth:`flowdeck._aiohttp.AiohttpTransport.send`). ``url`` is for
    the debug log only, parsed when a record is written; ``described()`` is the request as recorded
    (called only when the call is recorded).
    """
    num, record = 1, _recording.get()
    while True:
        started, wall = time.perf_counter(), time.time()
        sent = policy.rate.now() if policy.rate is not None else 0.0
        try:
            response, body = await attempt()
        except httpx.TransportError as exc:
            _log(method, url, num, started, type(exc).__name__)
            if record is not None:
                record.attempt(described(), None, b"", exc, wall, time.perf_counter() - started, num)
            if (wait := _retry_wait(policy, num, exc, None, b"")) is None:
                raise
            reason = type(exc).__name__
        else:
            _log(method, url, num, started, str(response.status_code))
            if record is not None:
                record.attempt(described(), response, body, None, wall, time.perf_counter() - started, num)
            if policy.rate is not None:
                policy.rate.observe(response.status_code == 429, sent)
            if (wait := _retry_wait(policy, num, None, response, body)) is None:
                return response
            reason = str(response.status_code)
        num += 1
        _log_retry(method, url, reason, num, policy.max_retries + 1, wait)
        if wait > 0:
            import asyncio

            await asyncio.sleep(wait)
        if policy.rate is not None:
            await policy.rate.settle()


# --- pool slots ---

_T = TypeVar("_T")


class _Shard(Generic[_T]):
    """One connection pool and how many requests are inside it (sent, response not yet closed)."""

    __slots__ = ("busy", "retired", "transport")

    def __init__(self, transport: _T) -> None:
        self.transport = transport
        self.busy = 0
        self.retired = False


class _Shards(Generic[_T]):
    """Which pool a request may enter: the least busy one, if it has a free connection slot.

    httpcore can lose a pool slot for good when a request inside it is cancelled or times out
    at the wrong moment (encode/httpcore#1093 for a request waiting for a connection; also between
    connecting and sending, or while its response is being closed): a connection nobody owns stays
    in the pool, never idle. Requests never wait inside a pool here, which removes the first case.
    For the others, after a request fails or is cancelled, its pool is checked for a connection that
    none of flowdeck's requests can own; a pool that has one, or that times out a request flowdeck
    let in with a free slot, is retired: replaced at once by a fresh pool, and closed when its last
    request is done. Not thread-safe: callers lock.
    """

    def __init__(self, make: Callable[[], _T], shards: int, per_shard: int) -> None:
        if shards < 1 or per_shard < 1:
            raise ValueError("shards and per_shard must be >= 1")
        self._make = make
        self.per_shard = per_shard
        self.live = [_Shard(make()) for _ in range(shards)]
        self.retired: list[_Shard[_T]] = []

    def take(self) -> _Shard[_T] | None:
        """A slot in the least busy pool, or None when every pool is full."""
        best = self.live[0]
        for shard in self.live:  # a handful of pools: no heap needed
            if shard.busy < best.busy:
                best = shard
        if best.busy >= self.per_shard:
            return None
        best.busy += 1
        return best

    def give_back(self, shard: _Shard[_T], failed: bool) -> _T | None:
        """Free ``shard``'s slot; returns a retired pool's transport once it is idle, to be closed.

        ``failed``: the request raised (or was cancelled) inside the pool, or closing its response did.
        """
        shard.busy -= 1
        if failed and not shard.retired and _lost_slots(shard):
            self.retire(shard)
        if shard.retired and shard.busy == 0:
            self.retired.remove(shard)
            return shard.transport
        return None

    def retire(self, shard: _Shard[_T]) -> None:
        """Replace ``shard`` by a fresh pool; it is closed once its requests are done."""
        if not shard.retired:
            shard.retired = True
            self.live[self.live.index(shard)] = _Shard(self._make())
            self.retired.append(shard)

    def transports(self) -> list[_T]:
        """Every pool still open, live or retired."""
        return [s.transport for s in (*self.live, *self.retired)]


def _lost_slots(shard: _Shard[Any]) -> bool:
    # A request holds at most one busy connection: any more belong to nobody.
    pool = getattr(shard.transport, "_pool", None)
    if pool is None:
        return False
    busy_connections = sum(1 for connection in pool.connections if not connection.is_idle())
    return busy_connections > shard.busy


def _pool_timeout(request: httpx.Request) -> float | None:
    timeout: float | None = request.extensions.get("timeout", {}).get("pool")
    return timeout


class _SlotStream(httpx.SyncByteStream):
    """A response body that gives its pool slot back when closed."""

    def __init__(self, stream: httpx.SyncByteStream, release: Callable[[bool], None]) -> None:
        self._stream, self._release = stream, release

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        failed = True
        try:
            self._stream.close()
            failed = False
        finally:
            release, self._release = self._release, _noop
            release(failed)


class _AsyncSlotStream(httpx.AsyncByteStream):
    """A response body that gives its pool slot back when closed (async)."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[bool], Awaitable[None]]) -> None:
        self._stream, self._release = stream, release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        failed = True
        try:
            await self._stream.aclose()
            failed = False
        finally:
            release, self._release = self._release, _anoop
            await release(failed)


def _noop(failed: bool) -> None:
    return None


async def _anoop(failed: bool) -> None:
    return None


class SlotTransport(httpx.BaseTransport):
    """A connection pool of ``max_connections`` that a request enters only when a connection is free (sync).

    A request holds its slot until its response is closed; a request that finds every slot taken waits
    here at most its pool timeout, then fails with :class:`httpx.PoolTimeout` (so it was never sent).

    >>> with httpx.Client(transport=SlotTransport(max_connections=4)) as http:  # doctest: +SKIP
    ...     http.get("https://example.com")
    """

    def __init__(
        self, max_connections: int = 16, *, keepalive_expiry: float = KEEPALIVE, tls: ssl.SSLContext | None = None
    ) -> None:
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
        )
        verify = tls or ssl_context()
        self._shards: _Shards[httpx.BaseTransport] = _Shards(
            lambda: httpx.HTTPTransport(verify=verify, limits=limits), 1, max_connections
        )
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._waiting = 0  # threads in _wait, worth a notify

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            shard = self._shards.take() or self._wait(_pool_timeout(request))
        try:
            response = shard.transport.handle_request(request)
        except BaseException as exc:
            self._release(shard, True, retire=isinstance(exc, httpx.PoolTimeout))
            raise
        response.stream = _SlotStream(response.stream, lambda failed: self._release(shard, failed))  # type: ignore[arg-type]
        return response

    def _wait(self, timeout: float | None) -> _Shard[httpx.BaseTransport]:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._waiting += 1
        try:
            while (shard := self._shards.take()) is None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise httpx.PoolTimeout("no free connection in flowdeck's pool within the pool timeout")
                self._freed.wait(remaining)
        finally:
            self._waiting -= 1
        return shard

    def _release(self, shard: _Shard[httpx.BaseTransport], failed: bool, *, retire: bool = False) -> None:
        with self._lock:
            if retire:  # a free slot, yet no connection: lost slots
                self._shards.retire(shard)
            closing = self._shards.give_back(shard, failed)
            if self._waiting:
                self._freed.notify()
        if closing is not None:
            closing.close()

    def close(self) -> None:
        with self._lock:
            transports = self._shards.transports()
        for transport in transports:
            transport.close()


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """Several small connection pools; a request enters the least busy one, only when it has a free slot.

    httpcore's pool does work proportional to its number of connections on every request
    (encode/httpcore#1035), which dominates with thousands of runs in flight (the performance page
    of the docs has the figures). Pools of ``per_shard`` keep it small; ``shards`` of them keep enough
    requests in flight for real network latency. A request holds its slot until its response is
    closed; when every slot is taken it waits here, first come first served, at most its pool timeout
    (then :class:`httpx.PoolTimeout`: never sent). It never waits inside httpcore's pool, where a
    waiting request that is cancelled or times out can lose a slot for good (see :class:`_Shards`).

    >>> transport = ShardedAsyncTransport(shards=16, per_shard=4)  # up to 64 requests in flight
    """

    def __init__(
        self,
        shards: int = 16,
        per_shard: int = 4,
        *,
        keepalive_expiry: float = KEEPALIVE,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        limits = httpx.Limits(
            max_connections=per_shard, max_keepalive_connections=per_shard, keepalive_expiry=keepalive_expiry
        )
        verify = tls or ssl_context()
        self._shards: _Shards[httpx.AsyncBaseTransport] = _Shards(
            lambda: httpx.AsyncHTTPTransport(verify=verify, limits=limits), shards, per_shard
        )
        self._waiters: deque[asyncio.Future[_Shard[httpx.AsyncBaseTransport]]] = deque()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # One event loop: no lock needed. Waiting requests go first.
        shard = None if self._waiters else self._shards.take()
        if shard is None:
            shard = await self._wait(_pool_timeout(request))
        try:
            response = await shard.transport.handle_async_request(request)
        except BaseException as exc:
            if isinstance(exc, httpx.PoolTimeout):  # a free slot, yet no connection
                self._shards.retire(shard)
            await self._release(shard, True)
            raise
        response.stream = _AsyncSlotStream(response.stream, lambda failed: self._release(shard, failed))  # type: ignore[arg-type]
        return response

    async def _wait(self, timeout: float | None) -> _Shard[httpx.AsyncBaseTransport]:
        import asyncio

        waiter: asyncio.Future[_Shard[httpx.AsyncBaseTransport]] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                # Handed a slot as it gave up: pass it on, or it leaks.
                await self._release(waiter.result(), False)
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no free connection in flowdeck's pools within the pool timeout") from None
            raise

    async def _release(self, shard: _Shard[httpx.AsyncBaseTransport], failed: bool) -> None:
        """Free ``shard``'s slot, handing the freed capacity to the first waiting request."""
        closing = self._shards.give_back(shard, failed)
        while self._waiters:
            waiter = self._waiters[0]
            if waiter.done():  # timed out or cancelled
                self._waiters.popleft()
                continue
            if (handed := self._shards.take()) is None:
                break
            self._waiters.popleft()
            waiter.set_result(handed)
        if closing is not None:
            await closing.aclose()

    async def aclose(self) -> None:
        for transport in self._shards.transports():
            await transport.aclose()


class StartsApart(httpx.BaseTransport):
    """Starts through one transport, every other request through another (sync).

    ``starts`` keeps idle connections at most :data:`START_KEEPALIVE` seconds, so a start is written
    on a fresh connection or on one used a moment ago, never on one the server may be closing for
    idleness (which would lose the answer of a run that may have begun).

    >>> transport = StartsApart(SlotTransport(16), SlotTransport(16, keepalive_expiry=START_KEEPALIVE))
    """

    def __init__(self, others: httpx.BaseTransport, starts: httpx.BaseTransport) -> None:
        self.others, self.starts = others, starts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return (self.starts if starting() else self.others).handle_request(request)

    def close(self) -> None:
        try:
            self.others.close()
        finally:
            self.starts.close()


class AsyncStartsApart(httpx.AsyncBaseTransport):
    """Starts through one transport, every other request through another (async); see :class:`StartsApart`.

    >>> transport = AsyncStartsApart(ShardedAsyncTransport(), ShardedAsyncTransport(keepalive_expiry=START_KEEPALIVE))
    """

    def __init__(self, others: httpx.AsyncBaseTransport, starts: httpx.AsyncBaseTransport) -> None:
        self.others, self.starts = others, starts

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await (self.starts if starting() else self.others).handle_async_request(request)

    async def aclose(self) -> None:
        try:
            await self.others.aclose()
        finally:
            await self.starts.aclose()
