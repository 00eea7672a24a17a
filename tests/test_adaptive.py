"""Adaptive rate under a provider's quota: starts slow down together on 429, then probe up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import stamina
from flowdeck._adaptive import AdaptiveRate
from flowdeck.testing import MockConfig, MockProviders


def test_a_share_of_429s_sets_the_rate_just_below_what_was_accepted_and_successes_raise_it_slowly() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0], window=2.0)
    for i in range(20):  # 10 accepted per second for 2 s
        now[0] = i * 0.1
        rate.observe(False)
    rate.observe(True)
    rate.observe(True)
    assert rate.rate is None  # two refusals in 22 answers: a hiccup, not a quota
    rate.observe(True)
    assert rate.rate is not None and 8.5 <= rate.rate <= 9.5
    cut = rate.rate
    rate.observe(True)  # the rest of the same burst of 429s does not cut again and again
    assert rate.rate == cut
    for _ in range(10):  # one second of answers at that rate
        rate.observe(False)
    assert cut < rate.rate <= cut + 0.25  # +2% of the quota per second: probing up, gently


def test_429s_now_and_then_do_not_slow_anything_down() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for i in range(2000):  # 100 answers a second, one in twenty-five refused
        now[0] = i * 0.01
        rate.observe(i % 25 == 0)
    assert rate.rate is None


async def test_acquire_paces_requests_at_the_rate_once_refused() -> None:
    rate = AdaptiveRate()
    rate.rate = 50.0
    started = time.monotonic()
    await asyncio.gather(*(rate.acquire() for _ in range(26)))
    assert 0.45 <= time.monotonic() - started <= 1.5  # 25 intervals of 20 ms after the first


@pytest.fixture
def real_retry_waits() -> Iterator[None]:
    """Retries wait what Retry-After asks, as in production (the suite turns waits off elsewhere)."""
    stamina.set_testing(False)
    try:
        yield
    finally:
        stamina.set_testing(True, attempts=10, cap=True)


@pytest.mark.usefixtures("real_retry_waits")
async def test_starts_against_a_quota_back_off_together_and_all_get_through() -> None:
    quota, rows, in_flight = 40.0, 300, 32
    with MockProviders(MockConfig(seed=9, run_seconds=(0.0, 0.0), start_quota=quota)) as mocks:
        state = mocks.states["databar"]
        async with mocks.async_client(max_concurrent_requests=in_flight, adaptive_rate=True) as client:
            started = time.monotonic()
            runs = await asyncio.gather(*(client.start("databar:flow/q", {"row": str(i)}) for i in range(rows)))
            wall = time.monotonic() - started
        assert len({r.id for r in runs}) == rows and state.start_count == rows
        # The requests in flight when the first 429 came back are refused too, and some more while the
        # measured rate forgets the quota's initial burst (about a second); then a few probes.
        # Without adaptation each start meets the quota alone: hundreds of 429s, and starts lost after 3.
        assert state.throttled <= in_flight + 0.1 * rows, state.throttled
        assert wall <= 1.25 * (rows - quota) / quota + 1.0, wall  # the first second's worth goes at once


def test_the_mock_command_takes_a_start_quota() -> None:
    from flowdeck.testing._command import build_parser, config_from

    assert config_from(build_parser().parse_args(["--start-quota", "10"])).start_quota == 10.0
    assert config_from(build_parser().parse_args([])).start_quota is None
