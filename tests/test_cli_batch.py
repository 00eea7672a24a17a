"""``flowdeck batch`` through the real command: outcomes, refused keys, retries, resuming, pacing, the summary
and its next steps, the progress display."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowdeck import Run
from flowdeck._batch import BatchSummary, FailureGroup
from flowdeck._cli import app, batch_run
from flowdeck._cli.next_steps import next_step
from flowdeck._cli.output import summary_line
from flowdeck._client import AsyncClient
from flowdeck.testing import Faults, MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    bash,
    closed_port,
    in_terminal,
    jsonl,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
    spawn,
)
from tests._cli import flowdeck as run_flowdeck

runner = CliRunner()
UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def state_of(out: Path) -> Path:
    return out.with_name(out.name + ".flowdeck-state.jsonl")


# --- input files ----------------------------------------------------------------------------------


# --- options and --out ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "0"], "Invalid value for '--concurrency': 0 must be 1 or more"),
        (["--concurrency", "-4"], "Invalid value for '--concurrency': -4 must be 1 or more"),
        (["--timeout", "-1"], "Invalid value for '--timeout': -1 must be more than 0 seconds"),
        (["--rate", "0/s"], "--rate '0/s': must be more than 0 starts"),
        (["--rate", "fast"], "--rate 'fast': expected a number of starts, like 10/s"),
        (["--encoding", "klingon"], "--encoding 'klingon': unknown encoding"),
        (["--map", "nonsense"], "--map 'nonsense': expected 'column=input_name'"),
    ],
)
def test_bad_options(mock_env: dict[str, str], tmp_path: Path, args: list[str], message: str) -> None:
    """Bad batch options are one-line usage errors, and nothing is written."""
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    line = one_line_error(
        runner.invoke(app, ["batch", "gumloop:x", str(csv), "--out", str(tmp_path / "o.jsonl"), *args])
    )
    assert message in line
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_misspelt_reference(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A misspelt reference is named as the argument, not as a row."""
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    line = one_line_error(runner.invoke(app, ["batch", "databr:flow/x", str(csv), "--out", str(tmp_path / "o.jsonl")]))
    assert "'databr:flow/x'" in line and "row" not in line and "in.csv" not in line, line
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_second_batch_same_out(tmp_path: Path) -> None:
    """A second batch on the same --out is refused while one runs."""
    with MockProviders(MockConfig(seed=2, run_seconds=(30.0, 30.0))) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(3)])
        out = tmp_path / "out.jsonl"
        args = ["batch", "gumloop:locked", str(inputs), "--out", str(out)]
        first = spawn(args, mocks.env)
        try:
            deadline = time.monotonic() + 30
            while mocks.states["gumloop"].start_count < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            second = run_flowdeck(args, mocks.env)
            assert second.returncode == 2, second.stderr
            assert "another flowdeck batch is writing to it" in second.stderr
            assert mocks.states["gumloop"].start_count == 3
        finally:
            first.send_signal(signal.SIGINT)
            first.communicate(timeout=30)


# --- outcomes and reruns --------------------------------------------------------------------------


def test_every_row_once(served_mocks: MockProviders, mock_env: dict[str, str], tmp_path: Path) -> None:
    """A batch runs every row once, with its columns mapped to inputs."""
    csv = tmp_path / "leads.csv"
    csv.write_text("Company Domain\n" + "".join(f"batch{i}.com\n" for i in range(25)))
    out = tmp_path / "results.jsonl"
    before = served_mocks.states["databar"].start_count
    args = ["batch", "databar:flow/batch", str(csv), "--out", str(out), "--map", "Company Domain=domain",
            "--concurrency", "8", "--rate", "200/s"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {r["row"]: r for r in results(out)}
    assert len(rows) == 25 and {r["status"] for r in rows.values()} == {"SUCCEEDED"}
    assert rows[2]["input"] == {"domain": "batch0.com"} and rows[2]["outputs"]["inputs"] == {"domain": "batch0.com"}
    assert served_mocks.states["databar"].start_count - before == 1  # Databar rows run as one bulk task
    for written in (out, state_of(out)):  # credentials never reach the batch's files
        assert mock_env["DATABAR_API_KEY"] not in written.read_text()
    again = runner.invoke(app, args)  # everything is finished: nothing is started again
    assert again.exit_code == 0 and served_mocks.states["databar"].start_count - before == 1
    other = tmp_path / "other.csv"
    other.write_text("Company Domain\nchanged.com\n")
    refused = runner.invoke(
        app, ["batch", "databar:flow/batch", str(other), "--out", str(out), "--map", "Company Domain=domain"]
    )
    assert "other inputs" in one_line_error(refused)


def test_rejected_rows_apart(
    served_mocks: MockProviders, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Rejected rows are kept apart from not-started ones and retried only on request."""
    inputs = jsonl(tmp_path / "in.jsonl", [
        {"workflow": "stackai:acme/rejected-a", "in-0": "a"},       # 401: wrong key
        {"workflow": "stackai:acme/rejected-b", "in-0": "b"},       # 401: wrong key
        {"workflow": "databar:flow/missing-flow", "domain": "c"},   # 404: no such flow
        {"workflow": "gumloop:unreachable", "topic": "d"},          # connection refused: nothing sent
        {"workflow": "databar:flow/fine", "domain": "e"},
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    args = ["batch", "column:workflow", str(inputs), "--out", str(out)]
    monkeypatch.setenv("STACKAI_API_KEY", "wrong-key")
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{closed_port()}/api/v1")
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    statuses = {r["row"]: r["status"] for r in results(out)}
    # Row 2 is never sent: StackAI refused the key at row 1, and would refuse it again.
    assert statuses == {1: "REJECTED", 2: "NOT_STARTED", 3: "REJECTED", 4: "NOT_STARTED", 5: "SUCCEEDED"}
    by_row = {r["row"]: r for r in results(out)}
    assert by_row[1]["error_type"] == "AuthenticationError" and by_row[3]["error_type"] == "NotFoundError"

    # The summary groups the failures by reason, names the rows, and says what to do next.
    text = " ".join(first.stdout.split())
    assert "REJECTED (1): stackai run_deployed_flow: HTTP 401: Invalid API key — row 1" in text
    assert "NOT_STARTED (1): not sent: stackai refused the credential (HTTP 401) at row 1" in text
    assert "REJECTED (1): databar run_flow: HTTP 404: Flow not found — row 3" in text
    assert "NOT_STARTED (1):" in text and "— row 4" in text
    next_steps = [line.strip().removeprefix("next: ") for line in first.stdout.splitlines() if "next:" in line]
    credential_step = next(step for step in next_steps if "STACKAI_API_KEY" in step)
    assert credential_step.endswith("--retry-rejected")

    # Fixed credentials and URL, same command: the NOT_STARTED rows run, the REJECTED ones are skipped.
    use_env(monkeypatch, mock_env)
    stackai_before = served_mocks.states["stackai"].start_count
    second = runner.invoke(app, args)
    assert second.exit_code == 1
    lines = results(out)
    assert [r["row"] for r in lines] == [1, 2, 3, 4, 5]  # one line per row, in row order
    assert [r["status"] for r in lines] == ["REJECTED", "SUCCEEDED", "REJECTED", "SUCCEEDED", "SUCCEEDED"]
    assert served_mocks.states["stackai"].start_count == stackai_before + 1

    # The printed next step, pasted into a shell, retries the rejected rows.
    pasted = bash(credential_step.split(": ", 1)[1], mock_env)
    assert pasted.returncode == 1, pasted.stderr  # row 3's flow still does not exist
    lines = results(out)
    assert [(r["row"], r["status"]) for r in lines] == [
        (1, "SUCCEEDED"), (2, "SUCCEEDED"), (3, "REJECTED"), (4, "SUCCEEDED"), (5, "SUCCEEDED")
    ]  # fmt: skip
    assert served_mocks.states["stackai"].start_count == stackai_before + 2


@pytest.fixture
def dropping_mocks() -> Iterator[MockProviders]:
    """Mocks that drop the connection after processing 40% of requests: starts of unknown outcome."""
    faults = Faults(rate=0.4, kinds=("drop_after",))
    with MockProviders(MockConfig(seed=21, faults=faults)) as mocks:
        yield mocks


def test_retry_unknown(dropping_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """--retry-unknown starts again exactly the rows whose start is unknown."""
    use_env(monkeypatch, dropping_mocks.env)
    gumloop = dropping_mocks.states["gumloop"]
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(20)])
    out = tmp_path / "out.jsonl"
    args = ["batch", "gumloop:unknowns", str(inputs), "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    unknown = {r["row"] for r in results(out) if r["status"] == "UNKNOWN"}
    assert 0 < len(unknown) < 20, results(out)
    assert "--retry-unknown" in first.stdout
    dropping_mocks.config.faults.rate = 0.0
    started = gumloop.start_count

    again = runner.invoke(app, args)  # without the flag, an UNKNOWN row is never started again
    assert again.exit_code == 1 and gumloop.start_count == started
    retried = runner.invoke(app, [*args, "--retry-unknown"])
    assert retried.exit_code == 0, retried.output
    assert gumloop.start_count == started + len(unknown)  # those rows, and only those
    doubled = {json.loads(key.split(" ", 1)[1])["topic"] for key in gumloop.duplicate_starts()}
    assert doubled == {f"t{row - 1}" for row in unknown}  # they had started: the flag's known cost
    assert [(r["row"], r["status"]) for r in results(out)] == [(n, "SUCCEEDED") for n in range(1, 21)]


def test_failed_rewrite_keeps_results(
    mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A failed rewrite of the results file leaves it whole."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}, {"topic": "b"}])
    out = tmp_path / "out.jsonl"
    args = ["batch", "gumloop:rewrite", str(inputs), "--out", str(out)]
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{closed_port()}/api/v1")
    assert runner.invoke(app, args).exit_code == 1
    before = out.read_bytes()
    assert [r["status"] for r in results(out)] == ["NOT_STARTED", "NOT_STARTED"]

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    use_env(monkeypatch, mock_env)
    line = one_line_error(runner.invoke(app, args), code=1)
    assert "No space left on device" in line
    assert out.read_bytes() == before  # the old file, whole: never half of a new one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out.jsonl", state_of(out).name]


def test_piped_summary_unwrapped(served_mocks: MockProviders, tmp_path: Path) -> None:
    """A piped batch summary is never wrapped."""
    inputs = jsonl(tmp_path / "in.jsonl", [
        {"workflow": "gumloop:wide", "topic": "ok"},
        {"workflow": "gumloop:wide", "topic": "bad", "mock_outcome": "fail"},
        {"workflow": "gumloop:wide", "topic": "stop", "mock_outcome": "cancel"},
        {"workflow": "databar:flow/missing-" + "x" * 60, "domain": "nowhere"},
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    done = run_flowdeck(
        ["batch", "column:workflow", str(inputs), "--out", str(out)], {**served_mocks.env, "COLUMNS": "40"}
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if "provider" in line)
    assert all(status in header for status in ("SUCCEEDED", "CANCELLED", "FAILED", "REJECTED")), lines
    rejected = next(line for line in lines if line.startswith("REJECTED"))
    assert rejected.endswith("HTTP 404: Flow not found — row 4"), rejected
    assert next(i for i, line in enumerate(lines) if line.startswith("REJECTED")) + 1 == next(
        i for i, line in enumerate(lines) if line.startswith("  next: check the workflow reference")
    )


def test_json_summary_one_line(served_mocks: MockProviders, tmp_path: Path) -> None:
    """The --json summary is one line that jq reads."""
    rows = [{"topic": "ok"}, {"topic": "bad", "mock_outcome": "fail"}, {"topic": "worse", "mock_outcome": "fail"}]
    inputs = jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    command = shlex.join(["flowdeck", "batch", "gumloop:jq", str(inputs), "--out", str(out), "--json"])
    done = bash(
        f"{command} | tee summary.json | jq -c '{{ok, statuses, failures: [.failures[] | {{status, rows, next}}]}}'"
        " && jq -r '.failures[0].reason' summary.json",
        served_mocks.env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    compact, first_reason = done.stdout.splitlines()
    summary = json.loads(compact)
    assert summary["ok"] is False and summary["statuses"] == {"SUCCEEDED": 1, "FAILED": 2}
    # Each run's log names its own run id: the group's reason is the failure itself, so they group.
    again = shlex.join(["flowdeck", "batch", "gumloop:jq", str(inputs), "--out", str(out), "--json", "--retry-failed"])
    assert summary["failures"] == [
        {"status": "FAILED", "rows": [2, 3], "next": f"the workflow failed at gumloop; each row's error is in {out}. "
         f"To run these rows again (each a new run, paid again): {again}"}
    ]  # fmt: skip
    assert first_reason == "ERROR: node 'Ask AI' failed: rate limited by upstream model"


# --- interruption ---------------------------------------------------------------------------------


@pytest.fixture
def slow_mocks() -> Iterator[MockProviders]:
    # Nothing ends before the client's first poll, half a second after its start: a signal sent when
    # starts are journalled lands with those runs in flight however short they are. Runs shorter than
    # that poll make each round of the batch one poll long.
    with MockProviders(MockConfig(seed=3, run_seconds=(0.1, 0.4))) as mocks:
        yield mocks


def _started_lines(state: Path) -> int:
    return state.read_text().count('"event": "started"') if state.exists() else 0


# The suite kills after 12 starts: rows are both finished and in flight then, so the resume must skip
# the one and not restart the other. `make soak` adds the early kill (3 starts, nothing finished yet):
# the same path, and dropping the started runs from the journal fails both.
@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [pytest.param(3, marks=pytest.mark.soak), 12])
def test_resume_after_kill_9(slow_mocks: MockProviders, tmp_path: Path, kill_after: int) -> None:
    """A batch killed with -9 resumes without starting any run twice."""
    n = 30
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(n)])
    out = tmp_path / "out.jsonl"
    state = state_of(out)
    args = ["batch", "gumloop:resume-flow", str(inputs), "--out", str(out), "--concurrency", "6", "--rate", "20/s"]
    proc = spawn(args, slow_mocks.env)
    deadline = time.monotonic() + 30
    while _started_lines(state) < kill_after and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    killed_at = slow_mocks.states["gumloop"].start_count
    assert 0 < killed_at < n, "the kill should land mid-batch"

    resumed = spawn(args, slow_mocks.env)
    _, stderr = resumed.communicate(timeout=60)
    assert resumed.returncode in (0, 1), stderr
    rows = results(out)
    assert [r["row"] for r in rows] == list(range(1, n + 1)), "every row has exactly one line"
    statuses = [r["status"] for r in rows]
    assert set(statuses) <= {"SUCCEEDED", "UNKNOWN"}
    # Exactly-once: no workflow+inputs was started twice, and only rows interrupted mid-start are UNKNOWN.
    assert slow_mocks.duplicate_starts() == {}
    assert statuses.count("UNKNOWN") <= 6  # at most the rows in flight when killed
    assert slow_mocks.states["gumloop"].start_count >= statuses.count("SUCCEEDED")


@pytest.mark.slow
def test_killed_rerun_one_line_a_row(
    slow_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A rerun killed midway never leaves two result lines for a row."""
    n = 10
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = ["batch", "gumloop:rerun-killed", str(inputs), "--out", str(out), "--concurrency", "4"]
    use_env(monkeypatch, {**slow_mocks.env, "GUMLOOP_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/v1"})
    assert runner.invoke(app, args).exit_code == 1
    assert [r["status"] for r in results(out)] == ["NOT_STARTED"] * n
    rerun = spawn(args, slow_mocks.env)  # every row is done again; kill it once some have finished
    deadline = time.monotonic() + 60
    while '"SUCCEEDED"' not in out.read_text() and time.monotonic() < deadline and rerun.poll() is None:
        time.sleep(0.02)
    rerun.send_signal(signal.SIGKILL)
    rerun.communicate(timeout=10)
    rows = [r["row"] for r in results(out)]
    assert len(rows) == len(set(rows)) and 0 < len(rows) < n, rows  # each row at most once, even mid-run
    resumed = spawn(args, slow_mocks.env)
    resumed.communicate(timeout=60)
    assert [r["row"] for r in results(out)] == list(range(1, n + 1))
    assert slow_mocks.duplicate_starts() == {}


# --- progress display -----------------------------------------------------------------------------


def _log_a_retry_before_each_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand in for the transport: one retry record per start, as the transport logs them."""
    original = AsyncClient.start
    log = logging.getLogger("flowdeck.retries")

    async def start(self: AsyncClient, ref: Any, inputs: Any = None) -> Any:
        log.debug(
            "retrying POST api.example.com/v1/x after HTTP 429 (attempt 2 of 3, in 0.0 s)",
            extra={"flowdeck_retry": {"reason": "429", "attempt": 2, "wait": 0.0}},
        )
        return await original(self, ref, inputs)

    monkeypatch.setattr(AsyncClient, "start", start)


def test_retries_in_progress(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Retries are counted in the progress display and logged only with -v."""
    _log_a_retry_before_each_start(monkeypatch)
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(7)])
    quiet = runner.invoke(app, ["batch", "gumloop:retries", str(inputs), "--out", str(tmp_path / "a.jsonl")])
    assert quiet.exit_code == 0, quiet.output
    assert "7 retries (7 were 429s)" in quiet.stderr  # the display's last frame
    assert "retrying" not in quiet.stderr
    loud = runner.invoke(app, ["batch", "gumloop:retries", str(inputs), "--out", str(tmp_path / "b.jsonl"), "-v"])
    assert loud.exit_code == 0, loud.output
    assert loud.stderr.count("flowdeck.retries: retrying POST api.example.com/v1/x after HTTP 429") == 7
    assert not logging.getLogger().handlers or all(
        type(h).__module__ != "flowdeck._cli.output" for h in logging.getLogger().handlers
    )  # the command's log routing is gone once it returns


@pytest.mark.slow
def test_stackai_shown_running(tmp_path: Path) -> None:
    """StackAI runs show as running while in flight."""
    # Runs longer than the wait for the first start's answer (a refused key stops the rest: _batch), so
    # the other two start while the first still runs.
    with MockProviders(MockConfig(seed=4, run_seconds=(2.5, 2.5))) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"in-0": f"q{i}"} for i in range(3)])
        shown = in_terminal(
            ["batch", "stackai:acme/inflight", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--concurrency", "3"],
            mocks.env,
        )
    assert shown.returncode == 0, shown.screen
    running = [int(m.group(1)) for line in shown.lines if (m := re.search(r"(\d+) running", line))]
    assert max(running) == 3, shown.lines


@pytest.mark.slow
def test_progress_bar_under_429s(tmp_path: Path) -> None:
    """A 400-row batch under 30% 429s keeps the progress display intact."""
    faults = Faults(rate=0.3, kinds=("429",), retry_after=0)
    with MockProviders(MockConfig(seed=8, faults=faults)) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(400)])
        shown = in_terminal(["batch", "gumloop:busy", str(inputs), "--out", str(tmp_path / "o.jsonl")], mocks.env)
    assert shown.returncode in (0, 1), shown.screen
    # Every line on the terminal is a frame of the progress display: no log line, no stray output.
    strays = [line for line in shown.lines if "done" not in line or "running" not in line]
    assert strays == [], strays[:5]
    last = shown.lines[-1]
    assert "400/400 done" in last
    retries = re.search(r"(\d+) retries \((\d+) were 429s\)", last)
    assert retries is not None and int(retries.group(2)) > 50, last


def test_quota_points_to_slower_pace() -> None:
    """Rows refused by a quota are pointed to --adaptive-rate."""
    refused = FailureGroup("NOT_STARTED", "gumloop", "RateLimitError", "HTTP 429: quota", (2, 3))
    resume = ["flowdeck", "batch", "gumloop:g", "in.csv", "--out", "o.jsonl"]
    assert next_step(refused, resume, Path("o.jsonl")).endswith(" --out o.jsonl --adaptive-rate")
    dropped = FailureGroup("NOT_STARTED", "gumloop", "TransportError", "ConnectError", (2,))
    assert next_step(dropped, resume, Path("o.jsonl")).endswith("run: flowdeck batch gumloop:g in.csv --out o.jsonl")


def test_unknown_runs_not_rewaited() -> None:
    """Runs the provider does not know are not pointed to waiting again."""
    resume = ["flowdeck", "batch", "gumloop:g", "in.csv", "--out", "o.jsonl"]
    lost = FailureGroup("POLL_ERROR", "gumloop", "NotFoundError", "HTTP 404: run not found", (1, 2))
    step = next_step(lost, resume, Path("o.jsonl"))
    assert "does not know these runs" in step and "flowdeck batch" not in step, step
    dropped = FailureGroup("POLL_ERROR", "gumloop", "TransportError", "ConnectError", (1,))
    assert next_step(dropped, resume, Path("o.jsonl")).endswith("run: flowdeck batch gumloop:g in.csv --out o.jsonl")


def test_printed_commands_keep_v(mock_env: dict[str, str], tmp_path: Path) -> None:
    """The printed next commands keep the global -v option."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": "a.com"}])
    args = ["-vv", "batch", "databar:flow/missing", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--no-check"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1, result.output
    (step,) = [f["next"] for f in json.loads(result.stdout)["failures"]]
    assert shlex.split(step.rpartition("then run: ")[2])[1:4] == ["-vv", "batch", "databar:flow/missing"], step


def test_row_errors_in_our_words(tmp_path: Path) -> None:
    """Row errors are in flowdeck's words, not the HTTP library's."""
    faults = Faults(rate=1.0, kinds=("drop_after",))  # started, then the answer cut short mid-body
    with MockProviders(MockConfig(seed=2, faults=faults)) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(3)])
        done = run_flowdeck(
            ["batch", "gumloop:cut", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--json"], mocks.env
        )
    assert done.returncode == 1, done.stderr
    errors = {r["error"] for r in results(tmp_path / "o.jsonl")}
    assert errors == {
        "gumloop start_pipeline: the connection broke while the answer was read, after the start request was "
        "sent; the run may have started, so it was not retried"
    }
    (group,) = json.loads(done.stdout)["failures"]
    assert group["status"] == "UNKNOWN" and group["reason"] == next(iter(errors))
    assert "400" not in done.stdout + done.stderr and "ContentLength" not in done.stdout + done.stderr


def test_retry_failed(served_mocks: MockProviders, mock_env: dict[str, str], tmp_path: Path) -> None:
    """--retry-failed starts failed rows anew, and only when asked."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}, {"topic": "b", "mock_outcome": "fail"}, {"topic": "c"}])
    out = tmp_path / "o.jsonl"
    args = ["batch", "gumloop:rerun-rows", str(inputs), "--out", str(out), "--json"]
    starts = served_mocks.states["gumloop"]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    (group,) = json.loads(first.stdout)["failures"]
    assert group["status"] == "FAILED" and group["next"].endswith(f"--out {out} --json --retry-failed")
    assert "(each a new run, paid again)" in group["next"]
    failed_run = results(out)[1]["run_id"]
    before = starts.start_count
    assert runner.invoke(app, args).exit_code == 1 and starts.start_count == before  # a plain rerun starts nothing
    checked = runner.invoke(app, [*args, "--retry-failed", "--check"])
    assert json.loads(checked.stdout)["journal"] | {"error": None} == {
        "finished": 2, "to_wait": 0, "to_start": 1, "unknown": 0, "error": None
    }  # fmt: skip
    again = runner.invoke(app, [*args, "--retry-failed"])
    assert again.exit_code == 1, again.output
    assert starts.start_count == before + 1  # only the FAILED row, as a new run
    rows = results(out)
    assert [r["status"] for r in rows] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert rows[1]["run_id"] != failed_run
    assert json.loads(again.stdout)["started_now"] == 1


def test_crash_in_retried_start(tmp_path: Path) -> None:
    """A crash during a retried start leaves the row unknown, not the old run."""
    from flowdeck._batch import BatchRow, Journal, fingerprint
    from flowdeck._models import Run, Status
    from flowdeck._providers import parse_ref

    row = BatchRow(2, "gumloop:f", {"topic": "a"})
    journal = Journal(tmp_path / "o.jsonl")
    journal.load(fingerprint([row]))
    journal.intent(row)
    journal.started(row, Run("gumloop", parse_ref("gumloop:f"), "old", Status.FAILED, "FAILED"))
    journal.intent(row)  # --retry-failed's new start, then kill -9 before its answer
    journal.close()
    earlier = Journal(tmp_path / "o.jsonl").peek(fingerprint([row]))
    assert earlier.started == {} and earlier.unresolved == {2}


def test_half_written_journal_line(tmp_path: Path) -> None:
    """A journal line the disk refuses halfway is taken back whole."""

    script = textwrap.dedent(f"""
        from pathlib import Path
        from flowdeck._batch import Journal
        journal = Journal(Path({str(tmp_path / "out.jsonl")!r}))
        try:
            for row in range(1000):
                journal.not_started(row)
        except OSError as exc:
            print(exc.errno)
    """)
    done = subprocess.run(  # noqa: S603 - the test's own interpreter, a limit only a child may have
        ["/bin/bash", "-c", f"ulimit -f 1; trap '' XFSZ; exec {sys.executable} -c \"$0\"", script],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "27", done  # EFBIG: the limit was met
    state = (tmp_path / "out.jsonl.flowdeck-state.jsonl").read_bytes()
    assert len(state) < 1024 and state.endswith(b"\n")
    assert [json.loads(line)["row"] for line in state.splitlines()] == list(range(len(state.splitlines())))


def batch(tmp_path: Path, ref: str, source: Path, *extra: str) -> Any:
    return runner.invoke(app, ["batch", ref, str(source), "--out", str(tmp_path / "out.jsonl"), *extra])


def test_rate_below_one_per_second(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A rate below one start a second paces the starts and the batch completes."""
    source = tmp_path / "in.csv"
    source.write_text("topic\na\nb\n")
    result = batch(tmp_path, "gumloop:slowly", source, "--rate", "0.5/s")
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in results(tmp_path / "out.jsonl")] == ["SUCCEEDED", "SUCCEEDED"]


def test_refused_batch_one_line(served_mocks: MockProviders, tmp_path: Path) -> None:
    """A refused batch prints one line and no empty progress line."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("topic\na\n")
    second.write_text("topic\nb\n")
    out = str(tmp_path / "out.jsonl")
    assert run_flowdeck(["batch", "gumloop:once", str(first), "--out", out], served_mocks.env).returncode == 0
    refused = run_flowdeck(["batch", "gumloop:once", str(second), "--out", out], served_mocks.env)
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ") and refused.stderr.count("\n") == 1, repr(refused.stderr)


def test_summary_accounts_every_row() -> None:
    """The batch summary accounts for every row."""
    summary = BatchSummary(total=60, skipped=8, started_now=44, resumed=5, runs_started=44)
    assert str(summary_line(summary)).endswith(
        "44 started now, 5 started earlier and followed again, 8 done earlier, 3 not started"
    )
    one = BatchSummary(total=1, skipped=0, started_now=1, resumed=0, runs_started=1)
    assert str(summary_line(one)).startswith("1 row in ") and str(summary_line(one)).endswith(": 1 started now")


def test_batch_summary_counts(
    served_mocks: MockProviders, mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The batch summary counts each kind of row apart, and runs as the provider saw them."""
    # Three Databar rows run as one bulk task: the summary counts runs as the mocks see them, and keeps
    # refused and maybe-started rows apart from those not started.
    inputs = jsonl(tmp_path / "in.jsonl", [
        *({"workflow": "databar:flow/summary", "domain": f"d{i}.com"} for i in range(3)),
        {"workflow": f"superai:{UUID}", "file_key": "ok.pdf"},
        {"workflow": "superai:00000000-0000-4000-8000-000000000404", "file_key": "x.pdf"},  # refused: REJECTED
        {"workflow": "stackai:acme/cut", "in-0": "x"},  # the answer is cut short: UNKNOWN
        {"workflow": "gumloop:unreachable", "topic": "x"},  # nothing listens: NOT_STARTED
    ])  # fmt: skip
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{closed_port()}/api/v1")
    before = served_mocks.start_count
    with MockProviders(MockConfig(seed=4, faults=Faults(rate=1.0, kinds=("drop_after",)))) as cutting:
        monkeypatch.setenv("STACKAI_BASE_URL", cutting.env["STACKAI_BASE_URL"])
        args = ["batch", "column:workflow", str(inputs), "--out", str(tmp_path / "out.jsonl")]
        done = runner.invoke(app, args)
        as_json = runner.invoke(app, [*args[:-1], str(tmp_path / "again.jsonl"), "--json"])
    assert done.exit_code == 1, done.output
    first = done.stdout.splitlines()[0]
    assert first.endswith(
        ": 4 started now as 2 runs (a bulk task runs many rows), 1 unknown whether started (UNKNOWN), "
        "1 refused at start (REJECTED), 1 not started"
    ), first
    summary = json.loads(as_json.stdout)
    assert {k: summary[k] for k in ("started_now", "runs_started", "unknown", "rejected", "not_started")} == {
        "started_now": 4, "runs_started": 2, "unknown": 1, "rejected": 1, "not_started": 1
    }  # fmt: skip
    assert served_mocks.start_count - before == 2 * 2  # two runs a batch, as the summary says


def test_refused_key_stops_provider(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A refused key stops that provider's starts; the printed step resumes the rest."""
    inputs = jsonl(tmp_path / "in.jsonl", [
        *({"workflow": "gumloop:keyed", "topic": f"t{i}"} for i in range(30)),
        {"workflow": "stackai:acme/fine", "in-0": "x"},  # another provider's credential is not in question
    ])  # fmt: skip
    out = tmp_path / "out.jsonl"
    sent: list[str] = []
    real_start = AsyncClient.start

    async def counted(self: AsyncClient, ref: Any, inputs: Any, **kwargs: Any) -> Run:
        sent.append(str(ref))
        return await real_start(self, ref, inputs, **kwargs)

    monkeypatch.setattr(AsyncClient, "start", counted)
    monkeypatch.setenv("GUMLOOP_API_KEY", "wrong-key")
    done = runner.invoke(app, ["batch", "column:workflow", str(inputs), "--out", str(out)])
    assert done.exit_code == 1, done.output
    assert sent.count("gumloop:keyed") == 1 and sent.count("stackai:acme/fine") == 1  # not 30 x 401
    statuses = [r["status"] for r in results(out)]
    assert statuses == ["REJECTED", *["NOT_STARTED"] * 29, "SUCCEEDED"]
    assert done.stderr.strip().splitlines()[-1] == (
        "error: gumloop refused the credential (HTTP 401) at row 1, so its other 29 rows were not sent; "
        "check GUMLOOP_API_KEY / GUMLOOP_USER_ID"
    )
    state = [json.loads(line) for line in (tmp_path / "out.jsonl.flowdeck-state.jsonl").read_text().splitlines()]
    assert [e["row"] for e in state if e.get("event") == "intent"] == [1, 31]  # the held-back rows: never sent

    # The key fixed, the printed step pasted: every gumloop row runs, none twice.
    monkeypatch.setenv("GUMLOOP_API_KEY", mock_env["GUMLOOP_API_KEY"])
    steps = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("next:")]
    step, pointer = steps  # the refused row's command, which the held-back rows' step points at
    assert pointer == "next: the command above starts these rows too"
    command = shlex.split(step.rpartition("then run: ")[2])
    assert command[-1] == "--retry-rejected"
    again = runner.invoke(app, command[command.index("batch") :])
    assert again.exit_code == 0, again.output
    assert [r["status"] for r in results(out)] == ["SUCCEEDED"] * 31
    assert sent.count("gumloop:keyed") == 1 + 30 and sent.count("stackai:acme/fine") == 1


def test_refused_key_stops_bulk(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A refused key stops the other bulk tasks of the batch too."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"domain": f"d{i}.com"} for i in range(6)])
    out = tmp_path / "out.jsonl"
    monkeypatch.setenv("DATABAR_API_KEY", "wrong-key")
    done = runner.invoke(app, ["batch", "databar:flow/keyed", str(inputs), "--out", str(out), "--bulk", "2"])
    assert done.exit_code == 1, done.output
    by_status: dict[str, list[int]] = {}
    for record in results(out):
        by_status.setdefault(record["status"], []).append(record["row"])
    assert len(by_status["REJECTED"]) == 2 and len(by_status["NOT_STARTED"]) == 4, by_status  # one task sent
    assert "databar refused the credential (HTTP 403)" in done.stderr and "check DATABAR_API_KEY" in done.stderr


def test_timeout_next_step(tmp_path: Path) -> None:
    """The step printed after a timeout waits longer, and pasted it succeeds."""
    # Repeating --timeout 0.2 would time out again: the printed command must be able to succeed.
    with MockProviders(MockConfig(seed=6, run_seconds=(1.0, 1.0))) as mocks:
        inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(3)])
        out = tmp_path / "out.jsonl"
        first = bash(f"flowdeck batch gumloop:slow {inputs} --out {out} --timeout 0.2 --json", mocks.env)
        assert first.returncode == 1, first.stderr
        (group,) = json.loads(first.stdout)["failures"]
        assert group["status"] == "TIMEOUT"
        step = group["next"].split(" run: ", 1)[1].split(" (or add", 1)[0]
        assert "--timeout" not in shlex.split(step), step
        pasted = bash(step, mocks.env)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert [r["status"] for r in results(out)] == ["SUCCEEDED"] * 3


def test_batch_unreachable_next_step(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A batch that cannot connect names the base URL variable in its next step."""
    port = closed_port()
    monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{port}/api/v1")
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}])
    done = runner.invoke(app, ["batch", "gumloop:x", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--json"])
    (group,) = json.loads(done.stdout)["failures"]
    assert group["next"].startswith(
        f"gumloop could not be reached at 127.0.0.1:{port}, set by GUMLOOP_BASE_URL=http://127.0.0.1:{port}/api/v1: "
        "check it"
    ), group["next"]


def test_rate_per_minute_is_per_minute(mock_env: dict[str, str], tmp_path: Path) -> None:
    """--rate reads per second, minute and hour alike."""
    from flowdeck._cli.batch_options import parse_rate

    assert (parse_rate("120/m"), parse_rate("7200/h"), parse_rate("2/s"), parse_rate("2")) == (2.0, 2.0, 2.0, 2.0)
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": f"t{i}"} for i in range(2)])
    done = runner.invoke(
        app, ["batch", "gumloop:x", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--rate", "600/m"]
    )
    assert done.exit_code == 0, done.output


def test_bulk_where_there_are_no_bulk_tasks(mock_env: dict[str, str], tmp_path: Path) -> None:
    """`--bulk 5` on a provider without bulk tasks is refused (exit 2), not silently ignored."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}, {"topic": "b"}])
    out = tmp_path / "out.jsonl"
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:x", str(inputs), "--out", str(out), "--bulk", "5"]))
    assert line == (
        "error: --bulk 5: no bulk tasks at gumloop (each input is a run of its own), so it would be ignored; "
        "leave it out"
    )
    assert not out.exists()
    one_per_row = runner.invoke(app, ["batch", "gumloop:x", str(inputs), "--out", str(out), "--bulk", "1"])
    assert one_per_row.exit_code == 0, one_per_row.output  # what it does anyway: harmless


@pytest.mark.parametrize("option", ["--bulk", "--concurrency"])
def test_counts_below_one_in_plain_words(mock_env: dict[str, str], tmp_path: Path, option: str) -> None:
    """`--bulk 0` is refused in the words of the other options' checks, not a range formula."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}])
    done = runner.invoke(app, ["batch", "gumloop:x", str(inputs), "--out", str(tmp_path / "o.jsonl"), option, "0"])
    assert one_line_error(done).startswith(f"error: Invalid value for '{option}': 0 must be 1 or more")


def test_refused_key_next_step_given_once(
    mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After a refused key, the one command that starts the refused and the held-back rows is printed once."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"in-0": "a"}, {"in-0": "b"}, {"in-0": "c"}])
    monkeypatch.setenv("STACKAI_API_KEY", "wrong-key")
    done = runner.invoke(app, ["batch", "stackai:acme/flow", str(inputs), "--out", str(tmp_path / "o.jsonl")])
    assert done.exit_code == 1, done.output
    steps = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("next:")]
    assert len(steps) == 2, done.stdout  # the REJECTED row, and the rows never sent
    assert "STACKAI_API_KEY" in steps[0] and steps[0].endswith("--retry-rejected")
    assert steps[1] == "next: the command above starts these rows too"


async def test_batch_http_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch runs on aiohttp when installed and on httpcore otherwise."""
    from flowdeck._aiohttp import AiohttpTransport
    from flowdeck._transport import ShardedAsyncTransport

    async with batch_run.batch_client() as client:
        assert isinstance(client._http._inner, AiohttpTransport)  # type: ignore[union-attr]
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    async with batch_run.batch_client() as client:
        assert isinstance(client._http._inner.others, ShardedAsyncTransport)  # type: ignore[union-attr]
