"""The testing kit's page: its shell and TOML blocks work as written, and it names only public things."""

# ruff: noqa: S603 - our own interpreter, pip and pytest, on a wheel of this repository

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import flowdeck.testing
import pytest
from flowdeck.testing._command import build_parser, config_from

from tests._cli import bash

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", PAGE, re.S | re.M)


def _gone(pid: int, within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return False


def test_shell_blocks_run_as_written(tmp_path: Path) -> None:
    """Each bash block of the page runs in bash as pasted, and leaves no mock serving."""
    (tmp_path / "leads.csv").write_text("domain\nstripe.com\nacme.com\n")
    blocks = [body for lang, body in BLOCKS if lang == "bash"]
    assert blocks
    for body in blocks:
        done = bash(body + '\necho "mock=$FLOWDECK_MOCK_PID"\n', {}, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "ready" in done.stdout + done.stderr and "Traceback" not in done.stderr, done.stderr
        pid = int(re.findall(r"mock=(\d+)", done.stdout)[0])
        assert _gone(pid), "the block's kill stops the mocks"


@pytest.mark.parametrize("body", [b for lang, b in BLOCKS if lang == "toml"])
def test_toml_blocks_are_mock_configs(body: str, tmp_path: Path) -> None:
    """Each TOML block of the page is a mock.toml flowdeck mock accepts."""
    (tmp_path / "mock.toml").write_text(body)
    config = config_from(build_parser().parse_args(["--config", str(tmp_path / "mock.toml")]))
    assert config.seed == 5 and config.databar_flows["enrich"] == {"domain": True, "company": False}


def test_page_names_only_public_things() -> None:
    """The page points at no private module, no file of this repository, and only names flowdeck.testing has."""
    assert not re.findall(r"flowdeck\._\w+|_\w+\.py|contract_tests|specs/|tests/|\.venv|`make ", PAGE)
    named = set(re.findall(r"flowdeck\.testing\.(\w+)", PAGE)) | set(
        re.findall(r"from flowdeck\.testing import ([\w, ]+)", PAGE)
    )
    names = {n.strip() for group in named for n in group.split(",")}
    assert names and all(hasattr(flowdeck.testing, n) for n in names), names - set(dir(flowdeck.testing))


@pytest.mark.slow
def test_examples_pass_as_installed(tmp_path: Path) -> None:
    """The page's pytest examples pass in a fresh venv holding exactly what its install line installs."""
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*build, str(ROOT)], check=True, timeout=120)
    [wheel] = tmp_path.glob("flowdeck-*.whl")
    [line] = {found for found in re.findall(r"`pip install ([^`]+)`", PAGE) if "pytest" in found}
    packages = [f"flowdeck[testing] @ {wheel.as_uri()}" if p == "flowdeck[testing]" else p for p in shlex.split(line)]
    assert packages[0].startswith("flowdeck[testing] @"), line
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    install = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python, "install"]
    subprocess.run([*install, "--no-compile", "-q", *packages], check=True, timeout=300, env=env)
    project = tmp_path / "project"
    project.mkdir()
    examples = [body for lang, body in BLOCKS if lang == "python" and "def test_" in body]
    for i, body in enumerate(examples):
        (project / f"test_example_{i}.py").write_text(body, encoding="utf-8")
    done = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", str(project)],
        cwd=project, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:]
