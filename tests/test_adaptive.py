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
        rate.sent += 1  # what settle() counts
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


def random_refusals(share: float, seed: int) -> Callable[[float], bool]:
    """A provider refusing ``share`` of requests at random, whatever the rate (seeded)."""
    draws = random.Random(seed)
    return lambda t: draws.random() < share


def test_quota_met_and_probed() -> None:
    """A quota is met just below it and probed gently."""
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 4.0, quota(40.0))
    assert rate.rate is not None and 28 <= rate.rate <= 40, rate.rate  # 80% of what was accepted
    assert rate.kept >= 1 and rate.undone == 0
    _, refused = simulate(rate, now, 60.0, quota(40.0))
    assert rate.rate is not None and 28 <= rate.rate <= 46, rate.rate  # probing up, cut back again
    assert refused <= 0.05, refused  # few 429s once paced
    assert rate.undone == 0, rate.undone  # every cut below the quota is kept


def test_short_cut_deepened() -> None:
    """A first cut short of a quota is deepened, not undone."""
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    # Two seconds' worth of burst: what the first second accepted is well above the quota.
    simulate(rate, now, 6.0, quota(40.0, burst=2.0))
    # 80% of what the first trial saw accepted, measured over the few answers it took to fail.
    assert rate.rate is not None and 24 <= rate.rate <= 40, rate.rate
    assert rate.undone == 0 and rate.background == 0.0  # not taken for random refusals


def test_useless_cut_undone() -> None:
    """A cut that does not lower the share of 429s is undone."""
    now = [0.0]
    refuse = random_refusals(0.3, seed=3)
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 1.5, refuse)
    assert rate.cuts >= 1  # a share of 429s: first taken for a quota ...
    paced, _ = simulate(rate, now, 60.0, refuse)
    assert rate.undone >= 1 and rate.kept == 0 and rate.rate is None  # ... until slowing down did not lower it
    assert 0.2 <= rate.background <= 0.4, rate.background
    assert paced <= 0.05, paced  # and the client was hardly ever slowed down: a trial and a deeper one


@pytest.mark.parametrize("seed", [11, 22, 66, 162])
def test_random_429s_not_paced(seed: int) -> None:
    """Random refusals never leave the client paced for long."""
    # Seeds 22, 66 and 162 give a trial whose "before" window is high by chance (picked for having
    # just crossed the line): a cut kept on it is never tried again, and a batch under random 429s
    # crawls. Seed 11 gives a trial cut short on 20 answers, 1 refused: kept only on all its answers.
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    paced, _ = simulate(rate, now, 30.0, random_refusals(0.3, seed))
    assert rate.kept == 0, (rate.cuts, rate.kept, rate.undone)
    assert paced <= 0.15, paced


def test_failed_trial_unpaced() -> None:
    """A failed trial goes back to unpaced, not to a cut kept before."""
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    simulate(rate, now, 10.0, quota(30.0))
    assert rate.kept >= 1 and rate.rate is not None and rate.rate < 40
    # The quota is gone; requests are refused at random instead. A cut kept earlier (or by chance)
    # must not be where a failed trial returns: the client would stay slowed down for no reason.
    paced, _ = simulate(rate, now, 20.0, random_refusals(0.3, seed=5))
    assert rate.rate is None and rate.undone >= 1, (rate.rate, rate.cuts, rate.kept, rate.undone)
    assert paced <= 0.5, paced


async def test_first_answers_429_no_quota() -> None:
    """429s among the first answers back are no sign of a quota."""
    # A batch's first round: 100 requests in flight, 30 refused at random, and the refusals answered
    # first (a 429 costs the provider less than a start). That is no sign of a quota.
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for _ in range(100):
        await rate.settle()  # sent: unpaced, so at once
    for i in range(100):
        now[0] = 0.1 + i * 0.002
        rate.observe(i < 40 and i % 4 != 3, 0.0)  # the first 40 back: 30 refused, 10 accepted
    assert rate.rate is None and rate.cuts == 0


async def test_half_refused_cut_at_once() -> None:
    """A quota refusing half of the requests sent is cut within its first second."""
    # 32 requests in flight against a quota with a burst of 20: 12 refused at once, 20 accepted, and
    # the 20 sent in the accepted ones' slots refused too. Each refused request then holds its slot for
    # its Retry-After: no more answers come this second, so a rule waiting for many answers (or for
    # the second to end) meets the quota unpaced when they all come back together.
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for _ in range(32):
        await rate.settle()
    for i in range(12):
        now[0] = 0.01 + i * 0.001
        rate.observe(True, 0.0)
    for i in range(20):
        now[0] = 0.05 + i * 0.005
        rate.observe(False, 0.0)
        await rate.settle()  # its slot's next request
    for i in range(20):
        now[0] = 0.2 + i * 0.005
        rate.observe(True, 0.1)
    assert now[0] < rate.window and rate.cuts == 1, (rate.cuts, rate.sent)
    assert rate.rate is not None and 14 <= rate.rate <= 18, rate.rate  # 80% of the 20 accepted


def test_cut_floor() -> None:
    """A cut never goes below half of what was accepted lately."""
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for i in range(1000):  # 10 s at 100 answers a second, all accepted
        now[0] = i * 0.01
        rate.observe(False, now[0])
    # Then a lull: a few answers over two seconds, a third of them refused. What was accepted over
    # that window is no measure of what the client will need a moment later.
    for i in range(24):
        now[0] = 10.0 + i * 0.1
        rate.observe(i % 3 == 0, now[0])
        if rate.cuts:
            break
    assert rate.cuts == 1 and rate.rate is not None
    assert rate.rate >= 0.5 * 100 * 0.6, rate.rate  # half of ~100/s, decayed over the lull


def test_cut_lifted_on_third_429() -> None:
    """A cut that does not help is lifted on its third 429."""
    # A trial waiting for its 40 answers at a slow pace would hold a batch's starts down for seconds
    # after it cannot be kept (at most 2 of its answers may be 429).
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    rate.rate, rate._trial = 10.0, _Trial(0.0)
    for i in range(12):  # 10 a second, every third refused
        now[0] = 0.1 * (i + 1)
        rate.observe(i % 3 == 2, now[0] - 0.05)
    assert rate.cuts == 1 and rate._trial is not None and rate._trial.deepened == (10, 3)  # cut once more ...
    for i in range(12):
        now[0] = 2.0 + 0.1 * i
        rate.observe(i % 3 == 2, now[0] - 0.05)
    assert rate.rate is None and rate.undone == 1  # ... then lifted: 22 answers, not 80


def test_rare_429s_no_slowdown() -> None:
    """429s now and then do not slow anything down."""
    now = [0.0]
    rate = AdaptiveRate(clock=lambda: now[0])
    for i in range(2000):  # 100 answers a second, one in twenty-five refused
        now[0] = i * 0.01
        rate.observe(i % 25 == 0)
    assert rate.rate is None and rate.cuts == 0


@pytest.mark.paced
async def test_acquire_paces() -> None:
    """acquire() paces requests at the rate once refused."""
    rate = AdaptiveRate()
    rate.rate = 50.0
    started = time.monotonic()
    await asyncio.gather(*(rate.acquire() for _ in range(26)))
    assert 0.45 <= time.monotonic() - started <= 1.5  # 25 intervals of 20 ms after the first


async def test_queued_follow_new_rate() -> None:
    """Requests queued to be sent go at a rate cut meanwhile."""
    # Requests released together by the concurrency slots queue in settle(). Were their turns handed
    # out when they queued, a cut would not reach them: a quota just cut below would meet seconds of
    # requests at the old rate, refused, and the cut judged a failure.
    rate = AdaptiveRate()
    rate.rate = 100.0
    sent: list[float] = []

    async def one() -> None:
        await rate.settle()
        sent.append(time.monotonic())

    started = time.monotonic()
    queued = [asyncio.ensure_future(one()) for _ in range(60)]
    await asyncio.sleep(0.1)
    rate.rate = 10.0  # a cut: ~10 sent by now, ~50 still queued
    await asyncio.sleep(1.0)
    late = sum(t >= started + 0.15 for t in sent)
    for task in queued:
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)
    assert late <= 12, late  # about ten a second after the cut, not a hundred


async def test_undone_cut_releases_waiters() -> None:
    """Requests waiting at a cut rate go at once when it is undone."""
    rate = AdaptiveRate(trial_answers=1)
    rate.rate = 0.5  # a cut on trial (a second one, after a first that did not lower the 429s either)
    rate._trial = _Trial(0.0, deepened=(40, 12))
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


@pytest.mark.paced
@pytest.mark.usefixtures("real_retry_waits")
async def test_starts_back_off_together() -> None:
    """Starts against a quota back off together, and all get through."""
    quota, rows, in_flight = 40.0, 300, 32
    with MockProviders(MockConfig(seed=9, run_seconds=(0.0, 0.0), start_quota=quota)) as mocks:
        state = mocks.states["databar"]
        # Five retries, not the default three: before the first cut, a start may meet the quota on all
        # four of its attempts. What is guarded is below: the 429s all starts meet together, and the wall.
        options: dict[str, Any] = {"max_concurrent_requests": in_flight, "adaptive_rate": True, "max_retries": 5}
        async with mocks.async_client(**options) as client:
            started = time.monotonic()
            runs = await asyncio.gather(*(client.start("databar:flow/q", {"row": str(i)}) for i in range(rows)))
            wall = time.monotonic() - started
        assert len({r.id for r in runs}) == rows and state.start_count == rows
        # The first round past the quota's burst is refused, and the requests sent in the accepted
        # ones' slots, until half of those sent are; then a cut or two on trial, and a few probes.
        # Without adaptation each start meets the quota alone: hundreds of 429s, and starts lost after 3.
        assert state.throttled <= 2 * in_flight + 0.1 * rows, state.throttled
        assert wall <= 1.25 * (rows - quota) / quota + 1.0, wall  # the first second's worth goes at once


def test_mock_start_quota_option() -> None:
    """flowdeck mock takes --start-quota."""
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


@pytest.mark.paced
@pytest.mark.usefixtures("real_retry_waits")
async def test_batch_at_quota(tmp_path: Path) -> None:
    """A batch against a quota runs at it with few 429s."""
    quota, rows = 20.0, 120
    with MockProviders(MockConfig(seed=5, run_seconds=(0.0, 0.0), start_quota=quota)) as mocks:
        wall, summary, _ = await _batch(mocks, rows, tmp_path / "out.jsonl", adaptive_rate=True)
        throttled = mocks.states["databar"].throttled
    assert summary.statuses["SUCCEEDED"] == rows, summary.statuses
    # The first round past the quota's burst refused (and its followers, until half of the requests
    # sent are), a cut or two on trial, then probes a little above the quota; without adaptation:
    # hundreds of 429s, rows not started; a rule waiting for many answers before its first cut exceeds it.
    assert throttled <= 2 * IN_FLIGHT + 0.05 * rows, throttled
    assert wall <= 1.2 * rows / quota + 2.0, wall  # and the first second, and the last rows' polls


@pytest.mark.paced
@pytest.mark.slow
async def test_batch_random_429s_no_crawl(tmp_path: Path) -> None:
    """A batch under random 429s does not crawl with --adaptive-rate."""
    faults = Faults(rate=0.3, kinds=("429",), retry_after=0)
    rows = 400
    with MockProviders(MockConfig(seed=6, run_seconds=(0.0, 0.0), faults=faults)) as mocks:
        # Both batches at once, on one event loop against one mock: the plain one is the baseline measured
        # under the same load (another test's subprocess on a shared core slows both alike).
        # A cut that does not lower the share of 429s is undone: were it kept, each cut would lead to
        # the next (what is accepted follows what is sent) and the batch would crawl.
        (plain, *_), (adaptive, _, client) = await asyncio.wait_for(
            asyncio.gather(
                _batch(mocks, rows, tmp_path / "plain.jsonl", adaptive_rate=False),
                _batch(mocks, rows, tmp_path / "adaptive.jsonl", adaptive_rate=True),
            ),
            timeout=30,
        )
    assert client._rates, "no request was paced or observed"
    for rate in client._rates.values():  # starts, and polls apart
        assert rate.throttled > 0 and rate.kept == 0, (rate.cuts, rate.kept, rate.undone)
        assert rate.rate is None or rate._trial is not None, rate.rate  # no cut left standing
    # Each trial holds starts or polls below their pace for 40 answers (the bench measures what that
    # costs); kept cuts would make the batch many times slower.
    assert adaptive <= 2 * plain + 1.0, (adaptive, plain)


def test_batch_adaptive_only_if_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flowdeck batch paces its starts adaptively only with --adaptive-rate."""
    from flowdeck._cli import app, batch_run
    from typer.testing import CliRunner

    from tests._cli import jsonl

    built: list[bool] = []

    class Recorded(AsyncClient):  # the real client, noting how the command built it
        def __init__(self, **options: Any) -> None:
            built.append(options.get("adaptive_rate", False))
            super().__init__(**options)

    monkeypatch.setattr(batch_run, "AsyncClient", Recorded)
    inputs = jsonl(tmp_path / "in.jsonl", [{"row": str(i)} for i in range(3)])
    with MockProviders(MockConfig(seed=7)) as mocks:
        for key, value in mocks.env.items():
            monkeypatch.setenv(key, value)
        for n, flags in enumerate(([], ["--no-adaptive-rate"], ["--adaptive-rate"])):
            args = ["batch", "databar:flow/q", str(inputs), "--out", str(tmp_path / f"out{n}.jsonl"), *flags]
            result = CliRunner().invoke(app, [*args, "--json"])
            assert json.loads(result.stdout)["statuses"] == {"SUCCEEDED": 3}, result.output
    assert built == [False, False, True]  # off by default (README: what it costs under random 429s)
    help_text = CliRunner().invoke(app, ["batch", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--adaptive-rate" in help_text
