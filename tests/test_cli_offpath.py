"""The command line off the happy path, found by trying it as a new user would: Ctrl-C while it starts,
signals to the mock providers, cancelling an ended run, an input given twice, a read-only --out folder,
UTF-16 without a BOM, and a key too short to scrub inside words. Each drives the real command.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests._cli import (
    FLOWDECK,
    env_with,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    spawn,
)

# --- Ctrl-C while the command is still importing ----------------------------------------------------

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


@pytest.mark.parametrize("how", COMMANDS)
@pytest.mark.parametrize(
    "module",
    [
        "flowdeck._client",  # inside `import flowdeck`, before any of the command's own code has run
        "flowdeck._cli",  # the command line's modules (typer, rich)
    ],
)
def test_ctrl_c_while_the_command_imports_is_one_line_and_exit_130(how: str, module: str, tmp_path: Path) -> None:
    done = _interrupted_at(module, COMMANDS[how], tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr == "flowdeck: interrupted while starting up; nothing was sent\n"
    assert done.stdout == ""


def test_a_program_importing_flowdeck_keeps_its_own_ctrl_c(tmp_path: Path) -> None:
    # Only the flowdeck command changes what Ctrl-C does while it starts: a program's import raises
    # KeyboardInterrupt, for the program to handle.
    script = "try:\n    import flowdeck\nexcept KeyboardInterrupt:\n    print('mine')\n"
    done = _interrupted_at("flowdeck._client", [sys.executable, "-c", script], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "mine\n", "")
    after = _interrupted_at("nothing", [sys.executable, "-c", "import flowdeck, signal; print(signal.getsignal(2))"],
                            tmp_path)  # fmt: skip
    assert after.stdout.strip() == str(signal.default_int_handler), after.stderr


# --- flowdeck mock stopped by a signal ------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_mock_stopped_by_a_signal_exits_as_the_batch_does(signum: signal.Signals, code: int) -> None:
    # 0 would tell a script or supervisor that the mocks ended by themselves; the batch's codes say which
    # signal stopped them (128 + its number).
    proc = spawn(["mock", "--seed", "1"], {})
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("export "), "the mocks are serving"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stderr.endswith("flowdeck mock: stopping\n") and "Traceback" not in stderr
