"""Prism mock servers for the normalized specs, started and stopped by a test fixture."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import filelock
import httpx

ROOT = Path(__file__).resolve().parents[1]

# The servers this process started and still has to reap; module-level so a server another process
# is still using outlives the fixture that started it (the last user stops it, see shared_prism_servers).
_STARTED: dict[int, subprocess.Popen[bytes]] = {}


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
    urls, pids = _start(providers, startup)
    try:
        yield urls
    finally:
        _stop(pids)


@contextmanager
def shared_prism_servers(
    providers: tuple[str, ...], state_dir: Path, *, startup: float = 60.0
) -> Iterator[dict[str, str]]:
    """:func:`prism_servers`, shared by every process entering with the same ``state_dir`` (a run's xdist workers).

    Starting four Node servers costs seconds of CPU; each worker starting its own set doubled that.
    The first process in starts them; each process counts itself in and out under a file lock, and
    the last one out stops them, whichever process started them.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    state = state_dir / "prism.json"
    lock = filelock.FileLock(str(state_dir / "prism.lock"))
    with lock:
        shared: dict[str, Any] = json.loads(state.read_text()) if state.exists() else {"users": 0}
        if shared["users"] == 0:
            urls, pids = _start(providers, startup)
            shared = {"users": 0, "urls": urls, "pids": pids}
        shared["users"] += 1
        state.write_text(json.dumps(shared))
    try:
        yield dict(shared["urls"])
    finally:
        with lock:
            shared = json.loads(state.read_text())
            shared["users"] -= 1
            state.write_text(json.dumps(shared))
            if shared["users"] == 0:
                _stop(shared["pids"])


def _start(providers: tuple[str, ...], startup: float) -> tuple[dict[str, str], list[int]]:
    binary = ROOT / "node_modules" / ".bin" / "prism"
    if not binary.exists():
        raise RuntimeError("Prism is not installed: run `make install` (npm ci installs @stoplight/prism-cli)")
    env = {**os.environ, "NO_COLOR": "1"}
    # Prism's launcher is `#!/usr/bin/env node`: without node it dies at once, silently, and the loop
    # below would take that for a lost port race and relaunch it until the deadline.
    if shutil.which("node", path=env.get("PATH")) is None:
        raise RuntimeError("node not found on PATH (Prism needs it: install Node.js)")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    urls: dict[str, str] = {}

    def launch(provider: str) -> None:
        port = free_port()
        spec = ROOT / "specs" / "normalized" / f"{provider}.yaml"
        cmd = [str(binary), "mock", str(spec), "-p", str(port), "-h", "127.0.0.1"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)  # noqa: S603
        _STARTED[proc.pid] = procs[provider] = proc
        urls[provider] = f"http://127.0.0.1:{port}"

    try:
        for provider in providers:
            launch(provider)
        deadline = time.monotonic() + startup
        for provider in providers:
            while not _is_prism(urls[provider]):
                if procs[provider].poll() is not None:
                    # Another process bound the port between free_port() and Prism's start, and what
                    # answered there was that process: Prism gave up on the port. Another one.
                    _STARTED.pop(procs[provider].pid, None)
                    launch(provider)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prism for {provider} did not start in {startup:.0f} s")
                time.sleep(0.2)
    except BaseException:
        _stop([proc.pid for proc in procs.values()])
        raise
    pids = [procs[provider].pid for provider in providers]
    return urls, pids


def _is_prism(url: str) -> bool:
    """Whether Prism answers at ``url``: its 404 for ``/`` names it (any server answers *something*)."""
    try:
        return "stoplight.io/prism" in httpx.get(url, timeout=1).text
    except httpx.TransportError:
        return False


def _stop(pids: list[int], *, grace: float = 10.0) -> None:
    """Terminate each server and wait until it has exited (reaped, if this process started it)."""
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        if (proc := _STARTED.pop(pid, None)) is not None:
            proc.wait(timeout=grace)
            continue
        while not _exited(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + grace
            time.sleep(0.05)


def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited; another process's child stays a zombie until that process reaps it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"
