"""Recording flowdeck's traffic with vcrpy (or pytest-recording) without its credentials, and replaying it
without waiting.

What counts as a credential comes from the provider registry: every setting a provider declares secret
or sent in a header, with the values the environment (and the mocks) give them, plus every header,
query parameter or JSON field whose name says it holds one. A provider registered later is covered
the same way. Nothing here imports vcrpy: the configuration is a plain dict of its keyword arguments.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flowdeck import _providers
from flowdeck._har import FILTERED as FILTERED
from flowdeck._har import MIN_SCRUBBED_LENGTH, SECRET_FIELD, SECRET_NAME
from flowdeck.testing._mockcore import MockConfig

# The same rules as record= (flowdeck._har).
_SECRET_NAME, _SECRET_FIELD, _MIN_SCRUBBED_LENGTH = SECRET_NAME, SECRET_FIELD, MIN_SCRUBBED_LENGTH


class _Cassette(Protocol):
    @property
    def write_protected(self) -> bool: ...


def credentials(mock_config: MockConfig | None = None, env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every credential value flowdeck may send: each registered provider's secret and header settings,
    as ``env`` (default: the process's environment) and the mocks (``mock_config``) set them.

    >>> "mock-databar-key" in credentials(env={})
    True
    """
    env = os.environ if env is None else env
    mock_config = mock_config or MockConfig()
    found: set[str] = set()
    for provider in _providers.providers():
        mock_env = provider.mock.env(mock_config, "http://127.0.0.1") if provider.mock is not None else {}
        for setting in provider.config.settings:
            if setting.secret or setting.header:
                found.update(v for v in (env.get(setting.variable), mock_env.get(setting.variable)) if v)
    return tuple(sorted(found, key=len, reverse=True))  # longest first: one may contain another


def _scrub_text(text: str, values: Iterable[str]) -> str:
    for value in values:
        if len(value) >= _MIN_SCRUBBED_LENGTH:
            text = text.replace(value, FILTERED)
    return text


def _scrub_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: FILTERED if _SECRET_FIELD.match(str(k)) else _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def _scrub_body(body: Any, values: Iterable[str]) -> Any:
    if not body:
        return body
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        parsed = json.loads(raw)
    except ValueError:
        text = raw
    else:  # else byte for byte as recorded
        scrubbed = _scrub_json(parsed)
        text = raw if scrubbed == parsed else json.dumps(scrubbed)
    text = _scrub_text(text, values)
    return text.encode() if isinstance(body, bytes) else text


def _scrub_uri(uri: str, values: Iterable[str]) -> str:
    parts = urlsplit(uri)
    query = [(k, FILTERED if _SECRET_NAME.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return _scrub_text(urlunsplit(parts._replace(query=urlencode(query))), values)


def _scrub_headers(headers: Mapping[str, Any], values: Iterable[str]) -> dict[str, Any]:
    def one(name: str, value: Any) -> Any:
        if _SECRET_NAME.search(name):
            return [FILTERED] if isinstance(value, list) else FILTERED
        if isinstance(value, list):
            return [_scrub_text(str(v), values) for v in value]
        return _scrub_text(str(value), values)

    return {name: one(name, value) for name, value in headers.items()}


def vcr_config(
    mock_config: MockConfig | None = None, *, env: Mapping[str, str] | None = None, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """vcrpy's keyword arguments for recording flowdeck without its credentials.

    Pass them to ``vcr.VCR(**vcr_config())``, or return them from pytest-recording's ``vcr_config``
    fixture (flowdeck's pytest plugin does). Every credential of :func:`credentials` (``env`` and
    ``mock_config`` as there) and ``secrets`` is replaced by ``FILTERED`` in requests and responses:
    headers, query, bodies (a login's password, a token grant's tokens). Requests match on method,
    scheme, host, path and query, not the port: a recording against the mocks' free ports replays
    wherever they are served, or with none served.

    >>> config = vcr_config(env={"DATABAR_API_KEY": "db-secret-123"})
    >>> request = type("Request", (), {"headers": {"x-apikey": "db-secret-123"}, "body": b"", "uri": "http://h/x"})()
    >>> config["before_record_request"](request).headers
    {'x-apikey': 'FILTERED'}
    """
    values = tuple(sorted({*credentials(mock_config, env), *secrets}, key=len, reverse=True))

    def before_record_request(request: Any) -> Any:
        request.headers = _scrub_headers(request.headers, values)
        request.body = _scrub_body(request.body, values)
        request.uri = _scrub_uri(request.uri, values)
        return request

    def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = _scrub_headers(response.get("headers", {}), values)
        body = response.get("body", {})
        if isinstance(body, dict) and "string" in body:
            body["string"] = _scrub_body(body["string"], values)
            for name in response["headers"]:  # a replay reads exactly this many bytes
                if name.lower() == "content-length":
                    data = body["string"] or b""
                    response["headers"][name] = [str(len(data.encode() if isinstance(data, str) else data))]
        return response

    return {
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "decode_compressed_response": True,  # a gzipped body could not be scrubbed
        "match_on": ("method", "scheme", "host", "path", "query"),
    }


def replay_sleep(cassette: _Cassette | None) -> Callable[[float], None]:
    """A ``sleep`` for :class:`flowdeck.Client` that does not wait while ``cassette`` only replays.

    Recorded answers come at once, so a replayed run's polls and retries need no pause; while
    recording (or with no cassette) it is ``time.sleep``.

    >>> replay_sleep(None) is time.sleep
    True
    """
    if cassette is None:
        return time.sleep

    def sleep(seconds: float) -> None:
        if not cassette.write_protected:
            time.sleep(seconds)

    return sleep


def replay_async_sleep(cassette: _Cassette | None) -> Callable[[float], Awaitable[None]]:
    """:func:`replay_sleep` for :class:`flowdeck.AsyncClient` (``sleep=``).

    >>> replay_async_sleep(None) is asyncio.sleep
    True
    """
    if cassette is None:
        return asyncio.sleep

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0 if cassette.write_protected else seconds)

    return sleep
