"""The input files and options a batch reads: odd rates, hostile JSON, encodings, quotes and separators,
--out targets and empty paths; refusals that name the variable to set, and exit codes a script can trust.
Each test drives the real command (typer's runner in-process, or a subprocess where the streams matter).
"""

from __future__ import annotations

import importlib.abc
import json
import os
import sys
from pathlib import Path
from typing import Any

import flowdeck.__main__ as entry
import pytest
from flowdeck._batch import BatchSummary
from flowdeck._cli import app
from flowdeck._cli.output import summary_line
from flowdeck.testing import MockProviders
from typer.testing import CliRunner

from tests._cli import flowdeck as run_flowdeck
from tests._cli import one_line_error, results

runner = CliRunner()
DEEP = "[" * 5000 + "]" * 5000  # deeper than Python's JSON decoder can recurse


def batch(tmp_path: Path, ref: str, source: Path, *extra: str) -> Any:
    return runner.invoke(app, ["batch", ref, str(source), "--out", str(tmp_path / "out.jsonl"), *extra])


# --- rates and JSON ---------------------------------------------------------------------------------


def test_rate_below_one_per_second(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A rate below one start a second paces the starts and the batch completes."""
    source = tmp_path / "in.csv"
    source.write_text("topic\na\nb\n")
    result = batch(tmp_path, "gumloop:slowly", source, "--rate", "0.5/s")
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in results(tmp_path / "out.jsonl")] == ["SUCCEEDED", "SUCCEEDED"]


@pytest.mark.parametrize("where", ["-i", "--inputs", "jsonl"])
def test_json_too_deep(mock_env: dict[str, str], tmp_path: Path, where: str) -> None:
    """JSON nested too deeply is a one-line error in -i, --inputs and JSON lines."""
    if where == "jsonl":
        source = tmp_path / "in.jsonl"
        source.write_text(json.dumps({"topic": "x"})[:-1] + f', "deep": {DEEP}}}\n')
        line = one_line_error(batch(tmp_path, "gumloop:deep", source))
        assert not (tmp_path / "out.jsonl").exists()
    elif where == "--inputs":
        deep = tmp_path / "deep.json"
        deep.write_text(DEEP)
        line = one_line_error(runner.invoke(app, ["run", "gumloop:deep", "--inputs", str(deep)]))
    else:
        line = one_line_error(runner.invoke(app, ["run", "gumloop:deep", "-i", f"x:={DEEP}"]))
        assert len(line) < 200  # the value is clipped, not echoed whole
    assert "nested too deeply" in line


def test_json_duplicate_key(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A key given twice in JSON is refused, not silently the last."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"topic": "a.com", "topic": "b.com"}\n')
    assert "key 'topic' appears twice" in one_line_error(batch(tmp_path, "gumloop:twice", source))
    inputs = tmp_path / "in.json"
    inputs.write_text('{"topic": "a", "topic": "b"}')
    line = one_line_error(runner.invoke(app, ["run", "gumloop:twice", "--inputs", str(inputs)]))
    assert "key 'topic' appears twice" in line


# --- encodings and quotes ---------------------------------------------------------------------------


def test_bom_decides_encoding(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A byte order mark decides the encoding, over --encoding too."""
    utf16 = tmp_path / "in16.csv"
    utf16.write_bytes("topic,city\nnews,Zürich\n".encode("utf-16"))  # Excel's "Unicode Text" has a BOM
    assert batch(tmp_path, "gumloop:bom", utf16).exit_code == 0
    assert results(tmp_path / "out.jsonl")[0]["input"] == {"topic": "news", "city": "Zürich"}
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufefftopic,city\nnews,Zürich\n".encode())
    out = tmp_path / "o2.jsonl"
    # --encoding latin-1 would read the BOM as three letters of the first column's name.
    args = ["batch", "gumloop:bom", str(bom), "--out", str(out), "--encoding", "latin-1"]
    assert runner.invoke(app, args).exit_code == 0
    assert results(out)[0]["input"] == {"topic": "news", "city": "Zürich"}


@pytest.mark.parametrize(
    "text",
    ['topic\n"a.com\nb.com\n', 'name,topic\n"Acme, Inc,acme.com\nBeta,beta.com\nGamma,gamma.com\n'],
    ids=["one column", "two columns"],
)
def test_unclosed_quote(mock_env: dict[str, str], tmp_path: Path, text: str) -> None:
    """A quote never closed is named at its line."""
    source = tmp_path / "in.csv"
    source.write_text(text)
    line = one_line_error(batch(tmp_path, "gumloop:quote", source))
    assert "in.csv line 2: a quote opened in this row is never closed" in line


# --- --out targets ----------------------------------------------------------------------------------


@pytest.mark.timeout(30)  # without the check, results written into the fifo would wait for a reader
@pytest.mark.parametrize("target", ["-", "fifo"])
def test_out_must_be_a_regular_file(mock_env: dict[str, str], tmp_path: Path, target: str, monkeypatch: Any) -> None:
    """--out must be a regular file, never stdout or a pipe."""
    # A named pipe in the test's own folder stands for /dev/stdout and other devices: a regression
    # must never be able to write to (or rename over) a device of the machine running the suite.
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "in.csv"
    source.write_text("topic\na\n")
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
    result = runner.invoke(app, ["batch", "gumloop:out", str(source), "--out", target])
    assert "--out" in one_line_error(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"in.csv", target} - {"-"})


def test_unwritable_out(served_mocks: MockProviders, mock_env: dict[str, str], tmp_path: Path) -> None:
    """An --out that cannot be written is a usage error before any start."""
    source = tmp_path / "in.csv"
    source.write_text("topic\na\n")
    before = served_mocks.start_count
    too_long = tmp_path / ("r" * 240 + ".jsonl")  # its state file's name passes the 255-byte limit
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:out", str(source), "--out", str(too_long)]))
    assert "cannot write" in line and "File name too long" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    assert served_mocks.start_count == before


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


# --- messages worded for the command line -----------------------------------------------------------


def test_stackai_no_wait(mock_env: dict[str, str]) -> None:
    """StackAI's --no-wait prints no command to follow a run that has ended."""
    result = runner.invoke(app, ["run", "stackai:acme/bot", "-i", "in-0=x", "--no-wait"])
    assert result.exit_code == 0, result.output
    assert "flowdeck status" not in result.stderr


def test_plain_http_names_variable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusing plain HTTP names the variable to set, not a Python keyword."""
    monkeypatch.setenv("DATABAR_BASE_URL", "http://example.com")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"]))
    assert "set DATABAR_BASE_URL to an https:// URL" in line
    assert "allow_insecure_http" not in line


def test_rejected_key_names_variable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected key names the variable to check, never the key."""
    monkeypatch.setenv("DATABAR_API_KEY", "not-the-key")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"]), code=1)
    assert "HTTP 403" in line and "check DATABAR_API_KEY" in line
    assert "not-the-key" not in line


def test_status_exit_code(mock_env: dict[str, str]) -> None:
    """status exits 1 for a run that ended badly and 0 for one that succeeded."""
    started = runner.invoke(app, ["run", "databar:flow/x-status-failed", "-i", "domain=x", "--no-wait", "--json"])
    run_id = json.loads(started.stdout)["run_id"]
    assert runner.invoke(app, ["status", "databar", run_id]).exit_code == 1
    done = runner.invoke(app, ["run", "databar:flow/ok", "-i", "domain=x", "--json"])
    assert runner.invoke(app, ["status", "databar", json.loads(done.stdout)["run_id"]]).exit_code == 0


def test_summary_accounts_every_row() -> None:
    """The batch summary accounts for every row."""
    summary = BatchSummary(total=60, skipped=8, started_now=44, resumed=5, runs_started=44)
    assert str(summary_line(summary)).endswith(
        "44 started now, 5 started earlier and followed again, 8 done earlier, 3 not started"
    )
    one = BatchSummary(total=1, skipped=0, started_now=1, resumed=0, runs_started=1)
    assert str(summary_line(one)).startswith("1 row in ") and str(summary_line(one)).endswith(": 1 started now")


class _InterruptImport(importlib.abc.MetaPathFinder):
    """Ctrl-C arriving while the command line's modules load (a second or more on a slow machine)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "flowdeck._cli":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_starting_up(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while starting up is one line and exit 130."""
    monkeypatch.delitem(sys.modules, "flowdeck._cli")
    monkeypatch.setattr(sys, "meta_path", [_InterruptImport(), *sys.meta_path])
    with pytest.raises(SystemExit) as exited:
        entry.main()
    assert exited.value.code == 130
    assert capsys.readouterr().err == "flowdeck: interrupted while starting up; nothing was sent\n"


def test_rejected_stackai_key(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected StackAI key is not sent to doctor --verify, which cannot check it."""
    monkeypatch.setenv("STACKAI_API_KEY", "not-the-key")
    line = one_line_error(runner.invoke(app, ["run", "stackai:acme/summarize", "-i", "in-0=x"]), code=1)
    assert "check STACKAI_API_KEY" in line and "doctor --verify" not in line
    assert "a key can only be verified by running a flow" in line


def test_check_suggests_map(mock_env: dict[str, str], tmp_path: Path) -> None:
    """batch --check names the --map to paste for a header holding the input name."""
    leads = tmp_path / "leads.csv"
    leads.write_text("Company Domain\nstripe.com\nacme.com\n")  # the README's sample file
    result = batch(tmp_path, "databar:flow/enrich", leads, "--check")
    assert result.exit_code == 0, result.output
    assert "(did you mean 'domain'? --map 'Company Domain=domain')" in result.stdout


@pytest.mark.parametrize(
    ("text", "given"),
    [
        ('domain;name\nstripe.com;Stripe\nacme.com;"Acme; Inc"\n', []),  # Excel where the decimal mark is a comma
        ("domain\tname\nstripe.com\tStripe\nacme.com\tAcme; Inc\n", []),
        ("domain|name\nstripe.com|Stripe\nacme.com|Acme; Inc\n", ["--delimiter", "|"]),
    ],
)
def test_other_separators(mock_env: dict[str, str], tmp_path: Path, text: str, given: list[str]) -> None:
    """Semicolon, tab and pipe separated files are read as columns."""
    source = tmp_path / "leads.csv"
    source.write_text(text)
    result = batch(tmp_path, "databar:flow/enrich", source, "--bulk", "1", *given)
    assert result.exit_code == 0, result.output
    assert [r["input"] for r in results(tmp_path / "out.jsonl")] == [
        {"domain": "stripe.com", "name": "Stripe"},
        {"domain": "acme.com", "name": "Acme; Inc"},
    ]


def test_field_count_mismatch(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A row with another field count names the separator and --delimiter."""
    source = tmp_path / "leads.csv"
    source.write_text("domain,name\nstripe.com,Stripe\nacme.com\n")
    line = one_line_error(batch(tmp_path, "databar:flow/enrich", source))
    assert line.endswith("has 1 fields but the header has 2 (domain, name; read as ','-separated: --delimiter sets "
                         "the separator)")  # fmt: skip
    bad = one_line_error(batch(tmp_path, "databar:flow/enrich", source, "--delimiter", "ab"))
    assert bad == "error: --delimiter 'ab': expected one separator character, like ';', '|' or tab"


def test_long_cell(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A cell over the csv module's limit is read; --delimiter is refused for JSON lines."""
    source = tmp_path / "leads.csv"
    long_text = "word " * 40_000  # 200 KB in one cell: the csv module's own limit is 128 KiB
    source.write_text(f'domain,notes\nstripe.com,"{long_text}"\n')
    result = batch(tmp_path, "databar:flow/enrich", source, "--check")
    assert result.exit_code == 0, result.output
    assert "databar:flow/enrich: 1 row;" in result.stdout  # one row, not "1 rows"
    assert "0 started runs to wait on, 1 row to start" in result.stdout
    import csv

    assert csv.field_size_limit() == 128 * 1024  # the process-wide limit is given back
    lines = tmp_path / "leads.jsonl"
    lines.write_text('{"domain": "stripe.com"}\n')
    line = one_line_error(batch(tmp_path, "databar:flow/enrich", lines, "--delimiter", ";"))
    assert line == f"error: --delimiter: {lines} is JSON Lines, which has no separator; it is for CSV files"


def test_map_missing_column(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A --map of a missing column lists the columns there are."""
    source = tmp_path / "leads.csv"
    source.write_text("Company Domain,Notes\nstripe.com,x\n")
    line = one_line_error(batch(tmp_path, "databar:flow/enrich", source, "--map", "Domain=domain"))
    assert line == f"error: {source} row 2: no column 'Domain' to --map; the columns are 'Company Domain', 'Notes'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["in.jsonl", "--out", ""], "error: --out '': empty; give a file name for the results, like results.jsonl"),
        (["", "--out", "o.jsonl"], "error: INPUT_FILE '': empty; give the input file, like leads.csv"),
    ],
)
def test_empty_paths(
    mock_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    """Empty paths are refused as given, not read as the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"domain": "a.com"}\n')
    assert one_line_error(runner.invoke(app, ["batch", "databar:flow/enrich", *args])) == message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
