"""A recording (``record=``, a HAR file) served back as mock providers: ``MockProviders.from_har``.

Each provider's mock answers with that provider's recorded exchanges. A request is answered by the
first unused entry with its method and path (the recorded base path set aside, so a recording of the
real provider replays on loopback), preferring one whose request body is the same; entries are used
in the order they were recorded. Time is compressed: the whole recording spans ``seconds`` of replay
(by default one second). A request for which later recorded answers are already due is answered by
the latest of them, skipping the ones between (the polls of a ten-minute run that said "still
running"); when a path's entries are used up, its last answer is given again (a poll of a finished
run). A request the recording has no entry for gets a 404 naming it.

An entry the replay could not answer with (a status that is no number, a request that is no object,
a body that is not base64 when it says so) is refused when the file is loaded, naming the file and
the entry, rather than answered wrongly later.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from flowdeck import _providers
from flowdeck._har import HarError, read_entries

# The recorded connection's headers: a replayed body is scrubbed and
# sent unencoded.
_HOP = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "date", "server"})


def _when(entry: Mapping[str, Any]) -> float:
    try:
        return datetime.datetime.fromisoformat(str(entry.get("startedDateTime"))).timestamp()
    except ValueError:
        return 0.0


def _body(part: Mapping[str, Any], encoding: str | None) -> bytes:
    text = part.get("text") or ""
    return base64.b64decode(text) if encoding == "base64" else str(text).encode()


class _Entry:
    __slots__ = ("at", "body", "headers", "method", "path", "sent", "status")

    def __init__(self, entry: Mapping[str, Any], offset: float) -> None:
        request, response = entry.get("request") or {}, entry.get("response") or {}
        self.method = str(request.get("method", "GET")).upper()
        self.path = urlsplit(str(request.get("url", ""))).path
        post = request.get("postData") or {}
        self.sent = _body(post, post.get("encoding"))
        content = response.get("content") or {}
        self.body = _body(content, content.get("encoding"))
        self.status = int(response.get("status") or 0)
        recorded = [(str(h["name"]), str(h["value"])) for h in response.get("headers") or []]
        self.headers = [(name, value) for name, value in recorded if name.lower() not in _HOP]
        self.at = offset

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and (path.endswith(self.path) or self.path.endswith(path))


class Replay:
    """The recorded exchanges of every provider, and the replay's clock (shared by the providers' apps)."""

    def __init__(self, entries: Iterable[Mapping[str, Any]], providers: Iterable[str], seconds: float) -> None:
        entries = [e for e in entries if int((e.get("response") or {}).get("status") or 0)]  # answered ones only
        first = min((_when(e) for e in entries), default=0.0)
        span = max((_when(e) for e in entries), default=0.0) - first
        self.scale = span / seconds if span > seconds > 0 else 1.0  # recorded seconds per replayed second
        self.entries: dict[str, list[_Entry]] = {name: [] for name in providers}
        self.skipped = 0  # entries no provider could be found for
        for entry in entries:
            name = _provider_of(entry, self.entries)
            if name is None:
                self.skipped += 1
            else:
                self.entries[name].append(_Entry(entry, _when(entry) - first))
        self._used: set[int] = set()
        self._lock = threading.Lock()
        self._started: float | None = None

    def answer(self, provider: str, method: str, path: str, sent: bytes) -> _Entry | None:
        """The recorded answer to ``method path`` (see the module's docstring), or None."""
        with self._lock:
            now = time.monotonic()
            if self._started is None:
                self._started = now
            due = (now - self._started) * self.scale
            candidates = [e for e in self.entries[provider] if e.matches(method, path)]
            unused = [e for e in candidates if id(e) not in self._used]
            if not unused:
                return candidates[-1] if candidates else None
            pick = next((e for e in unused if e.sent == sent), unused[0])
            if method == "GET":  # a read: the latest answer already due
                pick = next((e for e in reversed(unused) if e.at <= due and e.at >= pick.at), pick)
                self._used.update(id(e) for e in unused if e.at <= pick.at)
            self._used.add(id(pick))
            return pick

    def app(self, provider: str) -> Any:
        """The ASGI app answering as ``provider``'s recorded exchanges."""

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            request = Request(scope, receive)
            sent = await request.body()
            found = self.answer(provider, request.method, request.url.path, sent)
            response: Response
            if found is None:
                what = f"{request.method} {request.url.path}"
                response = JSONResponse({"error": f"not in the recording: {what}"}, status_code=404)
            else:
                response = Response(found.body, status_code=found.status, headers=dict(found.headers))
            await response(scope, receive, send)

        return app


def _provider_of(entry: Mapping[str, Any], providers: Mapping[str, Any]) -> str | None:
    named = (entry.get("_flowdeck") or {}).get("provider")
    if named in providers:
        return str(named)
    host = urlsplit(str((entry.get("request") or {}).get("url", ""))).hostname
    for name in providers:
        if host in {urlsplit(u.default).hostname for u in _providers.get(name).config.urls}:
            return name
    return None


def load(path: str, providers: Iterable[str], seconds: float = 1.0) -> Replay:
    """The recording at ``path`` (a HAR file) as a :class:`Replay` of ``providers``.

    Raises ``ValueError`` (a :class:`flowdeck._har.HarError`) naming the file when it is no HAR, and
    the entry (counted from 1) when one cannot be replayed.
    """
    entries = read_entries(path)
    for number, entry in enumerate(entries, 1):
        problem = _problem(entry)
        if problem is not None:
            raise HarError(f"{path}: entry {number}{_request_of(entry)}: {problem}")
    return Replay(entries, providers, seconds)


def _request_of(entry: Mapping[str, Any]) -> str:
    request = entry.get("request")
    if isinstance(request, dict) and isinstance(request.get("method"), str) and isinstance(request.get("url"), str):
        return f" ({request['method']} {request['url']})"
    return ""


def _problem(entry: Mapping[str, Any]) -> str | None:
    """What in ``entry`` a replay cannot use, or None."""
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict):
        return f"request is {_shown(request)}, not an object"
    if not isinstance(request.get("method"), str) or not isinstance(request.get("url"), str):
        return "request has no method and url (strings)"
    if not isinstance(response, dict):
        return f"response is {_shown(response)}, not an object"
    status = response.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 599:
        return f"response.status is {_shown(status)}, not an HTTP status (a number)"
    started = entry.get("startedDateTime")
    try:
        datetime.datetime.fromisoformat(started if isinstance(started, str) else "")
    except ValueError:
        return f"startedDateTime is {_shown(started)}, not an ISO 8601 time"
    headers = response.get("headers") or []
    if not isinstance(headers, list) or not all(
        isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str) for h in headers
    ):
        return "response.headers is not a list of {name, value} strings"
    return _body_problem("request.postData", request.get("postData") or {}) or _body_problem(
        "response.content", response.get("content") or {}
    )


def _body_problem(where: str, part: Any) -> str | None:
    if not isinstance(part, dict):
        return f"{where} is {_shown(part)}, not an object"
    text, encoding = part.get("text") or "", part.get("encoding")
    if not isinstance(text, str):
        return f"{where}.text is {_shown(text)}, not a string"
    if encoding not in (None, "", "base64"):
        return f"{where}.encoding is {_shown(encoding)}; a replay reads base64 or none"
    if encoding == "base64":
        try:
            base64.b64decode(text, validate=True)
        except binascii.Error:
            return f"{where}.text is not base64, though its encoding says so"
    return None


def _shown(value: Any) -> str:
    shown = json.dumps(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
