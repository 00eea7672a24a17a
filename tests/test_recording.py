"""Recording flowdeck with vcrpy as users do: cassettes without credentials, replayed without the mocks or waits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import flowdeck
import pytest
import vcr
from flowdeck.testing import MockConfig, MockProviders, credentials, replay_sleep, vcr_config

# One run of each built-in provider, as a user's code starts them.
RUNS = {
    "databar": ("databar:flow/1", {"domain": "stripe.com"}),
    "stackai": ("stackai:org-1/flow-1", {"in-0": "hello"}),
    "gumloop": ("gumloop:weekly-digest", {"topic": "pricing"}),
    "superai": ("superai:4f1c1e4e-0000-4000-8000-000000000001", {"document_url": "gs://b/f.pdf"}),
}
# Runs that last long enough that a client waiting as it does by default (0.5 s before the first poll)
# would spend seconds replaying them.
CONFIG = MockConfig(seed=7, run_seconds=(0.3, 0.6))
# Values the mocks hand out at run time: SuperAI's anon key and the session tokens of its password grant.
ISSUED = ("mock-anon-key", "mock-jwt-", "mock-refresh-")


def _run_all(client: flowdeck.Client) -> dict[str, str]:
    return {name: client.run(ref, inputs).id for name, (ref, inputs) in RUNS.items()}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """One run of each provider recorded against the mocks: the cassette, the runs' ids, the client's environment."""
    cassette = tmp_path_factory.mktemp("cassettes") / "runs.yaml"
    recorder = vcr.VCR(**vcr_config(CONFIG, env={}))
    with MockProviders(CONFIG) as mocks, recorder.use_cassette(str(cassette), record_mode="once"):
        env = mocks.env
        with flowdeck.Client(env=env) as client:
            return cassette, _run_all(client), env


def test_cassette_holds_no_credential(recorded: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    """A recorded run of each provider leaves none of the credentials sent or issued in the cassette."""
    cassette, ids, _ = recorded
    text = cassette.read_text()
    assert set(ids) == set(RUNS) and all(ids.values())
    secrets = [*credentials(CONFIG, env={}), CONFIG.superai_password, CONFIG.databar_key, *ISSUED]
    assert all(name.lower() in text.lower() for name in ("x-apikey", "authorization", "x-auth-key", "apikey"))
    found = [s for s in secrets if s in text]
    assert not found, found
    assert "FILTERED" in text


def test_cassette_replays_without_mocks_fast(recorded: tuple[Path, dict[str, str], dict[str, str]]) -> None:
    """With the mocks stopped, the cassette replays each run, the same ids, in under a second."""
    cassette, ids, env = recorded
    player = vcr.VCR(**vcr_config(CONFIG, env={}))
    started = time.monotonic()
    with player.use_cassette(str(cassette), record_mode="none") as played:
        with flowdeck.Client(env=env, sleep=replay_sleep(played)) as client:
            replayed = _run_all(client)
        assert played.all_played
    assert replayed == ids
    assert time.monotonic() - started < 1.0


def test_vcr_config_covers_a_new_providers_secret() -> None:
    """A provider registered later has its secret filtered by value, wherever it appears (any header)."""
    from flowdeck import _providers

    from tests.test_toy_provider import TOKEN, TOY

    with _providers.registered(TOY):
        config = vcr_config(env={})
    request = vcr.request.Request("POST", f"http://h/x?q={TOKEN}", f'{{"echo": "{TOKEN}"}}', {"x-toy": TOKEN})
    filtered = config["before_record_request"](request)
    assert TOKEN not in f"{filtered.headers} {filtered.body!r} {filtered.uri}"


def test_replay_sleep_waits_while_recording(tmp_path: Path) -> None:
    """While a cassette records, the replay-aware sleep sleeps for real."""
    with vcr.VCR().use_cassette(str(tmp_path / "c.yaml"), record_mode="once") as cassette:
        started = time.monotonic()
        replay_sleep(cassette)(0.05)
    assert time.monotonic() - started >= 0.05


USER_TESTS = """
import pytest

@pytest.mark.vcr
def test_sync(flowdeck_client):
    assert flowdeck_client.run("gumloop:weekly-digest", {"topic": "x"}).succeeded

@pytest.mark.vcr
@pytest.mark.asyncio
async def test_async(flowdeck_async_client):
    run = await flowdeck_async_client.run("superai:4f1c1e4e-0000-4000-8000-000000000001", {"a": 1})
    assert run.succeeded

@pytest.fixture
def flowdeck_mock_config():
    from flowdeck.testing import MockConfig
    return MockConfig(run_seconds=(0.5, 0.5))
"""


def _user_pytest(folder: Path, *args: str) -> dict[str, float]:
    """pytest in a user's project folder, as the user runs it: each test's call duration, in seconds."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTHONPATH")}
    env = {k: v for k, v in env.items() if not k.startswith(("DATABAR_", "STACKAI_", "GUMLOOP_", "SUPERAI_"))}
    done = subprocess.run(  # noqa: S603 - pytest, as the user runs it
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0", "--durations-min=0", *args],
        capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "passed" in done.stdout, done.stdout + done.stderr
    return {name: float(s) for s, name in re.findall(r"^([0-9.]+)s call +test_user.py::(\w+)", done.stdout, re.M)}


def _user_project(folder: Path, conftest: str = "") -> None:
    (folder / "test_user.py").write_text(USER_TESTS)
    (folder / "conftest.py").write_text(conftest)
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def _cassettes_text(folder: Path) -> str:
    cassettes = sorted((folder / "cassettes" / "test_user").glob("*.yaml"))
    assert [c.stem for c in cassettes] == ["test_async", "test_sync"]
    return "".join(c.read_text() for c in cassettes)


@pytest.mark.slow
def test_plugin_records_and_replays(tmp_path: Path) -> None:
    """Through pytest-recording, the plugin's fixtures record without credentials and replay at once."""
    _user_project(tmp_path)
    recorded = _user_pytest(tmp_path, "--record-mode=once")
    assert set(recorded) == {"test_sync", "test_async"} and min(recorded.values()) >= 0.5  # each run lasts 0.5 s
    text = _cassettes_text(tmp_path)
    found = [s for s in (*credentials(env={}), *ISSUED) if s in text]
    assert not found and "FILTERED" in text, found
    replayed = _user_pytest(tmp_path, "--record-mode=none")
    assert set(replayed) == set(recorded) and max(replayed.values()) < 0.25, replayed  # no poll waits


@pytest.mark.slow
def test_own_vcr_config_keeps_the_filters(tmp_path: Path) -> None:
    """A project's own vcr_config fixture (which replaces the plugin's) still records no credential."""
    _user_project(tmp_path, "import pytest\n\n@pytest.fixture\ndef vcr_config():\n    return {'record_mode': 'once'}\n")
    _user_pytest(tmp_path)
    text = _cassettes_text(tmp_path)
    found = [s for s in (*credentials(env={}), *ISSUED) if s in text]
    assert not found and "FILTERED" in text, found
