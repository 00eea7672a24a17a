"""databar:enrichment/<id>: Databar's enrichment runs through the CLI, its pre-flight check and a batch."""

from __future__ import annotations

import json
from pathlib import Path

import flowdeck
import pytest
from flowdeck._cli import app
from typer.testing import CliRunner

runner = CliRunner()


def test_cli_runs_an_enrichment(mock_env: dict[str, str]) -> None:
    """flowdeck run databar:enrichment/123 starts the enrichment and prints its data."""
    result = runner.invoke(app, ["run", "databar:enrichment/123", "-i", "email=alice@example.com", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "SUCCEEDED" and body["outputs"]["workflow"] == "enrichment/123"
    assert body["outputs"]["inputs"] == {"email": "alice@example.com"}


def test_cli_refuses_a_non_numeric_enrichment(mock_env: dict[str, str]) -> None:
    """A Databar enrichment id is an integer: anything else is one line naming it, before any request."""
    result = runner.invoke(app, ["run", "databar:enrichment/abc", "-i", "email=a@b.c"])
    assert result.exit_code != 0 and "databar enrichment id must be an integer, not 'abc'" in result.output


def test_batch_check_and_run_enrichment(mock_env: dict[str, str], tmp_path: Path) -> None:
    """batch --check says enrichments declare no inputs; the batch then runs each row's enrichment."""
    source = tmp_path / "in.csv"
    source.write_text("email\na@b.c\nd@e.f\n")
    out = tmp_path / "out.jsonl"
    checked = runner.invoke(app, ["batch", "databar:enrichment/7", str(source), "--out", str(out), "--check"])
    assert checked.exit_code == 0, checked.output
    assert "not for waterfalls or enrichments" in checked.stdout
    ran = runner.invoke(app, ["batch", "databar:enrichment/7", str(source), "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["status"] for r in rows) == ["SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize("pages", [0, -1, True, "2"])
def test_bad_pages_are_refused(pages: object) -> None:
    """pages must be an integer >= 1: anything else is an InvalidRequestError before any request."""
    with flowdeck.Client(env={"DATABAR_API_KEY": "k"}) as client, pytest.raises(flowdeck.InvalidRequestError):
        client.databar.run_enrichment(1, {"q": "x"}, pages=pages)  # type: ignore[arg-type]
