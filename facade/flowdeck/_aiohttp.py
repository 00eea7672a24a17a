"""An httpx transport on aiohttp: the async client's requests at a fraction of httpcore's CPU cost.

Used by ``AsyncClient(http_backend="aiohttp")`` (the ``[aiohttp]`` extra). httpx stays the client
(the generated code and flowdeck's retry transport speak httpx); only the connections are aiohttp's.

What it keeps of flowdeck's guarantees:

- "Never sent" is said only of failures that certainly happened before the request left: aiohttp's
  connector failing to connect (``ClientConnectorError`` -> :class:`httpx.ConnectError`) or timing out
  while connecting (``ConnectionTimeoutError`` -> :class:`httpx.ConnectTimeout`). A connection dropped or
  reset later (``ServerDisconnectedError``, ``ClientOSError``), a malformed answer, or any aiohttp error
  not listed, may have reached the server: a read or protocol error, so a start is never re-sent.
- A start goes out on a session of its own whose connections are dropped after
  :data:`~flowdeck._transport.START_KEEPALIVE` seconds idle (aiohttp keeps them longer), so
  never on a connection the server may be closing for idleness.
- Requests never wait inside aiohttp's pool: its connector has no limit; the client's concurrency
  gate bounds the requests in flight (and so the connections).
- A long provider timeout is a read timeout only (``sock_read``); connecting keeps its own bound.
- Bodies are handed to httpx undecoded (httpx decodes them), and no cookies are kept.

flowdeck's own calls skip httpx's request and response objects (:meth:`AiohttpTransport.send`): the
request is sent from the generated code's arguments, and one httpx response is made, of the body
read whole, for the generated parser. Built the httpx way (the same URL, headers and JSON bytes),
but without the objects' CPU cost (the performance page of the docs has the figures).
"""

from __future__ import annotations

import functools
import json
import re
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from flowdeck._transport import (
    START_KEEPALIVE,
    CallPolicy,
    Collected,
    aread_body,
    aretrying,
    build_request,
    checked,
    request_headers,
    starting,
    url_text,
)
from flowdeck._transport import ssl_context as default_ssl_context

if TYPE_CHECKING:
    from flowdeck._har import Sent

CHUNK = 64 * 1024
KEEPALIVE = 15.0  # aiohttp's default, for every request but starts


def _mapped(exc: BaseException) -> httpx.TransportError:
    """The httpx error for an aiohttp failure; only connect-phase failures count as never sent."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.SocketTimeoutError | TimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)  # reset, payload or unknown: it may have been sent


# A URL httpx sends as written: unreserved characters, no dot segments.
# Most of flowdeck's are, and matching is far cheaper than parsing.
_PLAIN = re.compile(r"(https?://[^/?#]+)(/[A-Za-z0-9._~/-]*)(\?[A-Za-z0-9._~=&-]+)?\Z")


@functools.lru_cache(maxsize=256)
def _plain_origin(origin: str) -> bool:
    # Lower-case host, no default port: nothing for httpx to change.
    try:
        return str(httpx.URL(origin + "/")) == origin + "/"
    except httpx.InvalidURL:
        return False


def _normalized(text: str) -> str:
    """``text`` as httpx sends it (normalized, percent-encoded), parsed by httpx only when it could differ.

    >>> _normalized("https://api.example.com/v1/tasks/7?partial=false")
    'https://api.example.com/v1/tasks/7?partial=false'
    >>> _normalized("https://API.example.com:443/v1/./tasks/a b")
    'https://api.example.com/v1/tasks/a%20b'
    """
    plain = _PLAIN.match(text)
    if plain and "/." not in plain[2] and _plain_origin(plain[1]):
        return text
    return str(httpx.URL(text))


@functools.lru_cache(maxsize=4096)
def _target(text: str) -> URL:
    # httpx's normalized URL, not normalized again.
    return URL(_normalized(text), encoded=True)


@functools.lru_cache(maxsize=64)
def _timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)


def _json(value: Any) -> bytes:
    # Byte for byte what httpx sends for json=.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def wire(kwargs: Mapping[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
    """What ``httpx.Client.request(**kwargs)`` would put on the wire: method, URL, headers, body.

    Host and Content-Length are left to aiohttp, as they follow from the URL and the body.

    >>> method, url, headers, body = wire({"method": "post", "url": "https://api.example.com/v1/run",
    ...                                    "json": {"domain": "é.com"}})
    >>> method, url, headers["content-type"], body.decode()
    ('POST', 'https://api.example.com/v1/run', 'application/json', '{"domain":"é.com"}')
    """
    method, url, headers, body = _prepared(kwargs)
    return method, str(_target(url)), headers, body


def _prepared(kwargs: Mapping[str, Any]) -> tuple[str, str, dict[str, str], bytes | None]:
    headers = request_headers(checked(kwargs))
    if any(kwargs.get(name) is not None for name in ("content", "data", "files")) or not all(
        type(v) is str for v in headers.values()
    ):  # rare kinds: httpx encodes those
        request = build_request(kwargs)
        encoded = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        return request.method, str(request.url), encoded, request.read() or None
    method, url = kwargs["method"].upper(), url_text(kwargs["url"], kwargs.get("params"))
    if (value := kwargs.get("json")) is None:
        return method, url, headers, None
    return method, url, {"content-type": "application/json", **headers}, _json(value)


class _Body(httpx.AsyncByteStream):
    """An aiohttp response body as httpx reads it; closing gives the connection back."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent by one aiohttp session (created in the event loop of the first request).

    >>> client = httpx.AsyncClient(transport=AiohttpTransport())  # doctest: +SKIP
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context or default_ssl_context()
        self._session: aiohttp.ClientSession | None = None
        self._start_session: aiohttp.ClientSession | None = None  # starts' own connections

    def _open(self, start: bool = False) -> aiohttp.ClientSession:
        if start:
            if self._start_session is None or self._start_session.closed:
                self._start_session = self._new_session(START_KEEPALIVE)
            return self._start_session
        if self._session is None or self._session.closed:
            self._session = self._new_session(KEEPALIVE)
        return self._session

    def _new_session(self, keepalive: float) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ssl=self._ssl, keepalive_timeout=keepalive)
        return aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
        )

    async def send(self, kwargs: Mapping[str, Any], policy: CallPolicy) -> httpx.Response:
        """The final response to the request ``httpx.Client.request(**kwargs)`` would send, its body read.

        Retried as ``policy`` allows, by the loop every async request goes through.
        """
        method, url, headers, body = _prepared(kwargs)
        target = _target(url)
        given = kwargs.get("timeout")
        timeouts = httpx.Timeout(given) if given is not None and not isinstance(given, httpx.Timeout) else given
        timeout = _timeout(None, None) if timeouts is None else _timeout(timeouts.connect, timeouts.read)

        async def attempt() -> tuple[httpx.Response, bytes]:
            return await self._exchange(method, target, headers, body, timeout, policy)

        def described() -> Sent:
            from flowdeck._har import Sent

            return Sent(method, str(target), headers, body)

        return await aretrying(policy, method, url, attempt, described)

    async def _exchange(
        self,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        policy: CallPolicy,
    ) -> tuple[httpx.Response, bytes]:
        try:
            response = await self._open(not policy.idempotent).request(
                method, url, headers=headers, data=body, allow_redirects=False, timeout=timeout, auto_decompress=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc) from exc
        if "Content-Encoding" in response.headers:  # httpx decodes, and limits the decoded size
            whole, data = await aread_body(self._response(response), policy)
            await whole.aread()
            return whole, data
        collected = Collected(policy)
        try:
            async for chunk in response.content.iter_chunked(CHUNK):
                collected.add(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc) from exc
        finally:
            response.release()
        data = collected.data()
        whole = httpx.Response(response.status, headers=response.raw_headers, stream=httpx.ByteStream(data))
        # Read, with no encoding to undo: httpx's decoder chain is not needed.
        whole._content = data
        return whole, data

    @staticmethod
    def _response(response: aiohttp.ClientResponse) -> httpx.Response:
        return httpx.Response(
            response.status,
            headers=response.raw_headers,  # bytes, as httpx keeps them
            stream=_Body(response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open(starting())
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = _timeout(timeouts.get("connect"), timeouts.get("read"))
        headers = CIMultiDict((k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length")
        body = await request.aread()
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                auto_decompress=False,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc) from exc
        return self._response(response)

    async def aclose(self) -> None:
        for session in (self._session, self._start_session):
            if session is not None:
                await session.close()

    def __del__(self) -> None:
        # A client never closed: close its sockets quietly, as httpx's pool
        # does, where aiohttp would warn on the user's stderr.
        for session in (self._session, self._start_session):
            if session is None or session.closed:
                continue
            connector = session.connector
            session.detach()
            if connector is not None:
                connector._close()  # BaseConnector.__del__, without its warning
