"""Ctrl-C and SIGTERM while the command imports, starts a run, waits for one or runs a batch: what it
says (as JSON too), what it leaves, and that the command it prints resumes without starting a run twice.

A loopback server that accepts connections and never answers holds requests in flight, so a signal
lands exactly while the pre-flight's read, or some starts, are on the way.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import json
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flowdeck
import flowdeck.__main__ as entry
import pytest
from flowdeck import Client, Run
from flowdeck._cli import app
from flowdeck.testing import MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    FLOWDECK,
    bash,
    env_with,
    interrupt_when,
    jsonl,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
    spawn,
)

runner = CliRunner()


@pytest.fixture
def long_mocks() -> Iterator[MockProviders]:
    """Mock providers whose runs take 20 s: still going when a test interrupts the command."""
    with MockProviders(MockConfig(seed=5, run_seconds=(20.0, 20.0))) as mocks:
        yield mocks


@pytest.fixture
def long_mocks_env(long_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of ``long_mocks``, set for commands run in process."""
    for key, value in long_mocks.env.items():
        monkeypatch.setenv(key, value)
    return long_mocks.env


def _started_lines(state: Path) -> int:
    return state.read_text().count('"event": "started"') if state.exists() else 0


# Loaded by the interpreter at start-up (site imports sitecustomize from PYTHONPATH): sends the process
# SIGINT at the moment the named module starts to load, as a Ctrl-C in that fraction of a second would.
SIGINT_AT = textwrap.dedent(
    """
    import os, signal, sys
    class _CtrlC:
        def find_spec(self, name, path, target=None):
            if name == os.environ["FLOWDECK_TEST_SIGINT_AT"]:
                os.kill(os.getpid(), signal.SIGINT)
            return None
    sys.meta_path.insert(0, _CtrlC())
    """
)


def _interrupted_at(module: str, argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "sitecustomize.py").write_text(SIGINT_AT)
    env = env_with({"PYTHONPATH": str(tmp_path), "FLOWDECK_TEST_SIGINT_AT": module})
    return subprocess.run(  # noqa: S603 - our own command and interpreter
        argv, env=env, capture_output=True, text=True, timeout=60, check=False
    )


COMMANDS = {"console script": [FLOWDECK, "doctor"], "python -m": [sys.executable, "-m", "flowdeck", "doctor"]}


class _InterruptImport(importlib.abc.MetaPathFinder):
    """Ctrl-C arriving while the command line's modules load (a second or more on a slow machine)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "flowdeck._cli":
            raise KeyboardInterrupt
        return None


SIGNALS = [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")]


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


def test_ctrl_c_starting_up(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while starting up is one line and exit 130."""
    monkeypatch.delitem(sys.modules, "flowdeck._cli")
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 130
    assert capsys.readouterr().err == "flowdeck: interrupted while starting up; nothing was sent\n"


@pytest.mark.parametrize("how", COMMANDS)
@pytest.mark.parametrize(
    "module",
    [
        "flowdeck._client",  # inside `import flowdeck`, before any of the command's own code has run
        "flowdeck._cli",  # the command line's modules (typer, rich)
    ],
)
def test_ctrl_c_during_imports(how: str, module: str, tmp_path: Path) -> None:
    """Ctrl-C while the command imports is one line, exit 130, nothing on stdout."""
    done = _interrupted_at(module, COMMANDS[how], tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "flowdeck: interrupted while starting up; nothing was sent\n"
    assert done.stdout == ""


def test_importer_keeps_its_ctrl_c(tmp_path: Path) -> None:
    """A program importing flowdeck keeps its own Ctrl-C handling."""
    # Only the flowdeck command changes what Ctrl-C does while it starts: a program's import raises
    # KeyboardInterrupt, for the program to handle.
    script = "try:\n    import flowdeck\nexcept KeyboardInterrupt:\n    print('mine')\n"
    done = _interrupted_at("flowdeck._client", [sys.executable, "-c", script], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "mine\n", "")
    after = _interrupted_at("nothing", [sys.executable, "-c", "import flowdeck, signal; print(signal.getsignal(2))"],
                            tmp_path)  # fmt: skip
    assert after.stdout.strip() == str(signal.default_int_handler), after.stderr


def test_ctrl_c_waiting_json(long_mocks_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while waiting prints the last polled state as JSON."""
    real_wait = Client.wait

    def ctrl_c_after_a_poll(self: Client, run: Run, **kwargs: Any) -> Run:
        try:
            real_wait(self, run, timeout=1.5, raise_on_failure=False)  # Gumloop: STARTED, then RUNNING
        except flowdeck.WaitTimeout:
            raise KeyboardInterrupt from None
        raise AssertionError("the 20 s run ended")

    monkeypatch.setattr(Client, "wait", ctrl_c_after_a_poll)
    result = runner.invoke(app, ["run", "gumloop:long", "-i", "topic=x", "--json"])
    assert result.exit_code == 130, result.output
    printed = json.loads(result.stdout)
    assert (printed["status"], printed["provider_status"], printed["interrupted"]) == ("RUNNING", "RUNNING", True)
    assert "(RUNNING) goes on at gumloop" in result.stderr


def test_ctrl_c_starting_json(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while starting prints a JSON object too, exit 130."""

    def interrupted(self: Client, *args: Any, **kwargs: Any) -> Run:
        raise KeyboardInterrupt

    monkeypatch.setattr(Client, "start", interrupted)
    result = runner.invoke(app, ["run", "gumloop:x", "-i", "topic=x", "--json"])
    assert result.exit_code == 130
    printed = json.loads(result.stdout)
    assert printed["interrupted"] is True and printed["workflow"] == "gumloop:x"
    assert printed["error"].startswith("interrupted while starting gumloop:x")


@pytest.mark.slow
def test_ctrl_c_during_run(long_mocks: MockProviders) -> None:
    """Ctrl-C while a run is waited on prints its id and how to follow it."""
    proc = spawn(["run", "gumloop:long-one", "-i", "topic=x"], long_mocks.env)
    polled = long_mocks.states["gumloop"].calls
    _, stderr = interrupt_when(proc, lambda: polled["get_pipeline_run"] > 0)  # started, now waiting
    assert proc.returncode == 130, stderr
    (run_id,) = long_mocks.states["gumloop"].runs
    assert run_id in stderr and "goes on at gumloop" in stderr and "Traceback" not in stderr
    hints = [line.strip() for line in stderr.splitlines() if line.strip().startswith("flowdeck ")]
    assert hints == [f"flowdeck status gumloop {run_id}", f"flowdeck cancel gumloop {run_id}"]
    pasted = bash(hints[0] + " --json", long_mocks.env)  # the hint, pasted into a shell, follows the run
    assert pasted.returncode == 0, pasted.stderr
    assert json.loads(pasted.stdout)["status"] == "RUNNING"
    cancelled = bash(hints[1], long_mocks.env)
    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout, cancelled.stderr


@pytest.mark.slow
def test_sighup_during_run(long_mocks: MockProviders) -> None:
    """SIGHUP while a run is waited on prints the run and how to follow it, exit 129."""
    proc = spawn(["run", "gumloop:long-hup", "-i", "topic=x", "--json"], long_mocks.env)
    polled = long_mocks.states["gumloop"].calls
    stdout, stderr = signal_when(proc, lambda: polled["get_pipeline_run"] > 0, signal.SIGHUP)
    assert proc.returncode == 129, stderr
    printed = json.loads(stdout)
    assert printed["interrupted"] is True and printed["workflow"] == "gumloop:long-hup"
    assert f"flowdeck status gumloop {printed['run_id']}" in stderr and "Traceback" not in stderr


@pytest.mark.slow
def test_ctrl_c_stackai_run(long_mocks: MockProviders) -> None:
    """Ctrl-C while a StackAI run starts says it may or may not have started."""
    proc = spawn(["run", "stackai:acme/long", "-i", "in-0=x"], long_mocks.env)
    _, stderr = interrupt_when(proc, lambda: long_mocks.states["stackai"].start_count == 1)
    assert proc.returncode == 130
    assert stderr.strip().splitlines() == [
        "error: interrupted while starting stackai:acme/long: the run may or may not have started; check at stackai"
    ]


@pytest.mark.slow
def test_ctrl_c_printed_resume(slow_mocks: MockProviders, tmp_path: Path) -> None:
    """After Ctrl-C, the printed command pasted into a shell resumes the batch."""
    folder = tmp_path / "my leads (v2)"
    folder.mkdir()
    csv = folder / "leads & co.csv"
    csv.write_text("Company Topic\n" + "".join(f"t{i}\n" for i in range(12)))
    out = folder / "out.jsonl"
    args = [
        "batch",
        "gumloop:ctrl-c",
        str(csv),
        "--out",
        str(out),
        "--concurrency",
        "4",
        "--map",
        "Company Topic=topic",
        "--no-check",
        "--json",
    ]
    proc = spawn(args, slow_mocks.env)
    _, stderr = interrupt_when(proc, lambda: _started_lines(state_of(out)) >= 2)
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert "To resume (no run is started twice), run:" in stderr
    hint = stderr.strip().splitlines()[-1].strip()
    assert "'Company Topic=topic'" in hint and shlex.quote(str(csv)) in hint
    assert "--no-check" in hint and "--json" in hint  # a script piping the summary into jq keeps working
    pasted = bash(hint, slow_mocks.env, cwd=tmp_path)
    assert pasted.returncode in (0, 1), pasted.stderr
    assert json.loads(pasted.stdout)["total"] == 12
    rows = results(out)
    assert [r["row"] for r in rows] == list(range(2, 14))
    assert {r["status"] for r in rows} <= {"SUCCEEDED", "UNKNOWN"}
    assert slow_mocks.duplicate_starts() == {}


@pytest.mark.parametrize(
    "command",
    [
        "flowdeck run databar:flow/enrich -i domain=a.com | head -c 0",
        "flowdeck batch databar:flow/enrich in.csv --out out.jsonl | head -c 0",
    ],
    ids=["run", "batch"],
)
def test_closed_pipe_exits_141(mock_env: dict[str, str], tmp_path: Path, command: str) -> None:
    """A reader that went away (| head) ends the command quietly with 141, not 1."""
    (tmp_path / "in.csv").write_text("domain\na.com\n", encoding="utf-8")
    result = bash(command + '; echo "rc=${PIPESTATUS[0]}"', mock_env, cwd=tmp_path)
    assert result.stdout.strip() == "rc=141", result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.slow
def test_sigterm_counts_bulk_tasks(long_mocks: MockProviders, tmp_path: Path) -> None:
    """SIGTERM over bulk tasks counts the tasks going on, not one run a row."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(40)])
    out = tmp_path / "out.jsonl"
    args = ["batch", "databar:flow/bulkterm", str(inputs), "--out", str(out), "--bulk", "7", "--no-check", "--json"]
    proc = spawn(args, long_mocks.env)
    stdout, stderr = signal_when(proc, lambda: count(state_of(out), "bulk_started") >= 6, signal.SIGTERM)
    assert proc.returncode == 143, stderr
    assert "Interrupted (SIGTERM): of 40 rows, 0 finished, 40 rows go on at the provider as 6 runs" in stderr
    summary = json.loads(stdout)
    assert (summary["going_on"], summary["runs_going_on"]) == (40, 6)
