"""The command line as a new user types it: each case through the real command, as they typed it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowdeck import _providers
from flowdeck._cli import app
from typer.testing import CliRunner

from tests._cli import jsonl, one_line_error, results

runner = CliRunner()


def _without_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    for provider in _providers.providers():
        for variable in [s.variable for s in provider.config.settings] + [u.variable for u in provider.config.urls]:
            monkeypatch.delenv(variable, raising=False)


def test_doctor_verify_rejected_is_not_ready(monkeypatch: pytest.MonkeyPatch, mock_env: dict[str, str]) -> None:
    """A key the provider refuses is shown as rejected, never as `ready` beside `rejected: HTTP 403`."""
    _without_providers(monkeypatch)
    monkeypatch.setenv("DATABAR_BASE_URL", mock_env["DATABAR_BASE_URL"])
    monkeypatch.setenv("DATABAR_API_KEY", "not-the-mocks-key")
    table = runner.invoke(app, ["doctor", "--verify"])
    assert table.exit_code == 1, table.output
    [row] = [line for line in table.stdout.splitlines() if "Databar" in line and "DATABAR_API_KEY" in line]
    assert "key rejected" in row and "ready" not in row and "HTTP 403" in row, row
    body = json.loads(runner.invoke(app, ["doctor", "--verify", "--json"]).stdout)
    [databar] = [p for p in body["providers"] if p["provider"] == "databar"]
    assert databar["usable"] is False and body["summary"].startswith("0 of 4 providers ready")


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


@pytest.mark.parametrize(("name", "first"), [("in.csv", 2), ("in.jsonl", 1)])
def test_row_numbers_are_lines_and_say_so(mock_env: dict[str, str], tmp_path: Path, name: str, first: int) -> None:
    """A row's number is its line in the input file (a CSV's header is line 1), and the summary says so."""
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("topic\na\nb\n")
    else:
        jsonl(path, [{"topic": "a"}, {"topic": "b"}])
    out = tmp_path / "o.jsonl"
    done = runner.invoke(app, ["batch", "gumloop:fail-x", str(path), "--out", str(out)])  # fail-: fails at the mock
    assert done.exit_code == 1, done.output
    assert sorted(r["row"] for r in results(out)) == [first, first + 1]
    assert f"(a row's number is its line in {path})" in " ".join(done.stdout.split())
    assert "its line in the input file" in " ".join(runner.invoke(app, ["batch", "--help"]).stdout.split())


def test_status_misspelt_provider_gets_did_you_mean(mock_env: dict[str, str]) -> None:
    """`status gumlop ...` is answered with the name meant, as `flowdeck rn` is."""
    line = one_line_error(runner.invoke(app, ["status", "gumlop", "run-1"]))
    assert line.startswith("error: unknown provider 'gumlop' (did you mean 'gumloop'?); expected one of databar")


def test_status_with_a_reference_wants_a_name(mock_env: dict[str, str]) -> None:
    """`status gumloop:long <id>` says a provider name goes there, and shows the command."""
    line = one_line_error(runner.invoke(app, ["status", "gumloop:long", "run-1"]))
    assert "give a provider's name alone" in line and "not a workflow reference" in line
    assert line.endswith("like: flowdeck status gumloop RUN_ID"), line
    assert "unknown provider" not in line
