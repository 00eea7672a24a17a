"""Batch runs: one run per input row, bounded concurrency and start rate, resumable after any crash.

Two JSON Lines files make a batch resumable:

- the *results* file (``--out``): at most one line per row that reached an outcome;
- the *state* file beside it (append-only): for each start, an ``intent`` line written (and flushed)
  *before* the request is sent, then ``started`` with the run id once the provider answered, or
  ``not_started`` when the provider refused it or never got it.

On a rerun a row with a final result is skipped; a row whose last start event is ``started`` is
waited on again (never started twice); a row whose last start event is an ``intent`` may or may not
have started (the process died mid-request, or the answer was lost), so it is reported ``UNKNOWN``
and left alone unless ``retry_unknown``. A flushed line survives ``kill -9`` (it is in the OS
already), and a torn last line is ignored.

Rows run in bulk (one provider task over many rows, ``--bulk``) are journalled the same way, per task:
a ``bulk_intent`` line naming the task's rows is flushed before the start request, then
``bulk_started`` with the task's run, or ``bulk_not_started``. A rerun waits on a started task again
(never re-sending its start) and gives each of its rows its own result line; the rows of a task whose
start is unresolved are ``UNKNOWN``, like a single row's.

Rows a rerun does again lose their old result line first, in an atomic rewrite of the results file
(temporary file, fsync, rename): a crash at any point leaves a whole file with one line per row.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import attrs
import httpx
from aiolimiter import AsyncLimiter

from flowdeck._client import AsyncClient
from flowdeck._errors import (
    ApiError,
    ConfigurationError,
    FlowdeckError,
    InvalidRequestError,
    StartOutcomeUnknown,
    TransportError,
    UnsupportedOperationError,
    WaitTimeout,
)
from flowdeck._models import Run, Status
from flowdeck._providers import Bulk, parse_ref
from flowdeck._providers import get as provider_spec

FORMAT = 2
# Outcomes a rerun always tries again: nothing was started, or the run was still going.
RESUMABLE = frozenset({"NOT_STARTED", "TIMEOUT", "POLL_ERROR"})
# Start errors that a rerun would meet again (bad inputs or credentials, unknown workflow, no credits).
PERMANENT_STATUS_CODES = frozenset({400, 401, 403, 404, 406, 422})
INTERRUPTED_START = "interrupted while starting: the run may exist at the provider"
# Statuses of a row this attempt reached without starting it: the summary counts each apart.
UNSTARTED = ("UNKNOWN", "REJECTED", "NOT_STARTED")
# How long the other rows of a provider wait for its first start's answer before they start anyway.
# A refused credential is answered at once; StackAI answers a start only when the run ends, which
# must not hold every other row back for a whole run.
CREDENTIAL_PROBE_SECONDS = 1.0
ENCODINGS_HINT = "save it as UTF-8 (Excel: Save As 'CSV UTF-8') or pass --encoding {likely}"


def likely_encoding(data: bytes) -> str:
    """The one-byte encoding a file that is not UTF-8 most likely has: Windows' cp1252 if it reads as
    that, else latin-1.

    Bytes 0x80-0x9f are curly quotes and dashes in cp1252 (what Excel saves as "CSV" on Windows) but
    invisible control codes in latin-1, so suggesting latin-1 for them would corrupt the text quietly.

    >>> likely_encoding(b"\\x93quoted\\x94"), likely_encoding("Zürich".encode("latin-1"))
    ('cp1252', 'cp1252')
    >>> likely_encoding(b"\\x81")  # undefined in cp1252
    'latin-1'
    """
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


class InputFileError(InvalidRequestError):
    """An input or results file cannot be used; the message names the file and the line."""


@attrs.frozen
class BatchRow:
    """One input row: its 1-based line number in the file, the workflow it runs, and its inputs."""

    number: int
    ref: str
    inputs: Mapping[str, Any]


# --- reading input files --------------------------------------------------------------------------


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` if ``data`` reads as UTF-16 text that lost its byte order mark.

    Text in a Latin script has a NUL in one byte of most of its UTF-16 characters, always the same
    one of each pair, and never in the other; binary files have their NULs anywhere.

    >>> utf16_without_bom("domain\\nstripe.com\\n".encode("utf-16-le")), utf16_without_bom(b"\\x89PNG\\x00\\x00\\x00")
    ('utf-16-le', None)
    """
    sample = data[: 65536 & ~1]
    if len(sample) < 4 or len(data) % 2:  # two characters at least
        return None
    for codec, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if 0 not in low and high.count(0) >= 0.5 * len(high):
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                return None
            return codec
    return None


def read_text(
    path: Path, encoding: str = "utf-8", *, hint: str = ENCODINGS_HINT, option: str | None = "--encoding"
) -> str:
    """A text file's content, or :class:`InputFileError` saying what is wrong with it, in one line.

    A byte order mark (UTF-8 or UTF-16) decides the encoding; ``encoding`` is for files without one.
    A file that is not text, or not in that encoding, is refused naming the line and column of the
    first bad byte, followed by ``hint``. ``option`` is the command line's way to set the encoding,
    named in the advice (None where there is none: the file must be UTF-8).

    >>> read_text(Path("leads.csv"))  # doctest: +SKIP
    'domain\\nstripe.com\\n'
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    codec = codecs.lookup(encoding).name
    # A byte order mark says how the file is encoded better than any default or option can: Excel
    # writes one for "CSV UTF-8" and for "Unicode Text" (UTF-16).
    if data.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    elif codec == "utf-8":
        codec = "utf-8-sig"
    if not codec.startswith(("utf-16", "utf-32")) and b"\x00" in data[:65536]:
        utf16 = utf16_without_bom(data)
        if utf16 is not None:
            fix = f"pass {option} {utf16} or save it as UTF-8" if option else hint.format(likely=utf16)
            raise InputFileError(f"{path}: is a UTF-16 file without a byte order mark, not {encoding}; {fix}")
        maybe = f"; if it is UTF-16 text without a byte order mark, pass {option} utf-16-le (or utf-16-be)"
        raise InputFileError(
            f"{path}: is a binary file (it holds NUL bytes), expected {encoding} text{maybe if option else ''}"
        )
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputFileError(
            f"{path} line {line}: byte 0x{data[exc.start]:02x} at column {column} is not {encoding}; "
            + hint.format(likely=likely_encoding(data))
        ) from None


DELIMITERS = ",;\t|"  # what a spreadsheet's "CSV" is separated by, by locale and by program


def read_rows(
    path: Path,
    ref: str,
    mapping: Mapping[str, str] | None = None,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> list[BatchRow]:
    """Read a ``.csv``/``.tsv`` (header row) or ``.jsonl`` (one object per line) input file.

    ``ref`` is a workflow reference, or ``column:<name>`` to take each row's reference from a column.
    ``mapping`` renames columns to input names (``{"Company Domain": "domain"}``). ``delimiter``
    separates a CSV file's fields; None: the one of ``, ; tab |`` the file's first lines use
    (:func:`sniff_delimiter`).

    >>> read_rows(Path("people.csv"), "databar:flow/42", {"Domain": "domain"})  # doctest: +SKIP
    """
    mapping = dict(mapping or {})
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls", ".numbers", ".ods"):
        raise InputFileError(f"{path}: a spreadsheet; save it as CSV (UTF-8) first")
    if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson"):
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    text = read_text(path, encoding)
    if suffix in (".csv", ".tsv"):
        records = _csv_records(path, text, delimiter or sniff_delimiter(text))
    else:
        records = _jsonl_records(path, text)
    ref_column = ref.removeprefix("column:") if ref.startswith("column:") else None
    rows = []
    for number, record in records:
        missing = [src for src in mapping if src not in record]
        if missing:
            columns = ", ".join(repr(c) for c in record) or "none"
            raise InputFileError(f"{path} row {number}: no column {missing[0]!r} to --map; the columns are {columns}")
        # A column renamed onto a name another column keeps would give that input twice, one value lost.
        taken = next(((src, dst) for src, dst in mapping.items() if dst in record and dst not in mapping), None)
        if taken is not None:
            raise InputFileError(
                f"{path} row {number}: input {taken[1]!r} given twice: by --map '{taken[0]}={taken[1]}' and by "
                f"the column {taken[1]!r}; map another column name, or drop one of them"
            )
        inputs = {mapping.get(k, k): v for k, v in record.items()}
        row_ref = ref
        if ref_column is not None:
            if ref_column not in inputs:
                columns = ", ".join(repr(c) for c in inputs) or "none"
                raise InputFileError(
                    f"{path} row {number}: no column {ref_column!r} to take each row's workflow from "
                    f"(column:{ref_column}); the columns are {columns}"
                )
            row_ref = inputs.pop(ref_column)
            if not isinstance(row_ref, str) or not row_ref.strip():
                raise InputFileError(
                    f"{path} row {number}: column {ref_column!r} must name a workflow, like gumloop:<id>; "
                    f"it holds {json.dumps(row_ref)[:40]}"
                )
        try:
            parse_ref(row_ref)
        except InvalidRequestError as exc:
            raise InputFileError(f"{path} row {number}: {exc}") from None
        rows.append(BatchRow(number, row_ref, inputs))
    if not rows:
        raise InputFileError(f"{path}: no input rows")
    return rows


def sniff_delimiter(text: str, lines: int = 20) -> str:
    """The field separator a CSV file's first lines use, of ``, ; tab |``; a comma when none is clear.

    Excel writes ``;`` where the decimal mark is a comma (most of Europe), and tabs for "Unicode Text".

    >>> sniff_delimiter("domain;name\\nstripe.com;Stripe\\n"), sniff_delimiter("Company Domain\\nstripe.com\\n")
    (';', ',')
    """
    sample = "\n".join(text.splitlines()[:lines])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or no separator used consistently
        return ","


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _csv_records(path: Path, text: str, delimiter: str = ",") -> list[tuple[int, dict[str, Any]]]:
    # The csv module refuses fields over 128 KiB (a guard for streams); the whole file is in memory
    # already, and a long text in one cell is an input like any other.
    previous = csv.field_size_limit(max(len(text), csv.field_size_limit()))
    try:
        return _csv_fields(path, text, delimiter)
    finally:
        csv.field_size_limit(previous)


def _csv_fields(path: Path, text: str, delimiter: str) -> list[tuple[int, dict[str, Any]]]:
    # strict: a quote opened and never closed is an error, not a field swallowing the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(f"{path}: empty file (a header row is needed)") from None
    except csv.Error as exc:
        raise InputFileError(f"{path} row 1: {exc}") from None
    for i, name in enumerate(header, start=1):
        if not name.strip():
            raise InputFileError(f"{path} row 1: column {i} has an empty header")
    duplicates = [n for n, c in Counter(header).items() if c > 1]
    if duplicates:
        raise InputFileError(f"{path} row 1: column {duplicates[0]!r} appears twice in the header")
    records = []
    begins = reader.line_num + 1  # where the record being read begins: a quoted field can span lines
    try:
        for values in reader:
            number = reader.line_num  # physical line, as an editor shows it
            begins = reader.line_num + 1
            if not values:
                continue
            if len(values) != len(header):
                raise InputFileError(
                    f"{path} row {number}: has {len(values)} fields but the header has {len(header)} "
                    f"({', '.join(header)}; read as {_shown(delimiter)}-separated: --delimiter sets the separator)"
                )
            records.append((number, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputFileError(f"{path} line {begins}: a quote opened in this row is never closed") from None
        raise InputFileError(f"{path} line {begins}: {exc}") from None
    return records


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice")
        found[key] = value
    return found


def loads_json(text: str) -> Any:
    """``json.loads`` for a user's input: a key given twice, or nesting too deep to decode, is a
    ``json.JSONDecodeError`` too (silently keeping the last of two keys would send what nobody chose).

    >>> loads_json('{"domain": "a.com", "domain": "b.com"}')
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: key 'domain' appears twice: line 1 column 1 (char 0)
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


def _jsonl_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = loads_json(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} row {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise InputFileError(f"{path} row {number}: must be a JSON object, got {type(value).__name__}")
        records.append((number, value))
    return records


# --- the journal ----------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write
        if isinstance(value, dict):
            out.append(value)
    return out


def run_to_json(run: Run) -> dict[str, Any]:
    """The parts of a run a journal needs to wait on it again."""
    return {"provider": run.provider, "workflow": str(run.workflow), "id": run.id,
            "status": run.status.value, "provider_status": run.provider_status, "url": run.url}  # fmt: skip


def run_from_json(data: Mapping[str, Any]) -> Run:
    """Inverse of :func:`run_to_json`."""
    return Run(
        data["provider"], parse_ref(data["workflow"]), data["id"], Status(data["status"]),
        data["provider_status"], url=data.get("url"),
    )  # fmt: skip


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves either the old file or the new one, whole.

    >>> write_atomically(Path("results.jsonl"), '{"row": 2}\\n')  # doctest: +SKIP
    """
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename itself is durable once the folder is synced
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


@attrs.frozen
class Earlier:
    """What earlier attempts of a batch left: results, started runs, and starts of unknown outcome."""

    results: dict[int, dict[str, Any]]
    started: dict[int, Run]
    unresolved: frozenset[int]
    # Rows started in a bulk task: the task's journal key and its rows, in the order they were sent.
    bulk_of: dict[int, tuple[str, tuple[int, ...]]] = attrs.field(factory=dict)


BULK_EVENTS = {"bulk_intent": "intent", "bulk_started": "started", "bulk_not_started": "not_started"}


def _start_events(
    state: Sequence[Mapping[str, Any]],
) -> tuple[dict[int, Run], dict[int, str], dict[int, tuple[str, tuple[int, ...]]]]:
    """The run each row started, each row's last start event (intent, started, not_started), and the
    bulk task of each row started in one."""
    started: dict[int, Run] = {}
    last: dict[int, str] = {}
    bulk_of: dict[int, tuple[str, tuple[int, ...]]] = {}
    for event in state:
        kind = event.get("event")
        if kind in BULK_EVENTS:
            rows = event.get("rows")
            if not isinstance(rows, list) or not all(isinstance(r, int) for r in rows):
                continue
            run = run_from_json(event["run"]) if kind == "bulk_started" else None
            for row in rows:
                last[row] = BULK_EVENTS[str(kind)]
                if kind == "bulk_intent":  # a new start supersedes the row's earlier run
                    started.pop(row, None)
                    bulk_of.pop(row, None)
                if run is not None:
                    started[row] = run
                    bulk_of[row] = (str(event.get("bulk")), tuple(rows))
            continue
        row = event.get("row")
        if not isinstance(row, int):
            continue
        if kind == "intent":  # a new start (--retry-failed) supersedes the row's earlier run
            started.pop(row, None)
            bulk_of.pop(row, None)
        if kind == "started":
            started[row] = run_from_json(event["run"])
            bulk_of.pop(row, None)
        if kind in ("intent", "started", "not_started"):
            last[row] = str(kind)
    return started, last, bulk_of


class Journal:
    """The results and state files of one batch (see the module docstring)."""

    def __init__(self, out: Path, state: Path | None = None) -> None:
        self.out = out
        self.state = state or out.with_name(out.name + ".flowdeck-state.jsonl")
        self._files: dict[Path, IO[bytes]] = {}
        self._ends: dict[Path, int] = {}  # each open file's size: where a refused line is cut back to
        self._lock: IO[str] | None = None

    def _checked_state(self, fingerprint: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The state file's events and batch headers, after checking they belong to these rows."""
        state = _read_jsonl(self.state)
        headers = [s for s in state if s.get("event") == "batch"]
        if headers and headers[0].get("fingerprint") != fingerprint:
            raise InputFileError(
                f"{self.out}: this batch was begun with other inputs or another workflow; "
                f"use a new --out (or delete {self.out} and {self.state} to start over)"
            )
        if not headers and self.out.exists() and self.out.stat().st_size:
            raise InputFileError(
                f"{self.out}: exists and was not written by flowdeck batch (no {self.state.name} beside it); "
                "choose another --out, or delete the file"
            )
        return state, headers

    def peek(self, fingerprint: str) -> Earlier:
        """What earlier attempts left, read only: no lock taken, nothing written (``batch --check``).

        A row a first-format journal left as an intent with a NOT_STARTED result counts as not started,
        as :meth:`load` records it.
        """
        state, headers = self._checked_state(fingerprint)
        results = {r["row"]: r for r in _read_jsonl(self.out) if isinstance(r.get("row"), int)}
        started, last, bulk_of = _start_events(state)
        if bool(headers) and headers[0].get("format", 1) < 2:
            last.update({row: "not_started" for row, r in results.items()
                         if last.get(row) == "intent" and r.get("status") == "NOT_STARTED"})  # fmt: skip
        unresolved = frozenset(row for row, event in last.items() if event == "intent")
        return Earlier(results, started, unresolved, bulk_of)

    def load(self, fingerprint: str) -> Earlier:
        """Read what earlier attempts left, after checking they ran the same rows; takes the batch's lock."""
        state, headers = self._checked_state(fingerprint)
        self._take_lock()
        results = {r["row"]: r for r in _read_jsonl(self.out) if isinstance(r.get("row"), int)}
        started, last, bulk_of = _start_events(state)
        if not headers:
            self._append(self.state, {"event": "batch", "format": FORMAT, "fingerprint": fingerprint})
        legacy = bool(headers) and headers[0].get("format", 1) < 2
        for row, result in results.items():
            # A first-format journal recorded a start that never happened in the results file only.
            if legacy and last.get(row) == "intent" and result.get("status") == "NOT_STARTED":
                self.not_started(row)
                last[row] = "not_started"
        unresolved = frozenset(row for row, event in last.items() if event == "intent")
        return Earlier(results, started, unresolved, bulk_of)

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return
        handle = self.state.open("a", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputFileError(
                f"{self.out}: another flowdeck batch is writing to it; wait for it to end (two at once "
                "could start rows twice)"
            ) from None
        self._lock = handle

    def keep_only(self, results: Mapping[int, Mapping[str, Any]]) -> None:
        """Rewrite the results file (atomically) to hold exactly ``results``, in row order."""
        text = "".join(json.dumps(results[row], default=str) + "\n" for row in sorted(results))
        if self.out.exists() and self.out.read_text(encoding="utf-8", errors="replace") == text:
            return
        handle = self._files.pop(self.out, None)
        if handle is not None:
            handle.close()
        self._ends.pop(self.out, None)
        write_atomically(self.out, text)

    def _append(self, path: Path, record: Mapping[str, Any]) -> None:
        handle = self._files.get(path)
        if handle is None:
            torn = path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
            # Unbuffered: each line is in the OS when this returns (it survives kill -9), and a write that
            # fails leaves nothing queued to be written later.
            handle = self._files[path] = path.open("ab", buffering=0)
            if torn:
                handle.write(b"\n")  # never glue a new line onto a line torn by a crash
            # Kept here rather than asked of the OS before every line (only this process writes it: locked).
            self._ends[path] = os.fstat(handle.fileno()).st_size
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        try:
            done = 0
            while done < len(line):  # a full disk can take part of a line before it refuses the rest
                done += os.write(handle.fileno(), line[done:])
        except OSError:
            os.ftruncate(handle.fileno(), self._ends[path])  # no half line for the next reader or a resume
            raise
        self._ends[path] += done

    def intent(self, row: BatchRow) -> None:
        """Record that row's start request is about to be sent."""
        self._append(self.state, {"event": "intent", "row": row.number, "at": time.time()})

    def started(self, row: BatchRow, run: Run) -> None:
        """Record the run a row started."""
        self._append(self.state, {"event": "started", "row": row.number, "run": run_to_json(run)})

    def not_started(self, row: int) -> None:
        """Record that a row's last start request certainly started nothing."""
        self._append(self.state, {"event": "not_started", "row": row})

    def bulk_intent(self, key: str, rows: Sequence[BatchRow]) -> None:
        """Record that a bulk task's start request, for these rows in this order, is about to be sent."""
        self._append(self.state, {"event": "bulk_intent", "bulk": key, "rows": [r.number for r in rows],
                                  "at": time.time()})  # fmt: skip

    def bulk_started(self, key: str, rows: Sequence[BatchRow], run: Run) -> None:
        """Record the task a bulk start created."""
        self._append(self.state, {"event": "bulk_started", "bulk": key, "rows": [r.number for r in rows],
                                  "run": run_to_json(run)})  # fmt: skip

    def bulk_not_started(self, key: str, rows: Sequence[BatchRow]) -> None:
        """Record that a bulk start certainly started nothing."""
        self._append(self.state, {"event": "bulk_not_started", "bulk": key, "rows": [r.number for r in rows]})

    def result(self, record: Mapping[str, Any]) -> None:
        """Append a row's outcome to the results file."""
        self._append(self.out, record)

    def close(self) -> None:
        """Close both files and release the lock."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._ends.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None


# --- running --------------------------------------------------------------------------------------


class BatchObserver(Protocol):
    """What a progress display hears from a batch."""

    def begin(self, total: int, already_done: int, already_failed: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


class _Silent:
    def begin(self, total: int, already_done: int, already_failed: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


@attrs.frozen
class FailureGroup:
    """Rows that ended the same way: status, provider, error type and message (request ids left out)."""

    status: str
    provider: str
    error_type: str | None
    reason: str
    rows: tuple[int, ...]


@attrs.frozen
class CredentialRefusal:
    """A provider refused the batch's credential (HTTP 401 or 403, or a refused login) at ``row``;
    ``held_back`` rows of that provider were then never sent (they stay NOT_STARTED)."""

    provider: str
    row: int
    status_code: int
    error_type: str
    held_back: int = 0


@attrs.define
class BatchSummary:
    """What a batch did: outcomes by status (all rows, including earlier attempts) and by provider.

    ``started_now`` counts rows, ``runs_started`` the runs they started (a bulk task runs many rows);
    ``unstarted`` the rows this attempt reached but did not start, by status (UNKNOWN: maybe started,
    REJECTED: refused at start, NOT_STARTED); ``refused`` the providers that refused the credential.
    """

    total: int
    skipped: int
    statuses: Counter[str] = attrs.field(factory=Counter)
    by_provider: dict[str, Counter[str]] = attrs.field(factory=dict)
    failures: list[FailureGroup] = attrs.field(factory=list)
    started_now: int = 0
    resumed: int = 0
    seconds: float = 0.0
    runs_started: int = 0
    unstarted: Counter[str] = attrs.field(factory=Counter)
    refused: dict[str, CredentialRefusal] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True if every row succeeded."""
        return self.statuses.get("SUCCEEDED", 0) == self.total

    @property
    def not_started(self) -> int:
        """Rows neither started (now or earlier), done earlier, of unknown start, nor refused at start."""
        unknown, rejected = self.unstarted.get("UNKNOWN", 0), self.unstarted.get("REJECTED", 0)
        return self.total - self.skipped - self.started_now - self.resumed - unknown - rejected


_REQUEST_ID = re.compile(r" \(request id [^)]*\)")
_RUN_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)


def reason(error: object) -> str:
    """An error message as a group's reason: its last line (where logs put the failure), ids left out.

    >>> reason("run 8e3d4616-749a-4f35-8cae-91087948f589 started\\nERROR: node failed (request id r-1)")
    'ERROR: node failed'
    """
    lines = [line.strip() for line in str(error or "").splitlines() if line.strip()]
    text = _REQUEST_ID.sub("", lines[-1]) if lines else ""
    return _RUN_ID.sub("<id>", text).strip() or "(no message)"


def failure_groups(results: Mapping[int, Mapping[str, Any]]) -> list[FailureGroup]:
    """Rows that did not succeed, grouped by status, error type and message; largest group first.

    >>> failure_groups({2: {"status": "FAILED", "provider": "gumloop", "error_type": None, "error": "boom"}})
    [FailureGroup(status='FAILED', provider='gumloop', error_type=None, reason='boom', rows=(2,))]
    """
    groups: dict[tuple[str, str, str | None, str], list[int]] = {}
    for row in sorted(results):
        record = results[row]
        if record.get("status") == "SUCCEEDED":
            continue
        key = (
            str(record.get("status")),
            str(record.get("provider")),
            record.get("error_type"),
            reason(record.get("error")),
        )
        groups.setdefault(key, []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0]))
    return [FailureGroup(*key, rows=tuple(rows)) for key, rows in ordered]


def fingerprint(rows: Sequence[BatchRow]) -> str:
    """A digest of the rows, so a rerun with other inputs is refused rather than mixed in."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row.number, row.ref, row.inputs], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def credits_spent(run: Run) -> float | None:
    """The credits ``run`` spent, where its provider reports it (``Checks.cost``); else None."""
    cost = provider_spec(run.provider).checks.cost
    return None if cost is None else cost(run)


# How each of httpx's failures below HTTP reads in a row's error (most specific class first, by MRO).
_CONNECTION_FAILURES = {
    "ConnectTimeout": "timed out connecting",
    "ConnectError": "could not connect (connection refused, or no such host)",
    "ReadTimeout": "no answer in time",
    "WriteTimeout": "timed out sending the request",
    "PoolTimeout": "no connection free in time",
    "TimeoutException": "no answer in time",
    "ReadError": "the connection broke while the answer was read",
    "WriteError": "the connection broke while the request was sent",
    "RemoteProtocolError": "the server closed the connection before answering in full",
    "TransportError": "the connection failed",
}


def row_error(exc: FlowdeckError) -> str:
    """The one line a result records for ``exc``: flowdeck's words, not an HTTP library's.

    A failure below HTTP carries the HTTP library's own text (aiohttp's reads like ``400, message=...``
    for a body cut short, which looks like an HTTP status it is not); it is said in words instead.
    Errors with an answer from the provider keep their message (the provider's words are useful).

    >>> import httpx
    >>> try:
    ...     raise TransportError("ReadError: <ContentLengthError: 400, ...>", provider="gumloop",
    ...                          operation="get_pl_run") from httpx.ReadError("400, message=...")
    ... except TransportError as exc:
    ...     row_error(exc)
    'gumloop get_pl_run: the connection broke while the answer was read'
    """
    cause = exc.__cause__
    if not isinstance(exc, TransportError | StartOutcomeUnknown) or not isinstance(cause, httpx.TransportError):
        return str(exc)
    names = [klass.__name__ for klass in type(cause).__mro__]
    what = next((_CONNECTION_FAILURES[n] for n in names if n in _CONNECTION_FAILURES), "the connection failed")
    if isinstance(exc, StartOutcomeUnknown):
        return (
            f"{exc.provider} {exc.operation}: {what}, after the start request was sent; the run may have "
            "started, so it was not retried"
        )
    never_sent = " (the request was never sent, so no run was started)" if "never sent" in str(exc) else ""
    return f"{exc.provider} {exc.operation}: {what}{never_sent}"


def is_rejection(exc: FlowdeckError) -> bool:
    """True if a start failed in a way a rerun would meet again (the request itself was refused)."""
    if isinstance(exc, ApiError):
        return exc.status_code in PERMANENT_STATUS_CODES
    return isinstance(exc, InvalidRequestError | ConfigurationError | UnsupportedOperationError)


def start_limiter(rate: float | None) -> AsyncLimiter | None:
    """A limiter letting ``rate`` starts a second through, one at a time; None for no limit.

    A leaky bucket holds at least one start: below one a second, it admits one start per ``1/rate``
    seconds (a bucket of capacity ``rate`` over one second could never admit a whole start).

    >>> start_limiter(0.5).time_period, start_limiter(20).max_rate
    (2.0, 20)
    """
    if rate is None:
        return None
    return AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1 / rate)


def rows_left(
    rows: Sequence[BatchRow], earlier: Earlier, *, retry_unknown: bool = False, retry_rejected: bool = False,
    retry_failed: bool = False,
) -> list[BatchRow]:  # fmt: skip
    """The rows a batch does (again): those without a final outcome in ``earlier``.

    >>> rows_left([BatchRow(2, "gumloop:f", {})], Earlier({2: {"status": "TIMEOUT"}}, {}, frozenset()))
    [BatchRow(number=2, ref='gumloop:f', inputs={})]
    """
    retried = (("UNKNOWN", retry_unknown), ("REJECTED", retry_rejected), ("FAILED", retry_failed))
    redo = set(RESUMABLE) | {status for status, on in retried if on}
    return [r for r in rows if r.number not in earlier.results or earlier.results[r.number]["status"] in redo]


def forget_failed(earlier: Earlier) -> Earlier:
    """``earlier`` without the runs of rows that ended FAILED: ``--retry-failed`` starts those rows anew
    (a new run, paid again) instead of waiting on the run that failed.

    >>> run = Run("gumloop", parse_ref("gumloop:f"), "r1", Status.FAILED, "FAILED")
    >>> forget_failed(Earlier({2: {"status": "FAILED"}}, {2: run}, frozenset())).started
    {}
    """
    failed = {n for n, r in earlier.results.items() if r.get("status") == "FAILED"}
    return attrs.evolve(
        earlier,
        started={n: run for n, run in earlier.started.items() if n not in failed},
        bulk_of={n: task for n, task in earlier.bulk_of.items() if n not in failed},
    )


async def run_batch(
    client: AsyncClient,
    rows: Sequence[BatchRow],
    journal: Journal,
    *,
    concurrency: int = 50,
    rate: float | None = None,
    timeout: float | None = None,
    retry_unknown: bool = False,
    retry_rejected: bool = False,
    retry_failed: bool = False,
    observer: BatchObserver | None = None,
    bulk: int | None = 1,
) -> BatchSummary:
    """Run every row that has no final outcome yet; see the module docstring for what resuming does.

    ``retry_unknown`` starts again the rows whose start may or may not have happened (UNKNOWN);
    ``retry_rejected`` those the provider refused (REJECTED: bad inputs, credentials, workflow);
    ``retry_failed`` those whose run ended FAILED at the provider (each a new run, paid again).
    ``bulk``: rows per bulk task where the provider runs many inputs as one task (None: the
    provider's default, as ``flowdeck batch`` does; 1, the default here: one run per row).

    >>> summary = await run_batch(client, read_rows(Path("in.csv"), "gumloop:abc"), Journal(Path("out.jsonl")))
    ... # doctest: +SKIP
    """
    if concurrency < 1:
        raise InvalidRequestError("concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise InvalidRequestError("rate must be positive")
    if bulk is not None and bulk < 1:
        raise InvalidRequestError("bulk must be at least 1")
    begun = time.monotonic()
    try:
        earlier = journal.load(fingerprint(rows))
        todo = rows_left(
            rows, earlier, retry_unknown=retry_unknown, retry_rejected=retry_rejected, retry_failed=retry_failed
        )
        if retry_failed:
            earlier = forget_failed(earlier)
        attempt = _Attempt(client, journal, earlier, observer or _Silent(), timeout, retry_unknown)
        again = {r.number for r in todo}
        attempt.final = {n: r for n, r in earlier.results.items() if n not in again}
        try:
            journal.keep_only(attempt.final)  # rows done again lose their old line first: one line per row
            failed_before = sum(r["status"] != "SUCCEEDED" for r in attempt.final.values())
            attempt.observer.begin(len(rows), len(rows) - len(todo), failed_before)
            gate = asyncio.Semaphore(concurrency)
            limiter = start_limiter(rate)
            singles, groups = plan_bulk(todo, earlier, bulk, retry_unknown=retry_unknown)
            tasks = [
                *(asyncio.ensure_future(attempt.process(row, gate, limiter)) for row in singles),
                *(asyncio.ensure_future(attempt.process_bulk(group, gate, limiter)) for group in groups),
            ]
            try:
                await asyncio.gather(*tasks)
            except Exception:
                # One row's failure to be recorded (a full disk) ends the batch: the other rows stop too,
                # before the client closes under them (a request sent after that would open a new
                # connection pool that nothing closes).
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        finally:
            # Rows this attempt did not reach (Ctrl-C) keep their earlier outcome; the file ends sorted by row.
            unreached = {
                n: r for n, r in earlier.results.items() if n not in attempt.final and n not in attempt.attempted
            }
            journal.keep_only({**unreached, **attempt.final})
    finally:
        journal.close()
    summary = BatchSummary(
        total=len(rows), skipped=len(rows) - len(todo), started_now=attempt.started_now, resumed=attempt.resumed,
        runs_started=attempt.runs_started, unstarted=attempt.unstarted, refused=attempt.credentials.refused,
    )  # fmt: skip
    summary.seconds = time.monotonic() - begun
    for row in rows:
        status = attempt.final[row.number]["status"]
        summary.statuses[status] += 1
        summary.by_provider.setdefault(row.ref.split(":", 1)[0], Counter())[status] += 1
    summary.failures = failure_groups(attempt.final)
    return summary


class _Attempt:
    """One run of a batch command over the rows left to do."""

    def __init__(
        self, client: AsyncClient, journal: Journal, earlier: Earlier, observer: BatchObserver,
        timeout: float | None, retry_unknown: bool,
    ) -> None:  # fmt: skip
        self.client, self.journal, self.earlier, self.observer = client, journal, earlier, observer
        self.timeout, self.retry_unknown = timeout, retry_unknown
        self.final: dict[int, dict[str, Any]] = {}  # the outcome of every row that has one
        self.attempted: set[int] = set()  # rows whose start intent this attempt wrote
        self.started_now = 0
        self.runs_started = 0  # fewer than started_now where a bulk task runs many rows
        self.resumed = 0  # rows whose run an earlier attempt started, waited on again
        self.unstarted: Counter[str] = Counter()
        self.credentials = _CredentialGate()

    def record(
        self, row: BatchRow, status: str, run: Run | None = None, error: FlowdeckError | str | None = None,
        bulk: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        message = error if isinstance(error, str) or error is None else row_error(error)
        result = {
            "row": row.number, "input": row.inputs, "workflow": row.ref,
            "provider": run.provider if run else row.ref.split(":", 1)[0],
            "run_id": run.id if run else None, "status": status,
            "provider_status": run.provider_status if run else None,
            "outputs": run.outputs if run else None,
            "error": message if message is not None else (run.error if run else None),
            "error_type": type(error).__name__ if isinstance(error, FlowdeckError) else None,
            "url": run.url if run else None,
        }  # fmt: skip
        if run is not None and (spent := credits_spent(run)) is not None:
            result["credits_spent"] = spent  # what a pre-flight check estimates the rows left from
        if bulk is not None:
            result["bulk"] = dict(bulk)  # the task the row ran in, and its place among the task's inputs
        self.journal.result(result)
        self.final[row.number] = result
        if run is None and status in UNSTARTED:
            self.unstarted[status] += 1
        self.observer.finished(row, status)

    async def process(self, row: BatchRow, gate: asyncio.Semaphore, limiter: AsyncLimiter | None) -> None:
        async with gate:
            run = self.earlier.started.get(row.number)
            if run is None and row.number in self.earlier.unresolved and not self.retry_unknown:
                self.record(row, "UNKNOWN", error=INTERRUPTED_START)
                return
            if run is None:
                provider = row.ref.split(":", 1)[0]
                if not await self.credentials.admit(provider):
                    self.record(row, "NOT_STARTED", error=self.credentials.held_back(provider))
                    return
                if limiter is not None:
                    await limiter.acquire()
                self.observer.started(row)  # in flight from here: a StackAI run ends inside its start call
                self.attempted.add(row.number)
                self.journal.intent(row)
                try:
                    run = await self.client.start(row.ref, row.inputs)
                except StartOutcomeUnknown as exc:
                    self.credentials.answered(provider, row.number, exc)
                    self.record(row, "UNKNOWN", error=exc)
                    return
                except FlowdeckError as exc:
                    self.credentials.answered(provider, row.number, exc)
                    self.journal.not_started(row.number)
                    self.record(row, "REJECTED" if is_rejection(exc) else "NOT_STARTED", error=exc)
                    return
                except BaseException:
                    self.credentials.answered(provider, row.number, None)
                    raise
                self.credentials.answered(provider, row.number, None)
                self.journal.started(row, run)
                self.started_now += 1
                self.runs_started += 1
            else:
                self.resumed += 1
                self.observer.started(row)
            try:
                run = await self.client.wait(run, timeout=self.timeout, raise_on_failure=False)
            except WaitTimeout as exc:
                self.record(row, "TIMEOUT", exc.run, error="still running at --timeout; rerun to keep waiting")
                return
            except FlowdeckError as exc:
                self.record(row, "POLL_ERROR", run, error=exc)
                return
            self.record(row, run.status.value, run)

    async def process_bulk(self, group: BulkGroup, gate: asyncio.Semaphore, limiter: AsyncLimiter | None) -> None:
        """Start (or, resuming, wait on again) one bulk task, then give each of its rows its outcome."""
        async with gate:
            run = group.run
            if run is None:
                group = self._without_invalid_rows(group)
                if not group.rows:
                    return
                provider = parse_ref(group.rows[0].ref).provider
                if not await self.credentials.admit(provider):
                    for row in group.rows:
                        self.record(row, "NOT_STARTED", error=self.credentials.held_back(provider))
                    return
                if limiter is not None:
                    await limiter.acquire()
                for row in group.rows:
                    self.observer.started(row)
                    self.attempted.add(row.number)
                key = uuid.uuid4().hex[:12]
                self.journal.bulk_intent(key, group.rows)  # flushed before the request: never sent twice
                workflow = parse_ref(group.rows[0].ref)
                try:
                    run = await self.client.drive(
                        group.spec.start(
                            self.client.adapter(workflow.provider), workflow, [r.inputs for r in group.rows]
                        )
                    )
                except StartOutcomeUnknown as exc:
                    self.credentials.answered(provider, group.rows[0].number, exc)
                    self._all(group, "UNKNOWN", error=exc)
                    return
                except FlowdeckError as exc:
                    self.credentials.answered(provider, group.rows[0].number, exc)
                    self.journal.bulk_not_started(key, group.rows)
                    self._all(group, "REJECTED" if is_rejection(exc) else "NOT_STARTED", error=exc)
                    return
                except BaseException:
                    self.credentials.answered(provider, group.rows[0].number, None)
                    raise
                self.credentials.answered(provider, group.rows[0].number, None)
                self.journal.bulk_started(key, group.rows, run)
                self.started_now += len(group.rows)
                self.runs_started += 1
            else:
                self.resumed += len(group.rows)
                for row in group.rows:
                    self.observer.started(row)
            try:
                final = await self.client.wait(run, timeout=self.timeout, raise_on_failure=False)
            except WaitTimeout as exc:
                self._all(group, "TIMEOUT", exc.run, error="still running at --timeout; rerun to keep waiting")
                return
            except FlowdeckError as exc:
                self._all(group, "POLL_ERROR", run, error=exc)
                return
            outcomes = group.spec.rows(final, len(group.order))
            for row in group.rows:
                index = group.order.index(row.number)
                outcome = outcomes[index]
                self.record(row, outcome.status.value, outcome, bulk={"task_id": final.id, "index": index})

    def _without_invalid_rows(self, group: BulkGroup) -> BulkGroup:
        """``group`` less the rows whose inputs the start would refuse locally, each REJECTED on its own.

        One task carries every row's inputs, so one bad row would otherwise refuse the whole task and
        its good rows with it. Each row is checked by beginning its start alone: the adapter checks the
        inputs before it yields its request, and that request is never sent.
        """
        workflow = parse_ref(group.rows[0].ref)
        adapter = self.client.adapter(workflow.provider)
        valid: list[BatchRow] = []
        for row in group.rows:
            op = group.spec.start(adapter, workflow, [row.inputs])
            try:
                next(op)
            except InvalidRequestError as exc:
                self.observer.started(row)
                self.record(row, "REJECTED", error=exc)
                continue
            except StopIteration:
                pass
            finally:
                op.close()
            valid.append(row)
        if len(valid) == len(group.rows):
            return group
        return BulkGroup(tuple(valid), tuple(r.number for r in valid), group.spec)

    def _all(
        self, group: BulkGroup, status: str, run: Run | None = None, error: FlowdeckError | str | None = None
    ) -> None:
        for row in group.rows:
            info = None if run is None else {"task_id": run.id, "index": group.order.index(row.number)}
            self.record(row, status, run, error=error, bulk=info)


class _CredentialGate:
    """Stops a provider's starts at the first one that refuses the credential (HTTP 401 or 403; SuperAI's
    login answers a wrong password with 400).

    Credentials are per provider, so one refusal means every other start there would be refused too:
    those rows are never sent and stay NOT_STARTED for a rerun once the credential is fixed. Each
    provider's first start goes alone; the rest wait for its answer (at most
    ``CREDENTIAL_PROBE_SECONDS``), else a batch of 50 in flight would send 50 starts on a wrong key.
    """

    def __init__(self) -> None:
        self.refused: dict[str, CredentialRefusal] = {}
        self._first: dict[str, asyncio.Event] = {}

    async def admit(self, provider: str) -> bool:
        """Whether a start at ``provider`` may be sent; the first one is, and the others wait for its answer."""
        first = self._first.get(provider)
        if first is None:
            self._first[provider] = asyncio.Event()
        elif not first.is_set() and provider not in self.refused:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first.wait(), CREDENTIAL_PROBE_SECONDS)
        return provider not in self.refused

    def answered(self, provider: str, row: int, error: FlowdeckError | None) -> None:
        """A start at ``provider`` was answered (``error`` None: started, or no answer to judge by)."""
        refused = isinstance(error, ApiError) and provider_spec(provider).checks.rejects(error)
        if isinstance(error, ApiError) and refused and provider not in self.refused:
            self.refused[provider] = CredentialRefusal(provider, row, error.status_code, type(error).__name__)
        self._first[provider].set()

    def held_back(self, provider: str) -> str:
        """The error of a row not sent because ``provider`` refused the credential; counts it."""
        refusal = self.refused[provider]
        self.refused[provider] = attrs.evolve(refusal, held_back=refusal.held_back + 1)
        return (
            f"not sent: {provider} refused the credential (HTTP {refusal.status_code}) at row {refusal.row}, "
            "so no more starts were sent there; rerun once the credential is fixed"
        )


@attrs.frozen
class BulkGroup:
    """Rows run as one bulk task: ``order`` is the task's rows as sent (a resumed task may have fewer
    rows left to finish than it was started with); ``run`` the task, when it was started earlier."""

    rows: tuple[BatchRow, ...]
    order: tuple[int, ...]
    spec: Bulk
    run: Run | None = None


def plan_bulk(
    rows: Sequence[BatchRow], earlier: Earlier, size: int | None, *, retry_unknown: bool = False
) -> tuple[list[BatchRow], list[BulkGroup]]:
    """Which rows run alone and which share bulk tasks: rows of a task started earlier wait on it
    again together; new rows of a provider that runs bulk tasks are grouped by workflow and options,
    ``size`` (or the provider's default) per task; ``size == 1`` runs every row alone.

    >>> singles, groups = plan_bulk([BatchRow(2, "gumloop:f", {})], Earlier({}, {}, frozenset()), None)
    >>> [r.number for r in singles], groups
    ([2], [])
    """
    singles: list[BatchRow] = []
    resumed: dict[str, list[BatchRow]] = {}
    fresh: dict[tuple[str, str], list[BatchRow]] = {}
    specs: dict[str, Bulk] = {}
    for row in rows:
        member = earlier.bulk_of.get(row.number)
        workflow = parse_ref(row.ref)
        spec = provider_spec(workflow.provider).bulk
        if member is not None and row.number in earlier.started and spec is not None:
            resumed.setdefault(member[0], []).append(row)
            specs[member[0]] = spec
            continue
        waiting = row.number in earlier.started or (row.number in earlier.unresolved and not retry_unknown)
        if spec is None or size == 1 or waiting or workflow.kind not in spec.kinds:
            singles.append(row)
            continue
        fresh.setdefault((row.ref, spec.group(row.inputs)), []).append(row)
        specs[row.ref] = spec
    groups = [
        BulkGroup(tuple(members), earlier.bulk_of[members[0].number][1], specs[key], earlier.started[members[0].number])
        for key, members in resumed.items()
    ]
    for (ref, _), members in fresh.items():
        per_task = size or specs[ref].size
        for start in range(0, len(members), per_task):
            chunk = tuple(members[start : start + per_task])
            if len(chunk) == 1:
                singles.append(chunk[0])  # a task of one input is a run, without the task's overhead
                continue
            groups.append(BulkGroup(chunk, tuple(r.number for r in chunk), specs[ref]))
    return singles, groups
