"""The async client on aiohttp: only connect-phase failures count as never sent, so no start runs twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import aiohttp
import flowdeck
import httpx
import pytest
from flowdeck import _aiohttp
from flowdeck._aiohttp import AiohttpTransport, wire
from flowdeck.testing import Faults, MockConfig, MockProviders
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from benchmarks import soak
from tests._cli import closed_port


async def test_refused_is_connect_error() -> None:
    """A refused connection is a ConnectError: never sent."""
    transport = AiohttpTransport()
    try:
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(httpx.Request("POST", f"http://127.0.0.1:{closed_port()}/v1/x"))
    finally:
        await transport.aclose()


@pytest.mark.parametrize("kind", ["drop_after", "drop_before", "slow"])
async def test_failed_after_send_unknown(kind: str) -> None:
    """A start whose connection fails after sending is unknown and sent once."""
    faults = Faults(rate=1.0, kinds=(kind,), slow_seconds=1.0)
    with MockProviders(MockConfig(seed=3, faults=faults)) as mocks:
        async with mocks.async_client(http_backend="aiohttp", timeout=0.3, max_retries=3) as client:
            with pytest.raises(flowdeck.StartOutcomeUnknown) as info:
                await client.start("databar:flow/42", {"domain": "x.com"})
        if kind != "drop_before":  # processed, then the answer was lost: the run exists, once
            assert mocks.states["databar"].start_count == 1
    assert not isinstance(info.value.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


async def test_polls_retried_over_drops() -> None:
    """Polls are retried over dropped connections, and every provider's run ends."""
    with MockProviders(MockConfig(seed=4, run_seconds=(0.0, 0.2), faults=Faults(rate=0.3))) as mocks:
        async with mocks.async_client(http_backend="aiohttp", timeout=2.0, max_retries=6) as client:
            refs = {"databar:flow/1": {"domain": "x"}, "gumloop:weekly": {"topic": "t"}}
            runs = await asyncio.gather(*(client.run(ref, inputs) for ref, inputs in refs.items()))
    assert all(run.succeeded for run in runs)


async def test_naive_error_map_double_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transport reporting a dropped connection as never sent double-starts."""
    # An aiohttp transport that maps every ClientConnectionError to ConnectTimeout.
    mapped = _aiohttp._mapped

    def naive(exc: BaseException) -> httpx.TransportError:
        if isinstance(exc, aiohttp.ClientConnectionError):
            return httpx.ConnectTimeout(str(exc))
        return mapped(exc)

    monkeypatch.setattr(_aiohttp, "_mapped", naive)
    report = await soak.soak_async(200, seed=4, fault_rate=0.4, backend="aiohttp")
    assert report.duplicates > 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


_ORIGINS = ["https://api.example.com", "https://API.example.com", "https://api.example.com:443", "http://127.0.0.1:8080",
            "http://[::1]:80"]  # fmt: skip
# Mostly segments URLs are made of, so both the unparsed and the parsed way are drawn often.
_SEGMENTS = ["a", "Z9", "-_~", ".", "..", "%41", "%zz", "é", "a b", "?x", "#f", "&=", ""]
_PARAMS = st.dictionaries(
    st.text(min_size=1, max_size=4), st.booleans() | st.integers() | st.text(max_size=4), max_size=3
)


@settings(max_examples=80, deadline=None)
@given(
    origin=st.sampled_from(_ORIGINS),
    path=st.lists(st.sampled_from(_SEGMENTS), max_size=5).map("/".join) | st.text(max_size=8),
    params=st.none() | _PARAMS,
    body=st.none() | _JSON,
    content_type=st.sampled_from([None, "application/json; charset=utf-8"]),
)
def test_sends_what_httpx_would(
    origin: str, path: str, params: dict[str, Any] | None, body: object, content_type: str | None
) -> None:
    """What flowdeck sends on aiohttp is what an httpx client would send."""
    # flowdeck's aiohttp path builds requests without httpx's objects, and skips parsing URLs that
    # httpx would send as they are written: every byte must still be what httpx would send.
    url = f"{origin}/v1/{path}"
    headers = {"x-apikey": "k", **({"Content-Type": content_type} if content_type else {})}
    method = "POST" if body is not None else "GET"
    kwargs = {"method": method, "url": url, "params": params, "headers": headers, "json": body}
    unused = httpx.MockTransport(lambda _: httpx.Response(204))  # given, so no TLS context is built per example
    try:
        agent = {"User-Agent": f"flowdeck/{flowdeck.__version__}"}
        with httpx.Client(headers=agent, transport=unused, trust_env=False) as client:
            theirs = client.build_request(method, url, params=params, headers=headers, json=body)
    except httpx.InvalidURL:
        with pytest.raises(httpx.InvalidURL):
            wire(kwargs)
        return
    sent_method, sent_url, sent_headers, sent_body = wire(kwargs)
    # Compared as they go on the wire (no fragment; an empty query "?" as none, which no server minds).
    ours = URL(sent_url, encoded=True)
    wanted = theirs.url
    assert sent_method == method
    assert (ours.scheme, ours.raw_host, ours.explicit_port) == (wanted.scheme, wanted.raw_host.decode(), wanted.port)
    assert ours.raw_path_qs == wanted.raw_path.decode().removesuffix("?")
    assert sent_body == (theirs.read() or None)
    # Host and Content-Length follow from the URL and the body, and aiohttp writes them; httpx.Client
    # also says "Connection: keep-alive", which HTTP/1.1 means without saying it.
    unsaid = ("host", "content-length", "connection")
    assert sent_headers == {k: v for k, v in theirs.headers.items() if k not in unsaid}


def test_missing_aiohttp_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without aiohttp installed, the backend names its extra."""
    monkeypatch.setitem(__import__("sys").modules, "flowdeck._aiohttp", None)
    with pytest.raises(flowdeck.InvalidRequestError, match=r"pip install 'flowdeck\[aiohttp\]'"):
        flowdeck.AsyncClient(env={}, http_backend="aiohttp")


def test_sniffio_core_dependency() -> None:
    """sniffio is a core dependency, so httpcore does not look for it on every request."""
    import importlib.util
    import tomllib
    from pathlib import Path

    core = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(dep.startswith("sniffio") for dep in core)
    assert importlib.util.find_spec("sniffio") is not None


async def test_default_backend_mockable() -> None:
    """The async client's default connections are ones httpx mocks intercept."""
    # Why httpcore stays the default: users test their code with respx and the like, which see
    # httpcore's connections; a request sent through aiohttp would go past them to the network.
    import respx

    from tests._fakes import ENV

    with respx.mock as mock:
        route = mock.get("https://api.databar.ai/v1/tasks/t-1").respond(json={"task_id": "t-1", "status": "completed"})
        async with flowdeck.AsyncClient(env=ENV) as client:
            assert (await client.databar.get_task("t-1")).succeeded
    assert route.called


def test_unclosed_client_silent() -> None:
    """An aiohttp client never closed leaves nothing on stderr."""
    # httpx's own pool says nothing about a client left open; aiohttp logs two "Unclosed" errors.
    script = """
import asyncio
from flowdeck.testing import MockProviders

async def main(mocks):
    client = mocks.async_client(http_backend="aiohttp")
    await client.start("databar:flow/q", {"row": "1"})
    return client

with MockProviders() as mocks:
    kept = asyncio.run(main(mocks))  # alive past its event loop, until the interpreter exits
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert (done.returncode, done.stderr) == (0, "")
