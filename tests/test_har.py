"""record=: every exchange flowdeck makes, appended to a HAR 1.2 file without a credential in it."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck._har import Recorder, Sent, read_entries
from flowdeck.testing import Faults, MockConfig, MockProviders, credentials

# One run of each built-in provider, as a user's code starts them.
RUNS = {
    "databar": ("databar:flow/1", {"domain": "stripe.com"}),
    "stackai": ("stackai:org-1/flow-1", {"in-0": "hello"}),
    "gumloop": ("gumloop:weekly-digest", {"topic": "pricing"}),
    "superai": ("superai:4f1c1e4e-0000-4000-8000-000000000001", {"document_url": "gs://b/f.pdf"}),
}
CONFIG = MockConfig(seed=3, run_seconds=(0.0, 0.05))
FAST = flowdeck.PollPolicy(initial=0.01, max_interval=0.02)
# Values the mocks hand out at run time: SuperAI's anon key and the session tokens of its password grant.
ISSUED = ("mock-anon-key", "mock-jwt-", "mock-refresh-")


def _record_all(mocks: MockProviders, path: Path, **options: Any) -> dict[str, flowdeck.Run]:
    env = {k: v for k, v in mocks.env.items() if k != "SUPERAI_TOKEN"}  # log in with the password
    with flowdeck.Client(env=env, poll_policy=FAST, record=path, **options) as client:
        return {name: client.run(ref, inputs) for name, (ref, inputs) in RUNS.items()}


def test_har_holds_no_credential(tmp_path: Path) -> None:
    """A run of each provider is recorded, a valid HAR 1.2, with no credential sent or issued in it."""
    path = tmp_path / "runs.har"
    with MockProviders(CONFIG) as mocks:
        runs = _record_all(mocks, path)
    doc = json.loads(path.read_text())
    assert doc["log"]["version"] == "1.2"
    entries = doc["log"]["entries"]
    assert {e["_flowdeck"]["provider"] for e in entries} == set(RUNS)
    assert all(r.succeeded for r in runs.values())
    text = path.read_text()
    secrets = [*credentials(CONFIG, env={}), CONFIG.superai_password, *ISSUED]
    assert not [s for s in secrets if s in text]
    logins = [e for e in entries if e["request"].get("postData", {}).get("text", "").find("password") >= 0]
    assert logins and all("FILTERED" in e["request"]["postData"]["text"] for e in logins)


def test_har_entry_fields(tmp_path: Path) -> None:
    """Each entry has method, URL, status, headers, bodies and timings, as HAR 1.2 requires."""
    path = tmp_path / "runs.har"
    with MockProviders(CONFIG) as mocks, flowdeck.Client(env=mocks.env, poll_policy=FAST, record=path) as client:
        client.run(*RUNS["databar"])
    start = read_entries(path)[0]
    assert start["request"]["method"] == "POST" and start["request"]["url"].endswith("/v1/flows/1/run")
    assert json.loads(start["request"]["postData"]["text"]) == {"inputs": {"domain": "stripe.com"}}
    assert start["response"]["status"] == 200 and "task_id" in start["response"]["content"]["text"]
    assert {"send", "wait", "receive"} <= start["timings"].keys() and start["startedDateTime"].endswith("+00:00")
    assert start["_flowdeck"] == {"provider": "databar", "operation": "run_flow", "attempt": 1}


@pytest.mark.parametrize("backend", ["httpcore", "aiohttp"])
def test_async_backends_record(tmp_path: Path, backend: str) -> None:
    """AsyncClient records on both HTTP backends, FLOWDECK_RECORD set in its env."""
    path = tmp_path / "async.har"

    async def main(env: dict[str, str]) -> flowdeck.Run:
        async with flowdeck.AsyncClient(env=env, poll_policy=FAST, http_backend=backend) as client:  # type: ignore[arg-type]
            return await client.run(*RUNS["gumloop"])

    with MockProviders(CONFIG) as mocks:
        run = asyncio.run(main({**mocks.env, "FLOWDECK_RECORD": str(path)}))
    entries = read_entries(path)
    assert entries[0]["request"]["method"] == "POST" and run.id in json.dumps(entries)
    assert "mock-gumloop-key" not in path.read_text()


def test_retries_are_recorded(tmp_path: Path) -> None:
    """Every attempt is an entry: a refused poll and its retry both appear, numbered."""
    path = tmp_path / "retry.har"
    config = MockConfig(seed=3, run_seconds=(0.05, 0.1), faults=Faults(rate=0.5, kinds=("503",)))
    with (
        MockProviders(config) as mocks,
        flowdeck.Client(env=mocks.env, poll_policy=FAST, record=path, max_retries=8) as client,
    ):
        client.run(*RUNS["gumloop"])
    attempts = [(e["response"]["status"], e["_flowdeck"]["attempt"]) for e in read_entries(path)]
    assert (503, 1) in attempts and any(n == 2 for _, n in attempts)


def _sent(n: int) -> Sent:
    return Sent("GET", f"https://h/v1/tasks/{n}", {"accept": "*/*"}, None)


def test_concurrent_writers_keep_one_har(tmp_path: Path) -> None:
    """Threads of two recorders on one path append whole entries; the file parses after all of them."""
    path = tmp_path / "shared.har"
    recorders = [Recorder(path), Recorder(path)]

    def write(k: int) -> None:
        for n in range(50):
            recorders[k % 2].record(_sent(k * 100 + n), 200, {}, b"{}", error=None, started=0.0, elapsed=0.0)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    urls = [e["request"]["url"] for e in json.loads(path.read_text())["log"]["entries"]]
    assert sorted(urls) == sorted(f"https://h/v1/tasks/{k * 100 + n}" for k in range(6) for n in range(50))


def test_torn_tail_is_dropped_and_repaired(tmp_path: Path) -> None:
    """A write cut short by a crash loses only its own entry: reading and appending go on."""
    path = tmp_path / "torn.har"
    Recorder(path).record(_sent(1), 200, {}, b"{}", error=None, started=0.0, elapsed=0.0)
    whole = path.read_bytes()
    path.write_bytes(whole[: -len(b"\n]}}\n")] + b',\n{"startedDateTime":"2026-')
    assert [e["request"]["url"] for e in read_entries(path)] == ["https://h/v1/tasks/1"]
    Recorder(path).record(_sent(2), 200, {}, b"{}", error=None, started=0.0, elapsed=0.0)
    assert len(json.loads(path.read_text())["log"]["entries"]) == 2


def test_appends_to_a_foreign_har(tmp_path: Path) -> None:
    """A HAR another tool wrote (indented) keeps its entries; new ones follow them."""
    path = tmp_path / "browser.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [{"request": {"url": "x"}}]}}, indent=2))
    Recorder(path).record(_sent(3), 200, {}, b"{}", error=None, started=0.0, elapsed=0.0)
    assert [e["request"]["url"] for e in read_entries(path)] == ["x", "https://h/v1/tasks/3"]


def test_unwritable_record_path_is_one_line(tmp_path: Path) -> None:
    """record= naming a file that cannot be written is an InvalidRequestError naming it."""
    with pytest.raises(flowdeck.InvalidRequestError, match=r"cannot record to .*nowhere") as info:
        flowdeck.Client(env={}, record=tmp_path / "nowhere" / "x.har")
    assert "\n" not in str(info.value)
    (tmp_path / "junk.har").write_text("not json")
    with pytest.raises(flowdeck.InvalidRequestError, match="not a HAR"):
        flowdeck.Client(env={}, record=tmp_path / "junk.har")


def test_cli_record_option(tmp_path: Path, mock_env: dict[str, str]) -> None:
    """flowdeck --record FILE run ... records the run's exchanges; FLOWDECK_RECORD is put back after."""
    from flowdeck._cli import app
    from typer.testing import CliRunner

    path = tmp_path / "cli.har"
    result = CliRunner().invoke(app, ["--record", str(path), "run", "databar:flow/cli", "-i", "domain=a.com"])
    assert result.exit_code == 0, result.output
    entries = read_entries(path)
    assert entries and entries[0]["_flowdeck"]["operation"] == "run_flow"
    assert mock_env["DATABAR_API_KEY"] not in path.read_text()
    assert "FLOWDECK_RECORD" not in __import__("os").environ


def test_cli_record_bad_path_is_usage(tmp_path: Path) -> None:
    """--record into a missing folder is one line, exit 2, before anything is sent."""
    from tests._cli import flowdeck as run_flowdeck

    result = run_flowdeck(["--record", str(tmp_path / "no" / "x.har"), "run", "databar:flow/1"], {})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "does not exist; create it first" in result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "--record '': empty; give a file name, like traffic.har"),
        ("nodir/x.har", "--record nodir/x.har: folder nodir does not exist; create it first"),
        ("victim.csv", "--record: cannot record to victim.csv: not a HAR file (not JSON)"),
        ("victim.csv/x.har", "--record victim.csv/x.har: folder victim.csv is a file, not a folder"),
    ],
    ids=["empty", "no-folder", "not-har", "folder-is-a-file"],
)
def test_cli_record_refusals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str) -> None:
    """--record's refusals name the file once and say what is wrong with it, as --out's do."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "victim.csv").write_text("domain\na.com\n", encoding="utf-8")
    from flowdeck._cli import app
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["--record", name, "run", "databar:flow/1", "-i", "domain=a"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert (tmp_path / "victim.csv").read_text() == "domain\na.com\n"


def test_secret_stays_scrubbed_later(tmp_path: Path) -> None:
    """A secret named by one exchange is scrubbed from every exchange recorded after it."""
    path = tmp_path / "later.har"
    recorder = Recorder(path)
    recorder.record(_sent(1), 200, {}, b"{}", error=None, started=0.0, elapsed=0.0, secrets=["tok-5678"])
    recorder.record(_sent(2), 200, {}, b'{"echo": "tok-5678"}', error=None, started=0.0, elapsed=0.0)
    assert "tok-5678" not in path.read_text()
