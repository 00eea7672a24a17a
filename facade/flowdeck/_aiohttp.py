"""An httpx transport on aiohttp: the async client's requests at a fraction of httpcore's CPU cost.

Used by ``AsyncClient(http_backend="aiohttp")`` (the ``[aiohttp]`` extra). httpx stays the client
(the generated code and flowdeck's retry transport speak httpx); only the connections are aiohttp's.

What it keeps of flowdeck's guarantees:

- "Never sent" is said only of failures that certainly happened before the request left: aiohttp's
  connector failing to connect (``ClientConnectorError`` -> :class:`httpx.ConnectError`) or timing out
  while connecting (``ConnectionTimeoutError`` -> :class:`httpx.ConnectTimeout`). A connection dropped or
  reset later (``ServerDisconnectedError``, ``ClientOSError``), a malformed answer, or any aiohttp error
  not listed, may have reached the server: a read or protocol error, so a start is never re-sent.
- Requests never wait inside aiohttp's pool: its connector has no limit; the client's concurrency
  gate bounds the requests in flight (and so the connections).
- A long provider timeout is a read timeout only (``sock_read``); connecting keeps its own bound.
- Bodies are handed to httpx undecoded (httpx decodes them), and no cookies are kept.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from flowdeck._transport import ssl_context as default_ssl_context

CHUNK = 64 * 1024


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

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.get("connect"), sock_read=timeouts.get("read")
        )
        headers = CIMultiDict((k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length")
        body = await request.aread()
        try:
            response = await session.request(
                request.method, URL(str(request.url), encoded=True), headers=headers, data=body or None,
                allow_redirects=False, timeout=timeout, auto_decompress=False,
            )  # fmt: skip
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc) from exc
        return httpx.Response(
            response.status,
            headers=response.raw_headers,  # bytes, as httpx keeps them: nothing decoded to be encoded again
            stream=_Body(response),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
