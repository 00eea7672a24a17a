"""What every mock provider shares: clock, seeded outcomes, run records, start counter, fault injection."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Outcome = str  # "succeed" | "fail" | "cancel"
# A status word's meaning to a mock: running, succeed, fail, cancel, expired.
Kind = str

# `status-<word>` in a workflow id scripts a run's word (MockConfig).
_SCRIPTED = re.compile(r"status-([A-Za-z0-9_]+)")


def scripted_status(workflow: str, inputs: Any) -> str | None:
    """The status word a run was scripted to show: an input ``mock_status``, else ``status-<word>`` in the id.

    >>> scripted_status("flow/demo-status-partially_completed", {})
    'partially_completed'
    >>> scripted_status("flow/plain", {"mock_status": "no_data"})
    'no_data'
    >>> scripted_status("flow/plain", {}) is None
    True
    """
    if isinstance(inputs, dict) and isinstance(inputs.get("mock_status"), str) and inputs["mock_status"]:
        return str(inputs["mock_status"])
    match = _SCRIPTED.search(workflow)
    return match.group(1) if match else None


FAULT_KINDS = ("500", "502", "503", "504", "429", "drop_before", "drop_after", "truncated", "nonjson", "slow")
"""Every kind of fault :class:`Faults` can inject."""


# Why a value is refused (None: fine). The CLI and the validators below
# share them, so both accept the same values.
def share_problem(value: float) -> str | None:
    """Why ``value`` is not a share (of requests or runs) from 0 to 1, if it is not.

    >>> share_problem(0.25) is None, share_problem(2.0)
    (True, 'is not between 0 and 1')
    """
    return None if 0 <= value <= 1 else "is not between 0 and 1"  # NaN fails both comparisons


def seconds_problem(value: float) -> str | None:
    """Why ``value`` is not a finite number of seconds, 0 or more, if it is not.

    >>> seconds_problem(-1)
    'must be 0 or more seconds'
    """
    return None if value >= 0 and value != float("inf") else "must be 0 or more seconds"


def quota_problem(value: float) -> str | None:
    """Why ``value`` is not a start quota (starts per second, more than 0), if it is not.

    0 would refuse every start with a 429 forever.

    >>> quota_problem(0)
    'must be more than 0 starts per second'
    """
    return None if 0 < value < float("inf") else "must be more than 0 starts per second"


def credits_problem(value: float) -> str | None:
    """Why ``value`` is not a Databar credit balance (a finite number, 0 or more), if it is not.

    >>> credits_problem(-5)
    'must be 0 or more credits'
    """
    return None if 0 <= value < float("inf") else "must be 0 or more credits"  # NaN fails both comparisons


def flow_id_problem(flow: str) -> str | None:
    """Why ``flow`` is not a Databar flow id whose inputs the mocks can declare, if it is not.

    >>> flow_id_problem("gumloop:x")
    'is not a Databar flow id: only Databar publishes declared inputs (databar:flow/<id>)'
    """
    if flow and ":" not in flow and "/" not in flow:
        return None
    return "is not a Databar flow id: only Databar publishes declared inputs (databar:flow/<id>)"


def _flows_problem(flows: dict[str, dict[str, bool]]) -> str | None:
    bad = next((flow for flow in flows if flow_id_problem(flow)), None)
    return None if bad is None else f"names {bad!r}, which {flow_id_problem(bad)}"


def kinds_problem(kinds: tuple[str, ...]) -> str | None:
    """Why ``kinds`` is not a non-empty tuple of :data:`FAULT_KINDS`, if it is not.

    >>> kinds_problem(("429", "drop_before")) is None
    True
    >>> kinds_problem(("drop-before",))  # doctest: +ELLIPSIS
    "has unknown kind 'drop-before'; the kinds are: 500, 502, ..., slow"
    """
    valid = ", ".join(FAULT_KINDS)
    if isinstance(kinds, str):  # ("429") is a string, not a tuple
        return f"is a string, not a tuple of kinds (write ({kinds!r},)); the kinds are: {valid}"
    if not kinds:
        return f"is empty; give at least one of: {valid}"
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        return f"has unknown kind{plural} {', '.join(map(repr, unknown))}; the kinds are: {valid}"
    return None


def _run_seconds_problem(value: tuple[float, float]) -> str | None:
    lo, hi = value
    return seconds_problem(lo) or seconds_problem(hi) or ("has its shortest above its longest" if lo > hi else None)


def _optional(problem: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda value: None if value is None else problem(value)


def _checked(problem: Callable[[Any], str | None]) -> Callable[[Any, Any, Any], None]:
    """An attrs validator: ValueError naming the class, the field and the value."""

    def check(instance: Any, attribute: Any, value: Any) -> None:
        if (why := problem(value)) is not None:
            raise ValueError(f"{type(instance).__name__}: {attribute.name}={value!r} {why}")

    return check


class MockClock:
    """The mocks' notion of time: real by default; ``advance()`` jumps it (24-hour expiry in a test)."""

    def __init__(self, frozen_at: float | None = None) -> None:
        self._offset = 0.0
        self._frozen_at = frozen_at  # moves only by advance(): deterministic
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds on this clock."""
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else time.time()
            return base + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        with self._lock:
            self._offset += seconds


@attrs.define
class Faults:
    """Fault injection: on a ``rate`` share of requests, one of ``kinds`` happens (seeded).

    Kinds: ``500 502 503 504`` (status), ``429`` (with ``Retry-After: retry_after``), ``drop_before``
    (connection dropped, request not processed), ``drop_after`` (processed, then dropped mid-response),
    ``truncated`` (processed; 200 with half a JSON body), ``nonjson`` (200 HTML page, not processed),
    ``slow`` (processed, answered after ``slow_seconds``: a read timeout for a client with a shorter one).
    ``latency`` adds that many seconds to every response, give or take up to ``jitter`` (uniform, seeded),
    like a round trip over a network. The wait is asynchronous: other requests are served meanwhile.
    """

    rate: float = attrs.field(default=0.0, validator=_checked(share_problem))
    kinds: tuple[str, ...] = attrs.field(default=FAULT_KINDS, validator=_checked(kinds_problem))
    retry_after: int = attrs.field(default=0, validator=_checked(seconds_problem))
    latency: float = attrs.field(default=0.0, validator=_checked(seconds_problem))
    jitter: float = attrs.field(default=0.0, validator=_checked(seconds_problem))
    slow_seconds: float = attrs.field(default=0.5, validator=_checked(seconds_problem))
    injected: Counter[str] = attrs.field(factory=Counter)

    def __attrs_post_init__(self) -> None:
        if self.jitter > self.latency:  # a response cannot come back early
            raise ValueError(f"Faults: jitter={self.jitter!r} is more than latency={self.latency!r}")


@attrs.define
class MockConfig:
    """Knobs shared by the four mocks, and how a test scripts what a run does.

    Scripted workflow ids (any provider, wherever the id is free text):

    - an id containing ``fail`` fails, ``cancel`` ends cancelled, ``missing`` is unknown (the
      provider's documented answer for an unknown workflow: 404, or 400 for Gumloop);
    - ``status-<word>`` in the id makes the run show that provider status word: a word the provider
      documents as in-progress (Databar ``no_data``, Gumloop ``STARTED``, SuperAI ``queued``...) is
      shown while the run runs, then it succeeds; any other word (documented or new) is shown once it
      ends. ``databar:flow/x-status-partially_completed``, ``gumloop:f-status-TERMINATING``,
      ``stackai:o/f-status-NEW_WORD``.
    - SuperAI flow ids are UUIDs: the scripted flow UUIDs are listed in
      :data:`flowdeck.testing.SUPERAI_SCRIPTED_FLOWS`.

    Per row, the inputs ``mock_status`` (a status word, as above) and ``mock_outcome`` (``"fail"`` or
    ``"cancel"``) do the same. Otherwise ``failure_rate`` (seeded) decides. Every documented status and
    error, with its trigger and what the facade makes of it, is in :func:`flowdeck.testing.conventions`.

    ``run_seconds`` is how long runs take on the mock clock (a uniform range). ``databar_credits`` is
    the Databar balance (``None``: unlimited): a run reserves 1 credit when it starts and keeps it if it
    completes; a failed or cancelled run gives it back; a start with less than 1 left answers 406.
    ``databar_flows`` declares flows' inputs (flow id -> {input id: required}); a run of a declared
    flow missing a required input answers 400. Undeclared flows take any inputs. ``start_quota`` is how
    many starts per second each mock accepts (a bucket holding one second's worth, like a provider's
    quota); a start beyond it is answered 429 with ``Retry-After: 1``. ``gumloop_accounts``
    adds Gumloop API keys (key -> user id) next to ``gumloop_key``; ``gumloop_projects`` maps project
    ids to their member users. A user reads only its own runs, or its projects' runs.
    """

    seed: int = 0
    run_seconds: tuple[float, float] = attrs.field(default=(0.0, 0.0), validator=_checked(_run_seconds_problem))
    failure_rate: float = attrs.field(default=0.0, validator=_checked(share_problem))
    databar_key: str = "mock-databar-key"
    databar_credits: float | None = attrs.field(default=None, validator=_checked(_optional(credits_problem)))
    databar_flows: dict[str, dict[str, bool]] = attrs.field(factory=dict, validator=_checked(_flows_problem))
    stackai_key: str = "mock-stackai-key"
    gumloop_key: str = "mock-gumloop-key"
    gumloop_user: str = "mock-user"
    gumloop_accounts: dict[str, str] = attrs.field(factory=dict)
    gumloop_projects: dict[str, tuple[str, ...]] = attrs.field(factory=lambda: {"mock-project": ("mock-user",)})
    superai_email: str = "mock@example.com"
    superai_password: str = "mock-superai-password"
    superai_token: str = "mock-superai-token"
    faults: Faults = attrs.field(factory=Faults)
    start_quota: float | None = attrs.field(default=None, validator=_checked(_optional(quota_problem)))


class QuotaExceeded(Exception):
    """A start beyond the mock's ``start_quota``: answered 429 with ``Retry-After: 1``."""


@attrs.define
class RunRecord:
    """One run a mock started."""

    id: str
    workflow: str
    inputs: Any
    created: float
    duration: float
    outcome: Outcome
    cancelled_at: float | None = None
    script: str | None = None  # the word scripted for it (MockConfig)
    extra: dict[str, Any] = attrs.field(factory=dict)

    def phase(self, now: float) -> str:
        """``running``, or the outcome once the duration has passed (``cancelled`` once cancelled)."""
        if self.cancelled_at is not None:
            return "cancelled"
        return self.outcome if now >= self.created + self.duration else "running"

    def finished_at(self) -> float:
        """When the run ended (or will)."""
        return self.cancelled_at if self.cancelled_at is not None else self.created + self.duration

    def word(self, now: float, default: str, kinds: Mapping[str, Kind]) -> str:
        """The status word to show: ``default`` (the mock's word for this phase) unless scripted.

        A scripted in-progress word replaces the running word; any other scripted word replaces the
        word the run ends with (not a cancel asked for through the API).
        """
        if self.script is None or self.cancelled_at is not None:
            return default
        running = self.phase(now) == "running"
        return self.script if (kinds.get(self.script) == "running") == running else default


class MockState:
    """A mock's runs, seeded randomness and counters. Thread-safe (the server runs in its own thread)."""

    def __init__(self, provider: str, config: MockConfig, clock: MockClock) -> None:
        self.provider = provider
        self.config = config
        self.clock = clock
        self.runs: dict[str, RunRecord] = {}
        self.starts: Counter[str] = Counter()  # starts processed, per workflow + inputs
        self.calls: Counter[str] = Counter()  # requests answered, per operation
        self._rng = random.Random(f"{config.seed}:{provider}")
        self._lock = threading.Lock()
        self._seq = 0
        self.throttled = 0  # starts refused by start_quota
        self.delayed = 0  # responses held back by faults.latency and jitter
        self.delayed_seconds = 0.0
        self.connections = 0  # accepted by the server, counted before any TLS handshake
        self.in_flight = 0  # requests being answered, and the most at once
        self.peak_in_flight = 0
        self.handshakes = 0  # TLS handshakes completed
        self._quota_tokens = config.start_quota or 0.0
        self._quota_at = clock.now()

    @property
    def start_count(self) -> int:
        """How many runs this mock has started."""
        return sum(self.starts.values())

    def duplicate_starts(self) -> dict[str, int]:
        """Start keys (workflow + inputs) started more than once."""
        return {key: n for key, n in self.starts.items() if n > 1}

    def new_id(self, prefix: str = "") -> str:
        """A deterministic id (same seed, same sequence)."""
        with self._lock:
            self._seq += 1
            digest = hashlib.sha256(f"{self.config.seed}:{self.provider}:{self._seq}".encode()).hexdigest()
        return (
            prefix + digest[:8] + "-" + digest[8:12] + "-4" + digest[13:16] + "-8" + digest[17:20] + "-" + digest[20:32]
        )

    def start(
        self,
        workflow: str,
        inputs: Any,
        prefix: str = "",
        *,
        kinds: Mapping[str, Kind] | None = None,
        script: str | None = None,
        **extra: Any,
    ) -> RunRecord:
        """Record a new run and decide its fate (``kinds``: the provider's status words, for scripts)."""
        script = script or scripted_status(workflow, inputs)
        kind = (kinds or {}).get(script or "")
        with self._lock:
            if (quota := self.config.start_quota) is not None:
                now = self.clock.now()
                self._quota_tokens = min(quota, self._quota_tokens + (now - self._quota_at) * quota)
                self._quota_at = now
                if self._quota_tokens < 1:
                    self.throttled += 1
                    raise QuotaExceeded(f"more than {quota:g} starts per second")
                self._quota_tokens -= 1
            lo, hi = self.config.run_seconds
            duration = self._rng.uniform(lo, hi)
            hint = str(inputs.get("mock_outcome", "")) if isinstance(inputs, dict) else ""
            if kind in ("fail", "cancel"):
                outcome = kind
            elif kind is not None:
                outcome = "succeed"
            elif "fail" in workflow or hint == "fail":
                outcome = "fail"
            elif "cancel" in workflow or hint == "cancel":
                outcome = "cancel"
            else:
                outcome = "fail" if self._rng.random() < self.config.failure_rate else "succeed"
            self.starts[f"{workflow} {json.dumps(inputs, sort_keys=True, default=str)}"] += 1
        record = RunRecord(
            self.new_id(prefix), workflow, inputs, self.clock.now(), duration, outcome, script=script, extra=extra
        )
        with self._lock:
            self.runs[record.id] = record
        return record

    def delay(self) -> float:
        """Seconds the next response waits: ``faults.latency`` give or take ``faults.jitter`` (seeded), counted."""
        faults = self.config.faults
        seconds = max(0.0, faults.latency + faults.jitter * (2 * self.roll() - 1)) if faults.jitter else faults.latency
        with self._lock:
            self.delayed += 1
            self.delayed_seconds += seconds
        return seconds

    def roll(self) -> float:
        """A seeded random number in [0, 1)."""
        with self._lock:
            return self._rng.random()

    def pick(self, kinds: tuple[str, ...]) -> str:
        """A seeded choice."""
        with self._lock:
            return self._rng.choice(kinds)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """A JSON response."""
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


async def json_body(request: Request) -> Any:
    """The request's JSON body, or a sentinel ``_INVALID`` when it is not JSON."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw else _INVALID
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _INVALID


_INVALID = object()


def is_invalid(value: Any) -> bool:
    """True for the 'not JSON' sentinel."""
    return value is _INVALID


Handler = Callable[[Request], Awaitable[Response]]


def not_found_handlers(make_body: Callable[[str], Any]) -> dict[Any, Any]:
    """Starlette exception handlers: unknown paths/methods and starts over quota, in the provider's error shape."""

    async def handle(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        return json_response(make_body("Not Found" if status == 404 else "Method Not Allowed"), status)

    async def quota(request: Request, exc: Exception) -> Response:
        return json_response(make_body(f"rate limit exceeded: {exc}"), 429, {"Retry-After": "1"})

    return {404: handle, 405: handle, QuotaExceeded: quota}


class FaultInjector:
    """ASGI middleware applying :class:`Faults` before or after the wrapped app.

    ``error_body`` makes an injected error status's body in the provider's own error shape.
    """

    def __init__(self, app: ASGIApp, state: MockState, error_body: Callable[[str], Any]) -> None:
        self.app = app
        self.state = state
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state  # one event loop: no lock
        state.in_flight += 1
        state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
        try:
            await self._answer(scope, receive, send)
        finally:
            state.in_flight -= 1

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.state.config.faults
        if faults.latency or faults.jitter:
            await asyncio.sleep(self.state.delay())
        kind = self.state.pick(faults.kinds) if faults.rate and self.state.roll() < faults.rate else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        faults.injected[kind] += 1
        if kind.isdigit():
            headers = {"Retry-After": str(faults.retry_after)} if kind == "429" else {}
            await json_response(self.error_body(f"injected {kind}"), int(kind), headers)(scope, receive, send)
        elif kind == "nonjson":
            await Response("<html><body>502 Bad Gateway</body></html>", 200, media_type="text/html")(
                scope, receive, send
            )
        elif kind == "drop_before":
            await _drop(send)
        elif kind == "slow":
            await self.app(scope, receive, _delayed(send, faults.slow_seconds))
        else:  # processed, the answer damaged
            captured: list[Message] = []

            async def capture(message: Message) -> None:
                captured.append(message)

            await self.app(scope, receive, capture)
            body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
            if kind == "truncated":
                await Response(body[: len(body) // 2], 200, media_type="application/json")(scope, receive, send)
            else:
                await _drop(send)


def _delayed(send: Send, seconds: float) -> Send:
    async def delayed(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(seconds)
        with contextlib.suppress(OSError):  # the client gave up, as intended
            await send(message)

    return delayed


async def _drop(send: Send) -> None:
    # Send part of the promised body, then close mid-response.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
    await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
    raise ConnectionAbortedError("injected connection drop")
