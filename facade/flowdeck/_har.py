"""Recording flowdeck's exchanges as a HAR 1.2 file, without a credential in it, and reading one back.

A HAR file is one JSON document, yet it is appended to while a run goes on, by several threads,
tasks or processes at once, and must stay readable when the process dies. It is written in a
layout of flowdeck's own that is still plain HAR: the header on the first line, one entry per line,
and the closing ``]}}`` on the last. Each exchange overwrites that closing line with ``,`` + its
entry + the closing line, in one write at a fixed offset, under a lock (a thread lock and the
file's ``flock``): after every write the file is a whole HAR that any HAR reader opens, and the
cost of an append does not grow with the file (an atomic rewrite per exchange would copy the whole
file each time). A write torn by a power cut leaves complete entries before a partial last line;
:func:`read_entries` drops that line. A HAR written by another tool is laid out once again
in this layout (in place) before the first append.

Scrubbing happens before an entry is serialized: headers and query parameters whose name says
they carry a credential, JSON fields of logins and token grants (their values are then scrubbed
everywhere else too), and every secret value the client knows (its providers' secret and header
settings, tokens obtained at run time), wherever they appear.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flowdeck._version import __version__

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads of one process are still serialized
    fcntl = None  # type: ignore[assignment]

FILTERED = "FILTERED"
"""What a credential is replaced with in a recording."""

# Header and query names that carry credentials, whatever the provider.
SECRET_NAME = re.compile(r"auth|key|token|secret|password|cookie|session|credential", re.IGNORECASE)
# Narrower than header names: a body's ``next_token`` or ``key`` is data.
SECRET_FIELD = re.compile(
    r"^(password|passwd|secret|client_secret|api_?key|anon_?key|(access|refresh|id|session|auth)_?token)$",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"(Bearer|Basic|Token|Digest)\s+\S", re.IGNORECASE)
MIN_SCRUBBED_LENGTH = 4  # or unrelated words would be scrubbed
_CLOSE = b"\n]}}\n"
_CREATOR = {"name": "flowdeck", "version": __version__}


class HarError(ValueError):
    """A file that cannot be read or appended to as a HAR."""


def scrub_text(text: str, values: Iterable[str]) -> str:
    """``text`` with each secret value (longest first) replaced by ``FILTERED``.

    >>> scrub_text("key sk-live-123 refused", ["sk-live-123"])
    'key FILTERED refused'
    """
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= MIN_SCRUBBED_LENGTH:
            text = text.replace(value, FILTERED)
    return text


def scrub_json(value: Any, found: set[str] | None = None) -> Any:
    """``value`` with every credential field replaced; their values are added to ``found``.

    >>> scrub_json({"email": "a@b.c", "password": "hunter22"})
    {'email': 'a@b.c', 'password': 'FILTERED'}
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if SECRET_FIELD.match(str(k)):
                if found is not None and isinstance(v, str):
                    found.add(v)
                out[k] = FILTERED
            else:
                out[k] = scrub_json(v, found)
        return out
    if isinstance(value, list):
        return [scrub_json(v, found) for v in value]
    return value


def scrub_body(text: str, values: set[str]) -> str:
    """A body with credential fields (when JSON) and known secret values removed; new ones join ``values``.

    A JSON body without a credential field stays byte for byte.

    >>> scrub_body('{"access_token": "tok-1234"}', set())
    '{"access_token": "FILTERED"}'
    """
    if not text:
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    else:
        scrubbed = scrub_json(parsed, values)
        if scrubbed != parsed:
            text = json.dumps(scrubbed)
    return scrub_text(text, values)


def scrub_url(url: str, values: Iterable[str]) -> str:
    """``url`` with credential query parameters and secret values replaced.

    >>> scrub_url("https://h/x?api_key=abcd&page=2", [])
    'https://h/x?api_key=FILTERED&page=2'
    """
    parts = urlsplit(url)
    if parts.query:
        query = [
            (k, FILTERED if SECRET_NAME.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    return scrub_text(url, values)


def scrub_headers(headers: Iterable[tuple[str, str]], values: Iterable[str]) -> list[dict[str, str]]:
    """HAR headers (``{"name", "value"}``), credential headers replaced.

    >>> scrub_headers([("x-apikey", "k-123"), ("authorization", "Bearer k-456")], [])
    [{'name': 'x-apikey', 'value': 'FILTERED'}, {'name': 'authorization', 'value': 'Bearer FILTERED'}]
    """
    return [
        {"name": name, "value": _filtered(value) if SECRET_NAME.search(name) else scrub_text(value, values)}
        for name, value in headers
    ]


def _filtered(value: str) -> str:
    # "Bearer FILTERED": the scheme is no secret, and specs check it.
    scheme = _SCHEME.match(value)
    return f"{scheme.group(1)} {FILTERED}" if scheme else FILTERED


def _text(headers: Iterable[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _content(body: bytes, values: set[str]) -> tuple[str, str | None]:
    """A body as HAR text (scrubbed), or base64 when it is not UTF-8 (then ``encoding`` is "base64")."""
    try:
        return scrub_body(body.decode("utf-8"), values), None
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _pairs(headers: Any) -> list[tuple[str, str]]:
    if hasattr(headers, "multi_items"):
        items = headers.multi_items()
    else:
        items = headers.items() if hasattr(headers, "items") else headers
    return [(str(k), str(v)) for k, v in items]


class Sent:
    """What one attempt put on the wire: method, URL, headers and body, as recorded."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Any, body: bytes | None) -> None:
        self.method, self.url, self.headers, self.body = method, url, _pairs(headers), body or b""


class Recorder:
    """Appends flowdeck's exchanges to the HAR file at ``path`` (created when missing).

    One recorder may serve many clients, threads and tasks; several recorders (processes) may share a path.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.har"
    >>> recorder = Recorder(path)
    >>> recorder.record(Sent("GET", "https://h/v1/x", {"x-apikey": "sk-1234"}, None), 200, [], b'{"ok": true}',
    ...                 error=None, started=0.0, elapsed=0.01, secrets=("sk-1234",))
    >>> [e["request"]["headers"] for e in read_entries(path)]
    [[{'name': 'x-apikey', 'value': 'FILTERED'}]]
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        with self._locked() as fd:
            _prepare(self.path, fd)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Scrub ``values`` from every later entry."""
        self._secrets.update(v for v in values if v)

    def record(
        self,
        sent: Sent,
        status: int,
        headers: Any,
        body: bytes,
        *,
        error: BaseException | None,
        started: float,
        elapsed: float,
        secrets: Sequence[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Append one exchange: ``status`` 0 and ``error`` for an attempt that got no answer.

        ``started`` is the wall-clock time it was sent (seconds since the epoch), ``elapsed`` how long
        it took until its body was read whole.
        """
        values = self._secrets | set(secrets)
        entry = _entry(sent, status, _pairs(headers), body, error, started, elapsed, values)
        if extra:
            entry["_flowdeck"] = dict(extra)
        # A login's token is scrubbed from everything after it.
        self._secrets |= values
        self._append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode())

    def _append(self, line: bytes) -> None:
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            tail = os.pread(fd, 64, max(0, size - 64))
            if not tail.endswith(_CLOSE):  # changed by another writer: lay it out again
                _prepare(self.path, fd, force=True)
                size = os.fstat(fd).st_size
                tail = os.pread(fd, 64, max(0, size - 64))
            first = tail[: -len(_CLOSE)].endswith(b"[")
            os.pwrite(fd, (b"\n" if first else b",\n") + line + _CLOSE, size - len(_CLOSE))

    def _locked(self) -> _FileLock:
        return _FileLock(self.path, self._lock)


class _FileLock:
    """The recorder's thread lock, then the file's exclusive ``flock`` (other processes, other recorders)."""

    def __init__(self, path: Path, lock: threading.Lock) -> None:
        self._path, self._lock, self._fd = path, lock, -1

    def __enter__(self) -> int:
        self._lock.acquire()
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            if self._fd >= 0:
                os.close(self._fd)
            self._lock.release()
            raise
        return self._fd

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the flock
        self._lock.release()


def _prepare(path: Path, fd: int, *, force: bool = False) -> None:
    """Make the file at ``fd`` an (empty or existing) HAR in the append layout."""
    size = os.fstat(fd).st_size
    if size == 0:
        os.pwrite(fd, _header() + b"[" + _CLOSE, 0)
        return
    if not force and os.pread(fd, 64, max(0, size - 64)).endswith(_CLOSE):
        return
    # Laid out again in place: the file stays the one other writers lock.
    entries = read_entries(path)
    lines = b",\n".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() for e in entries)
    data = _header() + b"[" + (b"\n" + lines if entries else b"") + _CLOSE
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _header() -> bytes:
    head = json.dumps({"log": {"version": "1.2", "creator": _CREATOR, "pages": [], "entries": []}})
    return head[: -len("[]}}")].encode()


def read_entries(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The entries of the HAR file at ``path``; a last entry torn by a crash is left out.

    Raises :class:`HarError` for a file that is no HAR (naming the file).
    """
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise HarError(f"{path}: no such file") from None
    except OSError as exc:
        raise HarError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise HarError(f"{path}: not a HAR file (not UTF-8 text)") from None
    try:
        doc = json.loads(text)
    except ValueError:
        doc = _repaired(text, path)
    entries = doc.get("log", {}).get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise HarError(f"{path}: not a HAR file (no log.entries list)")
    return entries


def _repaired(text: str, path: Path) -> Any:
    lines = text.split("\n")
    if not lines[0].startswith('{"log":'):
        raise HarError(f"{path}: not a HAR file (not JSON)")
    entries = []
    for line in lines[1:]:
        try:
            entries.append(json.loads(line.strip(",")))
        except ValueError:
            break  # the torn line, and nothing after it is whole
    return {"log": {"entries": entries}}


def _entry(
    sent: Sent,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    error: BaseException | None,
    started: float,
    elapsed: float,
    values: set[str],
) -> dict[str, Any]:
    url = scrub_url(sent.url, values)
    request_text, request_encoding = _content(sent.body, values)
    request: dict[str, Any] = {
        "method": sent.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": scrub_headers(sent.headers, values),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)],
        "headersSize": -1,
        "bodySize": len(sent.body),
    }
    if sent.body:
        request["postData"] = {"mimeType": _text(sent.headers, "content-type"), "text": request_text}
        if request_encoding:
            request["postData"]["encoding"] = request_encoding
    text, encoding = _content(body, values)
    content: dict[str, Any] = {"size": len(body), "mimeType": _text(headers, "content-type"), "text": text}
    if encoding:
        content["encoding"] = encoding
    ms = round(elapsed * 1000, 3)
    entry: dict[str, Any] = {
        "startedDateTime": datetime.datetime.fromtimestamp(started, datetime.UTC).isoformat(timespec="milliseconds"),
        "time": ms,
        "request": request,
        "response": {
            "status": status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": scrub_headers(headers, values),
            "content": content,
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": ms, "receive": 0},
    }
    if error is not None:
        entry["response"]["_error"] = scrub_text(f"{type(error).__name__}: {error}", values)
    return entry


class Recording:
    """One call's recording: the recorder, the call's secrets, and what the entries say about the call."""

    __slots__ = ("extra", "recorder", "secrets")

    def __init__(self, recorder: Recorder, secrets: Sequence[str], provider: str, operation: str) -> None:
        self.recorder, self.secrets = recorder, secrets
        self.extra = {"provider": provider, "operation": operation}

    def attempt(
        self,
        sent: Sent,
        response: Any,
        body: bytes,
        error: BaseException | None,
        started: float,
        elapsed: float,
        num: int,
    ) -> None:
        """Record attempt ``num`` of the call: ``response`` (an httpx.Response) or ``error``."""
        status, headers = (0, ()) if response is None else (response.status_code, response.headers)
        self.recorder.record(
            sent,
            status,
            headers,
            body,
            error=error,
            started=started,
            elapsed=elapsed,
            secrets=self.secrets,
            extra={**self.extra, "attempt": num},
        )
