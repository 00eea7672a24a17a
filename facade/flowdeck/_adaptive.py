"""Adaptive request rate (AIMD) for the async client: many tasks slow down together on a provider's quota.

Off until a provider refuses a share of requests with 429; then requests of that kind go out one after
another below the rate the provider accepted, a rate that rises slowly while they succeed. Random
refusals look like a quota but do not stop at a slower pace, so every cut is a trial, kept only if the
429s stop. No provider documents its limits: the rate is read from the answers alone. The rule and its
reasons are on the documentation's performance page ("Adaptive rate under 429").
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import asyncio


@attrs.define
class _Trial:
    """A cut on trial: the answers to requests sent since ``at``, and 429s among them."""

    at: float  # requests sent from here on judge the cut
    deepened: tuple[int, int] | None = None  # a second cut: the first's answers, 429s
    answers: int = 0
    refused: int = 0


class AdaptiveRate:
    """The pace of one kind of request to one provider (async; one event loop).

    ``acquire()`` waits for the request's turn (at once while the provider refuses little);
    ``settle()`` spaces each request sent; ``observe()`` takes each answer. When at least
    ``min_refusals`` and ``refused_share`` of the answers of the last ``window`` seconds (at least
    the last ``min_answers``) are 429, above the background of random refusals once one is known,
    the rate becomes ``decrease`` x the rate the provider accepted over them, but never below half of
    what it accepted over the last few seconds. Every accepted answer then raises the rate by
    ``increase`` x that accepted rate per second of answers, so a quota that grows is found again.

    Each cut is a trial, judged by the answers to ``trial_answers`` requests sent a quarter
    ``window`` after it: kept if at most half of ``refused_share`` of them are 429; else cut once
    more, below what the trial saw accepted (a first cut can count a quota's burst), and if that
    fails too, undone: back to unpaced, and the share both trials measured becomes the background.
    A trial fails as soon as it sees one 429 more than that (after a quarter of its answers). A 429
    now and then changes nothing: each such request waits out its own Retry-After.

    >>> rate = AdaptiveRate(clock=lambda: 0.0)
    >>> rate.rate is None  # not limited until the provider refuses a share of requests
    True
    """

    def __init__(
        self,
        *,
        decrease: float = 0.8,
        increase: float = 0.02,
        window: float = 1.0,
        refused_share: float = 0.1,
        min_refusals: int = 3,
        min_rate: float = 0.2,
        min_answers: int = 20,
        trial_answers: int = 40,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.decrease, self.increase, self.window, self.min_rate = decrease, increase, window, min_rate
        self.refused_share, self.min_refusals = refused_share, min_refusals
        self.min_answers, self.trial_answers = min_answers, trial_answers
        # A quota's bucket, emptied before the cut, still refuses a few
        # requests sent just after it: they do not judge the cut.
        self.settling = window / 4
        self._allowed = int(refused_share / 2 * trial_answers)  # 429s a kept cut may see
        # A cut stays above half the recent accepted rate: random
        # refusals met at a lull must not cut far below the need.
        self.memory = 5 * window
        self._accepted, self._accepted_at = 0.0, 0.0
        self.rate: float | None = None
        self.now = clock
        self._answers: deque[tuple[float, bool]] = deque()  # (answered, refused), last window
        self._refused = 0  # 429s among them
        self._since: float | None = None  # the first answer
        self._ceiling = 0.0  # accepted rate at the last cut
        self._trial: _Trial | None = None
        # The share of 429s cuts did not lower: random refusals.
        self.background = 0.0
        self._background = (0, 0)  # answers, 429s
        self._measuring = 0  # answers to count before a new cut
        self._next = 0.0  # next turn to queue for a slot
        self._sent = float("-inf")  # last request's send time
        self._lock: asyncio.Lock | None = None  # held while waiting in acquire
        self._sending: asyncio.Lock | None = None  # and in settle
        self._undone: asyncio.Event | None = None  # wakes requests when a cut is undone
        self.sent = 0  # requests sent: the first window's measure
        self.throttled = 0  # 429s observed, for reports
        # Cuts made; of those judged, kept and undone.
        self.cuts = self.kept = self.undone = 0

    async def acquire(self) -> None:
        """Wait for this request's turn; first come, first served."""
        if self.rate is None:
            return
        import asyncio

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Only the lock's holder moves _next: one sleep reaches it.
            if (wait := self._next - self.now()) > 0:
                await self._pause(wait)
            # Read after the wait, so a cut made meanwhile applies. A late
            # turn (a busy loop) is made up for, up to one gap.
            if self.rate is not None:
                gap = 1.0 / self.rate
                self._next = max(self.now() - gap, self._next) + gap

    async def settle(self) -> None:
        """Space this request from the last one sent: called right before sending.

        :meth:`acquire` paces requests before they queue for a concurrency slot, so that waiting does
        not hold slots other requests need; but requests released together by the slots would reach
        the provider in a burst. Every request sent, retries too, passes here: what is sent keeps the rate.
        """
        self.sent += 1
        if self.rate is None:
            return
        import asyncio

        if self._sending is None:
            self._sending = asyncio.Lock()
        async with self._sending:
            # One at a time, at the rate of the moment: turns handed out
            # ahead would keep the old rate for seconds after a cut.
            if self.rate is None:
                return
            gap = 1.0 / self.rate
            if (wait := self._sent + gap - self.now()) > 0:
                await self._pause(wait)
            self._sent = max(self.now() - gap, self._sent + gap)  # a late turn made up for

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a cut is undone meanwhile: turns given at its rate are void."""
        import asyncio

        if self._undone is None:
            self._undone = asyncio.Event()
        try:
            async with asyncio.timeout(seconds):
                await self._undone.wait()
        except TimeoutError:
            pass

    def observe(self, throttled: bool, sent: float | None = None) -> None:
        """Take one answer: ``throttled`` is a 429; ``sent`` is when its request was sent (:meth:`now`).

        Without ``sent``, the request counts as sent before any cut still on trial.
        """
        now = self.now()
        if self._since is None:
            self._since = now
        answers = self._answers
        while len(answers) >= self.min_answers and answers[0][0] < now - self.window:
            self._refused -= answers.popleft()[1]
        answers.append((now, throttled))
        self._refused += throttled
        if throttled:
            self.throttled += 1
        else:  # accepted answers' rate, over about `memory` seconds
            self._accepted = self._accepted * math.exp((self._accepted_at - now) / self.memory) + 1 / self.memory
            self._accepted_at = now
        if (trial := self._trial) is not None:
            if sent is not None and sent >= trial.at:
                trial.answers += 1
                trial.refused += throttled
                # Fail early: a cut that does not help must not hold the
                # pace down long.
                failed = trial.refused > self._allowed and trial.answers >= self.trial_answers / 4
                if trial.answers >= self.trial_answers or failed:
                    self._judge(trial, now)
        elif self._measuring:
            # Unpaced answers after undone trials measure the background
            # too: no cut picked them.
            self._measuring -= 1
            self._count_background(1, throttled)
            return
        elif self.rate is not None and not throttled:
            # Adds up to increase x ceiling per second of answers.
            self.rate += self.increase * max(self._ceiling, self.min_rate) / self.rate
        if throttled and self._trial is None:
            self._maybe_cut(now)

    def _count_background(self, answers: int, refused: int) -> None:
        counted, counted_refused = self._background
        self._background = (counted + answers, counted_refused + refused)
        self.background = self._background[1] / self._background[0]

    def _maybe_cut(self, now: float) -> None:
        answers, refused = len(self._answers), self._refused
        if answers < self.min_answers or refused < self.min_refusals:
            return
        # Clearly above the background: checked after every 429, so by
        # refused_share or three standard errors.
        background, (measured, _) = self.background, self._background
        noise = 3 * math.sqrt(background * (1 - background) * (1 / answers + 1 / max(measured, 1)))
        if refused / answers < background + max(self.refused_share, noise):
            return
        span = now - self._answers[0][0]
        if self._since is None or now - self._since < self.window:
            # Half of the requests sent, not of the answers: a 429 comes
            # back faster than a start. Waiting longer would meet the
            # quota unpaced again when the Retry-Afters end.
            if refused < max(self.min_answers, max(self.sent, answers) / 2):
                return
            span = 2 * self.window  # so its later half is all of it
        # The later half: a quota's burst is not its rate.
        half = max(self.window, span) / 2
        accepted = sum(not refused for when, refused in self._answers if when >= now - half) / half
        cut = max(self._floor(now), self.decrease * accepted)
        if self.rate is not None and cut >= self.rate:
            return  # already slower: nothing to try
        self._trial = _Trial(now + self.settling)
        self.rate, self._ceiling = cut, max(accepted, self.min_rate)
        self.cuts += 1

    def _floor(self, now: float) -> float:
        recent = self._accepted * math.exp((self._accepted_at - now) / self.memory)
        return max(self.min_rate, recent / 2)

    def _judge(self, trial: _Trial, now: float) -> None:
        """Keep, deepen or undo the cut on trial: its answers are in."""
        after = trial.refused / trial.answers
        self._trial = None
        if trial.refused <= self._allowed:  # a quota: below it, almost no 429s
            self.kept += 1
            self.background, self._background = 0.0, (0, 0)  # those 429s were the quota's
        elif not trial.deepened:
            # Random refusals, or a cut misled by a quota's saved burst:
            # cut below what the trial saw accepted. A quota's 429s stop.
            assert self.rate is not None  # a cut on trial
            accepted = self.rate * (1 - after)
            self._trial = _Trial(now + self.settling, deepened=(trial.answers, trial.refused))
            self.rate, self._ceiling = max(self._floor(now), self.decrease * accepted), accepted
            self.cuts += 1
        else:
            # Random refusals: back to unpaced, not to an earlier cut's
            # rate (kept by chance, it would leave the client crawling).
            first = trial.deepened or (0, 0)
            self._count_background(trial.answers + first[0], trial.refused + first[1])
            self._measuring = 5 * self.min_answers
            self.rate = None
            self._next, self._sent = now, float("-inf")
            self.undone += 1
            if self._undone is not None:
                self._undone.set()
                self._undone = None
