"""Helpers for driving the real ``flowdeck`` command: in a subprocess, under a pseudo-terminal, in bash."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

BIN = Path(sys.executable).parent
FLOWDECK = str(BIN / "flowdeck")
STYLE = re.compile(r"\x1b\[[0-9;]*m")  # colours: part of a line
CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # cursor moves, erases: between lines


def env_with(extra: Mapping[str, str]) -> dict[str, str]:
    """The test process's environment plus ``extra``, without the flowdeck variables of the host."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABAR_", "STACKAI_", "GUMLOOP_", "SUPERAI_"))}
    return {**base, **extra}


_spawned: list[subprocess.Popen[str]] = []


def spawn(args: list[str], env: Mapping[str, str], **kwargs: Any) -> subprocess.Popen[str]:
    """``flowdeck <args>`` in a subprocess, stdout and stderr piped, text mode (killed after the test)."""
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [FLOWDECK, *args], env=env_with(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    _spawned.append(proc)
    return proc


@pytest.fixture(autouse=True)
def reap_spawned() -> Iterator[None]:
    """Every process a test spawned is gone after it, whatever the test's outcome."""
    yield
    while _spawned:
        proc = _spawned.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def flowdeck(args: list[str], env: Mapping[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``flowdeck <args>`` to completion."""
    return subprocess.run(  # noqa: S603 - our own CLI
        [FLOWDECK, *args], env=env_with(env), capture_output=True, text=True, timeout=timeout, check=False
    )


def bash(
    script: str, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``script`` pasted into a real shell, with the venv's scripts on PATH (as an activated venv has)."""
    full = env_with(env)
    full["PATH"] = f"{BIN}{os.pathsep}{full.get('PATH', '')}"
    return subprocess.run(  # noqa: S603 - a shell is the point: the user pastes commands into one
        ["/bin/bash", "-c", script], env=full, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def interrupt_when(proc: subprocess.Popen[str], ready: Callable[[], bool], within: float = 30) -> tuple[str, str]:
    """Send SIGINT (Ctrl-C) once ``ready()`` holds; returns (stdout, stderr) after the process ends."""
    deadline = time.monotonic() + within
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=30)


@attrs.frozen
class TerminalRun:
    """A command run with stderr on a pseudo-terminal (as a user sees it) and stdout piped."""

    returncode: int
    stdout: str
    screen: str  # what stderr wrote to the terminal, escape sequences included

    @property
    def lines(self) -> list[str]:
        """The terminal output as the separate lines and redraws it was made of, escapes removed."""
        plain = CONTROL.sub("\n", STYLE.sub("", self.screen))
        return [part.strip() for part in re.split(r"[\r\n]", plain) if part.strip()]


def in_terminal(args: list[str], env: Mapping[str, str], timeout: float = 90) -> TerminalRun:
    """``flowdeck <args>`` with stderr on a 200-column pseudo-terminal, so rich draws its live display."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    full = env_with({**env, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"})
    for variable in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CI"):
        full.pop(variable, None)
    proc = subprocess.Popen(  # noqa: S603 - our own CLI
        [FLOWDECK, *args], env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal
    )
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.1)
            if ready:
                try:
                    data = os.read(controller, 65536)
                except OSError:  # EIO: the terminal's other end is closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        stdout, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return TerminalRun(proc.returncode, stdout.decode(), b"".join(chunks).decode(errors="replace"))


def results(path: Path) -> list[dict[str, Any]]:
    """Every line of a results file, in file order."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_line_error(result: Any, code: int = 2) -> str:
    """The single stderr line of a failed command; fails the test on a traceback or several lines."""
    assert result.exit_code == code, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return str(lines[0])


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """``rows`` written to ``path`` as JSON Lines (an input file for ``flowdeck batch``)."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: a connection to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
