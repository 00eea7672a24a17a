"""A scriptable HTTP/1.1 server on 127.0.0.1 for transport tests: real sockets, real keep-alive.

Each request is answered by the next scripted answer for its ``METHOD /path`` (or 200 ``{}`` when none
is left). ``?sleep=<seconds>`` delays an answer (``delay`` delays them all). The server counts
requests and tracks how many it was serving at once.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import httpx


@attrs.frozen
class Answer:
    """One scripted response."""

    status: int = 200
    body: Any = attrs.field(factory=dict)
    headers: dict[str, str] = attrs.field(factory=dict)
    raw: bytes | None = None  # sent as is instead of ``body`` as JSON (with ``headers`` saying how)


class LoopbackServer:
    """``with LoopbackServer() as server: ... server.url ...``; stopped (and its threads joined) on exit."""

    def __init__(self) -> None:
        self.script: dict[str, deque[Answer]] = {}
        self.calls: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []  # each request's headers, lower-cased names, in order
        self.delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, key: str, answers: Iterable[Answer]) -> None:
        """Answer the next requests to ``key`` (``"GET /v1/tasks/t-1"``) with ``answers``, in order."""
        self.script.setdefault(key, deque()).extend(answers)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _next(self, key: str) -> Answer:
        with self._lock:
            self.calls[key] += 1
            queue = self.script.get(key)
            return queue.popleft() if queue else Answer()

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: Nagle would hold the body for the ACK

            def _serve(self) -> None:
                url = urlsplit(self.path)
                server.headers.append({name.lower(): value for name, value in self.headers.items()})
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                server._enter()
                try:
                    answer = server._next(f"{self.command} {url.path}")
                    delay = parse_qs(url.query).get("sleep")
                    seconds = float(delay[0]) if delay else server.delay
                    if seconds:
                        time.sleep(seconds)
                    payload = json.dumps(answer.body).encode() if answer.raw is None else answer.raw
                    self.send_response(answer.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    server._leave()

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def handle(self) -> None:
                # A client that gives up (the cancellation tests) resets its connection: not an error here.
                try:
                    super().handle()
                except (ConnectionError, TimeoutError):
                    return

        return Handler


async def cancel_waiters_as_slots_free(
    http: httpx.AsyncClient, url: str, *, held: int, waiting: int, pause: float = 0.0
) -> None:
    """One round of the moment httpcore 1.0.9 loses a pool slot (encode/httpcore#1093).

    ``held`` responses, their bodies never read, take every connection; ``waiting`` requests wait for
    one. Closing a held response closes its connection, so the next waiting request is handed a new
    one, not yet opened, and is cancelled in that same loop turn. After ``pause``, the rest are
    cancelled all at once, as a failing TaskGroup does.
    """
    responses = [await http.send(http.build_request("GET", f"{url}/held"), stream=True) for _ in range(held)]
    tasks = [asyncio.create_task(http.get(f"{url}/waiting")) for _ in range(waiting)]
    await asyncio.sleep(0.05)  # every connection is taken: they all wait
    for response, task in zip(responses, tasks, strict=False):
        await response.aclose()
        task.cancel()
    if pause:
        await asyncio.sleep(pause)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
