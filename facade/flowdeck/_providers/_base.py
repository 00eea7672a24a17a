"""What a provider is: the :class:`Provider` declaration each provider module makes, the adapter
protocol and base class, and the helpers adapters share.

A provider module (``flowdeck/_providers/<name>.py``) declares one :class:`Provider`: its adapter,
its configuration (settings, URLs, which settings make it usable), its reference syntax, its
namespaces (``client.<name>``) and where its mock lives. Nothing else in flowdeck names a provider.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, ParamSpec, Protocol, TypeVar, cast

import attrs

from flowdeck._config import ConfigSpec, ProviderConfig
from flowdeck._core import Call, Op, Operation
from flowdeck._errors import (
    AuthenticationError,
    FlowdeckError,
    InvalidRequestError,
    PermissionDeniedError,
    UnknownStatusError,
    UnsupportedOperationError,
)
from flowdeck._models import Run, Status, WorkflowRef

if TYPE_CHECKING:
    from flowdeck._details import Flow

MAX_INPUT_BYTES = 1_000_000  # assumed: no provider documents a limit

Clock = Callable[[], float]


P = ParamSpec("P")


@attrs.frozen
class Bound:
    """Arguments for one generated operation, made by :func:`bind` (which type-checks them).

    Made where adapters build their requests, so only a provider in use builds this class."""

    get_kwargs: Callable[..., dict[str, Any]]
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = attrs.field(factory=dict)


def bind(get_kwargs: Callable[P, dict[str, Any]], /, *args: P.args, **kwargs: P.kwargs) -> Bound:
    """The arguments for a generated operation, checked by mypy against its ``_get_kwargs`` signature.

    A :class:`Call` stores a generated module and calls it later, which hides the call from the type
    checker; binding through here keeps it visible, so a regenerated client whose signature changed
    (say ``flow_id: int``) fails ``make lint`` instead of shipping.

    >>> def _get_kwargs(flow_id: str, *, body: dict[str, str]) -> dict[str, Any]: ...
    >>> bound = bind(_get_kwargs, "f-1", body={})
    >>> bound.args, bound.kwargs
    (('f-1',), {'body': {}})
    """
    return Bound(get_kwargs, args, dict(kwargs))


class Adapter(Protocol):
    """What flowdeck needs from a provider: start a run, look at it again, cancel it."""

    name: ClassVar[str]

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        """Start ``ref`` with ``inputs``; the returned run may already be terminal (StackAI)."""
        ...

    def refresh(self, run: Run) -> Op[Run]:
        """A newer snapshot of ``run``."""
        ...

    def cancel(self, run: Run) -> Op[Run]:
        """Ask the provider to stop ``run``; :class:`UnsupportedOperationError` if it cannot."""
        ...


class AdapterBase:
    """Shared plumbing of adapters: the configuration, the injectable clock, and :meth:`call`.

    A subclass sets ``name`` and ``headers`` (its auth headers) and builds every request with
    :meth:`call`, its arguments bound with :func:`~flowdeck._core.bind`. Its ``__init__`` may assume
    ``config.check()`` passed (the registry checks first).
    """

    name: ClassVar[str]

    def __init__(self, config: ProviderConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self.headers: Mapping[str, str] = {}

    def call(
        self,
        operation: str,
        module: Operation,
        parse: Callable[[Any], Any],
        bound: Bound,
        *,
        starts: WorkflowRef | str | None = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        secrets: tuple[str, ...] = (),
    ) -> Call[Any]:
        """The one way a request is built: this provider, its base URL and headers, its secrets to scrub.

        ``bound`` is ``bind(module._get_kwargs, ...)``: the arguments, type-checked against the
        generated signature. ``starts`` names the workflow when the request may start a paid run
        (never blindly retried). ``secrets`` adds values obtained at run time (a session token) to
        the configured ones.
        """
        if bound.get_kwargs != module._get_kwargs:  # ==: bound methods are made per access
            # The type check covers the bound function: call only that one.
            raise TypeError(f"{self.name} {operation}: arguments were bound to another operation")
        return Call(
            self.name,
            operation,
            module,
            base_url or self.config.base_url,
            parse,
            bound.args,
            bound.kwargs,
            self.headers if headers is None else headers,
            starts_run=starts is not None,
            workflow="" if starts is None else str(starts),
            timeout=timeout,
            secrets=self.config.secrets() + secrets,
        )


@attrs.frozen
class RefSyntax:
    """How a provider's workflows are written after ``<provider>:``.

    ``kinds``: the kinds written first (``databar:flow/1``, ``databar:waterfall/w``); empty when a
    provider has one kind, which is then not written. ``org``: an organisation comes before the id
    (``stackai:<org>/<flow>``).

    >>> RefSyntax(kinds=("flow", "waterfall")).parse("databar", "waterfall/email")
    WorkflowRef(provider='databar', kind='waterfall', id='email', org=None)
    >>> RefSyntax(org=True).forms("stackai")
    'stackai:<org_id>/<flow_id>'
    """

    kinds: tuple[str, ...] = ()
    org: bool = False

    def forms(self, provider: str) -> str:
        """The accepted forms, for messages and help."""
        id_part = "<org_id>/<flow_id>" if self.org else "<id>"
        if not self.kinds:
            return f"{provider}:{id_part}"
        return " or ".join(f"{provider}:{kind}/{id_part}" for kind in self.kinds)

    def parse(self, provider: str, path: str) -> WorkflowRef:
        """The reference for ``path`` (the text after ``<provider>:``); :class:`InvalidRequestError` if malformed."""
        parts = path.split("/")
        kind = parts.pop(0) if self.kinds and len(parts) > 1 else None
        if (self.kinds and kind not in self.kinds) or len(parts) != (2 if self.org else 1):
            raise InvalidRequestError(
                f"{provider} reference must be {self.forms(provider)}: {f'{provider}:{path}'[:60]!r}"
            )
        org = check_id(parts[0], f"{provider} org id") if self.org else None
        return WorkflowRef(provider, kind, check_id(parts[-1], f"{provider} workflow id"), org)


@attrs.frozen
class MockSpec:
    """Where a provider's mock lives, for ``flowdeck.testing``.

    ``app``: a function (or its ``"module:function"`` path, imported only when mocks are served)
    taking a ``flowdeck.testing.MockState`` and returning an ASGI app. ``path``: where the API lives
    on the mock server (the real base URL's path). ``env``: the environment pointing flowdeck at a
    served mock, given the ``MockConfig`` and the mock's URL.
    """

    app: str | Callable[[Any], Any]
    env: Callable[[Any, str], Mapping[str, str]]
    path: str = ""


def rejected_key(exc: FlowdeckError) -> bool:
    """True if ``exc`` says the credential itself was refused (401 or 403)."""
    return isinstance(exc, AuthenticationError | PermissionDeniedError)


@attrs.frozen
class Checks:
    """What a provider's API lets flowdeck check before anything is run (``flowdeck inputs``,
    ``flowdeck batch --check``, ``flowdeck doctor --verify``). Each is optional; the text fields say
    why a check is not possible, in the provider's terms.

    - ``inputs(adapter, ref)``: the workflow as its provider describes it, with its declared inputs;
      ``None`` when the provider publishes none for that kind of workflow (``no_inputs`` says so);
    - ``verify(adapter)``: one cheap authenticated read, returning what to show about the account;
      ``rejects(exc)`` tells a refused credential from other errors; ``unverifiable`` says why a
      provider has no such read;
    - ``balance(adapter)``: the credits left; ``cost(run)``: the credits a finished run spent.

    >>> Checks(no_inputs="it publishes none").inputs is None
    True
    """

    inputs: Callable[[Any, WorkflowRef], Op[Flow | None]] | None = None
    no_inputs: str = "its API publishes no declared inputs"
    verify: Callable[[Any], Op[str]] | None = None
    rejects: Callable[[FlowdeckError], bool] = rejected_key
    unverifiable: str = "it has no read-only call to verify a key with"
    balance: Callable[[Any], Op[float]] | None = None
    cost: Callable[[Run], float | None] | None = None


@attrs.frozen
class Bulk:
    """How a provider runs one workflow over many inputs as one task (``flowdeck batch --bulk``).

    ``start(adapter, ref, inputs)`` starts the task over the list of inputs and returns its run;
    ``rows(run, count)`` splits a finished task's run into one run per input, in input order, each
    with its own status; ``group(inputs)`` says which inputs may share a task (same options);
    ``kinds`` the kinds of workflow it applies to; ``size`` the default number of inputs per task.
    """

    start: Callable[[Any, WorkflowRef, list[Mapping[str, Any]]], Op[Run]]
    rows: Callable[[Run, int], list[Run]]
    size: int
    kinds: tuple[str | None, ...] = (None,)
    group: Callable[[Mapping[str, Any]], str] = lambda inputs: ""


@attrs.frozen
class Listed:
    """A run a provider's listing shows, with the inputs it was started with (None: not shown)."""

    run: Run
    inputs: Mapping[str, Any] | None


@attrs.frozen
class RecentRuns:
    """A workflow's runs created since a moment, as a provider lists them; ``complete``: every run
    created since then is among them (the listing reached back that far, nothing cut off).

    >>> RecentRuns((), complete=True).runs
    ()
    """

    runs: tuple[Listed, ...]
    complete: bool


# (adapter, workflow, since: epoch seconds, at most this many runs) -> the runs listed.
ListRuns = Callable[[Any, WorkflowRef, float, int], "Op[RecentRuns]"]


@attrs.frozen
class RunSupport:
    """What a provider lets flowdeck do with a run once it is started, said in the provider's terms
    where it cannot (``flowdeck status``, ``cancel``, ``run`` and ``batch`` print these).

    - ``no_status``: why a run cannot be looked up by its id; ``None``: it can (``flowdeck status``);
    - ``no_cancel``: why a run cannot be stopped; ``None``: it can (``flowdeck cancel``);
    - ``start_blocks``: the start request is answered only once the run has ended;
    - ``unknown_start``: what a start whose answer never came may have left at the provider, and
      where to look for it (a batch's ``UNKNOWN`` rows);
    - ``list_runs``: the workflow's recent runs with their inputs (:class:`RecentRuns`), where the
      provider can list them; ``None``: it cannot (``batch --reconcile`` then says where to look).

    >>> RunSupport(no_cancel="it documents no cancel endpoint").no_status is None
    True
    """

    no_status: str | None = None
    no_cancel: str | None = None
    start_blocks: bool = False
    unknown_start: str | None = None
    list_runs: ListRuns | None = None


NAME = re.compile(r"[a-z][a-z0-9_]{0,30}")


@attrs.frozen
class Provider:
    """A provider, declared once in its module and registered with ``flowdeck._providers.register``.

    ``adapter`` is constructed with ``(config, clock=...)`` once ``config.check()`` passed.
    ``namespaces`` are the classes of ``client.<name>`` and ``async_client.<name>`` (built with
    the client); ``mock`` says where ``flowdeck.testing`` finds the mock; ``checks`` what can be
    checked before a run (declared inputs, key verification, credits); ``bulk`` how it runs many
    inputs as one task, if it can; ``runs`` what can be done with a started run (look it up, stop it)
    and what a start of unknown outcome means there.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(NAME))
    title: str
    adapter: Callable[..., Adapter]
    config: ConfigSpec
    refs: RefSyntax = RefSyntax()
    namespaces: tuple[Callable[[Any], object], Callable[[Any], object]] | None = None
    mock: MockSpec | None = None
    checks: Checks = Checks()
    bulk: Bulk | None = None
    runs: RunSupport = RunSupport()

    def unknown_start(self) -> str:
        """What a start whose answer never came may have left here, and where to look for the run."""
        return self.runs.unknown_start or f"{self.title} may or may not have started these runs; check at {self.title}"

    def configure(self, env: Mapping[str, str], **options: Any) -> ProviderConfig:
        """This provider's :class:`ProviderConfig` from ``env`` and explicit options (see ``ConfigSpec.configure``)."""
        return self.config.configure(self.name, env, **options)

    def make_adapter(self, config: ProviderConfig, clock: Clock = time.monotonic) -> Adapter:
        """Check ``config`` (URLs, credentials; nothing is sent), then build the adapter."""
        config.check()
        return self.adapter(config, clock=clock)


# Ids go into URL paths: "." and ".." would still be dot-segments once
# encoded, and control characters or huge ids are never valid.
_MAX_ID = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_id(value: object, what: str) -> str:
    """Return ``value`` if it is usable as an id in a URL path, else raise :class:`InvalidRequestError`.

    >>> check_id("a1b2", "task id")
    'a1b2'
    """
    if not isinstance(value, str):
        raise InvalidRequestError(f"{what} must be a string, got {type(value).__name__}")
    if not value.strip() or value != value.strip():
        raise InvalidRequestError(f"{what} must be non-empty without surrounding whitespace: {value[:40]!r}")
    if value in (".", "..") or _CONTROL.search(value) or len(value) > _MAX_ID:
        raise InvalidRequestError(f"{what} is not a valid id: {value[:40]!r}")
    return value


def response_id(value: str, what: str) -> str:
    """An id read from a response; raises ValueError (a contract error once mapped) if unusable.

    Typed ``str`` so a regenerated model whose id is not a required string fails the type check;
    checked at run time too, as the generated parsers do not check types.
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} is {type(value).__name__}, not a string")
    try:
        return check_id(value, what)
    except InvalidRequestError as exc:
        raise ValueError(str(exc)) from None


class _Unset(Protocol):
    """Each generated package's ``Unset`` (false, and nothing else; ``None`` fits too)."""

    def __bool__(self) -> Literal[False]: ...


U = TypeVar("U")


def unset(value: U | _Unset) -> U | None:
    """The generated clients' ``UNSET`` as ``None``, keeping the field's own type for the type check.

    >>> unset("x"), unset(None)
    ('x', None)
    """
    return None if value is None or type(value).__name__ == "Unset" else cast("U", value)


def check_inputs(provider: str, inputs: object, *, strings_only: bool = False) -> dict[str, Any]:
    """Validate run inputs locally so a bad row fails before anything is sent.

    >>> check_inputs("databar", {"domain": "stripe.com"}, strings_only=True)
    {'domain': 'stripe.com'}
    """
    if not isinstance(inputs, Mapping):
        raise InvalidRequestError(
            f"{provider} inputs must be a mapping of names to values, got {type(inputs).__name__}"
        )
    for key, value in inputs.items():
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"{provider} input names must be non-empty strings, got {key!r}")
        if strings_only and not isinstance(value, str):
            raise InvalidRequestError(f"{provider} input {key!r} must be a string, got {type(value).__name__}")
    try:
        size = len(json.dumps(inputs, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"{provider} inputs are not JSON-serializable: {exc}") from exc
    if size > MAX_INPUT_BYTES:
        raise InvalidRequestError(f"{provider} inputs are {size} bytes of JSON; the limit is {MAX_INPUT_BYTES}")
    return dict(inputs)


def map_status(provider: str, table: Mapping[str, Status], value: str, *, operation: str, raw: Any) -> Status:
    """The uniform status of a provider status string; unknown or mistyped ones are contract errors.

    Typed ``str`` so a regenerated model whose status is not a required string fails the type check.
    """
    if not isinstance(value, str):
        raise TypeError(f"status is {type(value).__name__}, not a string")
    try:
        return table[value]
    except KeyError:
        # the raw response's body and status, once finished
        raw_body = json.dumps(raw, default=str).encode()
        raise UnknownStatusError(
            value, provider=provider, operation=operation, status_code=200, body=raw_body
        ) from None


def to_dict(model: Any) -> Any:
    """A generated model as plain JSON-like data (for ``Run.raw``)."""
    return model.to_dict() if hasattr(model, "to_dict") else model


def as_datetime(value: Any) -> datetime | None:
    """A generated date-time field as ``datetime`` or None."""
    value = unset(value)
    return value if isinstance(value, datetime) else None


def not_supported(provider: str, what: str) -> UnsupportedOperationError:
    """The error for an operation a provider does not offer."""
    return UnsupportedOperationError(f"{provider} does not support {what}")
