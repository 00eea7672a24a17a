"""Is the spec still true?: its CI job works for a repository that is not a flowdeck clone."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from flowdeck.testing import MockProviders

from tests._cli import bash

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "spec-reality.md").read_text(encoding="utf-8")
[JOB] = [body for body in re.findall(r"^```text\n(.*?)^```", PAGE, re.S | re.M) if "jobs:" in body]
STEPS = [re.sub(r"\s+#\s.*$", "", run) for run in re.findall(r"^\s+- run: (.+)$", JOB, re.M)]
INSTALLS = {"pip install 'flowdeck[cli]'", "make -C flowdeck venv"}  # not run here: checked below


def test_job_uses_only_public_actions() -> None:
    """The job's actions are GitHub's own, and its install steps are the ones checked below."""
    assert set(re.findall(r"- uses: ([\w/-]+)@", JOB)) == {
        "actions/checkout", "actions/setup-python", "actions/upload-artifact"
    }  # fmt: skip
    assert set(STEPS) >= INSTALLS, STEPS
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    venv = (ROOT / "Makefile").read_text().split("\n$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "cli" in extras and "-e ./specs" in venv  # make venv installs specpipe into the clone's .venv


@pytest.mark.slow
def test_ci_job_runs_outside_a_clone(tmp_path: Path, served_mocks: MockProviders) -> None:
    """The job's commands, run in a user's checkout, record a run, clone flowdeck and check the recording."""
    head = bash("git rev-parse HEAD", {}, cwd=ROOT)
    user = tmp_path / "user-repo"
    user.mkdir()
    env = {**served_mocks.env, "DATABAR_FLOW": "enrich", "FLOWDECK_GIT": str(ROOT), "FLOWDECK_REF": head.stdout.strip()}
    for step in STEPS:
        if step == "make -C flowdeck venv":  # this venv already holds what it installs
            (user / "flowdeck" / ".venv").symlink_to(ROOT / ".venv")
        elif step not in INSTALLS:
            done = bash(step, env, cwd=user, timeout=120)
            assert done.returncode == 0, (step, done.stderr[-2000:])
    assert json.loads((user / "conform.json").read_text()) == []
    assert (user / "reality.har").stat().st_size > 0 and not (user / "Makefile").exists()
