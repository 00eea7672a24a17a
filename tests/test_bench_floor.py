"""make bench's floor (a plain asyncio + httpx loop) survives a benign disconnect, as any user's loop does."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from benchmarks import bench


def _answer(conn: socket.socket, body: object) -> None:
    data = json.dumps(body).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data)
    )


def _read_request(conn: socket.socket) -> bytes:
    """The request's head (its body, when it has one, is small and arrives with it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    return data


@pytest.fixture
def databar_dropping_first_poll() -> Iterator[str]:
    """A Databar-shaped server that closes the connection instead of answering the first poll."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop, polls = threading.Event(), [0]

    def serve(conn: socket.socket) -> None:
        with conn:
            while request := _read_request(conn):
                if request.startswith(b"POST"):
                    _answer(conn, {"task_id": "t-1", "status": "processing"})
                    continue
                polls[0] += 1
                if polls[0] == 1:
                    return  # read, never answered: "Server disconnected without sending a response"
                _answer(conn, {"task_id": "t-1", "status": "completed", "data": []})

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    listener.close()


def test_floor_polls_again_after_a_drop(databar_dropping_first_poll: str) -> None:
    """A poll the server drops unanswered is sent again; the run is still seen to finish."""
    done_at: list[float] = []
    env = {"DATABAR_BASE_URL": databar_dropping_first_poll}
    asyncio.run(bench._plain_many(env, n=1, rate=100.0, done_at=done_at))
    assert len(done_at) == 1
