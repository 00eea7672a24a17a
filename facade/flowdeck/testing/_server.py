"""Serve the mock providers on loopback with uvicorn, in a background thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import uvicorn

import flowdeck
from flowdeck.testing._databar import databar_app
from flowdeck.testing._gumloop import gumloop_app
from flowdeck.testing._mockcore import MockClock, MockConfig, MockState
from flowdeck.testing._stackai import stackai_app
from flowdeck.testing._superai import superai_app

PROVIDERS = ("databar", "stackai", "gumloop", "superai")
# Where each API lives on its mock server (the real base URLs' paths).
_PATHS = {"databar": "", "stackai": "", "gumloop": "/api/v1", "superai": "/api"}


class MockProviders:
    """The four mock providers, stateful and deterministic given ``config.seed``.

    >>> with MockProviders().serve() as mocks:  # doctest: +SKIP
    ...     with mocks.client() as client:
    ...         run = client.run("databar:flow/1", {"domain": "stripe.com"})
    ...     assert mocks.states["databar"].start_count == 1
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
        self.states = {p: MockState(p, self.config, self.clock) for p in PROVIDERS}
        self.apps = {
            "databar": databar_app(self.states["databar"]),
            "stackai": stackai_app(self.states["stackai"]),
            "gumloop": gumloop_app(self.states["gumloop"]),
            "superai": superai_app(self.states["superai"]),
        }
        self._ports = dict(ports or {})
        self._servers: dict[str, uvicorn.Server] = {}
        self._thread: threading.Thread | None = None
        self.urls: dict[str, str] = {}

    def serve(self) -> MockProviders:
        """Start all four servers on 127.0.0.1 (ephemeral ports unless given); use as a context manager."""
        for name in PROVIDERS:
            config = uvicorn.Config(
                # "critical": injected faults (dropped connections) would otherwise log tracebacks.
                self.apps[name], host="127.0.0.1", port=self._ports.get(name, 0), log_level="critical",
                lifespan="off", access_log=False, timeout_graceful_shutdown=1,
            )  # fmt: skip
            self._servers[name] = uvicorn.Server(config)

        async def run_all() -> None:
            await asyncio.gather(*(s.serve() for s in self._servers.values()))

        self._thread = threading.Thread(target=asyncio.run, args=(run_all(),), name="flowdeck-mocks", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not all(s.started for s in self._servers.values()):
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("mock providers did not start (port in use?)")
            time.sleep(0.01)
        for name, server in self._servers.items():
            port = server.servers[0].sockets[0].getsockname()[1]
            self.urls[name] = f"http://127.0.0.1:{port}{_PATHS[name]}"
        return self

    def stop(self) -> None:
        """Stop the servers and wait for their thread."""
        for server in self._servers.values():
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> MockProviders:
        return self if self.urls else self.serve()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    @property
    def env(self) -> dict[str, str]:
        """Environment variables pointing flowdeck at these mocks, with matching credentials."""
        c = self.config
        return {
            "DATABAR_BASE_URL": self.urls["databar"], "DATABAR_API_KEY": c.databar_key,
            "STACKAI_BASE_URL": self.urls["stackai"], "STACKAI_API_KEY": c.stackai_key,
            "GUMLOOP_BASE_URL": self.urls["gumloop"], "GUMLOOP_API_KEY": c.gumloop_key,
            "GUMLOOP_USER_ID": c.gumloop_user,
            "SUPERAI_BASE_URL": self.urls["superai"], "SUPERAI_AUTH_URL": self.urls["superai"],
            "SUPERAI_EMAIL": c.superai_email, "SUPERAI_PASSWORD": c.superai_password,
        }  # fmt: skip

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
        """Runs started across all four mocks."""
        return sum(s.start_count for s in self.states.values())

    def duplicate_starts(self) -> dict[str, dict[str, int]]:
        """Per provider, any workflow+inputs started more than once."""
        return {p: d for p, s in self.states.items() if (d := s.duplicate_starts())}
