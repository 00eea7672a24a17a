"""Adaptive request rate (AIMD) for the async client: many tasks slow down together on a provider's 429s.

Without it, each request meets a provider's quota on its own: thousands of concurrent starts each get
429, each wait out Retry-After, and return together to be refused again. Like the AWS SDKs' adaptive
retry mode, a client-side rate is off until the provider refuses a share of requests; then requests
of that kind are sent one after another at a rate just below what the provider accepted in the last
seconds (multiplicative decrease), which rises slowly while requests succeed (additive increase), so
a quota that grows is found again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio


class AdaptiveRate:
    """The pace of one kind of request to one provider (async; one event loop).

    ``acquire()`` waits for the request's turn (at once while the provider refuses little).
    ``observe()`` takes each answer. When at least ``min_refusals`` answers and ``refused_share`` of
    the answers of the last ``window`` seconds are 429, the provider is over its quota: the rate
    becomes ``decrease`` x the rate of answers it accepted over that window (never above the current
    rate). Every accepted answer then raises the rate by ``increase`` x that accepted rate per
    second of answers, so a quota that grows is found again. A 429 now and then (a provider's hiccup,
    not a quota) changes nothing: each such request waits out its own Retry-After.

    >>> rate = AdaptiveRate(clock=lambda: 0.0)
    >>> rate.rate is None  # not limited until the provider refuses a share of requests
    True
    """

    def __init__(
        self,
        *,
        decrease: float = 0.9,
        increase: float = 0.02,
        window: float = 1.0,
        refused_share: float = 0.1,
        min_refusals: int = 3,
        min_rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.decrease, self.increase, self.window, self.min_rate = decrease, increase, window, min_rate
        self.refused_share, self.min_refusals = refused_share, min_refusals
        self.rate: float | None = None
        self._clock = clock
        self._answers: deque[tuple[float, bool]] = deque()  # (when, refused) of the last window's answers
        self._refused = 0  # how many of them are 429s
        self._since: float | None = None  # the first answer: the window is shorter until it has passed
        self._ceiling = 0.0  # the accepted rate measured at the last cut
        self._next = 0.0  # when the next request may queue for a slot (acquire)
        self._sent = float("-inf")  # when the last request was (or will be) sent (settle)
        self._lock: asyncio.Lock | None = None
        self.throttled = 0  # 429s observed, for reports

    async def acquire(self) -> None:
        """Wait for this request's turn; first come, first served."""
        if self.rate is None:
            return
        import asyncio

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # Only the lock's holder moves _next: one sleep reaches it.
            if (wait := self._next - self._clock()) > 0:
                await asyncio.sleep(wait)
            # The rate read now, after the wait: a cut made meanwhile applies to this request already.
            if self.rate is not None:
                self._next = max(self._clock(), self._next) + 1.0 / self.rate

    async def settle(self) -> None:
        """Space this request from the last one sent: called right before sending.

        :meth:`acquire` paces requests before they queue for a concurrency slot, so that waiting does
        not hold slots other requests need; but requests released together by the slots would reach
        the provider in a burst. Every request sent, retries too, passes here: what is sent keeps the rate.
        """
        if self.rate is None:
            return
        now = self._clock()
        turn = max(now, self._sent + 1.0 / self.rate)
        self._sent = turn
        if turn > now:
            import asyncio

            await asyncio.sleep(turn - now)

    def observe(self, throttled: bool) -> None:
        """Take one answer: ``throttled`` is a 429."""
        now = self._clock()
        if self._since is None:
            self._since = now
        answers = self._answers
        while answers and answers[0][0] < now - self.window:
            self._refused -= answers.popleft()[1]
        answers.append((now, throttled))
        if not throttled:
            if self.rate is not None:
                # One answer of rate-per-second: the increase adds up to increase x ceiling per second.
                self.rate += self.increase * max(self._ceiling, self.min_rate) / self.rate
            return
        self.throttled += 1
        self._refused += 1
        share = self._refused / len(answers)
        if self._refused < self.min_refusals or share < self.refused_share:
            return
        # Accepted per second over the window, or over the time since the first answer while shorter
        # (at least a second: a quota is per second). Not compounding: the 429s of requests already
        # in flight at a cut meet the same measure.
        accepted = (len(answers) - self._refused) / max(1.0, min(self.window, now - self._since))
        self._ceiling = max(accepted, self.min_rate)
        cut = max(self.min_rate, self.decrease * self._ceiling)
        self.rate = cut if self.rate is None else min(self.rate, cut)
