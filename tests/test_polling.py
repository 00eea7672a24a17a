"""The waiting schedule, sans-IO: how soon a run's end is seen, and what is learned from it."""

from __future__ import annotations

import itertools
import statistics

import attrs
import pytest
from flowdeck import PollPolicy, Run, Status
from flowdeck._lifecycle import DurationHints, Waiter
from flowdeck._providers import parse_ref

REF = parse_ref("databar:flow/poll")
RUNNING = Run(provider="databar", workflow=REF, id="t-1", status=Status.RUNNING, provider_status="processing")
DONE = attrs.evolve(RUNNING, status=Status.SUCCEEDED, provider_status="completed")


def _wait(length: float, durations: DurationHints | None, policy: PollPolicy | None = None) -> tuple[int, float]:
    """(polls, lag) of waiting for a run that ends ``length`` seconds after waiting began."""
    waiter = Waiter(RUNNING, policy or PollPolicy(), deadline=None, durations=durations)
    now = 0.0
    while not waiter.run.is_terminal:
        now += waiter.next_delay(now)
        waiter.observe(DONE if now >= length else RUNNING, now)
    return waiter.polls, now - length


@pytest.mark.parametrize("length", [10.0, 60.0])
def test_first_run_found_soon(length: float) -> None:
    """A workflow's first run is seen ended at most 15% late on average."""
    # Runs of 0.9-1.1x the length, each the first of its workflow (a fresh history every time).
    lags = [_wait(length * (0.9 + 0.01 * i), DurationHints())[1] / length for i in range(21)]
    assert statistics.mean(lags) <= 0.15, lags


def test_long_run_backs_off_gradually() -> None:
    """A run longer than usual backs off gradually instead of jumping to the cap."""
    hints = DurationHints()
    for _ in range(5):
        hints.record(str(REF), 9.9, 10.1)  # runs of this workflow take 10 s
    polls, lag = _wait(30.0, hints)  # this one takes 3x as long
    assert lag <= 0.15 * 30.0, (polls, lag)
    waiter = Waiter(RUNNING, PollPolicy(), deadline=None, durations=hints)
    now, delays = 0.0, []
    while now < 30.0:
        delays.append(waiter.next_delay(now))
        now += delays[-1]
        waiter.observe(RUNNING, now)
    overdue = [d for d in delays if d > 0.8 + 1e-9]  # past 1.5x typical: each step at most 1.15x the last
    assert overdue and max(overdue) < 10.0
    assert all(b <= a * 1.15 + 1e-9 for a, b in itertools.pairwise(delays[1:])), delays


def test_ended_at_first_poll() -> None:
    """A run the first poll sees ended is learned as the bracket from zero."""
    hints = DurationHints()
    waiter = Waiter(RUNNING, PollPolicy(), deadline=None, durations=hints)
    waiter.next_delay(0.0)
    waiter.observe(DONE, 10.0)  # ended some time in the first 10 s: nothing says when in them
    assert hints.expected(str(REF)) == (9.0, 5.0)  # poll sooner next time; typically 5 s, not 9.5


def test_converge_after_late_poll() -> None:
    """Later runs converge after a first poll that lands late."""
    hints = DurationHints()
    hints.record(str(REF), 0.0, 10.0)  # a first poll that came long after a 4 s run had ended
    results = [_wait(4.0, hints) for _ in range(12)]
    polls, lag = results[-1]
    assert polls <= 4 and lag <= 0.05 * 4.0 + 0.5, results
