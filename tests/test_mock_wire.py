"""Our servers answer at loopback speed on kept-alive connections: the mocks (in process and as
``flowdeck mock``) and the transport tests' scriptable server.

Each mock sends a response's headers and body in separate writes; unless the accepted connection has
``TCP_NODELAY``, Nagle's algorithm holds the body until the client's delayed ACK (about 40 ms on
Linux) on every request after the first. A fast answer is well under a millisecond, so a 10 ms bound
leaves a margin no machine's noise closes in either direction.
"""

from __future__ import annotations

import re
import signal
import statistics
import time
from collections.abc import Mapping

import httpx
from flowdeck.testing import MockProviders

from tests._cli import reap_spawned, spawn  # noqa: F401 - reap_spawned: an autouse fixture
from tests._loopback import LoopbackServer

BOUND = 0.010


def _kept_alive_medians(urls: Mapping[str, str], requests: int = 20, expect: int = 404) -> dict[str, float]:
    """Per mock, the median seconds of ``requests`` GETs on one kept-alive connection (the first not counted)."""
    medians: dict[str, float] = {}
    for name, url in urls.items():
        with httpx.Client(timeout=5) as http:
            http.get(f"{url}/nothing-here")  # opens the connection
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = http.get(f"{url}/nothing-here")
                times.append(time.perf_counter() - started)
                assert response.status_code == expect  # a mock's own not-found answer, by default
            medians[name] = statistics.median(times)
    return medians


def test_mocks_answer_kept_alive_fast() -> None:
    """Through MockProviders, each mock's median kept-alive answer is well under 10 ms."""
    with MockProviders() as mocks:
        medians = _kept_alive_medians(mocks.urls)
    assert set(medians) == set(mocks.providers)
    assert all(m < BOUND for m in medians.values()), medians


def test_flowdeck_mock_answers_kept_alive_fast() -> None:
    """Through ``flowdeck mock``, each mock's median kept-alive answer is well under 10 ms."""
    proc = spawn(["mock"], {})
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    while len(urls) < 4:  # the four built-in mocks' base URLs, printed as export lines first
        line = proc.stdout.readline()
        assert line, proc.communicate()
        if found := re.match(r"export (\w+)_BASE_URL=(\S+)", line):
            urls[found[1].lower()] = found[2].strip("'")
    medians = _kept_alive_medians(urls)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=20)
    assert all(m < BOUND for m in medians.values()), medians


def test_loopback_server_answers_kept_alive_fast() -> None:
    """The transport tests' scriptable server answers kept-alive requests well under 10 ms too."""
    with LoopbackServer() as server:
        medians = _kept_alive_medians({"loopback": server.url}, expect=200)
    assert medians["loopback"] < BOUND, medians
