"""The mocks over HTTPS with a throwaway CA, and the latency with jitter they add to each response."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import flowdeck
import pytest
from flowdeck.testing import Faults, MockConfig, MockProviders
from flowdeck.testing._command import build_parser, config_from

pytest.importorskip("trustme")


@pytest.fixture(scope="module")
def tls_mocks() -> Iterator[MockProviders]:
    """The mocks served once over HTTPS for the module."""
    with MockProviders(MockConfig(seed=3), tls=True) as mocks:
        yield mocks


def test_tls_urls_and_env(tls_mocks: MockProviders) -> None:
    """Every mock is an https URL, and env names the CA bundle to trust."""
    assert all(url.startswith("https://127.0.0.1:") for url in tls_mocks.urls.values())
    assert tls_mocks.ca_file is not None and tls_mocks.env["SSL_CERT_FILE"] == tls_mocks.ca_file
    bundle = Path(tls_mocks.ca_file).read_text()
    assert bundle.count("BEGIN CERTIFICATE") > 100  # the CA, then certifi's roots


def test_sync_client_over_tls(tls_mocks: MockProviders) -> None:
    """The sync client trusts the CA that env names, and runs over TLS."""
    before = tls_mocks.states["databar"].handshakes
    with tls_mocks.client(poll_policy=flowdeck.PollPolicy(initial=0.01)) as client:
        assert client.run("databar:flow/tls", {"domain": "a.com"}).succeeded
    assert tls_mocks.states["databar"].handshakes > before


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
def test_async_client_over_tls(tls_mocks: MockProviders, backend: str) -> None:
    """The async client trusts the CA on both HTTP backends, one handshake per connection."""
    state = tls_mocks.states["gumloop"]
    connections, handshakes = state.connections, state.handshakes

    async def runs() -> list[flowdeck.Run]:
        async with tls_mocks.async_client(
            http_backend=backend, poll_policy=flowdeck.PollPolicy(initial=0.01)
        ) as client:
            return await asyncio.gather(*(client.run("gumloop:tls", {"row": str(i)}) for i in range(8)))

    assert all(run.succeeded for run in asyncio.run(runs()))
    assert state.handshakes - handshakes == state.connections - connections > 0
    assert state.peak_in_flight >= 1 and state.in_flight == 0


def test_untrusted_client_refused(tls_mocks: MockProviders) -> None:
    """Without the CA a client refuses the mocks' certificate: the TLS is verified, not bypassed."""
    env = {k: v for k, v in tls_mocks.env.items() if k != "SSL_CERT_FILE"}
    with flowdeck.Client(env=env, max_retries=0) as client, pytest.raises(flowdeck.FlowdeckError):
        client.databar.get_task("missing")


def test_latency_jitter_counted() -> None:
    """Each response waits latency give or take jitter, seeded, and every one is counted."""
    config = MockConfig(seed=1, faults=Faults(latency=0.01, jitter=0.005))
    with MockProviders(config) as mocks, mocks.client() as client:
        for _ in range(10):
            client.databar.get_flow("enrich")
    state = mocks.states["databar"]
    assert state.delayed == 10  # one delay per response
    assert 10 * 0.005 <= state.delayed_seconds <= 10 * 0.015
    delays = [state.delay() for _ in range(2000)]
    assert 0.005 <= min(delays) < 0.0055 and 0.0145 < max(delays) <= 0.015


def test_latency_flags_in_ms() -> None:
    """--latency and --jitter take seconds or milliseconds into Faults."""
    faults = config_from(build_parser().parse_args(["--latency", "80ms", "--jitter", "0.02s"])).faults
    assert (faults.latency, faults.jitter) == (0.08, 0.02)


def test_no_session_tickets() -> None:
    """flowdeck's TLS contexts ask for no session tickets: one left unread reads as a closed connection."""
    from flowdeck._transport import env_ssl_context

    assert env_ssl_context({}).options & ssl.OP_NO_TICKET
    assert env_ssl_context({"SSL_CERT_FILE": certifi.where()}).options & ssl.OP_NO_TICKET
