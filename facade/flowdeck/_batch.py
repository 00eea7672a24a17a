"""Batch runs: one run per input row, bounded concurrency and start rate, resumable after any crash.

Two append-only JSON Lines files make a batch resumable:

- the *results* file (``--out``): one line per row that reached an outcome;
- the *state* file beside it: for each row, an ``intent`` line written (and flushed) *before* its
  start request is sent, and a ``started`` line with the run id once the provider answered.

On a rerun a row with a final result is skipped; a row with a ``started`` line is waited on again
(never started twice); a row with an ``intent`` but no ``started`` line may or may not have started
(the process died mid-request), so it is reported UNKNOWN and left alone unless ``retry_unknown``.
A flushed line survives ``kill -9`` (it is in the OS already), and a torn last line is ignored.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import attrs
from aiolimiter import AsyncLimiter

from flowdeck._client import AsyncClient
from flowdeck._errors import (
    FlowdeckError,
    InvalidRequestError,
    StartOutcomeUnknown,
    WaitTimeout,
)
from flowdeck._models import Run, Status
from flowdeck._providers import parse_ref

FORMAT = 1
# Outcomes a rerun tries again: nothing was started (NOT_STARTED) or the run is still going.
RESUMABLE = frozenset({"NOT_STARTED", "TIMEOUT", "POLL_ERROR"})
INTERRUPTED_START = (
    "interrupted while starting: the run may exist at the provider; "
    "check there, or rerun with --retry-unknown to start it again"
)


class InputFileError(InvalidRequestError):
    """An input file cannot be used; the message names the file, row and column."""


@attrs.frozen
class BatchRow:
    """One input row: its 1-based number in the file, the workflow it runs, and its inputs."""

    number: int
    ref: str
    inputs: Mapping[str, Any]


def read_rows(path: Path, ref: str, mapping: Mapping[str, str] | None = None) -> list[BatchRow]:
    """Read a ``.csv`` (header row) or ``.jsonl`` (one object per line) input file.

    ``ref`` is a workflow reference, or ``column:<name>`` to take each row's reference from a column.
    ``mapping`` renames columns to input names (``{"Company Domain": "domain"}``).

    >>> read_rows(Path("people.csv"), "databar:flow/42", {"Domain": "domain"})  # doctest: +SKIP
    """
    mapping = dict(mapping or {})
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path, text)
    elif suffix in (".jsonl", ".ndjson"):
        records = _jsonl_records(path, text)
    else:
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    ref_column = ref.removeprefix("column:") if ref.startswith("column:") else None
    rows = []
    for number, record in records:
        missing = [src for src in mapping if src not in record]
        if missing:
            raise InputFileError(f"{path} row {number}: no column {missing[0]!r} to map (see --map)")
        inputs = {mapping.get(k, k): v for k, v in record.items()}
        row_ref = ref
        if ref_column is not None:
            row_ref = inputs.pop(ref_column, None)
            if not isinstance(row_ref, str) or not row_ref:
                raise InputFileError(f"{path} row {number}: column {ref_column!r} must name a workflow")
        try:
            parse_ref(row_ref)
        except InvalidRequestError as exc:
            raise InputFileError(f"{path} row {number}: {exc}") from None
        rows.append(BatchRow(number, row_ref, inputs))
    if not rows:
        raise InputFileError(f"{path}: no input rows")
    return rows


def _csv_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
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
    try:
        for values in reader:
            number = reader.line_num  # physical line, as an editor shows it
            if not values:
                continue
            if len(values) != len(header):
                raise InputFileError(
                    f"{path} row {number}: has {len(values)} fields but the header has {len(header)} "
                    f"({', '.join(header)})"
                )
            records.append((number, dict(zip(header, values, strict=True))))
    except csv.Error as exc:
        raise InputFileError(f"{path} row {reader.line_num}: {exc}") from None
    return records


def _jsonl_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} row {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise InputFileError(f"{path} row {number}: must be a JSON object, got {type(value).__name__}")
        records.append((number, value))
    return records


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
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


class Journal:
    """The results and state files of one batch (see the module docstring)."""

    def __init__(self, out: Path, state: Path | None = None) -> None:
        self.out = out
        self.state = state or out.with_name(out.name + ".flowdeck-state.jsonl")
        self._files: dict[Path, IO[str]] = {}

    def load(self, fingerprint: str) -> tuple[dict[int, dict[str, Any]], dict[int, Run], set[int]]:
        """(latest result per row, started run per row, rows with a start intent) from earlier attempts."""
        state = _read_jsonl(self.state)
        headers = [s for s in state if s.get("event") == "batch"]
        if headers and headers[0].get("fingerprint") != fingerprint:
            raise InputFileError(
                f"{self.out}: this batch was begun with other inputs or another workflow; "
                f"use a new --out (or delete {self.out} and {self.state} to start over)"
            )
        results = {r["row"]: r for r in _read_jsonl(self.out) if isinstance(r.get("row"), int)}
        started = {s["row"]: run_from_json(s["run"]) for s in state if s.get("event") == "started"}
        intents = {s["row"] for s in state if s.get("event") == "intent"}
        if not headers:
            self._append(self.state, {"event": "batch", "format": FORMAT, "fingerprint": fingerprint})
        return results, started, intents

    def _append(self, path: Path, record: Mapping[str, Any]) -> None:
        handle = self._files.get(path)
        if handle is None:
            torn = path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
            handle = self._files[path] = path.open("a", encoding="utf-8")
            if torn:
                handle.write("\n")  # never glue a new line onto a line torn by a crash
        handle.write(json.dumps(record, default=str) + "\n")
        handle.flush()  # in the OS before the next step: survives kill -9

    def intent(self, row: BatchRow) -> None:
        """Record that row's start request is about to be sent."""
        self._append(self.state, {"event": "intent", "row": row.number, "at": time.time()})

    def started(self, row: BatchRow, run: Run) -> None:
        """Record the run a row started."""
        self._append(self.state, {"event": "started", "row": row.number, "run": run_to_json(run)})

    def result(self, record: Mapping[str, Any]) -> None:
        """Append a row's outcome to the results file."""
        self._append(self.out, record)

    def close(self) -> None:
        """Close both files."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()


class BatchObserver(Protocol):
    """What a progress display hears from a batch."""

    def begin(self, total: int, already_done: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


class _Silent:
    def begin(self, total: int, already_done: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


@attrs.define
class BatchSummary:
    """What a batch did: outcomes by status (all rows, including earlier attempts) and by provider."""

    total: int
    skipped: int
    statuses: Counter[str] = attrs.field(factory=Counter)
    by_provider: dict[str, Counter[str]] = attrs.field(factory=dict)
    started_now: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True if every row succeeded."""
        return self.statuses.get("SUCCEEDED", 0) == self.total


def fingerprint(rows: Sequence[BatchRow]) -> str:
    """A digest of the rows, so a rerun with other inputs is refused rather than mixed in."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row.number, row.ref, row.inputs], sort_keys=True, default=str).encode())
    return digest.hexdigest()


async def run_batch(
    client: AsyncClient,
    rows: Sequence[BatchRow],
    journal: Journal,
    *,
    concurrency: int = 50,
    rate: float | None = None,
    timeout: float | None = None,
    retry_unknown: bool = False,
    observer: BatchObserver | None = None,
) -> BatchSummary:
    """Run every row that has no final outcome yet; see the module docstring for what resuming does.

    >>> summary = await run_batch(client, read_rows(Path("in.csv"), "gumloop:abc"), Journal(Path("out.jsonl")))
    ... # doctest: +SKIP
    """
    if concurrency < 1:
        raise InvalidRequestError("concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise InvalidRequestError("rate must be positive")
    observer = observer or _Silent()
    results, started, intents = journal.load(fingerprint(rows))
    todo = [r for r in rows if r.number not in results or results[r.number]["status"] in RESUMABLE]
    summary = BatchSummary(total=len(rows), skipped=len(rows) - len(todo))
    pending = {r.number for r in todo}
    for row in rows:
        if row.number not in pending:
            _count(summary, row, results[row.number]["status"])
    observer.begin(len(rows), summary.skipped)
    gate = asyncio.Semaphore(concurrency)
    limiter = AsyncLimiter(rate, 1.0) if rate else None
    begun = time.monotonic()

    def record(row: BatchRow, status: str, run: Run | None = None, error: str | None = None) -> None:
        journal.result({
            "row": row.number, "input": row.inputs, "workflow": row.ref,
            "provider": run.provider if run else row.ref.split(":", 1)[0],
            "run_id": run.id if run else None, "status": status,
            "provider_status": run.provider_status if run else None,
            "outputs": run.outputs if run else None,
            "error": error if error is not None else (run.error if run else None),
            "url": run.url if run else None,
        })  # fmt: skip
        _count(summary, row, status)
        observer.finished(row, status)

    async def process(row: BatchRow) -> None:
        async with gate:
            run = started.get(row.number)
            earlier = results.get(row.number, {}).get("status")
            if run is None and row.number in intents and earlier != "NOT_STARTED" and not retry_unknown:
                record(row, "UNKNOWN", error=INTERRUPTED_START)
                return
            if run is None:
                if limiter is not None:
                    await limiter.acquire()
                journal.intent(row)
                try:
                    run = await client.start(row.ref, row.inputs)
                except StartOutcomeUnknown as exc:
                    record(row, "UNKNOWN", error=str(exc))
                    return
                except FlowdeckError as exc:
                    record(row, "NOT_STARTED", error=f"{type(exc).__name__}: {exc}")
                    return
                journal.started(row, run)
                summary.started_now += 1
            observer.started(row)
            try:
                run = await client.wait(run, timeout=timeout, raise_on_failure=False)
            except WaitTimeout as exc:
                record(row, "TIMEOUT", exc.run, error="still running at --timeout; rerun to keep waiting")
                return
            except FlowdeckError as exc:
                record(row, "POLL_ERROR", run, error=f"{type(exc).__name__}: {exc}")
                return
            record(row, run.status.value, run)

    try:
        await asyncio.gather(*(process(row) for row in todo))
    finally:
        summary.seconds = time.monotonic() - begun
        journal.close()
    return summary


def _count(summary: BatchSummary, row: BatchRow, status: str) -> None:
    summary.statuses[status] += 1
    summary.by_provider.setdefault(row.ref.split(":", 1)[0], Counter())[status] += 1
