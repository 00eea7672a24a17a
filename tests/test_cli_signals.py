"""``flowdeck batch`` stopped by Ctrl-C or SIGTERM, in a real subprocess: what it says, what it leaves,
and that the command it prints resumes (pasted into a real shell) without starting any run twice.

A loopback server that accepts connections and never answers holds requests in flight, so a signal
lands exactly while the pre-flight's read, or some starts, are on the way.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flowdeck.testing import MockConfig, MockProviders

from tests._cli import (
    bash,
    interrupt_when,
    jsonl,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
    spawn,
)

SIGNALS = [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")]


@contextlib.contextmanager
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A loopback port that accepts connections and never answers; yields (port, accepted connections)."""
    accepted: list[socket.socket] = []
    stop = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.05)

        def serve() -> None:
            while not stop.is_set():
                try:
                    accepted.append(listener.accept()[0])
                except TimeoutError:
                    continue

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield listener.getsockname()[1], accepted
        finally:
            stop.set()
            thread.join()
            for conn in accepted:
                conn.close()


def signal_when(proc: object, ready: Callable[[], bool], signum: int) -> tuple[str, str]:
    import subprocess

    assert isinstance(proc, subprocess.Popen)
    if signum == signal.SIGINT:
        return interrupt_when(proc, ready)
    deadline = time.monotonic() + 30
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never ready"
        time.sleep(0.02)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    return str(out), str(err)


def state_of(out: Path) -> Path:
    return out.with_name(out.name + ".flowdeck-state.jsonl")


def count(path: Path, event: str) -> int:
    return path.read_text().count(f'"event": "{event}"') if path.exists() else 0


@pytest.fixture
def slow_mocks() -> Iterator[MockProviders]:
    # Nothing ends before the client's first poll, half a second after its start: a signal sent when
    # starts are journalled lands with those runs in flight however short they are.
    with MockProviders(MockConfig(seed=5, run_seconds=(0.1, 0.4))) as mocks:
        yield mocks


@pytest.mark.slow
def test_sigterm_mid_batch(slow_mocks: MockProviders, tmp_path: Path) -> None:
    """SIGTERM mid-batch stops like Ctrl-C, and the printed command resumes."""
    n = 12
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = ["-v", "batch", "gumloop:term", str(inputs), "--out", str(out), "--concurrency", "3", "--json"]
    proc = spawn(args, slow_mocks.env)
    stdout, stderr = signal_when(proc, lambda: count(state_of(out), "started") >= 2, signal.SIGTERM)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    assert "Interrupted (SIGTERM): of 12 rows" in stderr
    hint = stderr.strip().splitlines()[-1].strip()
    assert " -v batch gumloop:term " in hint, hint  # the global -v is kept
    assert hint.endswith("--concurrency 3 --json"), hint
    summary = json.loads(stdout)  # --json: a script piping into jq learns what happened too
    assert summary["interrupted"] == "SIGTERM" and summary["resume"] == hint and summary["total"] == n
    assert summary["going_on"] >= 2
    lines = out.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # whole lines only: the journal was flushed, not cut
    pasted = bash(hint, slow_mocks.env, cwd=tmp_path)
    assert pasted.returncode in (0, 1), pasted.stderr
    assert json.loads(pasted.stdout)["total"] == n
    assert [r["row"] for r in results(out)] == list(range(1, n + 1))
    assert slow_mocks.duplicate_starts() == {}


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "name"), SIGNALS)
def test_signal_in_pre_flight(tmp_path: Path, signum: int, code: int, name: str) -> None:
    """A signal during the pre-flight check says nothing was started."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": "a.com"}, {"domain": "b.com"}])
    out = tmp_path / "out.jsonl"
    with silent_server() as (port, accepted):
        env = {"DATABAR_API_KEY": "k", "DATABAR_BASE_URL": f"http://127.0.0.1:{port}"}
        proc = spawn(["batch", "databar:flow/f1", str(inputs), "--out", str(out)], env)
        _, stderr = signal_when(proc, lambda: len(accepted) >= 1, signum)  # the pre-flight's read is on the way
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert lines == [f"error: interrupted during the pre-flight check: nothing was started and {out} was not written"]
    assert not out.exists() and not state_of(out).exists()


@pytest.mark.slow
def test_starts_in_flight_at_ctrl_c(slow_mocks: MockProviders, tmp_path: Path) -> None:
    """Starts in flight at Ctrl-C are explained, and the resume never starts them."""
    n = 8
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = ["batch", "gumloop:inflight", str(inputs), "--out", str(out), "--concurrency", "3"]
    with silent_server() as (port, accepted):
        proc = spawn(args, {**slow_mocks.env, "GUMLOOP_BASE_URL": f"http://127.0.0.1:{port}/api/v1"})
        _, stderr = interrupt_when(proc, lambda: count(state_of(out), "intent") >= 3 and len(accepted) >= 3)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "Interrupted (Ctrl-C): of 8 rows, 0 finished, 3 starts of unknown outcome (UNKNOWN), 5 not started" in (
        stderr
    )
    assert "UNKNOWN, rows 1, 2, 3: their start requests were on the way when the batch stopped. " in stderr
    assert "Gumloop may have started the pipeline run; look in the flow's run history at Gumloop" in stderr
    assert "The resume below leaves these rows UNKNOWN and never starts them again by itself" in stderr
    hint = stderr.strip().splitlines()[-1].strip()
    assert "--retry-unknown" not in hint
    pasted = bash(hint, slow_mocks.env, cwd=tmp_path)  # the real mocks now: the other rows run
    assert pasted.returncode == 1, pasted.stderr
    statuses = {r["row"]: r["status"] for r in results(out)}
    assert statuses == {1: "UNKNOWN", 2: "UNKNOWN", 3: "UNKNOWN", **{i: "SUCCEEDED" for i in range(4, n + 1)}}
    assert slow_mocks.states["gumloop"].start_count == n - 3  # the UNKNOWN rows were never started again
    assert "Gumloop may have started the pipeline run" in pasted.stdout  # the summary's next step says it too
    assert "--retry-unknown" in pasted.stdout


@pytest.mark.slow
def test_full_disk(
    tmp_path: Path,
) -> None:
    """A full disk ends the batch in one line, leaves whole lines, and the printed command resumes."""
    # A file size limit (ulimit -f) stands in for a full disk: writes past it fail as ENOSPC would.
    n = 40
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(n)])
    out = tmp_path / "out.jsonl"
    with MockProviders(MockConfig(seed=8, run_seconds=(0.0, 0.1))) as mocks:
        limited = bash(
            f"ulimit -f 4; trap '' XFSZ; exec flowdeck batch databar:flow/enrich {inputs} --out {out} --bulk 1 "
            "--concurrency 8",
            mocks.env,
            cwd=tmp_path,
        )
        assert limited.returncode == 1, limited.stderr
        # The last line, one line: not followed by aiohttp's "Unclosed client session" (rows still sending
        # after the end, on a pool opened after the client closed).
        last = limited.stderr.strip().splitlines()[-1]
        assert last.startswith("error: cannot write ") and "Unclosed" not in limited.stderr, limited.stderr
        for path in (out, state_of(out)):  # no half line for a resume to trip on
            assert all(json.loads(line) for line in path.read_text().splitlines())
        resume = last.split("(no run is started twice): ", 1)[1]
        again = bash(resume, mocks.env, cwd=tmp_path)
        assert again.returncode in (0, 1), again.stderr
        assert [r["row"] for r in results(out)] == list(range(1, n + 1))
        assert mocks.duplicate_starts() == {}
