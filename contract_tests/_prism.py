"""Prism mock servers for the normalized specs, started and stopped by a test fixture."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prism_servers(providers: tuple[str, ...], *, startup: float = 60.0) -> Iterator[dict[str, str]]:
    """One ``prism mock`` per provider's normalized spec; yields ``{provider: base_url}``.

    Prism serves the spec's paths at its root (it ignores the server URL's path), validates each
    request against the spec (security included: a missing credential is a 401) and answers from
    the spec's examples and schemas; ``Prefer: code=N`` picks a documented status.
    """
    binary = ROOT / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        raise RuntimeError("Prism is not installed: run `make install` (npm ci installs @stoplight/prism-cli)")
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    env = {**os.environ, "NO_COLOR": "1"}
    try:
        for provider in providers:
            port = free_port()
            spec = ROOT / "specs" / "normalized" / f"{provider}.yaml"
            cmd = [str(binary), "mock", str(spec), "-p", str(port), "-h", "127.0.0.1"]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))  # noqa: S603
            urls[provider] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + startup
        for provider, url in urls.items():
            while True:
                try:
                    httpx.get(url, timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"Prism for {provider} did not start in {startup:.0f} s") from None
                    time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)
