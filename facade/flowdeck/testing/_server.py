"""Serve the mock providers on loopback with uvicorn, in a background thread.

Which mocks exist, and how to point flowdeck at each, comes from the provider registry: every
registered provider that declares a ``MockSpec`` is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import socket
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
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        clock: MockClock | None = None,
        *,
        ports: Mapping[str, int] | None = None,
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
        self._sockets = _listen(self._ports, self.providers)
        for name in self.providers:
            config = uvicorn.Config(
                # Or injected faults would log tracebacks.
                self.apps[name], host="127.0.0.1", log_level="critical",
                lifespan="off", access_log=False, timeout_graceful_shutdown=1,
            )  # fmt: skip
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
            self.urls[name] = f"http://127.0.0.1:{sock.getsockname()[1]}{self._mocks[name].path}"
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
