"""``Client`` and ``AsyncClient``: the same surface over one shared core; only the I/O edge differs."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, Unpack

import attrs
import httpx

from flowdeck import _providers
from flowdeck._core import Call, Op, Sleep, error_for_transport, finish
from flowdeck._errors import ClientStateError, FlowdeckError, InvalidRequestError
from flowdeck._lifecycle import (
    DurationHints,
    EventHook,
    Failures,
    PollPolicy,
    Scheduler,
    Waiter,
    outcome,
    raise_failures,
    settle_or_fail,
    wait_op,
)
from flowdeck._models import Run, WorkflowRef
from flowdeck._providers import AsyncNamespaces, Namespaces, check_credentials, parse_ref
from flowdeck._secrets import Secret
from flowdeck._transport import (
    MAX_BODY_BYTES,
    MAX_BODY_SECONDS,
    START_KEEPALIVE,
    AsyncRetryTransport,
    AsyncStartsApart,
    CallPolicy,
    RetryTransport,
    ShardedAsyncTransport,
    SlotTransport,
    StartsApart,
    build_request,
    call_policy,
    env_ssl_context,
    recording,
)

if TYPE_CHECKING:
    import ssl

    from flowdeck._adaptive import AdaptiveRate
    from flowdeck._aiohttp import AiohttpTransport
    from flowdeck._config import ProviderConfig
    from flowdeck._har import Recorder, Recording
    from flowdeck._providers import Adapter, Credentials

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_WAIT_TIMEOUT = 3600.0
# One request at a time per thread: a small pool is enough. The async
# client's pools are small because httpcore checks every idle connection
# of a pool on each request (see ShardedAsyncTransport).
SYNC_CONNECTIONS = 16
PER_SHARD = 4


def _sync_transport(tls: ssl.SSLContext | None = None) -> StartsApart:
    # Starts never go out on a connection a server may be closing.
    return StartsApart(
        SlotTransport(SYNC_CONNECTIONS, tls=tls),
        SlotTransport(SYNC_CONNECTIONS, keepalive_expiry=START_KEEPALIVE, tls=tls),
    )


def _async_transport(max_concurrent_requests: int, tls: ssl.SSLContext | None = None) -> AsyncStartsApart:
    shards = -(-max_concurrent_requests // PER_SHARD)  # a slot for every request let through
    return AsyncStartsApart(
        ShardedAsyncTransport(shards=shards, per_shard=PER_SHARD, tls=tls),
        ShardedAsyncTransport(shards=shards, per_shard=PER_SHARD, keepalive_expiry=START_KEEPALIVE, tls=tls),
    )


def _adopt(http: httpx.Client) -> httpx.Client:
    """A user's ``http_client``, with flowdeck's retry transport around each of its transports.

    Without it, a user's client would drop retries and the rule that a start is retried only when it
    certainly never reached the provider. Requests the user sends through the same client outside
    flowdeck pass through untouched (see flowdeck._transport).
    """
    if not isinstance(http, httpx.Client):
        raise InvalidRequestError(f"http_client must be an httpx.Client for flowdeck.Client, not {type(http).__name__}")

    # httpx has no public way to wrap a built client's transports; the
    # pinned httpx keeps them here: a default one and one per mount.
    def wrap(t: httpx.BaseTransport) -> httpx.BaseTransport:
        return t if isinstance(t, RetryTransport) else RetryTransport(t)

    http._transport = wrap(http._transport)
    http._mounts = {pattern: None if t is None else wrap(t) for pattern, t in http._mounts.items()}
    return http


def _adopt_async(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """:func:`_adopt` for ``AsyncClient``'s ``http_client``."""
    if not isinstance(http, httpx.AsyncClient):
        raise InvalidRequestError(
            f"http_client must be an httpx.AsyncClient for flowdeck.AsyncClient, not {type(http).__name__}"
        )

    def wrap(t: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return t if isinstance(t, AsyncRetryTransport) else AsyncRetryTransport(t)

    http._transport = wrap(http._transport)
    http._mounts = {pattern: None if t is None else wrap(t) for pattern, t in http._mounts.items()}
    return http


# A smaller cap would refuse starts' answers once the run may have begun.
MIN_RESPONSE_BYTES = 64 * 1024
MAX_TIMEOUT = 86_400


def check_options(**options: object) -> None:
    """Refuse a client option that cannot work, naming it and its value; run once per client (and copy).

    Checked here, not where the option is used: a negative or NaN ``timeout`` would otherwise fail
    inside httpx with a raw ``ValueError``, and a tiny response cap only after a paid run was started.
    ``timeout`` is a number of seconds up to a day: ``None`` and ``inf`` (httpx's "no timeout") are
    refused, because a request that can wait forever is how a client stalls without a sound (waiting
    for a run without a deadline is ``wait_timeout=None``).

    >>> check_options(timeout=30, max_retries=2)
    >>> check_options(timeout=-1)
    Traceback (most recent call last):
    flowdeck.InvalidRequestError: timeout must be a number of seconds > 0 and <= 86,400, not -1
    """
    for name, value in options.items():
        if name in ("max_retries", "max_concurrent_requests", "max_response_bytes"):
            least = {"max_retries": 0, "max_concurrent_requests": 1, "max_response_bytes": MIN_RESPONSE_BYTES}[name]
            if not _is_int(value) or value < least:  # type: ignore[operator]  # an int, once _is_int says so
                raise InvalidRequestError(f"{name} must be a whole number >= {least:,}, not {_shown(value)}")
        elif name == "wait_timeout":
            # inf means no deadline, as None does; NaN says it less plainly.
            if value is not None and not (_is_number(value) and value >= 0):  # type: ignore[operator]
                raise InvalidRequestError(f"wait_timeout must be a number of seconds >= 0 or None, not {_shown(value)}")
        elif name == "timeout":
            # A day: beyond any provider's answer, below where asyncio's
            # and the socket layer's clocks overflow.
            if not (_is_number(value) and 0 < value <= MAX_TIMEOUT):  # type: ignore[operator]
                why = " (flowdeck never sends a request without a time limit)" if value in (None, float("inf")) else ""
                raise InvalidRequestError(
                    f"timeout must be a number of seconds > 0 and <= {MAX_TIMEOUT:,}, not {_shown(value)}{why}"
                )
        elif not (_is_number(value) and 0 < value < float("inf")):  # type: ignore[operator]  # max_response_seconds
            raise InvalidRequestError(f"{name} must be a positive, finite number of seconds, not {_shown(value)}")


def check_base_urls(base_urls: object) -> None:
    """Refuse a key of ``base_urls`` no provider has (a typo would leave the provider's real URL in use).

    A provider's API URL is named after it, so those keys cost nothing to check. Another key
    (``superai_auth``) loads the provider its name starts with to read its URL names; an unknown key
    loads them all, to name every key there is.

    >>> check_base_urls({"databar": "https://eu.databar.ai", "superai_auth": "https://auth.example"})
    >>> check_base_urls({"databr": "https://eu.databar.ai"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    flowdeck.InvalidRequestError: ... named 'databr' (did you mean 'databar'?); the names are: databar, ...
    """
    if base_urls is None:
        return
    if not isinstance(base_urls, Mapping):
        raise InvalidRequestError(f"base_urls must be a mapping of URL name to URL, not {_shown(base_urls)}")
    providers = _providers.names()
    for key, url in base_urls.items():
        if not isinstance(url, str):
            raise InvalidRequestError(f"base_urls[{key!r}] must be a URL string, not {type(url).__name__}")
        if key in providers:
            continue
        owners = [p for p in providers if isinstance(key, str) and key.startswith(f"{p}_")]
        if any(key == u.name for p in owners for u in _providers.get(p).config.urls):
            continue
        import difflib  # only to word this error

        names = sorted({u.name for p in providers for u in _providers.get(p).config.urls})
        close = difflib.get_close_matches(str(key), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidRequestError(
            f"base_urls: no provider has a URL named {key!r}{hint}; the names are: {', '.join(names)}"
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    # timeout=True is a mistake, not one second.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _aiohttp_transport(tls: ssl.SSLContext) -> AiohttpTransport:
    """flowdeck's aiohttp transport, or a one-line error naming the extra to install."""
    try:
        from flowdeck._aiohttp import AiohttpTransport
    except ModuleNotFoundError as exc:
        from flowdeck._extras import install_hint  # an error path: not loaded with flowdeck

        raise InvalidRequestError(install_hint('http_backend="aiohttp"', "aiohttp", exc.name)) from None
    return AiohttpTransport(tls)


def _recorder(path: str | os.PathLike[str] | None) -> Recorder | None:
    """The HAR recorder of ``record=`` (or ``FLOWDECK_RECORD``), or a one-line error naming the file."""
    if path is None:
        return None
    from flowdeck._har import HarError, Recorder

    try:
        return Recorder(path)
    except (OSError, HarError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidRequestError(f"record: cannot record to {os.fspath(path)}: {reason}") from None


class _ClientState:
    """Whether a client (and every ``with_options()`` copy, which share this) is closed, and for
    ``AsyncClient`` the event loop its connections belong to (the first one it was used in)."""

    __slots__ = ("closed", "kind", "loop")  # not attrs: an attrs class costs import time

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.closed = False
        self.loop: object = None

    def check_open(self) -> None:
        if self.closed:
            raise ClientStateError(f"this flowdeck.{self.kind} has been closed; make a new one to send requests")

    def enter(self, loop: object) -> None:
        """Called when a call runs in a loop other than ``self.loop``: bind to it at first use, else refuse."""
        self.check_open()
        if self.loop is not None:
            raise ClientStateError(
                f"this flowdeck.{self.kind} was first used in another event loop (an earlier asyncio.run()?), "
                "whose connections it holds: make the client inside the asyncio.run() that uses it, one per loop"
            )
        self.loop = loop


class _BaseClient:
    """What both clients share: configuration, adapters, namespaces, call policies and the lifecycle ops.

    Each provider's configuration is read from the registry's declaration when the provider is
    first used, from explicit arguments and a snapshot of the environment taken here.
    """

    _namespace_index = 0

    def __init__(
        self,
        *,
        credentials: Mapping[str, Any],
        base_urls: Mapping[str, str] | None,
        timeout: float,
        max_retries: int,
        poll_policy: PollPolicy | None,
        wait_timeout: float | None,
        on_status_change: EventHook | None,
        allow_insecure_http: bool,
        max_response_bytes: int,
        max_response_seconds: float,
        env: Mapping[str, str] | None,
        clock: Callable[[], float],
        record: str | os.PathLike[str] | None,
    ) -> None:
        check_options(
            timeout=timeout,
            max_retries=max_retries,
            wait_timeout=wait_timeout,
            max_response_bytes=max_response_bytes,
            max_response_seconds=max_response_seconds,
        )
        check_base_urls(base_urls)
        self._state = _ClientState(type(self).__name__)
        self._env = dict(os.environ if env is None else env)
        self._explicit: dict[str, str | Secret | None] = dict(credentials)
        self._base_urls = dict(base_urls or {})
        self._allow_insecure_http = allow_insecure_http
        self._configs: dict[str, ProviderConfig] = {}
        self._adapters: dict[str, Adapter] = {}
        self._namespaces: dict[str, object] = {}
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._max_retries = max_retries
        self._poll = poll_policy or PollPolicy()
        self._durations = DurationHints()
        self._wait_timeout = wait_timeout
        self._on_change = on_status_change
        self._clock = clock
        self._policy = CallPolicy(max_body_bytes=max_response_bytes, max_body_seconds=max_response_seconds)
        self._policies: dict[tuple[bool, int, AdaptiveRate | None], CallPolicy] = {}
        self._recorder = _recorder(record if record is not None else self._env.get("FLOWDECK_RECORD") or None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(providers={list(_providers.names())}, max_retries={self._max_retries})"

    def config(self, provider: str) -> ProviderConfig:
        """The configuration of ``provider`` as this client sees it (secrets stay :class:`~flowdeck.Secret`)."""
        if provider not in self._configs:
            self._configs[provider] = _providers.get(provider).configure(
                self._env,
                explicit=self._explicit,
                base_urls=self._base_urls,
                allow_insecure_http=self._allow_insecure_http,
            )
        return self._configs[provider]

    def adapter(self, provider: str) -> Adapter:
        """The adapter of ``provider``, created at first use (that is when a missing credential is reported)."""
        if provider not in self._adapters:
            self._adapters[provider] = _providers.get(provider).make_adapter(self.config(provider), self._clock)
        return self._adapters[provider]

    if not TYPE_CHECKING:  # so a misspelt attribute stays a type error

        def __getattr__(self, name: str) -> object:
            """``client.<provider>``: the provider's own operations, built at first use."""
            if name.startswith("_") or name not in _providers.names():
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            if name not in self._namespaces:
                spec = _providers.get(name)
                if spec.namespaces is None:
                    raise AttributeError(f"{name} has no operations of its own; use start/wait/cancel")
                self._namespaces[name] = spec.namespaces[self._namespace_index](self)
            return self._namespaces[name]

    def _call_policy(self, call: Call[Any]) -> CallPolicy:
        rate = self._rate_for(call)
        key = (call.starts_run, self._max_retries, rate)
        # One frozen policy per kind of call, not one per request.
        if (policy := self._policies.get(key)) is None:
            policy = self._policies[key] = attrs.evolve(
                self._policy, idempotent=not call.starts_run, max_retries=self._max_retries, rate=rate
            )
        return policy

    def _recording(self, call: Call[Any]) -> Recording | None:
        """What records ``call``'s attempts (``record=``), or None when this client does not record."""
        if self._recorder is None:
            return None
        from flowdeck._har import Recording

        config = self.config(call.provider)
        # Settings the registry declares secret or sent in a header.
        values = [config.get(s.key) for s in config.spec.settings if s.secret or s.header]
        secrets = (*call.secrets, *(v for v in values if v))
        return Recording(self._recorder, secrets, call.provider, call.operation)

    def _rate_for(self, call: Call[Any]) -> AdaptiveRate | None:
        """The adaptive pace of ``call``'s kind of request (the async client's; the sync one has none)."""
        return None

    def _bind(self) -> None:
        """Forget namespaces bound to another client (a copy made by :meth:`with_options` builds its own)."""
        self._namespaces = {}

    def with_options(self, *, max_retries: int | None = None, timeout: float | None = None) -> Self:
        """A client sharing this one's connections, credentials and concurrency limit, with other retry or
        timeout settings.

        >>> run = client.start("gumloop:weekly-digest", {"topic": "pricing"})
        >>> client.with_options(max_retries=0).refresh(run).status
        <Status.SUCCEEDED: 'SUCCEEDED'>
        """
        check_options(**{k: v for k, v in (("max_retries", max_retries), ("timeout", timeout)) if v is not None})
        clone = copy.copy(self)
        if max_retries is not None:
            clone._max_retries = max_retries
        if timeout is not None:
            clone._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        clone._bind()  # the namespaces must call the clone, not this client
        return clone

    def _waiter(self, run: Run, timeout: float | None) -> Waiter:
        if timeout is not None and not (_is_number(timeout) and timeout >= 0):
            raise InvalidRequestError(f"timeout must be a number of seconds >= 0 or None, not {_shown(timeout)}")
        limit = self._wait_timeout if timeout is None else timeout
        deadline = None if limit is None else self._clock() + limit
        return Waiter(run, self._poll, deadline, self._on_change, durations=self._durations)

    def _start_op(self, ref: str | WorkflowRef, inputs: Mapping[str, Any] | None) -> Op[Run]:
        parsed = parse_ref(ref)
        return self.adapter(parsed.provider).start(parsed, inputs or {})

    @staticmethod
    def _check_run(run: object) -> Run:
        if not isinstance(run, Run):
            raise InvalidRequestError(f"expected a flowdeck.Run, got {type(run).__name__}")
        return run


class Client(_BaseClient, Namespaces):
    """The synchronous client.

    Credentials (``databar_api_key``...) default to the environment (``DATABAR_API_KEY``...);
    ``base_urls`` overrides a provider's URL by name (``{"databar": "https://..."}``); ``env``
    replaces ``os.environ`` as the source. ``timeout`` is per HTTP request, ``wait_timeout`` the
    default deadline of :meth:`wait`; ``max_retries`` applies to requests that are safe to retry.
    ``on_status_change(old, new)`` is called when a waited run changes status. ``record`` (default:
    ``FLOWDECK_RECORD``) appends every exchange to a HAR 1.2 file, each credential replaced by
    ``FILTERED`` before it is written. Every option is a keyword: a misspelt one is a ``TypeError``,
    and an error for type checkers too.

    >>> from flowdeck.testing import MockProviders  # mock providers on loopback: pip install 'flowdeck[testing]'
    >>> with MockProviders() as mocks, Client(env=mocks.env) as client:
    ...     run = client.run("databar:flow/123", {"domain": "stripe.com"})
    >>> run.outputs["inputs"]
    {'domain': 'stripe.com'}
    """

    def __init__(
        self,
        *,
        base_urls: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        poll_policy: PollPolicy | None = None,
        wait_timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_status_change: EventHook | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_BODY_BYTES,
        max_response_seconds: float = MAX_BODY_SECONDS,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        record: str | os.PathLike[str] | None = None,
        **credentials: Unpack[Credentials],
    ) -> None:
        check_credentials(credentials, type(self).__name__)
        super().__init__(
            credentials=credentials,
            base_urls=base_urls,
            timeout=timeout,
            max_retries=max_retries,
            poll_policy=poll_policy,
            wait_timeout=wait_timeout,
            on_status_change=on_status_change,
            allow_insecure_http=allow_insecure_http,
            max_response_bytes=max_response_bytes,
            max_response_seconds=max_response_seconds,
            env=env,
            clock=clock,
            record=record,
        )
        # A user's http_client keeps its proxies, mounts and hooks; flowdeck's
        # own connections skip httpx's client layer (see build_request).
        self._http: httpx.Client | httpx.BaseTransport = (
            RetryTransport(_sync_transport(env_ssl_context(self._env))) if http_client is None else _adopt(http_client)
        )
        self._sleep = sleep

    def drive(self, op: Op[T]) -> T:
        """Carry out an operation's instructions with blocking I/O; returns its result."""
        self._state.check_open()
        result: Any = None
        try:
            instruction = next(op)
            while True:
                try:
                    if isinstance(instruction, Sleep):
                        self._sleep(instruction.seconds)
                        result = None
                    else:
                        result = self._execute(instruction)
                except FlowdeckError as exc:
                    instruction = op.throw(exc)
                    continue
                instruction = op.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    def _execute(self, call: Call[T]) -> T:
        # No local holds the request: a traceback shown with its locals
        # would print the credentials in its headers.
        with call_policy(self._call_policy(call)), recording(self._recording(call)):
            try:
                response = self._send(call.request_kwargs(self._timeout))
            except httpx.TransportError as exc:
                raise error_for_transport(call, exc) from exc
        return finish(call, response)

    def _send(self, kwargs: dict[str, Any]) -> httpx.Response:
        if isinstance(self._http, httpx.Client):
            return self._http.request(**kwargs)
        request = build_request(kwargs)
        response = self._http.handle_request(request)
        response.request = request
        response.read()  # already read by the retry transport
        return response

    def start(self, ref: str | WorkflowRef, inputs: Mapping[str, Any] | None = None) -> Run:
        """Start a workflow; returns the new run at once (already terminal for StackAI).

        >>> run = client.start("gumloop:weekly-digest", {"topic": "weekly"})
        >>> run.status, run.provider_status
        (<Status.PENDING: 'PENDING'>, 'STARTED')
        """
        return self.drive(self._start_op(ref, inputs))

    def refresh(self, run: Run) -> Run:
        """A newer snapshot of ``run``.

        >>> run = client.refresh(client.start("databar:flow/enrich", {"domain": "stripe.com"}))
        >>> run.provider_status
        'completed'
        """
        run = self._check_run(run)
        return self.drive(self.adapter(run.provider).refresh(run))

    def cancel(self, run: Run) -> Run:
        """Ask the provider to stop ``run`` (Databar, Gumloop); :class:`UnsupportedOperationError` elsewhere.

        >>> client.cancel(client.start("stackai:acme/support-bot", {"in-0": "hi"}))  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        UnsupportedOperationError: stackai does not support cancelling runs (runs are synchronous)
        """
        run = self._check_run(run)
        return self.drive(self.adapter(run.provider).cancel(run))

    def wait(self, run: Run, *, timeout: float | None = None, raise_on_failure: bool = True) -> Run:
        """Poll until ``run`` ends; raises RunFailed/RunCancelled/RunExpired unless ``raise_on_failure=False``.

        >>> done = client.wait(client.start("databar:flow/1", {"domain": "x.com"}), timeout=60)
        >>> done.outputs["inputs"]
        {'domain': 'x.com'}
        """
        run = self._check_run(run)
        final = self.drive(wait_op(self.adapter(run.provider), self._waiter(run, timeout), self._clock))
        return outcome(final) if raise_on_failure else final

    def run(
        self,
        ref: str | WorkflowRef,
        inputs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        raise_on_failure: bool = True,
    ) -> Run:
        """Start a workflow and wait for it: the one call most code needs.

        >>> run = client.run(f"superai:{flow_uuid}", {"document_url": "gs://b/f.pdf"})
        >>> run.status, "extract" in run.outputs
        (<Status.SUCCEEDED: 'SUCCEEDED'>, True)
        """
        return self.wait(self.start(ref, inputs), timeout=timeout, raise_on_failure=raise_on_failure)

    def as_completed(self, runs: Iterable[Run], *, timeout: float | None = None) -> Iterator[Run]:
        """Yield each run once it ends (or, at the deadline, as last seen), polling all under one scheduler.

        A run whose wait fails (a 404, an unknown status, polls failing past ``max_poll_errors``) is not
        yielded and does not stop the others: once every other run has been yielded,
        :class:`~flowdeck.WaitManyError` names each failed run and its error (``.failures``) and holds
        every run as last seen (``.runs``).

        >>> runs = [client.start("gumloop:digest", {"topic": t}) for t in ("a", "b")]
        >>> sorted(run.status.value for run in client.as_completed(runs, timeout=600))
        ['SUCCEEDED', 'SUCCEEDED']
        """
        scheduler, failures = Scheduler(), Failures()
        waiters = [self._waiter(self._check_run(r), timeout) for r in runs]
        yield from scheduler.begin(waiters, self._clock())
        while scheduler:
            now = self._clock()
            due = scheduler.due(now, limit=1000)
            if not due:
                self._sleep(max(scheduler.next_due() - now, 0.0))
                continue
            for waiter in due:
                outcome: Run | FlowdeckError
                try:
                    outcome = self.drive(self.adapter(waiter.run.provider).refresh(waiter.run))
                except ClientStateError:
                    raise  # the client's, not the run's: no run can be waited for
                except FlowdeckError as exc:
                    outcome = exc
                if (finished := settle_or_fail(scheduler, waiter, outcome, self._clock(), failures)) is not None:
                    yield finished
        raise_failures(waiters, failures)

    def wait_many(self, runs: Iterable[Run], *, timeout: float | None = None) -> list[Run]:
        """Wait for many runs at once; returns them in the given order (unfinished ones as last seen).

        Never raises for a run's outcome (FAILED, CANCELLED... are returned) nor for the deadline: runs
        not ended by then come back as last seen, after one poll each even with ``timeout=0``. If some
        run's wait fails (see :meth:`as_completed`), the others are still waited for, then
        :class:`~flowdeck.WaitManyError` is raised: ``.runs`` is the list this call would have returned,
        ``.failures`` each failed run with its error.

        >>> runs = [client.start("gumloop:digest", {"topic": t}) for t in ("a", "b")]
        >>> [run.status.value for run in client.wait_many(runs, timeout=0)]  # each polled once
        ['SUCCEEDED', 'SUCCEEDED']
        """
        runs = [self._check_run(r) for r in runs]
        by_key = {(r.provider, r.id): r for r in self.as_completed(runs, timeout=timeout)}
        return [by_key.get((r.provider, r.id), r) for r in runs]

    def close(self) -> None:
        """Close the connection pool; the client (and its ``with_options()`` copies) can send nothing more."""
        self._state.closed = True
        self._http.close()

    def __enter__(self) -> Client:
        self._state.check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_BaseClient, AsyncNamespaces):
    """The asyncio client: the same surface and options as :class:`Client`, every call awaited.

    ``max_concurrent_requests`` caps requests in flight at once. ``http_backend="aiohttp"`` (the
    ``[aiohttp]`` extra) sends them over aiohttp's connections instead of httpcore's, for a fraction
    of the CPU per request (the documentation's performance page has the figures); everything else
    stays the same.
    ``adaptive_rate=True`` paces each provider's starts (and, apart, its other requests) together
    once it refuses a share of them with 429 in a way slowing down helps: a quota, not random
    refusals (see flowdeck._adaptive).

    >>> import asyncio
    >>> from flowdeck.testing import MockProviders  # mock providers on loopback: pip install 'flowdeck[testing]'
    >>> async def enrich(env, rows):
    ...     async with AsyncClient(env=env) as client:
    ...         runs = [await client.start("databar:flow/1", row) for row in rows]
    ...         return await client.wait_many(runs)
    >>> with MockProviders() as mocks:
    ...     runs = asyncio.run(enrich(mocks.env, [{"domain": "a.com"}, {"domain": "b.com"}]))
    >>> [run.status for run in runs]
    [<Status.SUCCEEDED: 'SUCCEEDED'>, <Status.SUCCEEDED: 'SUCCEEDED'>]
    """

    _namespace_index = 1

    def __init__(
        self,
        *,
        base_urls: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        poll_policy: PollPolicy | None = None,
        wait_timeout: float | None = DEFAULT_WAIT_TIMEOUT,
        on_status_change: EventHook | None = None,
        allow_insecure_http: bool = False,
        max_response_bytes: int = MAX_BODY_BYTES,
        max_response_seconds: float = MAX_BODY_SECONDS,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        max_concurrent_requests: int = 64,
        http_backend: Literal["httpcore", "aiohttp"] = "httpcore",
        adaptive_rate: bool = False,
        record: str | os.PathLike[str] | None = None,
        **credentials: Unpack[Credentials],
    ) -> None:
        import asyncio

        check_credentials(credentials, type(self).__name__)

        check_options(max_concurrent_requests=max_concurrent_requests)
        if http_backend not in ("httpcore", "aiohttp"):
            raise InvalidRequestError(f"http_backend must be 'httpcore' or 'aiohttp', not {http_backend!r}")
        super().__init__(
            credentials=credentials,
            base_urls=base_urls,
            timeout=timeout,
            max_retries=max_retries,
            poll_policy=poll_policy,
            wait_timeout=wait_timeout,
            on_status_change=on_status_change,
            allow_insecure_http=allow_insecure_http,
            max_response_bytes=max_response_bytes,
            max_response_seconds=max_response_seconds,
            env=env,
            clock=clock,
            record=record,
        )
        # As in Client: only a user's http_client keeps its client layer.
        self._http: httpx.AsyncClient | httpx.AsyncBaseTransport
        # Calls on aiohttp skip httpx's request and response objects (_send).
        self._direct: AiohttpTransport | None = None
        if http_client is not None:
            self._http = _adopt_async(http_client)
        elif http_backend == "aiohttp":
            self._direct = _aiohttp_transport(env_ssl_context(self._env))
            self._http = AsyncRetryTransport(self._direct)
        else:
            self._http = AsyncRetryTransport(_async_transport(max_concurrent_requests, env_ssl_context(self._env)))
        self._sleep = sleep or asyncio.sleep
        self._running_loop = asyncio.get_running_loop  # kept: drive() asks on every call
        self._max_concurrent = max_concurrent_requests
        # One gate shared with every with_options() copy. A Semaphore binds
        # to an event loop only when a task first waits on it.
        self._gate = asyncio.Semaphore(max_concurrent_requests)
        # Per provider, shared with copies: a quota counts every task of
        # this client (see flowdeck._adaptive).
        self._rates: dict[tuple[str, bool], AdaptiveRate] = {}
        self._adaptive = adaptive_rate

    def _rate_for(self, call: Call[Any]) -> AdaptiveRate | None:
        if not self._adaptive:
            return None
        key = (call.provider, call.starts_run)
        if (rate := self._rates.get(key)) is None:
            # Opt-in: the module loads with the first rate, not with flowdeck.
            from flowdeck._adaptive import AdaptiveRate

            rate = self._rates[key] = AdaptiveRate()
        return rate

    async def drive(self, op: Op[T]) -> T:
        """Carry out an operation's instructions with asyncio; returns its result."""
        if self._state.loop is not (loop := self._running_loop()):
            self._state.enter(loop)  # binds the client to this loop, or raises
        result: Any = None
        try:
            instruction = next(op)
            while True:
                try:
                    if isinstance(instruction, Sleep):
                        await self._sleep(instruction.seconds)
                        result = None
                    else:
                        result = await self._execute(instruction)
                except FlowdeckError as exc:
                    instruction = op.throw(exc)
                    continue
                instruction = op.send(result)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _execute(self, call: Call[T]) -> T:
        # No local holds the request: a traceback shown with its locals
        # would print the credentials in its headers.
        policy = self._call_policy(call)
        rate, paced = policy.rate, False
        while True:
            if not paced and rate is not None and rate.rate is not None:
                await rate.acquire()  # before taking a slot: a paced start must not hold up polls
                paced = True
            async with self._gate:
                # Paced while it waited for a slot: back in line.
                if not paced and rate is not None and rate.rate is not None:
                    continue
                if rate is not None:
                    await rate.settle()
                try:
                    with recording(self._recording(call)):
                        response = await self._send(call.request_kwargs(self._timeout), policy)
                except httpx.TransportError as exc:
                    raise error_for_transport(call, exc) from exc
                break
        return finish(call, response)

    async def _send(self, kwargs: dict[str, Any], policy: CallPolicy) -> httpx.Response:
        if self._direct is not None:  # skips httpx's request objects
            return await self._direct.send(kwargs, policy)
        with call_policy(policy):  # for the retry transport below httpx's objects
            return await self._send_httpx(kwargs)

    async def _send_httpx(self, kwargs: dict[str, Any]) -> httpx.Response:
        if isinstance(self._http, httpx.AsyncClient):
            return await self._http.request(**kwargs)
        request = build_request(kwargs)
        response = await self._http.handle_async_request(request)
        response.request = request
        await response.aread()  # already read by the retry transport
        return response

    async def start(self, ref: str | WorkflowRef, inputs: Mapping[str, Any] | None = None) -> Run:
        """Start a workflow; returns the new run at once (already terminal for StackAI)."""
        return await self.drive(self._start_op(ref, inputs))

    async def refresh(self, run: Run) -> Run:
        """A newer snapshot of ``run``."""
        run = self._check_run(run)
        return await self.drive(self.adapter(run.provider).refresh(run))

    async def cancel(self, run: Run) -> Run:
        """Ask the provider to stop ``run``; :class:`UnsupportedOperationError` where it cannot."""
        run = self._check_run(run)
        return await self.drive(self.adapter(run.provider).cancel(run))

    async def wait(self, run: Run, *, timeout: float | None = None, raise_on_failure: bool = True) -> Run:
        """Poll until ``run`` ends; raises RunFailed/RunCancelled/RunExpired unless ``raise_on_failure=False``."""
        run = self._check_run(run)
        final = await self.drive(wait_op(self.adapter(run.provider), self._waiter(run, timeout), self._clock))
        return outcome(final) if raise_on_failure else final

    async def run(
        self,
        ref: str | WorkflowRef,
        inputs: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        raise_on_failure: bool = True,
    ) -> Run:
        """Start a workflow and wait for it."""
        return await self.wait(await self.start(ref, inputs), timeout=timeout, raise_on_failure=raise_on_failure)

    async def as_completed(self, runs: Iterable[Run], *, timeout: float | None = None) -> AsyncIterator[Run]:
        """Yield each run once it ends (or, at the deadline, as last seen); polls run concurrently.

        A failed wait is reported as by :meth:`Client.as_completed`: after every other run,
        :class:`~flowdeck.WaitManyError`.
        """
        import asyncio

        scheduler, failures = Scheduler(), Failures()
        waiters = [self._waiter(self._check_run(r), timeout) for r in runs]
        for run in scheduler.begin(waiters, self._clock()):
            yield run
        while scheduler:
            now = self._clock()
            due = scheduler.due(now, limit=self._max_concurrent * 4)
            if not due:
                await self._sleep(max(scheduler.next_due() - now, 0.0))
                continue
            results = await asyncio.gather(
                *(self.drive(self.adapter(w.run.provider).refresh(w.run)) for w in due), return_exceptions=True
            )
            for waiter, result in zip(due, results, strict=True):
                if isinstance(result, BaseException) and (
                    not isinstance(result, FlowdeckError) or isinstance(result, ClientStateError)
                ):
                    raise result
                if (finished := settle_or_fail(scheduler, waiter, result, self._clock(), failures)) is not None:
                    yield finished
        raise_failures(waiters, failures)

    async def wait_many(self, runs: Iterable[Run], *, timeout: float | None = None) -> list[Run]:
        """Wait for many runs at once; returns them in the given order (unfinished ones as last seen).

        As :meth:`Client.wait_many`: one poll each at least (``timeout=0`` included), and a failed wait
        raises :class:`~flowdeck.WaitManyError` (``.runs``, ``.failures``) once the others are done.
        """
        runs = [self._check_run(r) for r in runs]
        by_key = {(r.provider, r.id): r async for r in self.as_completed(runs, timeout=timeout)}
        return [by_key.get((r.provider, r.id), r) for r in runs]

    async def close(self) -> None:
        """Close the connection pool; the client (and its ``with_options()`` copies) can send nothing more."""
        state = self._state
        elsewhere = state.loop is not None and state.loop is not self._running_loop()
        state.closed, state.loop = True, None  # so the next call's loop check finds it closed
        if elsewhere:  # only its connections' own loop can close them
            raise ClientStateError(
                f"this flowdeck.{state.kind} was used in another event loop and can only be closed there "
                "(use `async with` inside the asyncio.run() that uses it)"
            )
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        self._state.check_open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
