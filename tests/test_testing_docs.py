"""The testing kit's page: its shell and TOML blocks work as written, and it names only public things."""

from __future__ import annotations

import os
import re
import signal
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
