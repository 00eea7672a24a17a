"""Shared fixtures: the project root and a scratch copy of specs/ + generated/ to break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throwaway copy of specs/ and generated/ that a test may edit."""
    for name in ("specs", "generated"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.fixture(autouse=True, scope="session")
def _no_retry_waits() -> None:
    """Retries keep their attempt counts but skip their backoff sleeps (stamina's testing switch)."""
    import stamina

    stamina.set_testing(True, attempts=10, cap=True)


@pytest.fixture(scope="session")
def served_mocks() -> Any:
    """The four mock providers on loopback for the whole session (runs finish at once)."""
    from flowdeck.testing import MockProviders

    with MockProviders() as mocks:
        yield mocks
