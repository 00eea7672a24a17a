"""Shared fixtures: the project root, a scratch copy of specs/ + generated/ to break on purpose, the
session's mock providers and Prism servers, and the names flowdeck's docstring examples run with."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.doctest import DoctestItem

ROOT = Path(__file__).resolve().parent


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A throwaway copy of specs/ and generated/ that a test may edit."""
    for name in ("specs", "generated"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this run shares (this process's own when not distributed).

    Work that gives the same result on every worker (a generated client, say) is done once in it,
    under a ``filelock.FileLock`` next to the result.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = shared / "shared"
    path.mkdir(exist_ok=True)
    return path


# The caller's settings that would change what a test sees: inner pytest
# options and plugins, modules put ahead of ours, the CLI's colours and
# widths, proxies and certificates httpx would follow. Providers' real
# credentials and URLs (their name as a prefix) go too.
CALLER_ONLY = (
    "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH", "PYTHONHOME",
    "PYTHONSTARTUP", "PYTHONWARNINGS", "PYTHONSAFEPATH", "PYTHONINSPECT", "PYTHONIOENCODING", "VIRTUAL_ENV",
    "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "COLUMNS", "LINES", "TTY_COMPATIBLE",
    "TTY_INTERACTIVE", "SSL_CERT_FILE", "SSL_CERT_DIR", "NETRC", "FLOWDECK_RECORD",
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
)  # fmt: skip


def caller_only(name: str) -> bool:
    """Whether ``name`` is a variable of the caller's that no test, nor a process it starts, may see."""
    from flowdeck._providers import BUILTIN

    return name in CALLER_ONLY or name.startswith(tuple(f"{p.upper()}_" for p in BUILTIN))


@pytest.fixture(autouse=True, scope="session")
def _hermetic_environment() -> Iterator[None]:
    """Tests, and every process they start, run without the caller's variables that change results.

    Scrubbed per process once pytest has read its own options: the caller's ``-x`` still applies to
    this run, never to a pytest that a test starts. A suite started in the background (``&``,
    nohup) ignores Ctrl-C, and every process it starts would inherit that: the tests that press
    Ctrl-C get Python's own handler back, as in a terminal.
    """
    main = threading.current_thread() is threading.main_thread()
    ignored = main and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if caller_only(n)]:
            patch.delenv(name)
        yield
    if ignored:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


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


@pytest.fixture
def mock_env(served_mocks: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The session's mock providers in this test's environment (what ``eval "$(flowdeck mock --env)"`` does)."""
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    env: dict[str, str] = served_mocks.env
    return env


@pytest.fixture(autouse=True)
def _doctest_names(request: pytest.FixtureRequest) -> Iterator[None]:
    """Docstring examples run for real against the session's mocks: ``client`` and ``mock_env`` are theirs."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    import flowdeck

    mocks = request.getfixturevalue("served_mocks")
    namespace = request.getfixturevalue("doctest_namespace")
    with flowdeck.Client(env=mocks.env) as client:
        namespace.update(
            flowdeck=flowdeck, asyncio=asyncio, client=client, mock_env=mocks.env,
            flow_uuid="7c9e6679-7425-40de-944b-e07fc1f90ae7",
        )  # fmt: skip
        yield


@pytest.fixture(scope="session")
def prism_urls(run_dir: Path) -> Any:
    """Prism serving each normalized spec, for the whole session: ``{provider: base_url}``.

    One set for the whole run: the xdist workers share it, the last one to finish stops it.
    """
    from contract_tests._prism import shared_prism_servers
    from contract_tests._spec import PROVIDERS

    with shared_prism_servers(PROVIDERS, run_dir / "prism") as urls:
        yield urls
