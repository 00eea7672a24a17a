"""The Makefile's housekeeping verbs: clean removes only what was built, demo needs no node."""

# ruff: noqa: S603, S607 - make and git, on a scratch copy of the Makefile

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30)
    return done.stdout


def test_clean_keeps_tracked_files(tmp_path: Path) -> None:
    """make clean deletes build output (venvs, caches, site/, new bench files) and no tracked file."""
    shutil.copy(ROOT / "Makefile", tmp_path)
    tracked = ["bench-results/latest.json", "bench-results/throughput.svg", "facade/flowdeck/_x.py"]
    built = [".venv/bin/python", "node_modules/a/index.js", ".pytest_cache/v", "site/index.html",
             "bench-results/bulk.json", "facade/flowdeck/__pycache__/_x.cpython-311.pyc", ".mypy_cache/x"]  # fmt: skip
    for name in tracked + built:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "Makefile", *tracked)
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "tracked")
    subprocess.run(["make", "clean"], cwd=tmp_path, capture_output=True, check=True, timeout=60)
    assert _git(tmp_path, "status", "--porcelain", "--untracked-files=all") == ""
    assert not [name for name in built if (tmp_path / name).exists()]


def _dry_run(tmp_path: Path, verb: str) -> subprocess.CompletedProcess[str]:
    """``make -n verb`` in a scratch copy of the build files, with Python's venv already installed."""
    (tmp_path / "specs").mkdir()
    for name in ("Makefile", "pyproject.toml", "specs/pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()
    return subprocess.run(["make", "-n", verb], cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_demo_needs_no_node(tmp_path: Path) -> None:
    """make demo, once Python's venv is there, neither runs npm nor waits for node_modules."""
    done = _dry_run(tmp_path, "demo")
    assert done.returncode == 0, done.stderr
    assert "npm" not in done.stdout and "flowdeck demo" in done.stdout, done.stdout


def test_docs_build_is_strict(tmp_path: Path) -> None:
    """make docs builds the site with --strict, needing Python's venv alone."""
    done = _dry_run(tmp_path, "docs")
    assert done.returncode == 0, done.stderr
    assert "npm" not in done.stdout and "mkdocs build --strict" in done.stdout, done.stdout


FIGURE = re.compile(r"\d[\d,.]*\s?(?:ms|s|%|\u00d7|MB|KB|minutes?|seconds?|packages)(?!\w)|\b20\d\d-\d\d-\d\d\b")


def test_build_files_quote_no_figures() -> None:
    """pyproject.toml's and the Makefile's comments say why, never a measurement or a date."""
    comments = [
        f"{name}: {line}"
        for name in ("pyproject.toml", "Makefile", "specs/pyproject.toml")
        for line in (ROOT / name).read_text(encoding="utf-8").splitlines()
        if "#" in line and FIGURE.search(line.partition("#")[2])
    ]
    assert not comments, comments
