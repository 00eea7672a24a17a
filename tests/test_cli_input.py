"""What the commands read: input files (CSV and JSON lines, encodings, separators, quotes), -i and
--inputs JSON, --map, and the --out file; each refusal is one line naming the file, row or option."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from flowdeck._cli import app
from flowdeck.testing import MockProviders
from typer.testing import CliRunner

from tests._cli import (
    bash,
    jsonl,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
)

runner = CliRunner()
DEEP = "[" * 5000 + "]" * 5000  # deeper than Python's JSON decoder can recurse


def batch(tmp_path: Path, ref: str, source: Path, *extra: str) -> Any:
    return runner.invoke(app, ["batch", ref, str(source), "--out", str(tmp_path / "out.jsonl"), *extra])


def _leads(tmp_path: Path) -> Path:
    source = tmp_path / "leads.csv"
    source.write_text("Company Domain,Domain,domain\nstripe.com,a.com,b.com\n", encoding="utf-8")
    return source


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


@pytest.mark.parametrize(
    ("maps", "message"),
    [
        (
            ["Company Domain=domain", "Domain=domain"],
            "error: --map: input 'domain' given twice (from columns 'Company Domain' and 'Domain'); "
            "map one column to it",
        ),
        (
            ["Domain=site", "Domain=url"],
            "error: --map: column 'Domain' given twice (Domain=site and Domain=url); map it once",
        ),
        (
            ["Domain=domain"],  # the file has a 'domain' column of its own
            "input 'domain' given twice: by --map 'Domain=domain' and by the column 'domain'",
        ),
    ],
)
def test_batch_input_twice(maps: list[str], message: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """A batch given one input twice is a usage error naming both sources."""
    out = tmp_path / "out.jsonl"
    args = ["batch", "databar:flow/enrich", str(_leads(tmp_path)), "--out", str(out)]
    for item in maps:
        args += ["--map", item]
    assert message in one_line_error(runner.invoke(app, args))
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv"]


def test_batch_same_map_twice_ok(mock_env: dict[str, str], tmp_path: Path) -> None:
    """The same --map twice, or a swap of columns, runs."""
    out = tmp_path / "out.jsonl"
    args = ["batch", "databar:flow/enrich", str(_leads(tmp_path)), "--out", str(out), "--check"]
    same = runner.invoke(app, [*args, "--map", "Company Domain=site", "--map", "Company Domain=site"])
    assert same.exit_code == 0, same.output
    swap = runner.invoke(app, [*args, "--map", "Domain=domain", "--map", "domain=old_domain"])  # each input once
    assert swap.exit_code == 0, swap.output


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("name", ["leads.csv", "leads.jsonl"])
def test_utf16_without_bom(codec: str, name: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """UTF-16 without a BOM is named, and the --encoding advised reads it."""
    # Not "binary": what it is, and the --encoding that reads it (pasted as printed, it works).
    source = tmp_path / name
    text = "domain\nzürich.ch\n" if name.endswith(".csv") else '{"domain": "zürich.ch"}\n'
    source.write_bytes(text.encode(codec))
    args = ["batch", "databar:flow/enrich", str(source), "--out", str(tmp_path / "out.jsonl"), "--check"]
    line = one_line_error(runner.invoke(app, args))
    assert line == (
        f"error: {source}: is a UTF-16 file without a byte order mark, not utf-8; pass --encoding {codec} "
        "or save it as UTF-8"
    )
    advised = runner.invoke(app, [*args, "--encoding", codec])
    assert advised.exit_code == 0, advised.output
    assert "1 row;" in advised.stdout


def test_utf16_inputs_json(mock_env: dict[str, str], tmp_path: Path) -> None:
    """An --inputs JSON file in UTF-16 without a BOM is named as such."""
    inputs = tmp_path / "in.json"
    inputs.write_bytes('{"domain": "a.com"}'.encode("utf-16-le"))
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs)]))
    assert (
        line
        == f"error: --inputs {inputs}: is a UTF-16 file without a byte order mark, not utf-8; a JSON file must be UTF-8"
    )


def test_binary_file_names_utf16(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A binary input file is called binary, and the UTF-16 options are named."""
    source = tmp_path / "in.csv"
    source.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01")
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:x", str(source), "--out", str(tmp_path / "o.jsonl")]))
    assert line == (
        f"error: {source}: is a binary file (it holds NUL bytes), expected utf-8 text; if it is UTF-16 text without "
        "a byte order mark, pass --encoding utf-16-le (or utf-16-be)"
    )


def test_missing_workflow_column(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A missing or empty workflow column is named with the columns the file has."""
    source = tmp_path / "leads.csv"
    source.write_text("domain,name\nstripe.com,Stripe\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    line = one_line_error(runner.invoke(app, ["batch", "column:workflow", str(source), "--out", str(out)]))
    assert line == (
        f"error: {source} row 2: no column 'workflow' to take each row's workflow from (column:workflow); "
        "the columns are 'domain', 'name'"
    )
    assert not out.exists()
    source.write_text("workflow,domain\n,stripe.com\n", encoding="utf-8")  # there, but empty
    line = one_line_error(runner.invoke(app, ["batch", "column:workflow", str(source), "--out", str(out)]))
    assert line.endswith("row 2: column 'workflow' must name a workflow, like <provider>:<id>; it holds \"\""), line


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


def test_colon_equals_typed(served_mocks: MockProviders, mock_env: dict[str, str]) -> None:
    """-i key:=<json> keeps its JSON type; key=value stays a string."""
    flow = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    args = ["run", f"superai:{flow}", "-i", "file_key=a.pdf", "-i", "pages:=3", "-i", 'tags:=["x", 1]',
            "-i", "strict:=true", "-i", "label=3", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["run_id"]
    sent = next(r.inputs for r in served_mocks.states["superai"].runs.values() if r.id == run_id)
    assert sent == {"file_key": "a.pdf", "pages": 3, "tags": ["x", 1], "strict": True, "label": "3"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1', "line 1: not valid JSON"),
        (b"[1, 2]", "must hold a JSON object, got list"),
        (b'{"name": "caf\xe9"}', "line 1: byte 0xe9 at column 14 is not utf-8; a JSON file must be UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "is a binary file"),
    ],
)
def test_inputs_file_errors(mock_env: dict[str, str], tmp_path: Path, content: bytes, message: str) -> None:
    """A bad --inputs file is a one-line error."""
    inputs = tmp_path / "in.json"
    inputs.write_bytes(content)
    assert message in one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs)]))


def test_missing_inputs_file(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A missing --inputs file is a one-line error."""
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(tmp_path / "none.json")]))
    assert "no such file" in line


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


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib", "uu", "undefined", "punycode"])
def test_encoding_not_for_text(mock_env: dict[str, str], tmp_path: Path, codec: str) -> None:
    """An --encoding that does not read text files is a one-line usage error."""
    source = tmp_path / "in.csv"
    source.write_text("topic\nnews\n", encoding="utf-8")
    line = one_line_error(batch(tmp_path, "gumloop:enc", source, "--encoding", codec))
    assert line == f"error: --encoding {codec!r}: not an encoding of text files; try utf-8, latin-1 or cp1252"
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


@pytest.mark.parametrize("text", ["topic\nnews\n", "topic\nnew\n"], ids=["even-bytes", "odd-bytes"])
def test_utf16_given_for_utf8(mock_env: dict[str, str], tmp_path: Path, text: str) -> None:
    """--encoding utf-16 on a UTF-8 file says it reads as UTF-8."""
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    line = one_line_error(batch(tmp_path, "gumloop:enc", source, "--encoding", "utf-16"))
    assert line.endswith(": is not utf-16 text (it holds no NUL bytes); it reads as UTF-8: leave --encoding out")


def test_out_name_too_long(mock_env: dict[str, str], tmp_path: Path) -> None:
    """An --out name longer than the file system allows is one line, not a traceback."""
    source = tmp_path / "in.csv"
    source.write_text("topic\nnews\n", encoding="utf-8")
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:out", str(source), "--out", "x" * 300]))
    assert line.startswith("error: --out xxx") and line.endswith("...: File name too long"), line


def test_out_folder_is_a_file(mock_env: dict[str, str], tmp_path: Path) -> None:
    """An --out inside a file, not a folder, says the file is not a folder."""
    source = tmp_path / "in.csv"
    source.write_text("topic\nnews\n", encoding="utf-8")
    target = source / "r.jsonl"
    line = one_line_error(runner.invoke(app, ["batch", "gumloop:out", str(source), "--out", str(target)]))
    assert line == f"error: --out {target}: folder {source} is a file, not a folder"


def test_inputs_from_stdin(mock_env: dict[str, str]) -> None:
    """run --inputs - reads the inputs object from stdin."""
    result = bash('echo \'{"topic": "piped"}\' | flowdeck run gumloop:stdin --inputs - --json', mock_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    "command",
    [
        "cat in.csv | flowdeck batch gumloop:x - --out o.jsonl",
        "flowdeck batch gumloop:x <(cat in.csv) --out o.jsonl",
        "flowdeck batch gumloop:x /dev/stdin --out o.jsonl < in.csv",
    ],
    ids=["dash", "process-substitution", "dev-stdin"],
)
def test_batch_stdin_refused(mock_env: dict[str, str], tmp_path: Path, command: str) -> None:
    """batch given stdin or a pipe says in one line to save the input to a file first."""
    (tmp_path / "in.csv").write_text("topic\nx\n", encoding="utf-8")
    result = bash(command, mock_env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: INPUT_FILE ") and "save it first (... > leads.csv)" in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
