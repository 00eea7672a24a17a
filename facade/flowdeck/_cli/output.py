"""What the command line shows: consoles, one-line errors, log routing, the batch progress and summary.

Everything a user or a provider supplied is printed as plain text, never as rich markup or emoji
codes (``gumloop:rocket`` stays ``gumloop:rocket``). When stdout is not a terminal nothing is
wrapped: JSON and table rows stay one line each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NoReturn, TextIO

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from flowdeck._batch import RESUMABLE, BatchRow, BatchSummary, CredentialRefusal, Earlier, FailureGroup
from flowdeck._providers import get as provider_spec

RETRY_LOGGER = "flowdeck.retries"
UNWRAPPED = 1_000_000  # not a terminal: never wrap


EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, as a shell reports it


def quiet_closed_pipe() -> NoReturn:
    """The reader of stdout went away (``| head``): end quietly with 141, as a shell reports SIGPIPE.

    Python flushes stdout again at exit, which would fail the same way; pointing the descriptor at
    /dev/null makes that last flush succeed (the recipe of Python's docs, "Note on SIGPIPE").
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(EXIT_CLOSED_PIPE)


class _Console(Console):
    """A console that ends the command with 141 when its reader went away (rich's own ends with 1,
    which the command line keeps for a run that did not succeed)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        quiet_closed_pipe()


def make_console(stream: TextIO) -> Console:
    """A console on ``stream``: no markup surprises, no emoji codes, and no wrapping unless a terminal."""
    terminal = stream.isatty()
    return _Console(
        file=stream, emoji=False, highlight=False, soft_wrap=not terminal, width=None if terminal else UNWRAPPED
    )


class RetryCounter(logging.Handler):
    """Counts the transport's retry records (``flowdeck.retries``), by reason (``"429"``, ``"503"``...)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.total = 0
        self.reasons: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.total += 1
        info = getattr(record, "flowdeck_retry", None)
        if isinstance(info, Mapping):
            self.reasons[str(info.get("reason"))] += 1


class _ConsoleLogHandler(logging.Handler):
    """Log records printed through the CLI's stderr console (above a progress bar, never through it)."""

    def __init__(self, ui: Ui) -> None:
        super().__init__(logging.DEBUG)
        self.ui = ui

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        flowdeck = record.name == "flowdeck" or record.name.startswith("flowdeck.")
        return (self.ui.verbose >= 1 and record.name == RETRY_LOGGER) or (self.ui.verbose >= 2 and flowdeck)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call must not end the command
            message = str(record.msg)
        style = "yellow" if record.levelno >= logging.WARNING else "dim"
        self.ui.err.print(Text(f"{record.name}: {message}", style=style), soft_wrap=True)


@attrs.define
class Ui:
    """The consoles and log routing of one command invocation."""

    out: Console
    err: Console
    verbose: int = 0
    retries: RetryCounter = attrs.field(factory=RetryCounter)
    last_error: str | None = None  # for a failed --json command
    printed_json: bool = False

    @classmethod
    def for_streams(cls, stdout: TextIO | None = None, stderr: TextIO | None = None) -> Ui:
        """A UI on the process's current streams (CliRunner swaps them per invocation)."""
        return cls(make_console(stdout or sys.stdout), make_console(stderr or sys.stderr))

    @contextlib.contextmanager
    def logging_routed(self) -> Iterator[None]:
        """Route log records to stderr for the command's duration: warnings, and with -v retries, -vv all.

        The retry logger is always at DEBUG so that retries are counted for the progress display.
        """
        root, retries, flowdeck = logging.getLogger(), logging.getLogger(RETRY_LOGGER), logging.getLogger("flowdeck")
        saved = (retries.level, flowdeck.level)
        printer = _ConsoleLogHandler(self)
        root.addHandler(printer)
        retries.addHandler(self.retries)
        retries.setLevel(logging.DEBUG)
        try:
            yield
        finally:
            root.removeHandler(printer)
            retries.removeHandler(self.retries)
            retries.setLevel(saved[0])
            flowdeck.setLevel(saved[1])

    def set_verbose(self, level: int) -> None:
        """-v: show each retry; -vv: every flowdeck debug line (requests, polls).

        Given before and after the command name (``flowdeck -v batch ... -v``), they add up.
        """
        self.verbose += level
        if self.verbose >= 2:
            logging.getLogger("flowdeck").setLevel(logging.DEBUG)

    def error(self, message: str) -> None:
        """One line on stderr: ``error: <message>``."""
        self.last_error = message
        self.err.print(Text.assemble(("error: ", "bold red"), message), soft_wrap=True)

    def note(self, message: str, style: str = "") -> None:
        """A plain line on stderr."""
        self.err.print(Text(message, style=style), soft_wrap=True)

    def json(self, value: Any) -> None:
        """``value`` as JSON on stdout: indented on a terminal, one line otherwise (for jq and files)."""
        self.printed_json = True
        if self.out.is_terminal:
            self.out.print_json(json.dumps(value, default=str), highlight=True)
        else:
            self.out.print(json.dumps(value, default=str), markup=False, soft_wrap=True)


# --- batch progress ---


class _RetryColumn(ProgressColumn):
    """Retries so far, and how many of them were 429s: the transport's records, counted."""

    def __init__(self, counter: RetryCounter) -> None:
        super().__init__()
        self.counter = counter

    def render(self, task: Task) -> Text:
        total, limited = self.counter.total, self.counter.reasons.get("429", 0)
        return Text(f"{total} retries" + (f" ({limited} were 429s)" if total else ""), style="magenta")


class ProgressDisplay:
    """A rich progress bar on stderr: done, failed, in flight, retries and 429s, elapsed, ETA."""

    def __init__(self, ui: Ui) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]batch"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} done"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("[cyan]{task.fields[running]} running"),
            _RetryColumn(ui.retries),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=ui.err,
        )
        self.task: TaskID | None = None
        self.failed = 0
        self.in_flight: set[int] = set()

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            self.progress.stop()

    def begin(self, total: int, already_done: int, already_failed: int) -> None:
        # Shown once the batch begins: a batch refused earlier prints only
        # its error line.
        self.failed = already_failed
        self.task = self.progress.add_task(
            "batch", total=total, completed=already_done, failed=already_failed, running=0
        )
        self.progress.start()

    def _update(self, advance: int = 0) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=advance, failed=self.failed, running=len(self.in_flight))

    def started(self, row: BatchRow) -> None:
        self.in_flight.add(row.number)
        self._update()

    def finished(self, row: BatchRow, status: str) -> None:
        self.in_flight.discard(row.number)
        self.failed += status != "SUCCEEDED"
        self._update(advance=1)


# --- batch summary ---


def row_list(rows: Sequence[int], shown: int = 5) -> str:
    """``rows 2, 5, 9`` or ``rows 2, 5, 9, 11, 12 and 40 more``.

    >>> row_list([2, 5, 9, 11, 12, 13, 14], shown=5)
    'rows 2, 5, 9, 11, 12 and 2 more'
    """
    head = ", ".join(map(str, rows[:shown]))
    more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
    return f"row{'s' if len(rows) > 1 else ''} {head}{more}"


def summary_line(summary: BatchSummary) -> Text:
    """How many rows, how long, and where each went: started now (and as how many runs), followed again,
    done earlier, unknown whether started, refused at start, not started.

    The parts add up to the rows, so a resume accounts for every one of them; a row whose start was
    refused or may have happened is never counted as started, nor as simply not started.

    >>> from collections import Counter
    >>> print(summary_line(BatchSummary(total=300, skipped=0, started_now=292, runs_started=219,
    ...                                 unstarted=Counter(REJECTED=8), seconds=10.1)))
    300 rows in 10.1s: 292 started now as 219 runs (a bulk task runs many rows), 8 refused at start (REJECTED)
    """
    unknown, rejected = summary.unstarted.get("UNKNOWN", 0), summary.unstarted.get("REJECTED", 0)
    not_started = summary.not_started
    runs = summary.runs_started
    as_runs = f" as {runs} run{'s' if runs != 1 else ''} (a bulk task runs many rows)"
    as_runs = as_runs if runs < summary.started_now else ""
    parts = [f"{summary.started_now} started now{as_runs}"]
    parts += [f"{summary.resumed} started earlier and followed again"] if summary.resumed else []
    parts += [f"{summary.skipped} done earlier"] if summary.skipped else []
    parts += [f"{unknown} unknown whether started (UNKNOWN)"] if unknown else []
    parts += [f"{rejected} refused at start (REJECTED)"] if rejected else []
    parts += [f"{not_started} not started"] if not_started else []
    rows = "1 row" if summary.total == 1 else f"{summary.total} rows"
    return Text(f"{rows} in {summary.seconds:.1f}s: {', '.join(parts)}")


def refusal_line(refusal: CredentialRefusal, variables: Sequence[str]) -> str:
    """The one line saying a provider refused the credential and its other rows were held back.

    >>> refusal_line(CredentialRefusal("gumloop", 2, 401, "AuthenticationError", 29), ["GUMLOOP_API_KEY"])
    'gumloop refused the credential (HTTP 401) at row 2, so its other 29 rows were not sent; check GUMLOOP_API_KEY'
    """
    held = refusal.held_back
    others = f"its other {held} row{'s were' if held != 1 else ' was'} not sent" if held else "nothing more went there"
    return (
        f"{refusal.provider} refused the credential (HTTP {refusal.status_code}) at row {refusal.row}, "
        f"so {others}; check {' / '.join(variables)}"
    )


def summary_table(summary: BatchSummary) -> Table:
    """Outcomes per provider and status, with a total row."""
    statuses = sorted({s for c in summary.by_provider.values() for s in c}, key=lambda s: (s != "SUCCEEDED", s))
    table = Table()
    table.add_column("provider")
    for s in statuses:
        table.add_column(s, justify="right", style="green" if s == "SUCCEEDED" else "red")
    for provider, counts in sorted(summary.by_provider.items()):
        table.add_row(provider, *(str(counts.get(s, 0)) for s in statuses))
    table.add_row(Text("all", style="bold"), *(Text(str(summary.statuses.get(s, 0)), style="bold") for s in statuses))
    return table


def print_failures(ui: Ui, groups: Sequence[FailureGroup], steps: Sequence[str | None]) -> None:
    """Each group of failed rows: status, reason, a few row numbers, and what to do next.

    A step already given for an earlier group (a refused key: the refused rows and those held back
    are started again by one command) is pointed at, not printed again.
    """
    given: set[str] = set()
    for group, step in zip(groups, steps, strict=True):
        line = Text.assemble(
            (f"{group.status}", "bold red"),
            f" ({len(group.rows)}): ",
            group.reason,
            (f" — {row_list(group.rows)}", "dim"),
        )
        ui.out.print(line, soft_wrap=True)
        if step in given:
            ui.out.print(Text("  next: the command above starts these rows too", style="cyan"), soft_wrap=True)
        elif step:
            given.add(step)
            ui.out.print(Text(f"  next: {step}", style="cyan"), soft_wrap=True)


def summary_json(summary: BatchSummary, steps: Sequence[str | None], out: str) -> dict[str, Any]:
    """The summary as one JSON object (``flowdeck batch --json``)."""
    return {
        "ok": summary.ok,
        "total": summary.total,
        "results": out,
        "seconds": round(summary.seconds, 3),
        "started_now": summary.started_now,
        "runs_started": summary.runs_started,
        "resumed": summary.resumed,
        "skipped": summary.skipped,
        "unknown": summary.unstarted.get("UNKNOWN", 0),
        "rejected": summary.unstarted.get("REJECTED", 0),
        "not_started": summary.not_started,
        "statuses": dict(summary.statuses),
        "by_provider": {p: dict(c) for p, c in sorted(summary.by_provider.items())},
        "credential_refused": {
            p: {"row": r.row, "status_code": r.status_code, "error_type": r.error_type, "not_sent": r.held_back}
            for p, r in sorted(summary.refused.items())
        },
        "failures": [
            {
                "status": g.status,
                "error_type": g.error_type,
                "reason": g.reason,
                "count": len(g.rows),
                "rows": list(g.rows),
                **({"next": step} if step else {}),
            }
            for g, step in zip(summary.failures, steps, strict=True)
        ],
        **({"reconciled": summary.reconciled} if summary.reconciled is not None else {}),
    }


# --- interrupted batches, starts of unknown outcome ---


def unknown_means(provider: str) -> str:
    """What a start of unknown outcome (``UNKNOWN``) may have left at ``provider``, and where to look.

    >>> unknown_means("gumloop")
    "Gumloop may have started the pipeline run; look in the flow's run history at Gumloop"
    """
    return provider_spec(provider).unknown_start()  # the provider's RunSupport says


@attrs.frozen
class Interruption:
    """Where an interrupted batch left each row: its outcome, a run going on, a start of unknown outcome
    (by provider), or nothing started. ``signal`` is ``SIGINT`` (Ctrl-C), ``SIGTERM`` or ``SIGHUP``."""

    signal: str
    total: int
    finished: Counter[str]
    going_on: int
    unknown: dict[str, tuple[int, ...]]
    not_started: int
    runs_going_on: int | None = None  # fewer than the rows going on where bulk tasks run many rows

    @classmethod
    def of(cls, signal: str, rows: Sequence[BatchRow], earlier: Earlier) -> Interruption:
        """Read from what the journal holds once the batch has stopped (:meth:`Journal.peek`)."""
        finished: Counter[str] = Counter()
        unknown: dict[str, list[int]] = {}
        going_on = not_started = 0
        runs: set[tuple[str, str]] = set()  # a bulk task is one run for all its rows
        for row in rows:
            status = earlier.results.get(row.number, {}).get("status")
            if status is not None and status not in RESUMABLE and status != "UNKNOWN":
                finished[str(status)] += 1
            elif (run := earlier.started.get(row.number)) is not None:
                going_on += 1
                runs.add((run.provider, run.id))
            elif status == "UNKNOWN" or row.number in earlier.unresolved:
                unknown.setdefault(row.ref.split(":", 1)[0], []).append(row.number)
            else:
                not_started += 1
        unknowns = {p: tuple(r) for p, r in unknown.items()}
        return cls(signal, len(rows), finished, going_on, unknowns, not_started, len(runs))

    def line(self) -> str:
        """One line accounting for every row.

        >>> print(Interruption("SIGTERM", 9, Counter(SUCCEEDED=4), 2, {"gumloop": (5,)}, 2).line())
        Interrupted (SIGTERM): of 9 rows, 4 finished (4 SUCCEEDED), 2 runs go on at the provider, 1 start of \
unknown outcome (UNKNOWN), 2 not started
        """
        how = "Ctrl-C" if self.signal == "SIGINT" else self.signal
        ordered = sorted(self.finished.items(), key=lambda item: (item[0] != "SUCCEEDED", item[0]))
        counts = ", ".join(f"{n} {status}" for status, n in ordered)
        parts = [f"{sum(self.finished.values())} finished" + (f" ({counts})" if counts else "")]
        runs = self.going_on if self.runs_going_on is None else self.runs_going_on
        if runs != self.going_on:
            plural = "s" if runs != 1 else ""
            parts.append(f"{self.going_on} rows go on at the provider as {runs} run{plural} (bulk tasks)")
        elif self.going_on:
            parts.append(f"{self.going_on} run{'s' if self.going_on != 1 else ''} go on at the provider")
        unknown = sum(len(r) for r in self.unknown.values())
        if unknown:
            parts.append(f"{unknown} start{'s' if unknown != 1 else ''} of unknown outcome (UNKNOWN)")
        parts += [f"{self.not_started} not started"] if self.not_started else []
        return f"Interrupted ({how}): of {self.total} rows, {', '.join(parts)}"

    def unknown_lines(self) -> list[str]:
        """Per provider: which rows are UNKNOWN, what that may mean there, and what the resume does with them."""
        return [
            f"UNKNOWN, {row_list(rows)}: their start requests were on the way when the batch stopped. "
            f"{unknown_means(provider)}. The resume below leaves these rows UNKNOWN and never starts them "
            "again by itself; once you know they did not start, add --retry-unknown to start them "
            "(a run that did start would then run twice)."
            for provider, rows in sorted(self.unknown.items())
        ]

    def to_json(self) -> dict[str, Any]:
        """The interruption for ``batch --json``."""
        return {
            "ok": False,
            "interrupted": self.signal,
            "total": self.total,
            "finished": dict(self.finished),
            "going_on": self.going_on,
            "runs_going_on": self.going_on if self.runs_going_on is None else self.runs_going_on,
            "not_started": self.not_started,
            "unknown": {p: {"rows": list(r), "means": unknown_means(p)} for p, r in sorted(self.unknown.items())},
        }
