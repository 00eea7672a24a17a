"""Pre-flight checks of a batch (``flowdeck batch --check``): know before you pay.

A check starts nothing. It compares the input rows with each workflow's declared inputs (where the
provider publishes them), reads the batch's journal to count the rows already finished and those left
to start, and, where the provider reports credits, sets the balance against an estimate for the rows
left, from the credits earlier runs of the same workflow spent (recorded in the results file).

What each provider can tell comes from its module's ``Checks``; a provider that publishes nothing is
reported as such, never guessed at.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from flowdeck._batch import BatchRow, Earlier, Journal, Rows, by_ref, fingerprint, forget_failed, is_blank, left_marks
from flowdeck._client import Client
from flowdeck._details import Flow
from flowdeck._errors import FlowdeckError
from flowdeck._models import credits_text
from flowdeck._providers import get as provider_spec
from flowdeck._providers import parse_ref

# Rows named before "and N more": enough to find them, short to read.
SHOWN_ROWS = 10


@attrs.frozen
class Column:
    """A column no declared input has, and the declared input it may have meant (``--map`` suggestion)."""

    name: str
    suggestion: str | None = None


@attrs.frozen
class WorkflowCheck:
    """One workflow's rows against its declared inputs.

    ``flow`` is None when the provider publishes no declared inputs (``note`` says so) or could not be
    asked (``error``). ``missing``: required inputs no row provides at all; ``empty``: required inputs
    some rows leave empty, with those rows' line numbers.
    """

    ref: str
    rows: int
    flow: Flow | None = None
    note: str | None = None
    error: str | None = None
    missing: tuple[str, ...] = ()
    unknown: tuple[Column, ...] = ()
    empty: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def blocking(self) -> bool:
        """True if rows would be refused for a missing required input."""
        return bool(self.missing or self.empty)


@attrs.frozen
class Credits:
    """A provider's balance against the rows left: ``per_run`` from earlier runs, None if unknown."""

    provider: str
    balance: float | None
    rows_left: int
    per_run: float | None
    runs_seen: int
    error: str | None = None

    @property
    def estimate(self) -> float | None:
        """Credits the rows left may spend, or None (unknown) when no earlier run reported its cost."""
        return None if self.per_run is None else self.per_run * self.rows_left

    @property
    def low(self) -> bool:
        """True if the balance is below the estimate (or nothing is left of it)."""
        if self.balance is None:
            return False
        return self.balance <= 0 or (self.estimate is not None and self.balance < self.estimate)


@attrs.frozen
class Progress:
    """Where the batch stands in its journal: finished rows, runs to wait on, starts left, unknown starts."""

    finished: int
    to_wait: int
    to_start: int
    unknown: int
    error: str | None = None


@attrs.frozen
class Report:
    """What a pre-flight check found; ``ready`` if nothing stands in the way of the batch."""

    workflows: tuple[WorkflowCheck, ...]
    progress: Progress
    credits: tuple[Credits, ...]
    unwritable: str | None = None  # why the batch could not write here

    @property
    def blocking(self) -> bool:
        """True if a plain ``flowdeck batch`` refuses to start (required inputs missing)."""
        return any(w.blocking for w in self.workflows)

    @property
    def problems(self) -> list[str]:
        """Why the batch is not ready, one line each (empty when ready)."""
        out = []
        for w in self.workflows:
            for name in w.missing:
                close = [c.name for c in w.unknown if c.suggestion == name]
                hint = f"; column {close[0]!r} is close: --map {_quote(f'{close[0]}={name}')}" if close else ""
                out.append(f"{w.ref}: required input {name!r} is in no column{hint}")
            for name, rows in w.empty:
                out.append(f"{w.ref}: required input {name!r} is empty in {_rows(rows)}")
            if w.error:
                out.append(f"{w.ref}: declared inputs could not be read: {w.error}")
        if self.progress.error:
            out.append(self.progress.error)
        return out

    @property
    def warnings(self) -> list[str]:
        """What may go wrong without stopping the batch: unused columns, low balance, an --out not writable."""
        out = []
        for w in self.workflows:
            for column in w.unknown:
                if column.suggestion in w.missing:
                    continue  # said with the missing input
                hint = f" (did you mean {column.suggestion!r}? --map {_quote(f'{column.name}={column.suggestion}')})"
                out.append(
                    f"{w.ref}: column {column.name!r} is not a declared input"
                    + (hint if column.suggestion else "; it is sent as is")
                )
        for c in self.credits:
            if c.low:
                wanted = "unknown" if c.estimate is None else f"about {credits_text(c.estimate)}"
                balance = "unknown" if c.balance is None else credits_text(c.balance)
                out.append(
                    f"{c.provider}: balance {balance} credits; the {counted(c.rows_left, 'row')} left may need {wanted}"
                )
            if c.error:
                out.append(f"{c.provider}: balance could not be read: {c.error}")
        if self.unwritable:
            out.append(self.unwritable)
        return out

    @property
    def ready(self) -> bool:
        """True if nothing is in the way: no problem at all."""
        return not self.problems

    def lines(self) -> list[str]:
        """The human report, one line each."""
        out = []
        for w in self.workflows:
            if w.flow is not None:
                declared = ", ".join(f"{i.id}{' (required)' if i.required else ''}" for i in w.flow.inputs)
                out.append(f"{w.ref}: {counted(w.rows, 'row')}; declared inputs: {declared or 'none'}")
            else:
                out.append(f"{w.ref}: {counted(w.rows, 'row')}; inputs not checked: {w.error or w.note}")
        p = self.progress
        unknown = f", {p.unknown} of unknown start (UNKNOWN)" if p.unknown else ""
        waits = f"{counted(p.to_wait, 'started run')} to wait on"
        out.append(
            f"journal: {counted(p.finished, 'row')} finished, {waits}, {counted(p.to_start, 'row')} to start{unknown}"
        )
        for c in self.credits:
            balance = "unknown" if c.balance is None else f"{credits_text(c.balance)} credits"
            if c.per_run is None:
                left = counted(c.rows_left, "row")
                cost = f"cost of the {left} left: unknown (no earlier run of these workflows reported it)"
            else:
                total = credits_text(c.per_run * c.rows_left)
                cost = (
                    f"about {credits_text(c.per_run)} per run from {counted(c.runs_seen, 'earlier run')}: about "
                    f"{total} for the {counted(c.rows_left, 'row')} left"
                )
            out.append(f"{c.provider}: balance {balance}; {cost}")
        out += [f"problem: {line}" for line in self.problems]
        out += [f"warning: {line}" for line in self.warnings]
        return out

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--check --json``."""
        return {
            "ready": self.ready,
            "workflows": [
                {
                    "workflow": w.ref,
                    "rows": w.rows,
                    "declared_inputs": None if w.flow is None else [attrs.asdict(i) for i in w.flow.inputs],
                    "note": w.error or w.note,
                    "missing_required": list(w.missing),
                    "unknown_columns": [attrs.asdict(c) for c in w.unknown],
                    "empty_required": {name: list(rows) for name, rows in w.empty},
                }
                for w in self.workflows
            ],
            "journal": attrs.asdict(self.progress),
            "credits": [{**attrs.asdict(c), "estimate": c.estimate} for c in self.credits],
            "problems": self.problems,
            "warnings": self.warnings,
        }


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless one.

    >>> counted(1, "row"), counted(0, "row"), counted(3, "started run")
    ('1 row', '0 rows', '3 started runs')
    """
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _rows(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:SHOWN_ROWS])
    more = f" and {len(numbers) - SHOWN_ROWS} more" if len(numbers) > SHOWN_ROWS else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def suggest(column: str, candidates: Iterable[str]) -> str | None:
    """The declared input a column name most likely means (case and separators aside), or None.

    >>> suggest("Domain", ["domain", "country"])
    'domain'
    >>> suggest("Company Domain", ["company_domain"])
    'company_domain'
    >>> suggest("notes", ["domain"]) is None
    True

    A column whose words hold exactly one input's name, in order, means that input (a header says
    more than an input's id does); two inputs in one header mean neither:

    >>> suggest("Company Domain", ["domain", "country"]), suggest("Email or Domain", ["domain", "email"])
    ('domain', None)
    """
    names = list(candidates)

    def plain(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    close = difflib.get_close_matches(plain(column), [plain(n) for n in names], n=1, cutoff=0.75)
    found = next((n for n in names if close and plain(n) == close[0]), None)
    if found is not None:
        return found
    words = _words(column)
    within = [n for n in names if _words(n) and _contains(words, _words(n))]
    return within[0] if len(within) == 1 else None


def _words(text: str) -> list[str]:
    """``"Company Domain"``, ``"company_domain"`` and ``"companyDomain"`` are the words company, domain."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", text)]


def _contains(words: list[str], part: list[str]) -> bool:
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


def compare(ref: str, rows: Sequence[BatchRow], flow: Flow) -> WorkflowCheck:
    """``rows`` (all of workflow ``ref``) against ``flow``'s declared inputs.

    >>> from flowdeck._details import DeclaredInput
    >>> flow = Flow("f", "F", inputs=(DeclaredInput("domain", required=True),))
    >>> check = compare("databar:flow/f", [BatchRow(2, "databar:flow/f", {"Domain": "a.com"})], flow)
    >>> check.missing, check.unknown
    (('domain',), (Column(name='Domain', suggestion='domain'),))
    """
    declared = [i.id for i in flow.inputs]
    seen, blank = _columns(rows, flow.required)
    columns = list(seen)
    missing = tuple(name for name in flow.required if name not in columns)
    free = [name for name in declared if name not in columns]
    unknown = tuple(Column(c, suggest(c, missing) or suggest(c, free)) for c in columns if c not in declared)
    empty = tuple((name, tuple(blank[name])) for name in flow.required if name not in missing and blank[name])
    return WorkflowCheck(ref, len(rows), flow, missing=missing, unknown=unknown, empty=empty)


def _columns(rows: Sequence[BatchRow], required: Sequence[str]) -> tuple[dict[str, None], dict[str, list[int]]]:
    """The columns of ``rows`` in the order first met, and by required input the rows it is blank in."""
    seen: dict[str, None] = {}
    blank: dict[str, list[int]] = {name: [] for name in required}
    if isinstance(rows, Rows):  # by the rows' few shapes: no row decoded
        for columns, _ in rows.shapes:
            seen.update(dict.fromkeys(columns))
        for name, numbers in blank.items():
            bad = {i for i, (columns, blanks) in enumerate(rows.shapes) if name not in columns or name in blanks}
            if bad:
                numbers.extend(n for n, shape in zip(rows.numbers, rows.shape_ids, strict=True) if shape in bad)
        return seen, blank
    for row in rows:  # one pass, each row's inputs decoded once
        inputs = row.inputs
        seen.update(dict.fromkeys(inputs))
        for name, numbers in blank.items():
            if is_blank(inputs.get(name)):
                numbers.append(row.number)
    return seen, blank


def check(
    client: Client,
    rows: Sequence[BatchRow],
    journal: Journal | None = None,
    *,
    retry_unknown: bool = False,
    retry_rejected: bool = False,
    retry_failed: bool = False,
) -> Report:
    """Check a batch without starting anything: inputs, journal, credits. Reads only.

    >>> rows = [BatchRow(2, "databar:flow/enrich", {"Domain": "stripe.com"})]
    >>> report = check(client, rows)
    >>> report.ready, report.warnings[0]
    (True, "databar:flow/enrich: column 'Domain' is not a declared input (did you mean 'domain'? --map Domain=domain)")
    """
    workflows = tuple(_workflow(client, ref, group) for ref, group in by_ref(rows).items())

    earlier, progress_error = Earlier({}, {}, frozenset()), None
    if journal is not None:
        try:
            earlier = journal.peek(fingerprint(rows))
        except FlowdeckError as exc:
            progress_error = str(exc)
    done = left_marks(earlier, retry_unknown=retry_unknown, retry_rejected=retry_rejected, retry_failed=retry_failed)
    if retry_failed:  # those rows start anew: nothing of theirs to wait on
        earlier = forget_failed(earlier)
    # As a batch does: an unresolved start stays UNKNOWN unless retried.
    unresolved = frozenset() if retry_unknown else earlier.unresolved - earlier.started.keys()
    # Counted by number and workflow alone: no row is made an object.
    left = to_wait = unknown = 0
    to_start: Counter[str] = Counter()
    for number, ref in _numbered_refs(rows):
        if 0 <= number < len(done) and done[number]:
            continue
        left += 1
        if number in earlier.started:
            to_wait += 1
        elif number in unresolved:
            unknown += 1
        else:
            to_start[ref] += 1
    progress = Progress(len(rows) - left, to_wait, sum(to_start.values()), unknown, progress_error)
    return Report(workflows, progress, _credits(client, to_start, earlier.results))


def _numbered_refs(rows: Sequence[BatchRow]) -> Iterator[tuple[int, str]]:
    if isinstance(rows, Rows):
        refs = rows.refs
        return ((n, refs[at]) for n, at in zip(rows.numbers, rows.ref_ids, strict=True))
    return ((row.number, row.ref) for row in rows)


def _workflow(client: Client, ref: str, rows: Sequence[BatchRow]) -> WorkflowCheck:
    workflow = parse_ref(ref)
    checks = provider_spec(workflow.provider).checks
    if checks.inputs is None:
        return WorkflowCheck(ref, len(rows), note=checks.no_inputs)
    try:
        flow = client.drive(checks.inputs(client.adapter(workflow.provider), workflow))
    except FlowdeckError as exc:
        return WorkflowCheck(ref, len(rows), error=str(exc))
    if flow is None:
        return WorkflowCheck(ref, len(rows), note=checks.no_inputs)
    return compare(ref, rows, flow)


def _credits(
    client: Client, to_start: Mapping[str, int], results: Mapping[int, Mapping[str, Any]]
) -> tuple[Credits, ...]:
    """Each provider's balance against the rows it would start (``to_start``: how many, by workflow)."""
    out = []
    providers = dict.fromkeys(ref.split(":", 1)[0] for ref, count in to_start.items() if count)
    for provider in providers:
        checks = provider_spec(provider).checks
        if checks.balance is None:
            continue
        balance, error = None, None
        try:
            balance = client.drive(checks.balance(client.adapter(provider)))
        except FlowdeckError as exc:
            error = str(exc)
        refs = {ref for ref, count in to_start.items() if count and ref.split(":", 1)[0] == provider}
        per_run, seen = _per_run(refs, results)
        out.append(Credits(provider, balance, sum(to_start[ref] for ref in refs), per_run, seen, error))
    return tuple(out)


def _per_run(refs: set[str], results: Mapping[int, Mapping[str, Any]]) -> tuple[float | None, int]:
    """The mean credits an earlier run of these workflows spent; None unless every workflow has runs."""
    spent: dict[str, list[float]] = {ref: [] for ref in refs}
    for record in results.values():
        value = record.get("credits_spent")
        if record.get("workflow") in spent and isinstance(value, int | float) and not isinstance(value, bool):
            spent[str(record["workflow"])].append(float(value))
    if not refs or not all(spent.values()):
        return None, sum(len(v) for v in spent.values())
    values = [v for vs in spent.values() for v in vs]
    return sum(values) / len(values), len(values)
