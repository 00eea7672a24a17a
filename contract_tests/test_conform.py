"""specpipe conform: recordings of flowdeck against the mocks conform; known deviations are found and fixed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import flowdeck
import pytest
import yaml
from flowdeck.testing import MockConfig, MockProviders, credentials
from specpipe._build import build_all, dump
from specpipe._conform import conform

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "deviations.har"
SPECPIPE = str(Path(sys.executable).parent / "specpipe")
CONFIG = MockConfig(seed=11, run_seconds=(0.05, 0.1))
FAST = flowdeck.PollPolicy(initial=0.01, max_interval=0.02)
SUPERAI_FLOW = "4f1c1e4e-0000-4000-8000-000000000001"


def _every_operation(client: flowdeck.Client) -> None:
    """Each provider's run, cancel and own operations, as a user's code calls them."""
    client.run("databar:flow/1", {"domain": "stripe.com"})
    client.run("databar:waterfall/email_getter", {"email": "a@b.c"})
    client.cancel(client.start("databar:flow/long", {"domain": "x.com"}))
    client.run("databar:enrichment/123", {"email": "a@b.c"})
    client.databar.get_flow("enrich")
    client.databar.me()
    client.wait(client.databar.run_flow_bulk("enrich", [{"domain": "a.com"}, {"domain": "b.com"}]))
    client.run("stackai:org-1/flow-1", {"in-0": "hi"})
    client.run("gumloop:weekly-digest", {"topic": "pricing"})
    client.cancel(client.start("gumloop:long", {"topic": "x"}))
    client.run(f"superai:{SUPERAI_FLOW}", {"document_url": "gs://b/f.pdf"})
    list(client.superai.list_executions(SUPERAI_FLOW))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("har") / "mocks.har"
    with MockProviders(CONFIG) as mocks:
        env = {k: v for k, v in mocks.env.items() if k != "SUPERAI_TOKEN"}  # the password grant, recorded too
        with flowdeck.Client(env=env, poll_policy=FAST, record=path) as client:
            _every_operation(client)
    return path


def test_mock_recording_conforms(recorded: Path) -> None:
    """Every provider's recorded exchanges with the mocks conform to the normalized specs."""
    result = conform(ROOT, recorded)
    assert set(result.exchanges) == {"databar", "stackai", "gumloop", "superai"}
    assert result.clean, [d.to_json() for d in result.deviations]


def test_mock_recording_has_no_secret(recorded: Path) -> None:
    """The recording of every provider holds none of the credentials sent or issued."""
    text = recorded.read_text()
    secrets = [*credentials(CONFIG, env={}), CONFIG.superai_password, "mock-anon-key", "mock-jwt-", "mock-refresh-"]
    assert not [s for s in secrets if s in text]


def _specpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SPECPIPE, *args], capture_output=True, text=True, check=False)  # noqa: S603 - our own tool


def test_cli_conform_exit_codes(recorded: Path) -> None:
    """specpipe conform exits 0 on a conforming recording, 1 on the fixture, 2 on a missing file."""
    ok = _specpipe("--root", str(ROOT), "conform", str(recorded))
    assert ok.returncode == 0 and "no deviations" in ok.stdout, ok.stdout + ok.stderr
    bad = _specpipe("--root", str(ROOT), "conform", "--json", str(FIXTURE))
    assert bad.returncode == 1 and len(json.loads(bad.stdout)) == 3
    gone = _specpipe("conform", "nowhere.har")
    assert gone.returncode == 2 and gone.stderr == "error: nowhere.har: no such file\n"


def test_fixture_deviations_reported() -> None:
    """The fixture's renamed field, new status word and wrong type are each reported, with a proposal."""
    found = {(d.kind, d.provider, d.operation, d.path): d for d in conform(ROOT, FIXTURE).deviations}
    assert set(found) == {
        ("response", "databar", "run_flow", "$.task_id"),
        ("status-word", "databar", "get_task", "$.status"),
        ("response", "gumloop", "get_pipeline_run", "$.user_id"),
    }
    assert "job_id" in found["response", "databar", "run_flow", "$.task_id"].seen
    assert found["status-word", "databar", "get_task", "$.status"].seen == '"awaiting_review"'
    wrong = found["response", "gumloop", "get_pipeline_run", "$.user_id"]
    assert (wrong.status, wrong.spec, wrong.seen) == (200, 'type "string"', "integer 4242")
    assert all(d.proposal.startswith("# PROPOSAL") for d in found.values())


def _apply(project: Path, proposals: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Add each proposed overlay action to its provider's overlay and rebuild; map proposed status words."""
    from flowdeck._providers import databar

    for provider, snippet in proposals:
        if "not an overlay" in snippet:
            word = snippet.splitlines()[-1].split(":")[0].strip('"')
            monkeypatch.setitem(databar.STATUSES, word, flowdeck.Status.RUNNING)
            continue
        path = project / "specs" / "overlays" / f"{provider}.overlay.yaml"
        overlay = yaml.safe_load(path.read_text())
        overlay["actions"] += yaml.safe_load(snippet)
        path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    for provider, doc in build_all(project / "specs").items():
        (project / "specs" / "normalized" / f"{provider}.yaml").write_text(dump(doc))


def test_proposals_make_fixture_conform(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Applying every proposal (overlay actions, the status table entry) makes the fixture conform."""
    deviations = conform(project_copy, FIXTURE).deviations
    _apply(project_copy, [(d.provider, d.proposal) for d in deviations], monkeypatch)
    after = conform(project_copy, FIXTURE)
    assert after.clean, [d.to_json() for d in after.deviations]
