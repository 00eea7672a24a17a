"""A batch's journal: what makes it resumable after any crash.

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

import base64
import contextlib
import json
import os
import re
import time
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from flowdeck._batch.rows import BatchRow, InputFileError
from flowdeck._models import Run, Status
from flowdeck._providers import parse_ref

FORMAT = 2
# A rerun always tries these again: nothing started, or still going.
RESUMABLE = frozenset({"NOT_STARTED", "TIMEOUT", "POLL_ERROR"})


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSON Lines file, one at a time (a batch's files can hold millions)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for line in handle:
            try:
                value = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write
            if isinstance(value, dict):
                yield value


# What a rerun needs of an earlier result. Rows that ended alike share
# one record, so a million finished rows hold a few.
SLIM_KEYS = ("status", "provider", "workflow", "error_type", "error", "credits_spent")


class Results(Mapping[int, Mapping[str, Any]]):
    """Earlier results by row, each as :data:`SLIM_KEYS`: rows that ended alike share one record, and
    each row costs 4 bytes (an index into the records, by row number).

    >>> results = Results()
    >>> results.add(2, {"row": 2, "status": "SUCCEEDED", "outputs": {"big": "..."}})
    >>> dict(results)
    {2: {'status': 'SUCCEEDED', 'provider': None, 'workflow': None, 'error_type': None, 'error': None, \
'credits_spent': None}}
    """

    def __init__(self) -> None:
        self._at = array("i")  # by row number: index into _records, -1 for none
        self._records: list[dict[str, Any]] = []
        self._known: dict[tuple[Any, ...], int] = {}
        self._count = 0

    def add(self, row: int, record: Mapping[str, Any]) -> None:
        """Keep ``record`` (its :data:`SLIM_KEYS`) as ``row``'s result, replacing an earlier one."""
        values = tuple(record.get(key) for key in SLIM_KEYS)
        try:
            index = self._known.get(values)
        except TypeError:  # a value that is not hashable: kept apart
            index, values = None, ()
        if index is None:
            index = len(self._records)
            self._records.append(dict(zip(SLIM_KEYS, (record.get(key) for key in SLIM_KEYS), strict=True)))
            if values:
                self._known[values] = index
        if row >= len(self._at):
            self._at.extend([-1] * (row + 1 - len(self._at)))
        self._count += self._at[row] < 0
        self._at[row] = index

    def marks(self, test: Callable[[Mapping[str, Any]], bool]) -> bytearray:
        """1 by each row whose result passes ``test``, else 0 (a byte a row, read without a call)."""
        passes = [test(record) for record in self._records]
        if len(passes) < 128:  # each row's index fits a signed byte: mapped in C, not row by row
            table = bytearray(256)
            for index, passed in enumerate(passes):
                table[index] = passed
            return bytearray(array("b", self._at).tobytes().translate(table))
        out = bytearray(len(self._at))
        for row, index in enumerate(self._at):
            if index >= 0 and passes[index]:
                out[row] = 1
        return out

    def tally(self) -> list[tuple[Mapping[str, Any], int]]:
        """Each distinct record kept and how many rows have it."""
        counts = Counter(self._at)
        return [(record, counts[index]) for index, record in enumerate(self._records) if counts[index]]

    def rows_of(self, test: Callable[[Mapping[str, Any]], bool]) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """The rows whose result passes ``test``, with it, in row order."""
        passes = {index for index, record in enumerate(self._records) if test(record)}
        if passes:
            for row, index in enumerate(self._at):
                if index in passes:
                    yield row, self._records[index]

    def discard(self, row: int) -> None:
        """Forget ``row``'s result, if it has one."""
        if row in self:
            self._at[row] = -1
            self._count -= 1

    def to_event(self, size: int, mtime_ns: int) -> dict[str, Any]:
        """A state-file event saying what a results file of this size and time holds (read back by
        :meth:`from_event`, so a rerun need not parse every result line)."""
        packed = base64.b64encode(zlib.compress(self._at.tobytes())).decode("ascii")
        return {"event": "results", "size": size, "mtime_ns": mtime_ns, "records": self._records, "at": packed}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Results:
        """The results an event of :meth:`to_event` describes."""
        results = cls()
        results._records = [dict(r) for r in event["records"]]
        results._at.frombytes(zlib.decompress(base64.b64decode(event["at"])))
        results._count = sum(1 for index in results._at if index >= 0)
        for index, record in enumerate(results._records):
            with contextlib.suppress(TypeError):
                results._known.setdefault(tuple(record.get(key) for key in SLIM_KEYS), index)
        return results

    def __getitem__(self, row: int) -> Mapping[str, Any]:
        index = self._at[row] if 0 <= row < len(self._at) else -1
        if index < 0:
            raise KeyError(row)
        return self._records[index]

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and 0 <= row < len(self._at) and self._at[row] >= 0

    def __iter__(self) -> Iterator[int]:
        return (row for row, index in enumerate(self._at) if index >= 0)

    def __len__(self) -> int:
        return self._count


def _results(path: Path) -> Results:
    results = Results()
    for record in _read_jsonl(path):
        row = record.get("row")
        if isinstance(row, int) and not isinstance(row, bool) and row >= 0:
            results.add(row, record)
    return results


def run_to_json(run: Run) -> dict[str, Any]:
    """The parts of a run a journal needs to wait on it again."""
    return {
        "provider": run.provider,
        "workflow": str(run.workflow),
        "id": run.id,
        "status": run.status.value,
        "provider_status": run.provider_status,
        "url": run.url,
    }


def run_from_json(data: Mapping[str, Any]) -> Run:
    """Inverse of :func:`run_to_json`."""
    return Run(
        data["provider"],
        parse_ref(data["workflow"]),
        data["id"],
        Status(data["status"]),
        data["provider_status"],
        url=data.get("url"),
    )


def write_atomically(path: Path, text: str | Iterable[bytes]) -> None:
    """Replace ``path`` with ``text`` (or lines of bytes, written as they come) so that a crash leaves
    either the old file or the new one, whole.

    >>> write_atomically(Path("results.jsonl"), '{"row": 2}\\n')  # doctest: +SKIP
    """
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            if isinstance(text, str):
                handle.write(text.encode("utf-8"))
            else:
                handle.writelines(text)
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


_ROW = re.compile(rb'\{"row": (\d+)[,}]')


def _row_of(line: bytes) -> int | None:
    """The row a result line is of (by its first key, as results are written), or None if it is torn."""
    if not line.endswith(b"\n"):
        return None  # only a crash mid-write leaves a line without its end
    found = _ROW.match(line)
    if found:
        return int(found[1])
    try:
        value = json.loads(line)
    except ValueError:
        return None
    row = value.get("row") if isinstance(value, dict) else None
    return row if isinstance(row, int) and not isinstance(row, bool) else None


class _Index:
    """Where each row's last line is in a file: an array of offsets by row number (8 bytes a row)."""

    def __init__(self) -> None:
        self.offsets = array("q")
        self.ordered = True  # every row once, in order, as a rewrite makes it

    def scan(self, path: Path, keep: Callable[[int], bool], aside: IO[bytes] | None = None) -> None:
        """Index ``path``'s lines of rows ``keep`` accepts; write the others to ``aside`` if given."""
        last = -1
        with path.open("rb") as handle:
            offset = 0
            for line in handle:
                row = _row_of(line)
                if row is None or not keep(row):
                    self.ordered = False
                    if row is not None and aside is not None:
                        aside.write(line)
                else:
                    self.ordered = self.ordered and row > last
                    last = row
                    if row >= len(self.offsets):
                        self.offsets.extend([-1] * (row + 1 - len(self.offsets)))
                    self.offsets[row] = offset
                offset += len(line)


def _rewrite(path: Path, extra: Sequence[Path], keep: Callable[[int], bool], aside: Path | None = None) -> None:
    """Rewrite ``path`` (atomically) with the last line of each row ``keep`` accepts, in row order; a
    row with no line in ``path`` takes its last one in ``extra``. Rows not kept go to ``aside``."""
    if not path.exists() and not extra:
        write_atomically(path, "")  # a batch leaves its results file, if only empty
        return
    main = _Index()
    aside_handle = aside.open("wb") if aside is not None else None
    try:
        if path.exists():
            main.scan(path, keep, aside_handle)
    finally:
        if aside_handle is not None:
            aside_handle.close()
    others = []
    for source in extra:
        index = _Index()
        index.scan(source, keep)
        others.append((source, index))
    if main.ordered and not any(o.offsets.count(-1) != len(o.offsets) for _, o in others):
        return  # one line per row, in order, nothing to add: as it is
    _write_indexed(path, [(path, main), *others])


def _write_indexed(path: Path, sources: Sequence[tuple[Path, _Index]]) -> None:
    rows = max((len(index.offsets) for _, index in sources), default=0)
    handles = [source.open("rb") if source.exists() else None for source, _ in sources]
    try:

        def lines() -> Iterator[bytes]:
            for row in range(rows):
                for handle, (_, index) in zip(handles, sources, strict=True):
                    if handle is not None and row < len(index.offsets) and index.offsets[row] >= 0:
                        handle.seek(index.offsets[row])
                        yield handle.readline()
                        break

        write_atomically(path, lines())
    finally:
        for handle in handles:
            if handle is not None:
                handle.close()


@attrs.frozen
class Earlier:
    """What earlier attempts of a batch left: results, started runs, and starts of unknown outcome."""

    results: Mapping[int, Mapping[str, Any]]
    started: dict[int, Run]
    unresolved: frozenset[int]
    # A bulk task's journal key and its rows, in the order sent.
    bulk_of: dict[int, tuple[str, tuple[int, ...]]] = attrs.field(factory=dict)


BULK_EVENTS = {"bulk_intent": "intent", "bulk_started": "started", "bulk_not_started": "not_started"}


_ROW_EVENT = re.compile(rb'\{"event": "(?:intent|started|not_started)", "row": (\d+)[,}]')


def _lines_of(path: Path) -> Iterator[bytes]:
    if path.exists():
        with path.open("rb") as handle:
            yield from handle


def _start_events(
    state: Iterable[Mapping[str, Any] | bytes], results: Mapping[int, Mapping[str, Any]] | None = None
) -> tuple[dict[int, Run], dict[int, str], dict[int, tuple[str, tuple[int, ...]]]]:
    """The run each row started, each row's last start event (intent, started, not_started), and the
    bulk task of each row started in one; rows with an outcome in ``results`` that a rerun keeps
    (:data:`RESUMABLE` aside) are left out, as nothing of their start is needed again."""
    started: dict[int, Run] = {}
    last: dict[int, str] = {}
    bulk_of: dict[int, tuple[str, tuple[int, ...]]] = {}

    flags = results.marks(lambda r: r.get("status") not in RESUMABLE) if isinstance(results, Results) else None

    def settled(row: int) -> bool:
        if flags is not None:
            return row < len(flags) and flags[row] == 1
        return results is not None and _settled(results, row)

    for event in state:
        if isinstance(event, bytes):  # unparsed: skipped unread if its row is settled
            quick = _ROW_EVENT.match(event)
            if quick is not None and settled(int(quick[1])):
                continue
            try:
                event = json.loads(event)
            except ValueError:
                continue  # a line torn by a crash mid-write
            if not isinstance(event, dict):
                continue
        kind = event.get("event")
        if kind in BULK_EVENTS:
            rows = event.get("rows")
            if not isinstance(rows, list) or not all(isinstance(r, int) for r in rows):
                continue
            run = run_from_json(event["run"]) if kind == "bulk_started" else None
            task = (str(event.get("bulk")), tuple(rows))  # one per task, shared by its rows
            for row in rows:
                if settled(row):
                    continue
                last[row] = BULK_EVENTS[str(kind)]
                if kind == "bulk_intent":  # a new start supersedes the row's earlier run
                    started.pop(row, None)
                    bulk_of.pop(row, None)
                if run is not None:
                    started[row] = run
                    bulk_of[row] = task
            continue
        row = event.get("row")
        if not isinstance(row, int) or settled(row):
            continue
        if kind == "intent":  # --retry-failed: supersedes the earlier run
            started.pop(row, None)
            bulk_of.pop(row, None)
        if kind == "started":
            started[row] = run_from_json(event["run"])
            bulk_of.pop(row, None)
        if kind in ("intent", "started", "not_started"):
            last[row] = str(kind)
    return started, last, bulk_of


def _settled(results: Mapping[int, Mapping[str, Any]], row: int) -> bool:
    result = results.get(row)
    return result is not None and result.get("status") not in RESUMABLE


class Journal:
    """The results and state files of one batch (see the module docstring)."""

    def __init__(self, out: Path, state: Path | None = None) -> None:
        self.out = out
        self.state = state or out.with_name(out.name + ".flowdeck-state.jsonl")
        self._files: dict[Path, IO[bytes]] = {}
        self._ends: dict[Path, int] = {}  # where a refused line is cut back to
        self._lock: IO[str] | None = None
        # The results' index, written to the state file at the end; rows
        # set aside until then; whether the file matches an index.
        self._final: Results | None = None
        self._aside: dict[int, Mapping[str, Any]] = {}
        self._indexed = False
        self._changed = False

    def _checked_state(self, fingerprint: str) -> tuple[Iterator[bytes], list[dict[str, Any]]]:
        """The state file's events (read as they are used) and its first batch header, if any, after
        checking they belong to these rows."""
        header = next((s for s in _read_jsonl(self.state) if s.get("event") == "batch"), None)
        headers = [] if header is None else [header]
        state = _lines_of(self.state)
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

    def _earlier_results(self) -> tuple[Results, bool]:
        """The results file's rows, from the state file's last index of it when that still describes it
        (same size and time), else read line by line; and whether the index was used."""
        found = None
        if self.state.exists() and self.out.exists():
            with self.state.open("rb") as handle:
                for line in handle:
                    if line.startswith(b'{"event": "results"'):
                        found = line
        if found is not None:
            try:
                event = json.loads(found)
                stat = self.out.stat()
                if event["size"] == stat.st_size and event["mtime_ns"] == stat.st_mtime_ns:
                    return Results.from_event(event), True
            except (ValueError, KeyError, TypeError, OSError, zlib.error):
                pass  # torn or foreign: read the results themselves
        return _results(self.out), False

    def peek(self, fingerprint: str) -> Earlier:
        """What earlier attempts left, read only: no lock taken, nothing written (``batch --check``).

        A row a first-format journal left as an intent with a NOT_STARTED result counts as not started,
        as :meth:`load` records it.
        """
        state, headers = self._checked_state(fingerprint)
        results, _ = self._earlier_results()
        started, last, bulk_of = _start_events(state, results)
        if bool(headers) and headers[0].get("format", 1) < 2:
            last.update(
                {
                    row: "not_started"
                    for row, r in results.items()
                    if last.get(row) == "intent" and r.get("status") == "NOT_STARTED"
                }
            )
        unresolved = frozenset(row for row, event in last.items() if event == "intent")
        return Earlier(results, started, unresolved, bulk_of)

    def load(self, fingerprint: str) -> Earlier:
        """Read what earlier attempts left, after checking they ran the same rows; takes the batch's lock."""
        state, headers = self._checked_state(fingerprint)
        self._take_lock()
        results, self._indexed = self._earlier_results()
        self._final = Results.from_event(results.to_event(0, 0))  # a copy the attempt updates
        started, last, bulk_of = _start_events(state, results)
        if not headers:
            self._append(self.state, {"event": "batch", "format": FORMAT, "fingerprint": fingerprint})
        legacy = bool(headers) and headers[0].get("format", 1) < 2
        for row, result in results.items() if legacy else ():
            # A first-format journal noted an unmade start only in results.
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

    @property
    def aside(self) -> Path:
        """Where the old result lines of the rows an attempt does again wait, until it ends."""
        return self.out.with_name(f".{self.out.name}.again")

    def set_aside(self, again: Collection[int]) -> None:
        """Move the result lines of the rows in ``again`` out of the results file (an atomic rewrite),
        so that a row done again never has two lines, even after ``kill -9``."""
        if again:
            self._close(self.out)
            self._changed = True
            try:
                _rewrite(self.out, [], lambda row: row not in again, aside=self.aside)
            except BaseException:
                self.aside.unlink(missing_ok=True)
                raise
            if self._final is not None:
                for row in again:
                    if row in self._final:
                        self._aside[row] = self._final[row]
                        self._final.discard(row)

    def finish(self, unfinished: Collection[int] = ()) -> None:
        """Rewrite the results file (atomically) with one line per row, in row order: each row's last
        line; a row set aside and not reached again gets its old line back, unless it is ``unfinished``
        (started again, no outcome yet: its old outcome is void)."""
        if not self._changed and self._indexed:
            return  # nothing written: the file is as its index says
        self._close(self.out)
        extra = [self.aside] if self.aside.exists() else []
        try:
            _rewrite(self.out, extra, lambda row: row not in unfinished)
        finally:
            self.aside.unlink(missing_ok=True)
        final = self._final
        if final is not None:
            for row, result in self._aside.items():
                if row not in final and row not in unfinished:
                    final.add(row, result)
            stat = self.out.stat()
            self._append(self.state, final.to_event(stat.st_size, stat.st_mtime_ns))

    def _close(self, path: Path) -> None:
        handle = self._files.pop(path, None)
        if handle is not None:
            handle.close()
        self._ends.pop(path, None)

    def _append(self, path: Path, record: Mapping[str, Any]) -> None:
        handle = self._files.get(path)
        if handle is None:
            torn = path.exists() and path.stat().st_size and not path.read_bytes().endswith(b"\n")
            # Unbuffered: each line survives kill -9 once written, and a
            # failed write leaves nothing queued.
            handle = self._files[path] = path.open("ab", buffering=0)
            if torn:
                handle.write(b"\n")  # never glue a new line onto a line torn by a crash
            # Kept here, not asked of the OS: only this process writes it.
            self._ends[path] = os.fstat(handle.fileno()).st_size
        line = (json.dumps(record, default=str) + "\n").encode("utf-8")
        try:
            done = 0
            while done < len(line):  # a full disk may take part of a line
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
        self._append(
            self.state, {"event": "bulk_intent", "bulk": key, "rows": [r.number for r in rows], "at": time.time()}
        )

    def bulk_started(self, key: str, rows: Sequence[BatchRow], run: Run) -> None:
        """Record the task a bulk start created."""
        self._append(
            self.state,
            {"event": "bulk_started", "bulk": key, "rows": [r.number for r in rows], "run": run_to_json(run)},
        )

    def bulk_not_started(self, key: str, rows: Sequence[BatchRow]) -> None:
        """Record that a bulk start certainly started nothing."""
        self._append(self.state, {"event": "bulk_not_started", "bulk": key, "rows": [r.number for r in rows]})

    def result(self, record: Mapping[str, Any]) -> None:
        """Append a row's outcome to the results file."""
        self._append(self.out, record)
        self._changed = True
        if self._final is not None:
            self._final.add(int(record["row"]), record)

    def intents(self, rows: Collection[int]) -> dict[int, tuple[float, bool]]:
        """When each of ``rows``' last start request was sent (epoch seconds), and whether in a bulk task."""
        wanted, found = set(rows), {}
        for event in _read_jsonl(self.state):
            kind, at = event.get("event"), event.get("at")
            if kind in ("intent", "bulk_intent") and isinstance(at, int | float):
                numbers = event.get("rows") if kind == "bulk_intent" else [event.get("row")]
                for row in numbers if isinstance(numbers, list) else ():
                    if row in wanted:
                        found[row] = (float(at), kind == "bulk_intent")
        return found

    def claimed(self, run_ids: Collection[str]) -> set[str]:
        """Which of ``run_ids`` the journal already gives a row (a start's answer, or a result)."""
        wanted, found = set(run_ids), set()
        for event in _read_jsonl(self.state):
            run = event.get("run")
            if isinstance(run, dict) and run.get("id") in wanted:
                found.add(str(run["id"]))
        for record in _read_jsonl(self.out):
            if record.get("run_id") in wanted:
                found.add(str(record["run_id"]))
        return found

    def close(self) -> None:
        """Close both files and release the lock."""
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._ends.clear()
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def left_marks(
    earlier: Earlier, *, retry_unknown: bool = False, retry_rejected: bool = False, retry_failed: bool = False
) -> bytearray:
    """1 by the number of each row whose outcome in ``earlier`` stands (a batch does not do it
    again), else 0: a byte a row, so a million rows are checked without a call or an object each.

    >>> list(left_marks(Earlier({1: {"status": "SUCCEEDED"}, 2: {"status": "TIMEOUT"}}, {}, frozenset())))
    [0, 1, 0]
    """
    retried = (("UNKNOWN", retry_unknown), ("REJECTED", retry_rejected), ("FAILED", retry_failed))
    redo = set(RESUMABLE) | {status for status, on in retried if on}
    results = earlier.results
    if isinstance(results, Results):
        return results.marks(lambda r: r.get("status") not in redo)
    marks = bytearray(max((n + 1 for n in results if n >= 0), default=0))
    for number, result in results.items():
        if number >= 0 and result.get("status") not in redo:
            marks[number] = 1
    return marks


def rows_left(
    rows: Sequence[BatchRow],
    earlier: Earlier,
    *,
    retry_unknown: bool = False,
    retry_rejected: bool = False,
    retry_failed: bool = False,
) -> list[BatchRow]:
    """The rows a batch does (again): those without a final outcome in ``earlier``.

    >>> rows_left([BatchRow(2, "gumloop:f", {})], Earlier({2: {"status": "TIMEOUT"}}, {}, frozenset()))
    [BatchRow(number=2, ref='gumloop:f', inputs={})]
    """
    done = left_marks(earlier, retry_unknown=retry_unknown, retry_rejected=retry_rejected, retry_failed=retry_failed)
    return [r for r in rows if not (0 <= r.number < len(done) and done[r.number])]


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
