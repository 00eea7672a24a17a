"""The async client on aiohttp: only connect-phase failures count as never sent, so no start runs twice."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import flowdeck
import httpx
import pytest
from flowdeck import _aiohttp
from flowdeck._aiohttp import AiohttpTransport
from flowdeck.testing import Faults, MockConfig, MockProviders

from benchmarks import soak


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_refused_connection_is_a_connect_error_never_sent() -> None:
    transport = AiohttpTransport()
    try:
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(httpx.Request("POST", f"http://127.0.0.1:{_closed_port()}/v1/x"))
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", ["drop_after", "drop_before", "slow"])
async def test_a_start_whose_connection_fails_after_sending_is_unknown_and_sent_once(kind: str) -> None:
    faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=1.0)
    with MockProviders(MockConfig(seed=3, faults=faults)) as mocks:
        async with mocks.async_client(http_backend="aiohttp", timeout=0.3, max_retries=3) as client:
            with pytest.raises(flowdeck.StartOutcomeUnknown) as info:
                await client.start("databar:flow/42", {"domain": "x.com"})
        if kind != "drop_before":  # processed, then the answer was lost: the run exists, once
            assert mocks.states["databar"].start_count == 1
    assert not isinstance(info.value.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


async def test_polls_are_retried_over_dropped_connections_and_every_provider_runs() -> None:
    with MockProviders(MockConfig(seed=4, run_seconds=(0.0, 0.2), faults=Faults(rate=0.3))) as mocks:
        async with mocks.async_client(http_backend="aiohttp", timeout=2.0, max_retries=6) as client:
            refs = {"databar:flow/1": {"domain": "x"}, "gumloop:weekly": {"topic": "t"}}
            runs = await asyncio.gather(*(client.run(ref, inputs) for ref, inputs in refs.items()))
    assert all(run.succeeded for run in runs)


async def test_the_error_map_has_teeth_reporting_a_dropped_connection_as_never_sent_double_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What an aiohttp transport that maps every ClientConnectionError to ConnectTimeout would do."""
    mapped = _aiohttp._mapped

    def naive(exc: BaseException) -> httpx.TransportError:
        if isinstance(exc, aiohttp.ClientConnectionError):
            return httpx.ConnectTimeout(str(exc))
        return mapped(exc)

    monkeypatch.setattr(_aiohttp, "_mapped", naive)
    report = await soak.soak_async(200, seed=4, fault_rate=0.4, backend="aiohttp")
    assert report.duplicates > 0


def test_without_aiohttp_installed_the_backend_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "flowdeck._aiohttp", None)
    with pytest.raises(flowdeck.InvalidRequestError, match=r"pip install 'flowdeck\[aiohttp\]'"):
        flowdeck.AsyncClient(env={}, http_backend="aiohttp")


def test_sniffio_is_a_core_dependency_so_httpcore_does_not_search_for_it_on_every_request() -> None:
    import importlib.util
    import tomllib
    from pathlib import Path

    core = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(dep.startswith("sniffio") for dep in core)
    assert importlib.util.find_spec("sniffio") is not None
