"""``flowdeck mock`` / ``python -m flowdeck.testing`` (one parser) and ``flowdeck demo``, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import flowdeck
import pytest
from flowdeck._cli import app
from flowdeck.testing._command import build_parser, config_from
from typer.testing import CliRunner

from tests._cli import (
    FLOWDECK,
    bash,
    env_with,
    interrupt_when,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    spawn,
)

runner = CliRunner()


MOCK_VARIABLES = {
    "DATABAR_BASE_URL", "DATABAR_API_KEY", "STACKAI_BASE_URL", "STACKAI_API_KEY", "GUMLOOP_BASE_URL",
    "GUMLOOP_API_KEY", "GUMLOOP_USER_ID", "SUPERAI_BASE_URL", "SUPERAI_AUTH_URL", "SUPERAI_EMAIL", "SUPERAI_PASSWORD",
}  # fmt: skip


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_python_m_help() -> None:
    """python -m flowdeck.testing --help is flowdeck mock's parser and serves nothing."""
    done = subprocess.run(
        [sys.executable, "-m", "flowdeck.testing", "--help"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: python -m flowdeck.testing")
    for flag in ("--fail-rate", "--rate-limit", "--latency", "--drop-rate", "--seed", "--port", "--env"):
        assert flag in done.stdout
    assert "databar:flow/x-status-failed" in done.stdout  # how to script each outcome (flowdeck.testing's table)
    assert done.stdout == build_parser().format_help()
    shared = runner.invoke(app, ["mock", "--help"])  # the same parser, under its other name
    assert shared.exit_code == 0 and shared.stdout == build_parser("flowdeck mock").format_help()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "1.5"], "argument --fail-rate: '1.5' is not between 0 and 1"),
        (["--rate-limit", "lots"], "argument --rate-limit: 'lots' is not a number"),
        (["--latency", "-1"], "argument --latency: '-1' must be 0 or more seconds"),
        (["--latency", "soon"], "argument --latency: 'soon' is not a number of seconds (or of milliseconds: 80ms)"),
        (["--jitter=-5ms"], "argument --jitter: '-5ms' must be 0 or more seconds"),
        (["--latency", "20ms", "--jitter", "30ms"], "--jitter 30ms is more than --latency 20ms"),
        (["--port", "70000"], "argument --port: '70000' is not 0 or a port"),
        (["--rate-limit", "60%", "--drop-rate", "50%"], "--rate-limit and --drop-rate add up to more than 100%"),
        (["--run-seconds", "1", "--min-run-seconds", "2"], "--min-run-seconds 2 is more than --run-seconds 1"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_mock_usage_errors(args: list[str], message: str) -> None:
    """flowdeck mock's usage errors are one line, exit 2."""
    result = runner.invoke(app, ["mock", *args])
    assert result.exit_code == 2
    assert result.stderr.strip() == "" or result.stderr.count("\n") == 1
    text = (result.stderr or result.stdout).strip()
    assert text.startswith("error: ") and message in text and text.endswith("(see flowdeck mock --help)"), text


@pytest.mark.slow
def test_eval_mock_env_in_bash(tmp_path: Path) -> None:
    """eval "$(flowdeck mock --env)" serves in the background with the fault flags."""
    script = """
        set -e
        eval "$(flowdeck mock --env --seed 4 --fail-rate 100% --run-seconds 0.1 2>mock-banner.txt)"
        echo "pid=$FLOWDECK_MOCK_PID"
        flowdeck run gumloop:anything -i topic=x --json > run.json || echo "run exit $?"
        kill "$FLOWDECK_MOCK_PID"
    """
    done = bash(script, {}, cwd=tmp_path)
    pid = int(re.search(r"pid=(\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    try:
        assert done.returncode == 0, done.stderr
        assert "run exit 1" in done.stdout  # every run fails: --fail-rate 100%
        assert json.loads((tmp_path / "run.json").read_text())["status"] == "FAILED"
        banner = (tmp_path / "mock-banner.txt").read_text()
        assert "in the background" in banner and "kill $FLOWDECK_MOCK_PID" in banner
        assert _gone(pid), "kill $FLOWDECK_MOCK_PID stops the mocks"
    finally:
        if not _gone(pid, within=0):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_tls_mock_trusted_by_hint(tmp_path: Path) -> None:
    """flowdeck mock --tls prints the CA to trust; the pasted line makes flowdeck trust it."""
    pytest.importorskip("trustme")
    script = """
        eval "$(flowdeck mock --env --tls --latency 5ms --jitter 2ms --run-seconds 0.1 2>mock-banner.txt)"
        echo "pid=$FLOWDECK_MOCK_PID"
        hint=$(grep -o 'export SSL_CERT_FILE=[^ ]*' mock-banner.txt)
        unset SSL_CERT_FILE
        flowdeck run databar:flow/x -i domain=a.com > untrusted.txt 2>&1; echo "untrusted exit $?"
        eval "$hint"
        flowdeck run databar:flow/x -i domain=a.com --json > run.json; echo "trusted exit $?"
        echo "ca=$SSL_CERT_FILE"
        kill "$FLOWDECK_MOCK_PID"
    """
    done = bash(script, {}, cwd=tmp_path)
    pid = int(re.search(r"pid=(\d+)", done.stdout).group(1))  # type: ignore[union-attr]
    try:
        assert "untrusted exit 1" in done.stdout and "trusted exit 0" in done.stdout, done.stdout
        assert "(its TLS certificate is not trusted: SSL_CERT_FILE" in (tmp_path / "untrusted.txt").read_text()
        assert json.loads((tmp_path / "run.json").read_text())["status"] == "SUCCEEDED"
        assert "+5 ± 2 ms latency" in (tmp_path / "mock-banner.txt").read_text()
        ca = Path(re.search(r"ca=(\S+)", done.stdout).group(1))  # type: ignore[union-attr]
        assert _gone(pid) and not ca.exists(), "the mocks stop, and take their CA with them"
    finally:
        if not _gone(pid, within=0):
            os.kill(pid, signal.SIGKILL)


def test_mock_env_only_exports() -> None:
    """flowdeck mock --env prints only export lines on stdout."""
    done = subprocess.run(  # noqa: S603
        [FLOWDECK, "mock", "--env"], env=env_with({}), capture_output=True, text=True, timeout=60, check=False
    )
    exports = dict(re.findall(r"^export (\w+)=(\S+)$", done.stdout, re.MULTILINE))
    pid = int(exports.get("FLOWDECK_MOCK_PID", "0"))
    try:
        assert done.returncode == 0, done.stderr
        assert len(exports) == len(done.stdout.splitlines())  # nothing but export lines
        assert set(exports) == {*MOCK_VARIABLES, "FLOWDECK_MOCK_PID"}
        assert exports["DATABAR_BASE_URL"].startswith("http://127.0.0.1:")
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            assert _gone(pid)


def test_mock_restart_new_ids() -> None:
    """A mock started again hands out new run ids, and its banner names its seed."""
    # Two lives of a mock with the same ids would let a batch resumed against the second take another
    # row's run for its own; so each start draws a seed, and says which (to reproduce it with --seed).
    assert config_from(build_parser().parse_args([])).seed != config_from(build_parser().parse_args([])).seed

    ids: list[str] = []
    seeds: list[str] = []
    for extra in ([], ["--seed"]):
        args = ["mock", "--env", *extra, *([seeds[0]] if extra else [])]
        command = [FLOWDECK, *args]
        done = subprocess.run(command, env=env_with({}), capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
        exports = dict(re.findall(r"^export (\w+)=(\S+)$", done.stdout, re.MULTILINE))
        try:
            assert done.returncode == 0, done.stderr
            seeds.append(re.findall(r"seed (\d+)", done.stderr)[0])
            env = {k: v.strip("'") for k, v in exports.items()}
            with flowdeck.Client(env=env) as client:
                ids.append(client.start("databar:flow/1", {"domain": "a.com"}).id)
        finally:
            os.kill(int(exports["FLOWDECK_MOCK_PID"]), signal.SIGTERM)
    assert seeds[0] == seeds[1] and ids[0] == ids[1]  # the banner's seed is the one served


@pytest.mark.slow
def test_mock_foreground() -> None:
    """flowdeck mock in the foreground applies faults and stops cleanly on Ctrl-C."""
    proc = spawn(["mock", "--rate-limit", "100%", "--retry-after", "0", "--latency", "0.2", "--seed", "1"], {})
    try:
        assert proc.stdout is not None
        exports: dict[str, str] = {}
        while set(exports) != MOCK_VARIABLES:
            line = proc.stdout.readline()
            assert line, "the mock ended before printing every variable"
            key, value = line.removeprefix("export ").strip().split("=", 1)
            exports[key] = value
        started = time.monotonic()
        refused = bash("flowdeck run databar:flow/x -i domain=a", exports)
        assert refused.returncode == 1 and "HTTP 429" in refused.stderr, refused.stderr
        assert time.monotonic() - started > 0.2 * 3  # three attempts, each 0.2 s late
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 130, stderr
        assert "serving four mock providers" in stderr and "stopping" in stderr and "Traceback" not in stderr
    finally:
        if proc.poll() is None:  # a failed assertion must not leave the mocks serving
            proc.kill()
            proc.communicate()


def test_mock_busy_port(tmp_path: Path) -> None:
    """A busy port is one line and a usage error."""

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(  # noqa: S603
            [FLOWDECK, "mock", "--port", str(port)], env=env_with({}), capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""  # the port was the user's choice: 2, like every usage error
    assert done.stderr.strip() == (
        f"error: port {port} (for databar) is not free (Address already in use); "
        "pick another --port, or 0 for free ones"
    )


# --- demo -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flowdeck demo explains its scripted failures, cleans up, and leaves the environment alone."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = dict(os.environ)
    result = runner.invoke(app, ["demo", "--rows", "32"])  # row 32 is the first scripted SuperAI refusal
    assert result.exit_code == 0, result.output
    assert dict(os.environ) == before
    assert list(tmp_path.iterdir()) == []  # the demo's temporary folder is gone
    text = " ".join(result.stdout.split())
    assert "scripted to fail" in text and "duplicate starts: 0" in text
    assert "FAILED (" in text and "REJECTED (1): superai" in text
    # The summary's runs are the runs the mocks saw (a bulk task runs many Databar rows as one).
    runs = re.search(r"started now as (\d+) runs", text)
    assert runs is not None and f"runs started at the mocks: {runs[1]};" in text, text


@pytest.mark.slow
def test_demo_interrupted(tmp_path: Path) -> None:
    """flowdeck demo interrupted says to start over and cleans up."""
    proc = spawn(["demo", "--rows", "200"], {"TMPDIR": str(tmp_path)})

    def started() -> bool:
        return any((p / "results.jsonl.flowdeck-state.jsonl").exists() for p in tmp_path.iterdir())

    _, stderr = interrupt_when(proc, started)
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert "run `flowdeck demo` again to start over" in stderr and "--rows" not in stderr
    assert list(tmp_path.iterdir()) == []


# --- the README's command-line block --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("jq") is None, reason="the README pipes into jq")
def test_readme_cli_block(tmp_path: Path) -> None:
    """The README's command-line block runs as written."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "flowdeck mock --env" in b)
    cleanup = "trap 'kill ${FLOWDECK_MOCK_PID:-} 2>/dev/null || true' EXIT\nset -eo pipefail\n"
    # The block as written, but the mock's runs last a fifth of a second instead of its default 1-2 s:
    # the commands, their output and the files they write are the same, seconds sooner.
    assert block.count('"$(flowdeck mock --env)"') == 1, block
    block = block.replace('"$(flowdeck mock --env)"', '"$(flowdeck mock --env --run-seconds 0.2)"')
    done = bash(cleanup + block, {}, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "--map 'Company Domain=domain'" in done.stdout  # what the block's comment says --check suggests
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {"row": 2, "status": "SUCCEEDED"}.items() <= lines[-2].items()
    assert {"row": 3, "status": "SUCCEEDED"}.items() <= lines[-1].items()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_mock_signal_exit_code(signum: signal.Signals, code: int) -> None:
    """flowdeck mock stopped by SIGINT or SIGTERM exits 128 plus the signal's number."""
    # 0 would tell a script or supervisor that the mocks ended by themselves; the batch's codes say which
    # signal stopped them (128 + its number).
    proc = spawn(["mock", "--seed", "1"], {})
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("export "), "the mocks are serving"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stderr.endswith("flowdeck mock: stopping\n") and "Traceback" not in stderr


def test_mock_start_quota_zero() -> None:
    """flowdeck mock --start-quota 0 is refused saying why, exit 2."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [FLOWDECK, "mock", "--start-quota", "0"], env=env_with({}), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert "--start-quota: '0': give the starts per second the mocks accept, more than 0" in done.stderr


def test_demo_rows_bounded() -> None:
    """flowdeck demo refuses a row count beyond its bound before making any row."""
    result = runner.invoke(app, ["demo", "--rows", "99999999999999999999999"])
    assert result.exit_code == 2, result.output
    assert "not in the range 1<=x<=100000" in result.stderr and result.stdout == ""


@pytest.mark.slow
def test_demo_sigterm_early(tmp_path: Path) -> None:
    """SIGTERM while the demo makes its rows exits 143 with the Interrupted line."""
    proc = spawn(["demo", "--rows", "100000"], {"TMPDIR": str(tmp_path)})
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("flowdeck demo: 100000 rows")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Interrupted." in stderr and "Traceback" not in stderr


def test_mock_sighup_exits_129() -> None:
    """flowdeck mock in the foreground stops on SIGHUP with 129, as the other commands do."""
    proc = spawn(["mock"], {})
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("export ")  # serving
    proc.send_signal(signal.SIGHUP)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 129, stderr
    assert "Traceback" not in stderr
