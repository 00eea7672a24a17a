"""Waiting for runs, written once: adaptive polling, deadlines, Retry-After, expiry, unknown statuses."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from flowdeck._core import Op, Sleep
from flowdeck._errors import (
    ContractError,
    FlowdeckError,
    InvalidRequestError,
    RateLimitError,
    RequestTimeoutError,
    RunCancelled,
    RunError,
    RunExpired,
    RunFailed,
    ServerError,
    TransportError,
    WaitManyError,
    WaitTimeout,
)
from flowdeck._models import Run, Status

if TYPE_CHECKING:
    from flowdeck._providers import Adapter

EventHook = Callable[[Run, Run], None]
"""Called with (previous, current) whenever a run's status changes while waiting."""


@attrs.frozen
class PollPolicy:
    """How often to poll: ``initial`` seconds first, times ``factor`` after each poll, at most ``max_interval``.

    Fast at first (most runs are short) and backing off (long runs need fewer polls). A ratio of r
    between polls finds a run up to (r - 1) x its length late: the default 1.15 keeps that lag small
    for a workflow flowdeck has not seen yet, with a handful of polls for a short run; later runs of
    the same workflow are polled from what earlier ones took (see DurationHints).
    ``max_poll_errors`` consecutive failed polls (outages, 5xx after retries) end the wait.

    Each is checked when the policy is made: ``initial`` > 0, ``factor`` >= 1, ``max_interval`` >= ``initial``
    (all finite), ``max_poll_errors`` a whole number >= 0. Anything else would poll without pause
    (``initial=0``: thousands of requests for a short run) or without end.

    >>> [round(PollPolicy().interval(n), 2) for n in range(4)]
    [0.5, 0.57, 0.66, 0.76]
    >>> PollPolicy(initial=0)
    Traceback (most recent call last):
    flowdeck.InvalidRequestError: PollPolicy: initial must be a finite number of seconds > 0, not 0
    """

    initial: float = 0.5
    factor: float = 1.15
    max_interval: float = 10.0
    max_poll_errors: int = 8

    def __attrs_post_init__(self) -> None:
        # Each test stops at a value that is no number; NaN fails them all.
        rules = (
            ("initial", _finite(self.initial) and self.initial > 0, "a finite number of seconds > 0"),
            ("factor", _finite(self.factor) and self.factor >= 1, "a finite number >= 1"),
            (
                "max_interval",
                _finite(self.max_interval) and _finite(self.initial) and self.max_interval >= self.initial,
                f"a finite number of seconds >= initial ({self.initial!r})",
            ),
            (
                "max_poll_errors",
                _finite(self.max_poll_errors, whole=True) and self.max_poll_errors >= 0,
                "a whole number >= 0",
            ),
        )
        for name, ok, rule in rules:
            if not ok:
                raise InvalidRequestError(f"PollPolicy: {name} must be {rule}, not {getattr(self, name)!r}")

    def interval(self, polls: int) -> float:
        """The pause before poll number ``polls`` (0-based)."""
        return float(min(self.max_interval, self.initial * self.factor**polls))


def _finite(value: object, *, whole: bool = False) -> bool:
    """A finite int or float (an int alone if ``whole``); never a bool, which Python counts as an int."""
    kinds = int if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool) and abs(value) < float("inf")


_TRANSIENT = (TransportError, ServerError, RateLimitError, RequestTimeoutError)


class DurationHints:
    """How long recent runs of each workflow took, as seen by this client.

    A schedule that knows nothing of a run must choose between few polls and a short detection lag
    (with a ratio r between polls, the lag is up to (r - 1) x the run's length). But runs of one
    workflow take similar times, and users run thousands of them: after a few, the waiter sleeps
    until the shortest length seen, then polls at ``share`` of the typical length.
    """

    def __init__(self, keep: int = 50, share: float = 0.08) -> None:
        self._seen: dict[str, deque[tuple[float, float]]] = {}
        # expected() per workflow: every poll asks, a run's end resets it.
        self._expected: dict[str, tuple[float, float]] = {}
        self._keep = keep
        self.share = share

    def record(self, workflow: str, still_running: float, done: float) -> None:
        """A run of ``workflow`` ended between ``still_running`` and ``done`` seconds after it began.

        The bracket, not the detection time: detection includes the polling lag, and learning from
        it would make every later run wait at least that long, so the bias would feed itself.
        """
        self._seen.setdefault(workflow, deque(maxlen=self._keep)).append((still_running, done))
        self._expected.pop(workflow, None)

    def expected(self, workflow: str) -> tuple[float, float] | None:
        """(earliest, typical) seconds for a run of ``workflow`` to end, or None before the first.

        A bracket that starts at 0 (the first poll already found the run ended) bounds the length
        from above only. It counts as its middle for the typical length, and as a little less than its end
        for the earliest: the next run's first poll comes a little sooner, and sooner again while it
        keeps finding the run ended, instead of polling from the start (most runs are not shorter
        than the earliest seen; a run that was is found at the first poll, a little late).

        >>> hints = DurationHints()
        >>> hints.record("flow", 9.0, 11.0)
        >>> hints.record("flow", 0.0, 9.5)
        >>> hints.expected("flow")
        (8.55, 7.375)
        >>> hints.record("flow", 5.0, 6.0)  # each run's end is taken into account at once
        >>> hints.expected("flow")
        (5.0, 5.5)
        """
        if (known := self._expected.get(workflow)) is not None:
            return known
        seen = self._seen.get(workflow)
        if not seen:
            return None
        earliest = min(low if low > 0 else 0.9 * high for low, high in seen)
        known = self._expected[workflow] = (earliest, _median([(low + high) / 2 for low, high in seen]))
        return known


def _median(values: list[float]) -> float:
    # statistics.median, without importing statistics with flowdeck.
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


class Waiter:
    """The state of waiting for one run (sans-IO): when to poll next, and what a poll's outcome means."""

    # State, not a value: equal only to itself. Not attrs: nothing it
    # generates is needed, and building it slows ``import flowdeck``.
    __slots__ = (
        "deadline",
        "durations",
        "errors",
        "hint",
        "on_change",
        "overdue_polls",
        "policy",
        "polls",
        "run",
        "started",
        "still_running_at",
    )

    def __init__(
        self,
        run: Run,
        policy: PollPolicy,
        deadline: float | None,
        on_change: EventHook | None = None,
        *,
        durations: DurationHints | None = None,
    ) -> None:
        self.run = run
        self.policy = policy
        self.deadline = deadline
        self.on_change = on_change
        self.durations = durations
        self.polls = 0
        self.errors = 0  # consecutive failed polls
        self.hint: float | None = None  # the provider's Retry-After
        self.started: float | None = None  # on the client's clock, at the first delay
        self.still_running_at: float | None = None  # when a poll last saw it running
        self.overdue_polls = 0  # polls since it ran well past its typical length

    def __repr__(self) -> str:
        return f"Waiter(run={self.run.id!r}, status={self.run.status.value}, polls={self.polls}, errors={self.errors})"

    def _interval(self, now: float) -> float:
        if self.started is None:
            self.started = now
        expected = self.durations.expected(str(self.run.workflow)) if self.durations else None
        if expected is None or self.durations is None:
            return self.policy.interval(self.polls)  # nothing known yet
        shortest, typical = expected
        elapsed = now - self.started
        if elapsed < shortest:
            return max(self.policy.initial, shortest - elapsed)
        step = max(self.policy.initial, self.durations.share * typical)
        if elapsed < 1.5 * typical:
            return step
        # A long run backs off from the learned step, not to the cap: the lag
        # stays a small share of the run's length.
        self.overdue_polls += 1
        return float(min(self.policy.max_interval, step * self.policy.factor**self.overdue_polls))

    def next_delay(self, now: float) -> float:
        """Seconds until the next poll; raises :class:`WaitTimeout` once the deadline has passed.

        A run is polled at least once, even past its deadline (``timeout=0``): the run passed in may be
        a stale snapshot of one that has ended, and an ended run is never reported as timed out. That
        look is not timed for :class:`DurationHints` (waiting had not begun).
        """
        if self.deadline is not None and self.deadline - now <= 0:
            if self.polls or self.errors:
                raise WaitTimeout(self.run, f"run {self.run.id} still {self.run.status.value} at the deadline")
            return 0.0
        delay = self.hint if self.hint is not None else self._interval(now)
        self.hint = None
        if self.deadline is not None:
            delay = min(delay, self.deadline - now)
        return max(delay, 0.0)

    def observe(self, run: Run, now: float | None = None) -> None:
        """Record a successful poll (at ``now``, to learn how long the workflow's runs take)."""
        self.polls += 1
        self.errors = 0
        if run.status is not self.run.status and self.on_change is not None:
            self.on_change(self.run, run)
        if self.started is not None and now is not None:
            if not run.is_terminal:
                self.still_running_at = now
            elif self.durations is not None:
                done = now - self.started
                # All that is known: it ended between the last poll that saw it
                # running (or the start of waiting) and this one.
                low = self.still_running_at - self.started if self.still_running_at is not None else 0.0
                self.durations.record(str(run.workflow), low, done)
        self.run = run

    def failed(self, exc: FlowdeckError) -> None:
        """Record a failed poll: transient failures wait and try again, others (and too many) re-raise."""
        if not isinstance(exc, _TRANSIENT) and not (isinstance(exc, ContractError) and exc.unreadable):
            raise exc
        self.errors += 1
        if self.errors > self.policy.max_poll_errors:
            raise exc
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            self.hint = exc.retry_after


def outcome(run: Run) -> Run:
    """``run`` if it SUCCEEDED; otherwise the matching :class:`RunError`."""
    if run.status is Status.FAILED:
        raise RunFailed(run)
    if run.status is Status.CANCELLED:
        raise RunCancelled(run)
    if run.status is Status.EXPIRED:
        raise RunExpired(run)
    return run


def wait_op(adapter: Adapter, waiter: Waiter, clock: Callable[[], float]) -> Op[Run]:
    """Poll until the run is terminal; returns the terminal run (success or not)."""
    while not waiter.run.is_terminal:
        yield Sleep(waiter.next_delay(clock()))
        try:
            run = yield from adapter.refresh(waiter.run)
        except FlowdeckError as exc:
            waiter.failed(exc)
            continue
        waiter.observe(run, clock())
    return waiter.run


class Scheduler:
    """Many waiters under one clock: a heap of due times, so thousands of runs cost one loop.

    ``due(now)`` pops the waiters whose poll is due; ``done(waiter, now)`` puts one back (or retires
    it once terminal). The sync client polls due waiters one after another, the async one concurrently.
    """

    __slots__ = ("_heap", "_seq")  # state, not attrs, as Waiter

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Waiter]] = []
        self._seq = 0

    def add(self, waiter: Waiter, now: float) -> None:
        """Schedule ``waiter``'s next poll (raises WaitTimeout if its deadline has passed)."""
        from heapq import heappush  # loaded only to wait for many runs

        heappush(self._heap, (now + waiter.next_delay(now), self._seq, waiter))
        self._seq += 1

    def begin(self, waiters: list[Waiter], now: float) -> list[Run]:
        """Schedule the waiters whose runs are still going; return the runs already ended."""
        done = [w.run for w in waiters if w.run.is_terminal]
        for waiter in waiters:
            if not waiter.run.is_terminal:
                self.add(waiter, now)
        return done

    def settle(self, waiter: Waiter, outcome: Run | FlowdeckError, now: float) -> Run | None:
        """Apply one poll's outcome: the run to hand back if it ended (or ran out of time), else None."""
        if isinstance(outcome, FlowdeckError):
            waiter.failed(outcome)  # re-raises what is not transient
        else:
            waiter.observe(outcome, now)
        if waiter.run.is_terminal:
            return waiter.run
        try:
            self.add(waiter, now)
        except WaitTimeout:
            return waiter.run  # the deadline passed: hand back the last state
        return None

    def __bool__(self) -> bool:
        return bool(self._heap)

    def next_due(self) -> float:
        """When the earliest poll is due."""
        return self._heap[0][0]

    def due(self, now: float, limit: int) -> list[Waiter]:
        """Pop up to ``limit`` waiters whose poll is due at ``now``."""
        from heapq import heappop

        out: list[Waiter] = []
        while self._heap and self._heap[0][0] <= now and len(out) < limit:
            out.append(heappop(self._heap)[2])
        return out


Failures = list[tuple[Run, FlowdeckError]]
"""Runs whose wait failed, each (as last seen) with the error that ended it."""


def settle_or_fail(
    scheduler: Scheduler, waiter: Waiter, outcome: Run | FlowdeckError, now: float, failures: Failures
) -> Run | None:
    """:meth:`Scheduler.settle`, except that a failed wait (what it re-raises) joins ``failures`` and
    retires its waiter: one run's failure must not end the other runs' waits (``wait_many``)."""
    try:
        return scheduler.settle(waiter, outcome, now)
    except FlowdeckError as exc:
        failures.append((waiter.run, exc))
        return None


def raise_failures(waiters: list[Waiter], failures: Failures) -> None:
    """:class:`WaitManyError` for ``failures``, if any, holding every waiter's run as last seen."""
    if failures:
        raise WaitManyError([w.run for w in waiters], failures) from failures[0][1]


__all__ = ["DurationHints", "EventHook", "PollPolicy", "RunError", "Scheduler", "Waiter", "outcome", "wait_op"]
