"""Serve the mock providers on loopback with uvicorn, in a background thread.

Which mocks exist, and how to point flowdeck at each, comes from the provider registry: every
registered provider that declares a ``MockSpec`` is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn

import flowdeck
from flowdeck import _providers
from flowdeck._providers import MockSpec
from flowdeck.testing._mockcore import MockClock, MockConfig, MockState

if TYPE_CHECKING:
    from flowdeck.testing._replay import Replay

PROVIDERS = _providers.BUILTIN
"""The built-in providers (each has a mock); ``MockProviders.providers`` adds any registered later."""


class PortInUse(RuntimeError):
    """A port given in ``MockProviders(ports=...)`` is taken: the message names the port and the provider."""


_NOT_SERVING = "not serving: use `with MockProviders() as mocks:` or call serve()"


def _listen(ports: Mapping[str, int], providers: tuple[str, ...]) -> dict[str, socket.socket]:
    """One bound socket per provider (its port from ``ports``, else a free one), or PortInUse.

    Bound here rather than by uvicorn, so that a taken port is one clear error before any server
    starts, with nothing left running or printed. Made with ``IPPROTO_TCP`` named, as
    ``loop.create_server`` makes its own: asyncio sets ``TCP_NODELAY`` only on connections accepted
    from a socket whose protocol is TCP, and without it Nagle's algorithm holds each response's body
    until the client's delayed ACK, on every request after the first on a kept-alive connection.
    """
    sockets: dict[str, socket.socket] = {}
    try:
        for name in providers:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sockets[name] = sock
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is free
            port = ports.get(name, 0)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                raise PortInUse(f"port {port} (for {name}) is not free ({exc.strerror})") from None
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


def _tls_files(folder: str) -> tuple[str, str]:
    """A throwaway CA's certificate for 127.0.0.1 and localhost, written into ``folder``:
    (the server's key and certificate chain, the CA bundle clients trust).

    The bundle is the CA followed by certifi's roots (httpx's default), so trusting it with
    ``SSL_CERT_FILE`` keeps every real host trusted too.
    """
    try:
        import trustme
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"MockProviders(tls=True) needs trustme (module {exc.name!r} is missing): pip install trustme"
        ) from None
    import certifi

    ca = trustme.CA(organization_name="flowdeck mock providers")
    server, bundle = os.path.join(folder, "server.pem"), os.path.join(folder, "ca.pem")
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(server)
    with open(bundle, "wb") as file, open(certifi.where(), "rb") as roots:
        file.write(ca.cert_pem.bytes() + b"\n" + roots.read())
    return server, bundle


def _counting(protocol: type[asyncio.Protocol], state: MockState) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, counting on ``state`` each connection accepted and TLS handshake completed.

    asyncio makes the protocol as it accepts a connection, and calls ``connection_made`` once the TLS
    handshake (if any) is done.
    """

    class Counting(protocol):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            state.connections += 1
            super().__init__(*args, **kwargs)

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            if transport.get_extra_info("ssl_object") is not None:
                state.handshakes += 1
            super().connection_made(transport)

    return Counting


def _app_factory(mock: MockSpec) -> Callable[[MockState], Any]:
    if callable(mock.app):
        return mock.app
    module, _, name = mock.app.partition(":")
    factory: Callable[[MockState], Any] = getattr(importlib.import_module(module), name)
    return factory


class MockProviders:
    """The mock providers (one per registered provider that has a mock), stateful and deterministic
    given ``config.seed``.

    >>> with MockProviders() as mocks:
    ...     with mocks.client() as client:
    ...         run = client.run("databar:flow/1", {"domain": "stripe.com"})
    ...     print(run.status, mocks.states["databar"].start_count)
    Status.SUCCEEDED 1

    ``tls=True`` serves HTTPS with a throwaway CA (``trustme`` installed): ``ca_file`` is the bundle
    to trust, and ``env`` sets ``SSL_CERT_FILE`` to it, which flowdeck's clients read as httpx does.
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        clock: MockClock | None = None,
        *,
        ports: Mapping[str, int] | None = None,
        tls: bool = False,
    ) -> None:
        self.config = config or MockConfig()
        self.clock = clock or MockClock()
        self._mocks = {p.name: p.mock for p in _providers.providers() if p.mock is not None}
        self.providers = tuple(self._mocks)
        self.states = {p: MockState(p, self.config, self.clock) for p in self.providers}
        self.apps = {p: _app_factory(mock)(self.states[p]) for p, mock in self._mocks.items()}
        self._ports = dict(ports or {})
        if unknown := sorted(set(self._ports) - set(self.providers)):
            raise ValueError(
                f"ports: no mock provider named {', '.join(map(repr, unknown))}; "
                f"the providers are: {', '.join(self.providers)}"
            )
        self._servers: dict[str, uvicorn.Server] = {}
        self._sockets: dict[str, socket.socket] = {}
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.urls: dict[str, str] = {}
        self.replay: Replay | None = None  # served by mocks made by from_har
        self.tls = tls
        self.ca_file: str | None = None  # while served with tls=True
        self._tls_folder: str | None = None

    @classmethod
    def from_har(
        cls, path: str | os.PathLike[str], *, seconds: float = 1.0, ports: Mapping[str, int] | None = None
    ) -> MockProviders:
        """Mock providers answering with a recording's exchanges (``Client(record=...)``, a HAR file).

        Each provider answers its recorded exchanges in order, the whole recording compressed into
        ``seconds`` (a ten-minute run replays in about one); see :mod:`flowdeck.testing._replay`.
        Raises ``ValueError`` naming the file when it is no HAR.

        >>> import pathlib, tempfile
        >>> har = pathlib.Path(tempfile.mkdtemp()) / "run.har"
        >>> with MockProviders() as live, live.client(record=har) as client:
        ...     recorded = client.run("databar:flow/1", {"domain": "stripe.com"})
        >>> with MockProviders.from_har(har) as replay, replay.client() as client:  # the live mocks are gone
        ...     client.run("databar:flow/1", {"domain": "stripe.com"}).outputs == recorded.outputs
        True
        """
        from flowdeck.testing._replay import load

        mocks = cls(ports=ports)
        mocks.replay = load(os.fspath(path), mocks.providers, seconds)
        mocks.apps = {name: mocks.replay.app(name) for name in mocks.providers}
        return mocks

    def serve(self) -> MockProviders:
        """Start every mock server on 127.0.0.1 (free ports unless ``ports`` names some); or use
        ``with MockProviders() as mocks:``, which serves and stops.

        Raises :class:`PortInUse` (a ``RuntimeError``) naming the port and provider when a port asked
        for is taken.
        """
        server_pem = None
        if self.tls:
            self._tls_folder = tempfile.mkdtemp(prefix="flowdeck-mock-tls-")
            try:
                server_pem, self.ca_file = _tls_files(self._tls_folder)
            except BaseException:
                self.stop()
                raise
        self._sockets = _listen(self._ports, self.providers)
        for name in self.providers:
            config = uvicorn.Config(
                # Or injected faults would log tracebacks.
                self.apps[name],
                host="127.0.0.1",
                log_level="critical",
                lifespan="off",
                access_log=False,
                timeout_graceful_shutdown=1,
                ssl_certfile=server_pem,
            )
            config.load()
            config.http_protocol_class = _counting(config.http_protocol_class, self.states[name])
            self._servers[name] = uvicorn.Server(config)

        async def run(name: str) -> None:
            # uvicorn's SystemExit on a failed startup, else an unretrieved
            # task exception on the user's stderr.
            try:
                await self._servers[name].serve(sockets=[self._sockets[name]])
            except (Exception, SystemExit) as exc:
                self._failure = exc
                for server in self._servers.values():
                    server.should_exit = True

        async def run_all() -> None:
            await asyncio.gather(*(run(name) for name in self._servers))

        self._thread = threading.Thread(target=asyncio.run, args=(run_all(),), name="flowdeck-mocks", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not all(s.started for s in self._servers.values()):
            if time.monotonic() > deadline or not self._thread.is_alive() or self._failure is not None:
                self.stop()
                raise RuntimeError(f"mock providers did not start ({self._failure or 'not within 15 s'})")
            time.sleep(0.01)
        for name, sock in self._sockets.items():
            scheme = "https" if self.tls else "http"
            self.urls[name] = f"{scheme}://127.0.0.1:{sock.getsockname()[1]}{self._mocks[name].path}"
        return self

    def stop(self) -> None:
        """Stop the servers and wait for their thread."""
        for server in self._servers.values():
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for sock in self._sockets.values():  # uvicorn closes only sockets it served
            with contextlib.suppress(OSError):
                sock.close()
        self._sockets = {}
        if self._tls_folder is not None:
            shutil.rmtree(self._tls_folder, ignore_errors=True)
            self._tls_folder = self.ca_file = None

    def __enter__(self) -> MockProviders:
        return self if self.urls else self.serve()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """Environment variables pointing flowdeck at these mocks, with matching credentials."""
        if not self.urls:
            raise RuntimeError(_NOT_SERVING)
        env: dict[str, str] = {}
        for name, mock in self._mocks.items():
            env.update(mock.env(self.config, self.urls[name]))
        if self.ca_file is not None:
            env["SSL_CERT_FILE"] = self.ca_file
        return env

    def client(self, **options: Any) -> flowdeck.Client:
        """A :class:`flowdeck.Client` pointed at these mocks."""
        options.setdefault("env", self.env)
        return flowdeck.Client(**options)

    def async_client(self, **options: Any) -> flowdeck.AsyncClient:
        """A :class:`flowdeck.AsyncClient` pointed at these mocks."""
        options.setdefault("env", self.env)
        return flowdeck.AsyncClient(**options)

    @property
    def start_count(self) -> int:
        """Runs started across all the mocks."""
        return sum(s.start_count for s in self.states.values())

    def duplicate_starts(self) -> dict[str, dict[str, int]]:
        """Per provider, any workflow+inputs started more than once."""
        return {p: d for p, s in self.states.items() if (d := s.duplicate_starts())}
