"""Adaptive request rate (AIMD) for the async client: many tasks slow down together on a provider's quota.

Without it, each request meets a provider's quota on its own: thousands of concurrent starts each get
429, each wait out Retry-After, and return together to be refused again. Like the AWS SDKs' adaptive
retry mode, a client-side rate is off until the provider refuses a share of requests; then requests
of that kind are sent one after another at a rate just below what the provider accepted in the last
second (multiplicative decrease), which rises slowly while requests succeed (additive increase), so
a quota that grows is found again.

A share of 429s is not always a quota: a provider may refuse requests at random (overload, a flaky
gateway), whatever the rate. Then the accepted rate follows the client's own, and cutting to "just
below what was accepted" leads to the next cut and the next: the client crawls. So every cut is a
trial. Under a quota, sending more slowly lowers the share of 429s (at 90% of the quota, almost none
are refused); under random refusals, it does not. When enough requests sent after the cut have been
answered, the share of 429s among them is compared with the share before the cut: a cut that did
not lower it (nor a second, deeper one) is undone, and the share it measured is taken as the
provider's background of refusals, which later cuts must rise clearly above. None of the four providers
documents its limits or rate-limit headers, so the rate is read from the answers alone.
"""

from __future__ import annotations

import itertools
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
    """A cut on trial: what set it off, what to go back to, and the answers to requests sent since."""

    at: float  # answers to requests sent from here on judge the cut
    share: float  # the share of 429s that set it off
    seen: int  # over how many answers, and how many of them were refused
    seen_refused: int
    undo_rate: float | None
    undo_ceiling: float
    unpaced: bool = False  # the share is of every answer since the last judgement, all unpaced
    deepened: tuple[int, int] | None = None  # cut once more: the first trial's answers and 429s
    answers: int = 0
    refused: int = 0


class AdaptiveRate:
    """The pace of one kind of request to one provider (async; one event loop).

    ``acquire()`` waits for the request's turn (at once while the provider refuses little);
    ``settle()`` spaces each request sent; ``observe()`` takes each answer. When at least
    ``min_refusals`` and ``refused_share`` of the answers of the last ``window`` seconds (at least
    the last ``min_answers``) are 429, above the provider's background of random refusals once one
    is known, the rate becomes ``decrease`` x the rate it accepted over the later half of that
    window (never above the current rate). Every accepted answer then raises the rate by
    ``increase`` x that accepted rate per second of answers, so a quota that grows is found again.

    Each cut is a trial, judged once ``trial_answers`` requests sent after it are answered: kept if
    the share of 429s was halved and is lower by three standard errors; else cut once more (a cut
    can fall short of a quota), and if that does not lower it either, both are undone and the share
    becomes the background. A 429 now and then changes nothing: each such request waits out its
    own Retry-After.

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
        min_answers: int = 20,
        trial_answers: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.decrease, self.increase, self.window, self.min_rate = decrease, increase, window, min_rate
        self.refused_share, self.min_refusals = refused_share, min_refusals
        self.min_answers, self.trial_answers = min_answers, trial_answers
        # A cut is judged by requests sent a little after it: a quota's bucket, just emptied by the
        # requests sent before the cut, refuses a few of the first ones sent at the new rate too.
        self.settling = window / 4
        self.rate: float | None = None
        self.now = clock
        # (answered, refused, sent) of the last window's answers that judge the current pace
        self._answers: deque[tuple[float, bool, float]] = deque()
        self._refused = 0  # how many of them are 429s
        self._since: float | None = None  # the first answer
        self._ceiling = 0.0  # the accepted rate measured at the last cut
        self._trial: _Trial | None = None
        self._epoch = (0, 0)  # answers, and 429s among them, since the last cut was judged
        # The share of 429s that slowing down did not lower (random refusals), over every such trial.
        self.background = 0.0
        self._background_answers = self._background_refused = 0
        self._next = 0.0  # when the next request may queue for a slot (acquire)
        self._sent = float("-inf")  # when the last request was (or will be) sent (settle)
        self._lock: asyncio.Lock | None = None
        self._undone: asyncio.Event | None = None  # set when a cut is undone: wakes requests paced by it
        self.throttled = 0  # 429s observed, for reports
        # Cuts made; of those judged, kept (they lowered the 429s) and undone (they did not).
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
            # The rate read now, after the wait: a cut made meanwhile applies to this request already.
            # A turn taken late (a busy event loop) is made up for, up to one gap: the rate is kept.
            if self.rate is not None:
                gap = 1.0 / self.rate
                self._next = max(self.now() - gap, self._next) + gap

    async def settle(self) -> None:
        """Space this request from the last one sent: called right before sending.

        :meth:`acquire` paces requests before they queue for a concurrency slot, so that waiting does
        not hold slots other requests need; but requests released together by the slots would reach
        the provider in a burst. Every request sent, retries too, passes here: what is sent keeps the rate.
        """
        if self.rate is None:
            return
        now, gap = self.now(), 1.0 / self.rate
        turn = max(now - gap, self._sent + gap)  # late by up to a gap: made up for, as in acquire
        self._sent = turn
        if turn > now:
            await self._pause(turn - now)

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
        sent = float("-inf") if sent is None else sent
        answers = self._answers
        while len(answers) >= self.min_answers and answers[0][0] < now - self.window:
            self._refused -= answers.popleft()[1]
        answers.append((now, throttled, sent))
        self._refused += throttled
        self._epoch = (self._epoch[0] + 1, self._epoch[1] + throttled)
        if throttled:
            self.throttled += 1
        if (trial := self._trial) is not None:
            if sent >= trial.at:
                trial.answers += 1
                trial.refused += throttled
                self._judge(trial, now)
        elif self.rate is not None and not throttled:
            # One answer of rate-per-second: the increase adds up to increase x ceiling per second.
            self.rate += self.increase * max(self._ceiling, self.min_rate) / self.rate
        if throttled and self._trial is None:
            self._maybe_cut(now)

    def _maybe_cut(self, now: float) -> None:
        answers, refused = len(self._answers), self._refused
        if answers < self.min_answers or refused < self.min_refusals:
            return
        # In the first window, only once nearly all of the latest answers are refused: the accepted
        # rate is then measured over a second though less has passed, right for a quota (its burst
        # is what it accepts in its first second) but too low for random refusals, which seldom
        # refuse three in four of twenty answers in a row.
        age = now - (self._since or now)  # since the first answer
        if age < self.window:
            latest = itertools.islice(reversed(self._answers), self.min_answers)
            if sum(refused for _, refused, _ in latest) < 0.75 * self.min_answers:
                return
        # Above the background by a clear margin: refused_share, or three standard errors of a share
        # drawn from the background over this many answers (it is looked at after every 429).
        background = self.background
        noise = 3 * math.sqrt(background * (1 - background) / answers)
        if refused / answers < background + max(self.refused_share, noise):
            return
        if age < self.window:  # all accepted so far: a quota's first second
            recent, recent_refused, accepted = answers, refused, (answers - refused) / self.window
        else:  # over the later half of the window: the first second's burst must not count as a rate
            half = max(self.window, now - self._answers[0][0]) / 2
            shares = [refused for when, refused, _ in self._answers if when >= now - half]
            recent, recent_refused = len(shares), sum(shares)
            accepted = (recent - recent_refused) / half
        ceiling = max(accepted, self.min_rate)
        cut = max(self.min_rate, self.decrease * ceiling)
        if self.rate is not None and cut >= self.rate:
            return  # already slower than this would make it: nothing to try
        # What the cut is judged against. Probing a quota above its last cut: the window's share, at
        # the rate cut. Unpaced, every answer since the last judgement: the window's share is the one
        # that crossed the line, so higher than usual under random refusals. But in the first seconds,
        # the later half of the window if it refused more: a quota's first-second burst thins out the
        # share of the whole (and the line, no background known yet, is far below random refusals').
        seen, seen_refused, unpaced = answers, refused, False
        if self.rate is None and self._epoch[0] > answers:
            seen, seen_refused, unpaced = *self._epoch, True
        early = age < 2 * self.window
        if self.rate is None and early and recent_refused / max(recent, 1) > seen_refused / seen:
            seen, seen_refused, unpaced = recent, recent_refused, False
        self._trial = _Trial(
            now + self.settling, seen_refused / seen, seen, seen_refused, self.rate, self._ceiling, unpaced
        )
        self.rate, self._ceiling = cut, ceiling
        self.cuts += 1

    def _judge(self, trial: _Trial, now: float) -> None:
        """Keep, deepen or undo the cut on trial, once enough requests sent after it are answered."""
        n = trial.answers
        if n < self.trial_answers:
            return
        after = trial.refused / n
        if after <= trial.share / 2:
            # Lowered, if not by chance: a one-sided two-proportion test at three standard errors
            # (a kept cut under random refusals is costly). A small share (a probe just past the
            # quota) needs more answers to tell; then the trial goes on, up to four times as long,
            # and a share still halved is taken as lowered.
            pooled = (trial.seen_refused + trial.refused) / (trial.seen + n)
            error = math.sqrt(pooled * (1 - pooled) * (1 / trial.seen + 1 / n))
            if trial.share - after < 3 * error and n < 4 * self.trial_answers:
                return
            self.kept += 1
        elif not trial.deepened and self.rate is not None:
            # Not lowered: random refusals, or a cut still above a quota (the first second's answers
            # include its burst, so the first cut can fall short). Cut once more, to 90% of what this
            # trial saw accepted, judged against the same share: a quota's 429s then stop.
            accepted = self.rate * (1 - after)
            self._trial = attrs.evolve(trial, at=now + self.settling, answers=0, refused=0, deepened=(n, trial.refused))
            self.rate, self._ceiling = max(self.min_rate, self.decrease * accepted), max(accepted, self.min_rate)
            self.cuts += 1
            return
        else:  # the share of 429s did not follow the rate: not a quota
            self.rate, self._ceiling = trial.undo_rate, trial.undo_ceiling
            self._next, self._sent = now, float("-inf")
            # The trials' answers were refused or not whatever the rate: the background's measure, and
            # so were the unpaced ones before (not a window's: picked for a share above it).
            first = trial.deepened or (0, 0)
            self._background_answers += n + first[0] + trial.seen * trial.unpaced
            self._background_refused += trial.refused + first[1] + trial.seen_refused * trial.unpaced
            self.background = self._background_refused / self._background_answers
            self.undone += 1
            if self._undone is not None:
                self._undone.set()
                self._undone = None
        self._trial = None
        self._epoch = (0, 0)
