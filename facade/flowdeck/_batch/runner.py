"""Running a batch: bounded concurrency and start rate, bulk tasks, a provider's refused credential."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, cast

import attrs
from aiolimiter import AsyncLimiter

from flowdeck._batch.journal import Earlier, Journal, Results, forget_failed, left_marks
from flowdeck._batch.outcomes import (
    UNSTARTED,
    BatchSummary,
    CredentialRefusal,
    credits_spent,
    failure_groups,
    is_rejection,
    row_error,
)
from flowdeck._batch.rows import BatchRow, Rows, distinct_refs, fingerprint
from flowdeck._client import AsyncClient
from flowdeck._errors import (
    ApiError,
    FlowdeckError,
    InvalidRequestError,
    StartOutcomeUnknown,
    WaitTimeout,
)
from flowdeck._models import Run
from flowdeck._providers import Bulk, parse_ref
from flowdeck._providers import get as provider_spec

INTERRUPTED_START = "interrupted while starting: the run may exist at the provider"

# A refused key is answered at once, but a start that blocks until its
# run ends must not hold the other rows back for a whole run.
CREDENTIAL_PROBE_SECONDS = 1.0


class BatchObserver(Protocol):
    """What a progress display hears from a batch."""

    def begin(self, total: int, already_done: int, already_failed: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


class _Silent:
    def begin(self, total: int, already_done: int, already_failed: int) -> None: ...
    def started(self, row: BatchRow) -> None: ...
    def finished(self, row: BatchRow, status: str) -> None: ...


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
        done = left_marks(
            earlier, retry_unknown=retry_unknown, retry_rejected=retry_rejected, retry_failed=retry_failed
        )
        todo = len(rows) - _count_marked(rows, done)
        redone = _redone(rows, earlier, done)
        if retry_failed:
            earlier = forget_failed(earlier)
        attempt = _Attempt(client, journal, earlier, observer or _Silent(), timeout, retry_unknown)
        try:
            journal.set_aside(redone)  # one line per row
            attempt.observer.begin(len(rows), len(rows) - todo, attempt.count_earlier(redone))
            await _run_all(
                attempt, _plan(rows, done, earlier, bulk, attempt.retry_unknown), concurrency, start_limiter(rate)
            )
        finally:
            # Rows not reached (Ctrl-C) keep their earlier outcome.
            journal.finish(attempt.in_flight)
    finally:
        journal.close()
    return _summary(rows, todo, attempt, time.monotonic() - begun)


def _numbers(rows: Sequence[BatchRow]) -> Iterable[int]:
    return rows.numbers if isinstance(rows, Rows) else (row.number for row in rows)


def _count_marked(rows: Sequence[BatchRow], marks: bytearray) -> int:
    """How many of ``rows`` are marked 1 in ``marks`` (by row number), read from their numbers alone."""
    size = len(marks)
    return sum(1 for n in _numbers(rows) if 0 <= n < size and marks[n])


def _redone(rows: Sequence[BatchRow], earlier: Earlier, done: bytearray) -> set[int]:
    """The rows done again that have an earlier outcome (it is set aside, then replaced)."""
    results = earlier.results
    if isinstance(results, Results):  # a byte a row, as ``done`` is
        present = results.marks(lambda _: True)
        size = len(present)
        return {n for n in _numbers(rows) if 0 <= n < size and present[n] and not (n < len(done) and done[n])}
    return {n for n in _numbers(rows) if n in results and not (0 <= n < len(done) and done[n])}


async def _run_all(
    attempt: _Attempt, plan: Iterator[BatchRow | BulkGroup], concurrency: int, limiter: AsyncLimiter | None
) -> None:
    """Every row left, by ``concurrency`` workers taking rows (or bulk tasks) in order as they are
    planned: a task per worker, not per row, and only the rows in flight made into objects, so a
    million rows cost no more memory than a thousand."""

    async def worker(first: BatchRow | BulkGroup) -> None:
        item: BatchRow | BulkGroup | None = first
        while item is not None:
            if isinstance(item, BulkGroup):
                await attempt.process_bulk(item, limiter)
            else:
                await attempt.process(item, limiter)
            item = next(plan, None)

    tasks = [asyncio.ensure_future(worker(first)) for first in itertools.islice(plan, concurrency)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        # A row that cannot be recorded (a full disk) ends the batch: stop the
        # rest before the client closes, or they open pools nobody closes.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _as_results(results: Mapping[int, Mapping[str, Any]]) -> Results:
    out = Results()
    for number, result in results.items():
        out.add(number, result)
    return out


def _summary(rows: Sequence[BatchRow], todo: int, attempt: _Attempt, seconds: float) -> BatchSummary:
    return BatchSummary(
        total=len(rows),
        skipped=len(rows) - todo,
        statuses=attempt.statuses,
        by_provider=attempt.by_provider,
        failures=failure_groups(attempt.failed),
        started_now=attempt.started_now,
        resumed=attempt.resumed,
        seconds=seconds,
        runs_started=attempt.runs_started,
        unstarted=attempt.unstarted,
        refused=attempt.credentials.refused,
    )


class _Attempt:
    """One run of a batch command over the rows left to do."""

    def __init__(
        self,
        client: AsyncClient,
        journal: Journal,
        earlier: Earlier,
        observer: BatchObserver,
        timeout: float | None,
        retry_unknown: bool,
    ) -> None:
        self.client, self.journal, self.earlier, self.observer = client, journal, earlier, observer
        self.timeout, self.retry_unknown = timeout, retry_unknown
        # Outcomes by status and provider; failed rows in the few words the
        # summary's groups need.
        self.statuses: Counter[str] = Counter()
        self.by_provider: dict[str, Counter[str]] = {}
        self.failed: dict[int, Mapping[str, Any]] = {}
        self.in_flight: set[int] = set()  # start intent written, no outcome yet
        self.started_now = 0
        self.runs_started = 0  # a bulk task runs many rows
        self.resumed = 0  # started earlier, waited on again
        self.unstarted: Counter[str] = Counter()
        self.credentials = _CredentialGate()

    def record(
        self,
        row: BatchRow,
        status: str,
        run: Run | None = None,
        error: FlowdeckError | str | None = None,
        bulk: Mapping[str, Any] | None = None,
    ) -> None:
        message = error if isinstance(error, str) or error is None else row_error(error)
        result = {
            "row": row.number,
            "input": row.inputs,
            "workflow": row.ref,
            "provider": run.provider if run else row.ref.split(":", 1)[0],
            "run_id": run.id if run else None,
            "status": status,
            "provider_status": run.provider_status if run else None,
            "outputs": run.outputs if run else None,
            "error": message if message is not None else (run.error if run else None),
            "error_type": type(error).__name__ if isinstance(error, FlowdeckError) else None,
            "url": run.url if run else None,
        }
        if run is not None and (spent := credits_spent(run)) is not None:
            result["credits_spent"] = spent  # for the pre-flight estimate
        if bulk is not None:
            result["bulk"] = dict(bulk)  # its task, and its place among the inputs
        self.journal.result(result)
        self._count(row.number, result)
        self.in_flight.discard(row.number)
        if run is None and status in UNSTARTED:
            self.unstarted[status] += 1
        self.observer.finished(row, status)

    def _count(self, number: int, result: Mapping[str, Any]) -> None:
        status = str(result["status"])
        self.statuses[status] += 1
        self.by_provider.setdefault(str(result["provider"]), Counter())[status] += 1
        if status != "SUCCEEDED":
            self._count_failed(number, result)

    def _count_failed(self, number: int, result: Mapping[str, Any]) -> None:
        self.failed[number] = {key: result.get(key) for key in ("status", "provider", "error_type", "error")}

    def count_earlier(self, redone: Collection[int]) -> int:
        """Count the outcomes earlier attempts reached that stand (rows not done again); how many failed."""
        results = self.earlier.results
        if not isinstance(results, Results):
            results = _as_results(results)
        for result, rows in results.tally():  # by distinct outcome: a million rows are a few counts
            status, provider = str(result["status"]), str(result["provider"])
            self.statuses[status] += rows
            self.by_provider.setdefault(provider, Counter())[status] += rows
        for number in redone:  # done again: their old outcome is not counted
            if number in results:
                result = results[number]
                self.statuses[str(result["status"])] -= 1
                self.by_provider[str(result["provider"])][str(result["status"])] -= 1
        for counts in (self.statuses, *self.by_provider.values()):
            for status in [s for s, n in counts.items() if n <= 0]:
                del counts[status]
        self.by_provider = {provider: counts for provider, counts in self.by_provider.items() if counts}
        for number, result in results.rows_of(lambda r: r.get("status") != "SUCCEEDED"):
            if number not in redone:
                self._count_failed(number, result)
        return len(self.failed)

    async def process(self, row: BatchRow, limiter: AsyncLimiter | None) -> None:
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
            self.observer.started(row)  # a blocking start's run ends inside it
            self.in_flight.add(row.number)
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
            if row.number in self.earlier.started and run.is_terminal and _readable(run):
                run = await self.client.refresh(run)  # the journal keeps no outputs: read them again
            run = await self.client.wait(run, timeout=self.timeout, raise_on_failure=False)
        except WaitTimeout as exc:
            self.record(row, "TIMEOUT", exc.run, error="still running at --timeout; rerun to keep waiting")
            return
        except FlowdeckError as exc:
            self.record(row, "POLL_ERROR", run, error=exc)
            return
        self.record(row, run.status.value, run)

    async def process_bulk(self, group: BulkGroup, limiter: AsyncLimiter | None) -> None:
        """Start (or, resuming, wait on again) one bulk task, then give each of its rows its outcome."""
        run = group.run
        if run is None:
            group = self._without_invalid_rows(group)
            if not group.rows:
                return
            workflow = parse_ref(group.rows[0].ref)
            provider = workflow.provider
            if not await self.credentials.admit(provider):
                for row in group.rows:
                    self.record(row, "NOT_STARTED", error=self.credentials.held_back(provider))
                return
            if limiter is not None:
                await limiter.acquire()
            for row in group.rows:
                self.observer.started(row)
                self.in_flight.add(row.number)
            key = uuid.uuid4().hex[:12]
            self.journal.bulk_intent(key, group.rows)  # flushed before the request: never sent twice
            try:
                run = await self.client.drive(
                    group.spec.start(self.client.adapter(provider), workflow, [r.inputs for r in group.rows])
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


def _readable(run: Run) -> bool:
    """Whether ``run`` can be looked up again by its id (a provider whose start blocks may not allow it)."""
    return provider_spec(run.provider).runs.no_status is None


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
    planned = list(_plan(rows, bytearray(), earlier, size, retry_unknown))
    return [p for p in planned if isinstance(p, BatchRow)], [p for p in planned if isinstance(p, BulkGroup)]


def _plan(
    rows: Sequence[BatchRow], done: bytearray, earlier: Earlier, size: int | None, retry_unknown: bool
) -> Iterator[BatchRow | BulkGroup]:
    """:func:`plan_bulk` as the rows are run: first the tasks started earlier, then the rows not
    ``done`` (marked 1 by number) in order, each bulk task as soon as it is full, so only the rows
    of tasks being filled or in flight are objects."""
    specs = {ref: provider_spec(parse_ref(ref).provider).bulk for ref in distinct_refs(rows)}
    started = _lookup(rows, {n for n in earlier.bulk_of if n in earlier.started})
    resumed: dict[str, list[BatchRow]] = {}
    for number, row in sorted(started.items()):
        if specs[row.ref] is not None and not (number < len(done) and done[number]):
            resumed.setdefault(earlier.bulk_of[number][0], []).append(row)
    for members in resumed.values():
        first = members[0].number
        yield BulkGroup(
            tuple(members), earlier.bulk_of[first][1], cast("Bulk", specs[members[0].ref]), earlier.started[first]
        )
    waiting = {row.number for members in resumed.values() for row in members}
    fresh: dict[tuple[str, str], list[BatchRow]] = {}
    for row in _not_done(rows, done):
        if row.number in waiting:
            continue
        spec = specs[row.ref]
        later = row.number in earlier.started or (row.number in earlier.unresolved and not retry_unknown)
        if spec is None or size == 1 or later or parse_ref(row.ref).kind not in spec.kinds:
            yield row
            continue
        key = (row.ref, spec.group(row.inputs))
        filling = fresh.setdefault(key, [])
        filling.append(row)
        if len(filling) == (size or spec.size):
            del fresh[key]
            yield BulkGroup(tuple(filling), tuple(r.number for r in filling), spec)
    for (ref, _), members in fresh.items():
        if len(members) == 1:
            yield members[0]  # one input: a run, not a task
        else:
            yield BulkGroup(tuple(members), tuple(r.number for r in members), cast("Bulk", specs[ref]))


def _not_done(rows: Sequence[BatchRow], done: bytearray) -> Iterator[BatchRow]:
    """The rows not marked 1 in ``done``; a :class:`Rows` makes objects of those alone."""
    size = len(done)
    if isinstance(rows, Rows):
        return (rows[i] for i, n in enumerate(rows.numbers) if not (0 <= n < size and done[n]))
    return (row for row in rows if not (0 <= row.number < size and done[row.number]))


def _lookup(rows: Sequence[BatchRow], numbers: Collection[int]) -> dict[int, BatchRow]:
    """The rows numbered ``numbers``, by number."""
    if isinstance(rows, Rows):
        found = {n: rows.find(n) for n in numbers}
        return {n: row for n, row in found.items() if row is not None}
    return {row.number: row for row in rows if row.number in numbers} if numbers else {}
