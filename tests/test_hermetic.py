"""Nothing in the caller's environment changes a test's result, nor what the processes it starts see."""

# ruff: noqa: S603 - the test's own interpreter, running the suite's own tests

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Tests that start processes (an inner pytest, the flowdeck script, python -c) or read the environment
# (credentials, colours, an httpx client's proxy).
SAMPLE = [
    "tests/test_package.py::test_wheel_without_extras",
    "tests/test_package.py::test_clients_load_no_provider_code",
    "tests/test_cli_errors.py::test_missing_credentials_name_the_variable",
    "tests/test_cli.py::test_piped_output_is_never_wrapped",
    "tests/test_cli_mock.py::test_mock_env_only_exports",
    "tests/test_transport.py::test_users_http_client",
    "tests/test_cli_signals.py::test_importer_keeps_its_ctrl_c",
]


def _as_a_background_job() -> None:
    """What a shell does to a job started with ``&``: Ctrl-C is ignored, and inherited so."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
def test_sample_passes_in_a_hostile_env(tmp_path: Path) -> None:
    """A sample passes for a caller with pytest options, PYTHONPATH, credentials, a proxy, Ctrl-C ignored."""
    site = tmp_path / "site"
    site.mkdir()
    # Imported by every interpreter that sees PYTHONPATH: a line on stderr and a module in sys.modules.
    (site / "sitecustomize.py").write_text("import sys, decimal\nsys.stderr.write('hostile sitecustomize\\n')\n")
    hostile = {
        **os.environ,
        "PYTEST_ADDOPTS": "-x --timeout=90",  # valid here; unknown to a venv without pytest-timeout
        "PYTHONPATH": str(site),
        "DATABAR_API_KEY": "hostile-key", "DATABAR_BASE_URL": "http://127.0.0.1:9",
        "GUMLOOP_API_KEY": "hostile-key", "SUPERAI_TOKEN": "hostile-token",
        "FORCE_COLOR": "1", "COLUMNS": "30",
        "HTTP_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",  # a proxy nobody listens on
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SAMPLE],
        env=hostile, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
        preexec_fn=_as_a_background_job,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"{len(SAMPLE)} passed" in done.stdout, done.stdout[-4000:]
