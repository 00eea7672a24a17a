"""MockProviders.from_har and flowdeck mock --replay: a recording answers as the providers did, time compressed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import flowdeck
import httpx
import pytest
from flowdeck._har import Recorder, Sent
from flowdeck.testing import MockConfig, MockProviders, _replay

from tests._cli import flowdeck as run_flowdeck
from tests._cli import reap_spawned  # noqa: F401 - an autouse fixture: no spawned process outlives its test

RUNS = {
    "databar": ("databar:flow/1", {"domain": "stripe.com"}),
    "stackai": ("stackai:org-1/flow-1", {"in-0": "hello"}),
    "gumloop": ("gumloop:weekly-digest", {"topic": "pricing"}),
    "superai": ("superai:4f1c1e4e-0000-4000-8000-000000000001", {"document_url": "gs://b/f.pdf"}),
}
FAST = flowdeck.PollPolicy(initial=0.01, max_interval=0.05)


def _outputs(runs: dict[str, flowdeck.Run]) -> dict[str, Any]:
    return {name: (r.id, r.status, r.provider_status, r.outputs) for name, r in runs.items()}


def _run_all(env: dict[str, str], **options: Any) -> dict[str, flowdeck.Run]:
    env = {k: v for k, v in env.items() if k != "SUPERAI_TOKEN"}  # the password grant, replayed too
    with flowdeck.Client(env=env, poll_policy=FAST, **options) as client:
        return {name: client.run(ref, inputs) for name, (ref, inputs) in RUNS.items()}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("replay") / "runs.har"
    with MockProviders(MockConfig(seed=5, run_seconds=(0.1, 0.2))) as mocks:
        runs = _run_all(mocks.env, record=path)
    return path, _outputs(runs)


def test_replay_gives_the_same_outputs(recording: tuple[Path, dict[str, Any]]) -> None:
    """With the mocks stopped, the recording drives the facade to the same ids, statuses and outputs."""
    path, recorded = recording
    with MockProviders.from_har(path) as replay:
        assert _outputs(_run_all(replay.env)) == recorded


def test_replay_refuses_what_was_not_recorded(recording: tuple[Path, dict[str, Any]]) -> None:
    """A request the recording has no entry for is a 404 naming it."""
    with MockProviders.from_har(recording[0]) as replay:
        answer = httpx.get(replay.urls["databar"] + "/v1/tasks/never-recorded")
    assert answer.status_code == 404 and "GET /v1/tasks/never-recorded" in answer.json()["error"]


def _entry_at(recorder: Recorder, second: float, state: str) -> None:
    sent = Sent("GET", "https://api.databar.ai/v1/tasks/t-1", {}, None)
    body = json.dumps({"task_id": "t-1", "status": state}).encode()
    recorder.record(sent, 200, {"content-type": "application/json"}, body, error=None, started=second, elapsed=0.1)


def test_ten_minutes_replay_in_a_second(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ten-minute recording spans one replayed second: a poll skips the answers already due."""
    recorder = Recorder(tmp_path / "long.har")
    for second in range(0, 600, 30):
        _entry_at(recorder, 1_000_000.0 + second, "processing")
    _entry_at(recorder, 1_000_600.0, "completed")
    replay = _replay.load(str(tmp_path / "long.har"), ["databar"])
    assert replay.scale == 600
    now = [100.0]
    monkeypatch.setattr("flowdeck.testing._replay.time.monotonic", lambda: now[0])
    words = []
    for at in (100.0, 100.1, 100.5, 101.0, 101.5):
        now[0] = at
        found = replay.answer("databar", "GET", "/v1/tasks/t-1", b"")
        assert found is not None
        words.append(json.loads(found.body)["status"])
    assert words == ["processing", "processing", "processing", "completed", "completed"]


def test_cli_mock_replay(recording: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """flowdeck mock --replay serves the recording; flowdeck run against it prints the recorded outputs."""
    path, recorded = recording
    served = run_flowdeck(["mock", "--replay", str(path), "--env"], {})
    assert served.returncode == 0, served.stderr
    env = dict(line.removeprefix("export ").split("=", 1) for line in served.stdout.splitlines() if "=" in line)
    env = {k: v.strip("'\"") for k, v in env.items()}
    try:
        result = run_flowdeck(["run", RUNS["databar"][0], "-i", "domain=stripe.com", "--json"], env)
        assert result.returncode == 0, result.stderr
        body = json.loads(result.stdout)
        assert (body["run_id"], body["outputs"]) == (recorded["databar"][0], recorded["databar"][3])
    finally:
        os.kill(int(env["FLOWDECK_MOCK_PID"]), signal.SIGTERM)


def test_cli_mock_replay_bad_file(tmp_path: Path) -> None:
    """--replay naming a file that is no HAR is one line, exit 2, nothing served."""
    (tmp_path / "x.har").write_text("nope")
    result = run_flowdeck(["mock", "--replay", str(tmp_path / "x.har")], {})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "not a HAR" in result.stderr, result.stderr


def test_starts_match_their_inputs(tmp_path: Path) -> None:
    """Starts sent in another order than recorded get the answers recorded for their own bodies."""
    recorder = Recorder(tmp_path / "starts.har")
    for n in (1, 2):
        sent = Sent("POST", "https://api.databar.ai/v1/flows/f/run", {}, json.dumps({"n": n}).encode())
        body = json.dumps({"task_id": f"t-{n}", "status": "processing"}).encode()
        recorder.record(sent, 200, {}, body, error=None, started=1_000_000.0 + n, elapsed=0.1)
    replay = _replay.load(str(tmp_path / "starts.har"), ["databar"])
    answers = [replay.answer("databar", "POST", "/v1/flows/f/run", json.dumps({"n": n}).encode()) for n in (2, 1)]
    assert [json.loads(a.body)["task_id"] for a in answers if a is not None] == ["t-2", "t-1"]


GOOD_ENTRY = {
    "startedDateTime": "2026-01-01T00:00:00.000Z",
    "request": {"method": "GET", "url": "https://api.databar.ai/v1/tasks/t-1"},
    "response": {"status": 200, "headers": [], "content": {"text": "{}"}},
}
BAD_ENTRIES = {
    "status-text": ({"response": {"status": "abc"}}, 'response.status is "abc", not an HTTP status'),
    "request-number": ({"request": 5}, "request is 5, not an object"),
    "response-list": ({"response": []}, "response is [], not an object"),
    "no-url": ({"request": {"method": "GET"}}, "request has no method and url"),
    "status-huge": ({"response": {"status": 1000}}, "response.status is 1000"),
    "no-time": ({"startedDateTime": "yesterday"}, 'startedDateTime is "yesterday"'),
    "headers": ({"response": {"status": 200, "headers": ["x"]}}, "response.headers is not a list"),
    "base64": (
        {"response": {"status": 200, "content": {"text": "%%", "encoding": "base64"}}},
        "response.content.text is not base64",
    ),
}


@pytest.mark.parametrize(("change", "said"), BAD_ENTRIES.values(), ids=BAD_ENTRIES.keys())
def test_bad_entry_named(tmp_path: Path, change: dict[str, Any], said: str) -> None:
    """An entry a replay cannot use is refused on loading, naming the file and the entry."""
    path = tmp_path / "bad.har"
    entries = [GOOD_ENTRY, {**GOOD_ENTRY, **change}]
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    with pytest.raises(ValueError, match="entry 2") as raised:
        MockProviders.from_har(path)
    assert str(raised.value).startswith(f"{path}: entry 2") and said in str(raised.value), raised.value


def test_cli_replay_bad_entry(tmp_path: Path) -> None:
    """--replay with a bad entry is one line naming the file and the entry, exit 2."""
    path = tmp_path / "bad.har"
    entry = {**GOOD_ENTRY, "response": {"status": "abc"}}
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    result = run_flowdeck(["mock", "--replay", str(path)], {})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{path}: entry 1 (GET https://api.databar.ai/v1/tasks/t-1): response.status" in result.stderr


def test_cli_replay_missing_file(tmp_path: Path) -> None:
    """--replay naming no file says so in the words --config uses, exit 2."""
    result = run_flowdeck(["mock", "--replay", str(tmp_path / "none.har")], {})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{tmp_path / 'none.har'}: no such file" in result.stderr and "Errno" not in result.stderr
