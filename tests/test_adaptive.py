"""Adaptive rate under a provider's quota: starts slow down together on 429, then probe up."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from flowdeck import AsyncClient
from flowdeck._adaptive import AdaptiveRate, _Trial
from flowdeck._batch import BatchRow, BatchSummary, Journal, run_batch
from flowdeck.testing import Faults, MockConfig, MockProviders


def simulate(
    rate: AdaptiveRate, now: list[float], seconds: float, refuse: Callable[[float], bool]
) -> tuple[float, float]:
    """A client sending 100 requests a second, or at ``rate`` once paced, each answered 10 ms later
    (``refuse(t)``: a 429?); returns the share of the time it was paced, and of the answers refused."""
    paced, end, answers, refused = 0.0, now[0] + seconds, 0, 0
    while now[0] < end:
        step = 1 / (rate.rate or 100.0)
        paced += step if rate.rate is not None else 0.0
        sent = now[0]
        now[0] += step
        answers += 1
        refused += (throttled := refuse(sent))
        rate.observe(throttled, sent - 0.01)
    return paced / seconds, refused / answers


def quota(per_second: float, burst: float = 1.0) -> Callable[[float], bool]:
    """A provider accepting ``per_second`` requests a second (a bucket of ``burst`` seconds' worth) and
    refusing more."""
    bucket = {"tokens": per_second * burst, "at": 0.0}

    def refuse(t: float) -> bool:
        bucket["tokens"] = min(per_second * burst, bucket["tokens"] + (t - bucket["at"]) * per_second)
        bucket["at"] = t
        if bucket["tokens"] < 1:
            return True
        bucket["tokens"] -= 1
        return False

    return refuse


def test_a_quota_is_met_just_below_it_and_probed_gently() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 4.0, quota(40.0))
    assert rate.rate is not None and 30 <= rate.rate <= 40, rate.rate  # 90% of what was accepted
    assert rate.kept >= 1 and rate.undone == 0
    _, refused = simulate(rate, now, 60.0, quota(40.0))
    assert rate.rate is not None and 30 <= rate.rate <= 46, rate.rate  # probing up, cut back again
    assert refused <= 0.05, refused  # few 429s once paced


def test_a_first_cut_short_of_a_quota_is_deepened_not_undone() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    # Two seconds' worth of burst: what the first second accepted is well above the quota.
    simulate(rate, now, 6.0, quota(40.0, burst=2.0))
    assert rate.rate is not None and 30 <= rate.rate <= 40, rate.rate
    assert rate.undone == 0 and rate.background == 0.0  # not taken for random refusals


def test_a_cut_that_does_not_lower_the_share_of_429s_is_undone() -> None:
    now, draws = [0.0], random.Random(3)
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 1.5, lambda t: draws.random() < 0.3)  # refused at random, whatever the rate
    assert rate.cuts == 1  # a share of 429s: first taken for a quota ...
    paced, _ = simulate(rate, now, 60.0, lambda t: draws.random() < 0.3)
    assert rate.undone >= 1 and rate.rate is None  # ... until slowing down did not lower it
    assert 0.25 <= rate.background <= 0.35
    assert paced <= 0.02, paced  # and the client was hardly ever slowed down


def test_a_quota_behind_random_refusals_is_still_found() -> None:
    now, draws = [0.0], random.Random(4)
    limit = quota(40.0)
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 30.0, lambda t: draws.random() < 0.2)
    assert rate.rate is None and rate.background > 0.1
    # The provider now has a quota too: 40 a second of the 80% it does not refuse anyway (50 sent).
    # Unpaced, 100 a second are sent and 60% refused; found, barely more than the background.
    _, refused = simulate(rate, now, 30.0, lambda t: draws.random() < 0.2 or limit(t))
    assert rate.rate is not None and rate.rate <= 65, rate.rate
    assert refused <= 0.3, refused


def test_429s_now_and_then_do_not_slow_anything_down() -> None:
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for i in range(2000):  # 100 answers a second, one in twenty-five refused
        now[0] = i * 0.01
        rate.observe(i % 25 == 0)
    assert rate.rate is None and rate.cuts == 0


async def test_acquire_paces_requests_at_the_rate_once_refused() -> None:
    rate = AdaptiveRate()
    rate.rate = 50.0
    started = time.monotonic()
    await asyncio.gather(*(rate.acquire() for _ in range(26)))
    assert 0.45 <= time.monotonic() - started <= 1.5  # 25 intervals of 20 ms after the first


async def test_requests_waiting_at_a_cut_rate_go_at_once_when_it_is_undone() -> None:
    rate = AdaptiveRate(trial_answers=1)
    rate.rate = 0.5  # a cut on trial (a second one, after a first that did not lower the 429s either)
    rate._trial = _Trial(0.0, 0.3, 100, 30, None, 0.0, deepened=(20, 6))
    for _ in range(2):  # the first requests go at once (a turn late by a gap is made up for) ...
        await rate.settle()
    waiting = asyncio.ensure_future(rate.settle())  # ... the next in 2 s
    await asyncio.sleep(0.05)
    assert not waiting.done()
    rate.observe(True, rate.now())  # its trial's answer: still refused, so not a quota
    assert rate.rate is None and rate.undone == 1
    await asyncio.wait_for(waiting, 0.5)  # woken, not left asleep for the rest of the 2 s


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
        # The first second is for measuring (unless most are refused at once, a share of 429s is not
        # acted on until a second of answers says what the provider accepts): the requests in flight
        # then, and their retries, are refused; then a cut or two on trial, and a few probes.
        # Without adaptation each start meets the quota alone: hundreds of 429s, and starts lost after 3.
        assert state.throttled <= 2 * in_flight + 0.1 * rows, state.throttled
        assert wall <= 1.25 * (rows - quota) / quota + 1.0, wall  # the first second's worth goes at once


def test_the_mock_command_takes_a_start_quota() -> None:
    from flowdeck.testing._command import build_parser, config_from

    assert config_from(build_parser().parse_args(["--start-quota", "10"])).start_quota == 10.0
    assert config_from(build_parser().parse_args([])).start_quota is None


IN_FLIGHT = 32


async def _batch(mocks: MockProviders, rows: int, out: Path, **options: Any) -> tuple[float, BatchSummary, AsyncClient]:
    """``rows`` rows through the batch runner (as ``flowdeck batch`` runs them), all in flight at once."""
    inputs = [BatchRow(i + 1, "databar:flow/q", {"row": str(i)}) for i in range(rows)]
    async with mocks.async_client(max_concurrent_requests=IN_FLIGHT, **options) as client:
        started = time.monotonic()
        summary = await run_batch(client, inputs, Journal(out), concurrency=rows)
        return time.monotonic() - started, summary, client


@pytest.mark.usefixtures("real_retry_waits")
async def test_a_batch_against_a_quota_runs_at_it_with_few_429s(tmp_path: Path) -> None:
    quota, rows = 20.0, 120
    with MockProviders(MockConfig(seed=5, run_seconds=(0.0, 0.0), start_quota=quota)) as mocks:
        wall, summary, _ = await _batch(mocks, rows, tmp_path / "out.jsonl", adaptive_rate=True)
        throttled = mocks.states["databar"].throttled
    assert summary.statuses["SUCCEEDED"] == rows, summary.statuses
    # A second to measure (the requests in flight and their retries refused), a cut or two on trial,
    # then probes a little above the quota; without adaptation: hundreds of 429s, rows not started.
    assert throttled <= 2 * IN_FLIGHT + 0.05 * rows, throttled
    assert wall <= 1.2 * rows / quota + 2.0, wall  # and the first second, and the last rows' polls


@pytest.mark.slow
async def test_a_batch_under_random_429s_does_not_crawl_with_adaptive_rate(tmp_path: Path) -> None:
    faults = Faults(rate=0.3, kinds=("429",), retry_after=0)
    rows = 400
    with MockProviders(MockConfig(seed=6, run_seconds=(0.0, 0.0), faults=faults)) as mocks:
        plain, *_ = await _batch(mocks, rows, tmp_path / "plain.jsonl", adaptive_rate=False)
        # A cut that does not lower the share of 429s is undone: were it kept, each cut would lead to
        # the next (what is accepted follows what is sent) and the batch would crawl.
        adaptive, _, client = await asyncio.wait_for(
            _batch(mocks, rows, tmp_path / "adaptive.jsonl", adaptive_rate=True), timeout=3 * plain + 5
        )
    assert client._rates, "no request was paced or observed"
    for rate in client._rates.values():  # starts, and polls apart
        assert rate.throttled > 0 and rate.kept == 0, (rate.cuts, rate.kept, rate.undone)
        assert rate.rate is None or rate._trial is not None, rate.rate  # no cut left standing
    # Each trial holds starts or polls at 60-40% of their pace for 40 answers (the bench measures what
    # that costs: about a fifth of a short batch); kept cuts would make it ten times slower or more.
    assert adaptive <= 2 * plain + 1.0, (adaptive, plain)


def test_flowdeck_batch_paces_starts_with_adaptive_rate_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowdeck import _cli
    from typer.testing import CliRunner

    from tests._cli import jsonl

    built: list[bool] = []

    class Recorded(AsyncClient):  # the real client, noting how the command built it
        def __init__(self, **options: Any) -> None:
            built.append(options.get("adaptive_rate", False))
            super().__init__(**options)

    monkeypatch.setattr(_cli, "AsyncClient", Recorded)
    inputs = jsonl(tmp_path / "in.jsonl", [{"row": str(i)} for i in range(3)])
    with MockProviders(MockConfig(seed=7)) as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        for n, flags in enumerate(([], ["--no-adaptive-rate"], ["--adaptive-rate"])):
            args = ["batch", "databar:flow/q", str(inputs), "--out", str(tmp_path / f"out{n}.jsonl"), *flags]
            result = CliRunner().invoke(_cli.app, [*args, "--json"])
            assert json.loads(result.stdout)["statuses"] == {"SUCCEEDED": 3}, result.output
    assert built == [False, False, True]
    help_text = CliRunner().invoke(_cli.app, ["batch", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--adaptive-rate" in help_text
