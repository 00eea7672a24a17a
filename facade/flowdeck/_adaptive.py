"""Adaptive request rate (AIMD) for the async client: many tasks slow down together on a provider's 429s.

Without it, each request meets a provider's quota on its own: thousands of concurrent starts each get
429, each wait out Retry-After, and return together to be refused again. Like the AWS SDKs' adaptive
retry mode, a client-side rate is off until the first 429; then requests of that kind are sent one
after another at a rate just below what the provider accepted in the last seconds (multiplicative
decrease), which rises slowly while requests succeed (additive increase), so a quota that grows is
found again.
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

    ``acquire()`` waits for the request's turn (at once while no 429 has been seen). ``observe()``
    takes each answer: a 429 sets the rate to ``decrease`` x the rate of answers that were not 429 in
    the last ``window`` seconds (never above the current rate); every other answer raises the rate by
    ``increase`` x that accepted rate per second of answers.

    >>> rate = AdaptiveRate(clock=lambda: 0.0)
    >>> rate.rate is None  # not limited until the provider refuses something
    True
    """

    def __init__(
        self,
        *,
        decrease: float = 0.9,
        increase: float = 0.02,
        window: float = 1.0,
        min_rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.decrease, self.increase, self.window, self.min_rate = decrease, increase, window, min_rate
        self.rate: float | None = None
        self._clock = clock
        self._accepted: deque[float] = deque()  # when recent answers that were not 429 arrived
        self._since: float | None = None  # the first answer: the window is shorter until it has passed
        self._ceiling = 0.0  # the accepted rate measured at the last 429
        self._next = 0.0  # when the next request may be sent
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
            self._next = max(self._clock(), self._next) + 1.0 / (self.rate or 1.0)

    def observe(self, throttled: bool) -> None:
        """Take one answer: ``throttled`` is a 429."""
        now = self._clock()
        if self._since is None:
            self._since = now
        while self._accepted and self._accepted[0] < now - self.window:
            self._accepted.popleft()
        if not throttled:
            self._accepted.append(now)
            if self.rate is not None:
                # One answer of rate-per-second: the increase adds up to increase x ceiling per second.
                self.rate += self.increase * max(self._ceiling, self.min_rate) / self.rate
            return
        self.throttled += 1
        # Over the window, or the time since the first answer (at least a second: a quota is per second).
        accepted = len(self._accepted) / max(1.0, min(self.window, now - self._since))
        self._ceiling = max(accepted, self.min_rate)
        cut = max(self.min_rate, self.decrease * self._ceiling)
        self.rate = cut if self.rate is None else min(self.rate, cut)
