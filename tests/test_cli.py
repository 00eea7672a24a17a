"""The command line (issue 6): run, status, batch to completion, resume after kill -9, bad input, config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck._cli import app
from flowdeck.testing import MockConfig, MockProviders
from typer.testing import CliRunner

runner = CliRunner()
FLOWDECK = [sys.executable, "-m", "flowdeck"]


@pytest.fixture
def mock_env(served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    return served_mocks.env


def results(path: Path) -> dict[int, dict[str, Any]]:
    """The latest result line per row."""
    return {r["row"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_run_prints_outputs_as_json(mock_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["run", "databar:flow/cli", "-i", "domain=stripe.com", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "SUCCEEDED" and body["outputs"]["inputs"] == {"domain": "stripe.com"}


def test_run_failure_exits_non_zero_with_the_reason(mock_env: dict[str, str]) -> None:
    result = runner.invoke(app, ["run", "gumloop:fail-flow", "-i", "topic=x"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "rate limited by upstream model" in result.output


def test_run_no_wait_then_status_and_cancel(mock_env: dict[str, str], tmp_path: Path) -> None:
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"domain": "a.com"}))
    started = runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs), "--no-wait", "--json"])
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.stdout)["run_id"]
    shown = runner.invoke(app, ["status", "databar", run_id, "--json"])
    assert json.loads(shown.stdout)["run_id"] == run_id
    refused = runner.invoke(app, ["cancel", "stackai", "anything"])
    assert refused.exit_code == 1 and "does not support" in refused.output


def test_missing_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("DATABAR_API_KEY", "GUMLOOP_API_KEY", "GUMLOOP_USER_ID"):
        monkeypatch.delenv(key, raising=False)
    result = runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"])
    assert result.exit_code == 2 and "DATABAR_API_KEY" in result.output
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    result = runner.invoke(app, ["batch", "gumloop:abc", str(csv), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "GUMLOOP_API_KEY" in result.output
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("domain,name\nstripe.com,Stripe\nacme.com\n", "row 3: has 1 fields but the header has 2"),
        ("domain,domain\na,b\n", "row 1: column 'domain' appears twice"),
        ("domain,\na,b\n", "row 1: column 2 has an empty header"),
        ("", "empty file"),
        ("domain\n", "no input rows"),
    ],
)
def test_bad_csv_is_a_clear_error_naming_row_and_column(
    mock_env: dict[str, str], tmp_path: Path, content: str, message: str
) -> None:
    csv = tmp_path / "in.csv"
    csv.write_text(content)
    result = runner.invoke(app, ["batch", "databar:flow/1", str(csv), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output


def test_bad_jsonl_and_mapping_errors(mock_env: dict[str, str], tmp_path: Path) -> None:
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"domain": "a"}\n[1, 2]\n')
    result = runner.invoke(app, ["batch", "databar:flow/1", str(jsonl), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "row 2: must be a JSON object" in result.output
    csv = tmp_path / "in.csv"
    csv.write_text("Domain\na.com\n")
    bad_map = ["batch", "databar:flow/1", str(csv), "--out", str(tmp_path / "o.jsonl"), "--map", "Website=domain"]
    result = runner.invoke(app, bad_map)
    assert result.exit_code == 2 and "no column 'Website'" in result.output


def test_batch_runs_every_row_once_with_column_mapping(
    served_mocks: MockProviders, mock_env: dict[str, str], tmp_path: Path
) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("Company Domain\n" + "".join(f"batch{i}.com\n" for i in range(25)))
    out = tmp_path / "results.jsonl"
    before = served_mocks.states["databar"].start_count
    args = ["batch", "databar:flow/batch", str(csv), "--out", str(out), "--map", "Company Domain=domain",
            "--concurrency", "8", "--rate", "200/s"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = results(out)
    assert len(rows) == 25 and {r["status"] for r in rows.values()} == {"SUCCEEDED"}
    assert rows[2]["input"] == {"domain": "batch0.com"} and rows[2]["outputs"]["inputs"] == {"domain": "batch0.com"}
    assert served_mocks.states["databar"].start_count - before == 25
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    for written in (out, state):  # credentials never reach the batch's files
        assert mock_env["DATABAR_API_KEY"] not in written.read_text()
    again = runner.invoke(app, args)  # everything is finished: nothing is started again
    assert again.exit_code == 0 and served_mocks.states["databar"].start_count - before == 25
    other = tmp_path / "other.csv"
    other.write_text("Company Domain\nchanged.com\n")
    refused = runner.invoke(
        app, ["batch", "databar:flow/batch", str(other), "--out", str(out), "--map", "Company Domain=domain"]
    )
    assert refused.exit_code == 2 and "other inputs" in refused.output


@pytest.fixture
def slow_mocks() -> Iterator[MockProviders]:
    with MockProviders(MockConfig(seed=3, run_seconds=(0.5, 1.5))) as mocks:
        yield mocks


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our own CLI
        [*FLOWDECK, *args], env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _started_lines(state: Path) -> int:
    return state.read_text().count('"event": "started"') if state.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 12])
def test_batch_resumes_after_kill_9_without_starting_any_run_twice(
    slow_mocks: MockProviders, tmp_path: Path, kill_after: int
) -> None:
    n = 30
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"topic": f"t{i}"}) + "\n" for i in range(n)))
    out = tmp_path / "out.jsonl"
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    args = ["batch", "gumloop:resume-flow", str(inputs), "--out", str(out), "--concurrency", "6", "--rate", "20/s"]
    proc = _spawn(args, slow_mocks.env)
    deadline = time.monotonic() + 30
    while _started_lines(state) < kill_after and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    killed_at = slow_mocks.states["gumloop"].start_count
    assert 0 < killed_at < n, "the kill should land mid-batch"

    resumed = _spawn(args, slow_mocks.env)
    _, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode in (0, 1), stderr
    rows = results(out)
    assert sorted(rows) == list(range(1, n + 1)), "every row has an outcome"
    statuses = [r["status"] for r in rows.values()]
    assert set(statuses) <= {"SUCCEEDED", "UNKNOWN"}
    # Exactly-once: no workflow+inputs was started twice, and only rows interrupted mid-start are UNKNOWN.
    assert slow_mocks.duplicate_starts() == {}
    assert statuses.count("UNKNOWN") <= 6  # at most the rows in flight when killed
    assert slow_mocks.states["gumloop"].start_count >= statuses.count("SUCCEEDED")


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(slow_mocks: MockProviders, tmp_path: Path) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"topic": f"t{i}"}) + "\n" for i in range(20)))
    out = tmp_path / "out.jsonl"
    proc = _spawn(["batch", "gumloop:ctrl-c", str(inputs), "--out", str(out), "--concurrency", "4"], slow_mocks.env)
    state = out.with_name(out.name + ".flowdeck-state.jsonl")
    deadline = time.monotonic() + 30
    while _started_lines(state) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert b"To resume" in stderr and b"flowdeck batch gumloop:ctrl-c" in stderr


def test_pytest_plugin_fixtures_give_a_client_on_the_mocks(flowdeck_client: flowdeck.Client) -> None:
    run = flowdeck_client.run(f"superai:{'7c9e6679-7425-40de-944b-e07fc1f90ae7'}", {"file_key": "x.pdf"})
    assert run.succeeded and run.outputs["extract"]["fields"] == ["file_key"]
