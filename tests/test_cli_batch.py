"""``flowdeck batch`` through the real command: inputs, --out, outcomes, resuming, summary, progress display."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flowdeck._batch import FailureGroup
from flowdeck._cli import app
from flowdeck._cli.next_steps import next_step
from flowdeck._client import AsyncClient
from flowdeck.testing import Faults, MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    bash,
    in_terminal,
    interrupt_when,
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


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- input files ----------------------------------------------------------------------------------


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
def test_bad_csv(mock_env: dict[str, str], tmp_path: Path, content: str, message: str) -> None:
    """A malformed CSV is a one-line error naming the row and column."""
    csv = tmp_path / "in.csv"
    csv.write_text(content)
    result = runner.invoke(app, ["batch", "databar:flow/1", str(csv), "--out", str(tmp_path / "o.jsonl")])
    assert message in one_line_error(result)


def test_bad_jsonl_and_map(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A JSON line that is no object, and a --map of a missing column, are one-line errors."""
    bad = jsonl(tmp_path / "in.jsonl", [{"domain": "a"}])
    bad.write_text(bad.read_text() + "[1, 2]\n")
    result = runner.invoke(app, ["batch", "databar:flow/1", str(bad), "--out", str(tmp_path / "o.jsonl")])
    assert "row 2: must be a JSON object" in one_line_error(result)
    csv = tmp_path / "in.csv"
    csv.write_text("Domain\na.com\n")
    bad_map = ["batch", "databar:flow/1", str(csv), "--out", str(tmp_path / "o.jsonl"), "--map", "Website=domain"]
    assert "no column 'Website'" in one_line_error(runner.invoke(app, bad_map))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        # Excel's "CSV" on Windows and macOS: Latin-1 / cp1252.
        ("domain,city\nstripe.com,Zürich\n".encode("latin-1"), "in.csv", "line 2: byte 0xfc at column 13 is not utf-8"),
        (b"domain\n" + b"\x00\x01\x02binary\xff\xfe", "in.csv", "is a binary file (it holds NUL bytes)"),
        (b"PK\x03\x04", "in.xlsx", "a spreadsheet; save it as CSV (UTF-8) first"),
    ],
)
def test_not_utf8_text(mock_env: dict[str, str], tmp_path: Path, content: bytes, name: str, message: str) -> None:
    """A file that is not UTF-8 text is a one-line error, and nothing is written."""
    path = tmp_path / name
    path.write_bytes(content)
    line = one_line_error(
        runner.invoke(app, ["batch", "databar:flow/1", str(path), "--out", str(tmp_path / "o.jsonl")])
    )
    assert message in line
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_latin1_and_utf8_bom(mock_env: dict[str, str], tmp_path: Path) -> None:
    """Latin-1 with --encoding, and UTF-8 with a byte order mark, are read."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes("topic,city\nnews,Zürich\n".encode("latin-1"))
    out = tmp_path / "o1.jsonl"
    result = runner.invoke(app, ["batch", "gumloop:enc", str(latin), "--out", str(out), "--encoding", "latin-1"])
    assert result.exit_code == 0, result.output
    assert results(out)[0]["input"] == {"topic": "news", "city": "Zürich"}
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbftopic\nnews\n")  # Excel's "CSV UTF-8" starts with a byte order mark
    out = tmp_path / "o2.jsonl"
    result = runner.invoke(app, ["batch", "gumloop:bom", str(bom), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert results(out)[0]["input"] == {"topic": "news"}


def test_windows_file_cp1252(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A Windows file is pointed to cp1252, and reads right with it."""
    # Excel on Windows saves "CSV" as cp1252: its curly quotes are control codes in latin-1, so a
    # latin-1 hint, pasted, would send garbled text without any error.
    windows = tmp_path / "windows.csv"
    windows.write_bytes("topic\n\u201cquoted\u201d \u2013 text\n".encode("cp1252"))
    out = tmp_path / "o.jsonl"
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:enc", str(windows), "--out", str(out)]))
    assert line.endswith("or pass --encoding cp1252"), line
    result = runner.invoke(app, ["batch", "gumloop:enc", str(windows), "--out", str(out), "--encoding", "cp1252"])
    assert result.exit_code == 0, result.output
    assert results(out)[0]["input"] == {"topic": "\u201cquoted\u201d \u2013 text"}


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


def test_out_refused(mock_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An --out that cannot work (no folder, the input itself, ...) is refused."""
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    before = csv.read_bytes()

    def refused(out: str) -> str:
        return one_line_error(runner.invoke(app, ["batch", "gumloop:x", "in.csv", "--out", out]))

    assert "folder missing does not exist" in refused("missing/results.jsonl")
    assert "is the input file" in refused("in.csv")
    assert "is the input file" in refused(str(tmp_path / "." / "in.csv"))
    (tmp_path / "link.csv").symlink_to(csv)
    assert "is the input file" in refused("link.csv")
    (tmp_path / "folder").mkdir()
    assert "is a folder" in refused("folder")
    foreign = tmp_path / "notes.jsonl"
    foreign.write_text('{"my": "data"}\n')
    assert "was not written by flowdeck batch" in refused("notes.jsonl")
    assert foreign.read_text() == '{"my": "data"}\n' and csv.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "in.csv", "link.csv", "notes.jsonl"]


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


@pytest.mark.slow
def test_ctrl_c_printed_resume(slow_mocks: MockProviders, tmp_path: Path) -> None:
    """After Ctrl-C, the printed command pasted into a shell resumes the batch."""
    folder = tmp_path / "my leads (v2)"
    folder.mkdir()
    csv = folder / "leads & co.csv"
    csv.write_text("Company Topic\n" + "".join(f"t{i}\n" for i in range(12)))
    out = folder / "out.jsonl"
    args = [
        "batch",
        "gumloop:ctrl-c",
        str(csv),
        "--out",
        str(out),
        "--concurrency",
        "4",
        "--map",
        "Company Topic=topic",
        "--no-check",
        "--json",
    ]
    proc = spawn(args, slow_mocks.env)
    _, stderr = interrupt_when(proc, lambda: _started_lines(state_of(out)) >= 2)
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert "To resume (no run is started twice), run:" in stderr
    hint = stderr.strip().splitlines()[-1].strip()
    assert "'Company Topic=topic'" in hint and shlex.quote(str(csv)) in hint
    assert "--no-check" in hint and "--json" in hint  # a script piping the summary into jq keeps working
    pasted = bash(hint, slow_mocks.env, cwd=tmp_path)
    assert pasted.returncode in (0, 1), pasted.stderr
    assert json.loads(pasted.stdout)["total"] == 12
    rows = results(out)
    assert [r["row"] for r in rows] == list(range(2, 14))
    assert {r["status"] for r in rows} <= {"SUCCEEDED", "UNKNOWN"}
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
    import subprocess
    import sys
    import textwrap

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
