"""The batch journal at scale: an index of the results file spares a rerun from reading every line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flowdeck._batch import BatchRow, InputFileError, Journal, fingerprint, read_rows

ROWS = [BatchRow(n, "gumloop:flow", {"domain": f"d{n}.com"}) for n in range(1, 6)]


def _finished(out: Path, status: str = "SUCCEEDED") -> Journal:
    journal = Journal(out)
    journal.load(fingerprint(ROWS))
    journal.set_aside(())
    for row in reversed(ROWS):  # finishing out of order: the end sorts them
        record = {"row": row.number, "input": row.inputs, "workflow": row.ref, "provider": "gumloop"}
        journal.result({**record, "status": status, "error": None, "error_type": None})
    journal.finish()
    journal.close()
    return journal


def test_results_index_is_used(tmp_path: Path) -> None:
    """A rerun reads the results from the index the last attempt wrote, and rewrites nothing."""
    out = tmp_path / "out.jsonl"
    _finished(out)
    assert [json.loads(line)["row"] for line in out.read_text().splitlines()] == [1, 2, 3, 4, 5]
    before = out.stat()
    again = Journal(out)
    results, indexed = again._earlier_results()
    assert indexed and {r: results[r]["status"] for r in results} == dict.fromkeys(range(1, 6), "SUCCEEDED")
    again.load(fingerprint(ROWS))
    again.set_aside(())
    again.finish()
    again.close()
    assert (out.stat().st_ino, out.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_stale_index_is_ignored(tmp_path: Path) -> None:
    """A results file changed after its index was written is read line by line instead."""
    out = tmp_path / "out.jsonl"
    _finished(out)
    lines = out.read_text().splitlines()
    changed = json.loads(lines[2]) | {"status": "FAILED", "error": "edited by hand"}
    out.write_text("\n".join([*lines[:2], json.dumps(changed), *lines[3:]]) + "\n")
    results, indexed = Journal(out)._earlier_results()
    assert not indexed and results[3]["status"] == "FAILED"
    assert Journal(out).peek(fingerprint(ROWS)).results[3]["error"] == "edited by hand"


def test_read_rows_fingerprint_as_read(tmp_path: Path) -> None:
    """The fingerprint made while reading equals the one made from the rows afterwards."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"domain": "a.com", "n": 1}\n\n{"n": 2, "domain": "b.com"}\n', encoding="utf-8")
    rows = read_rows(source, "gumloop:flow")
    assert fingerprint(rows) == fingerprint(list(rows))
    assert [r.inputs for r in rows] == [{"domain": "a.com", "n": 1}, {"n": 2, "domain": "b.com"}]


def test_jsonl_key_given_twice_refused(tmp_path: Path) -> None:
    """The fast reading of flat rows still refuses a key given twice."""
    source = tmp_path / "in.jsonl"
    source.write_text('{"domain": "a.com", "domain": "b.com"}\n', encoding="utf-8")
    with pytest.raises(InputFileError, match="appears twice"):
        read_rows(source, "gumloop:flow")
