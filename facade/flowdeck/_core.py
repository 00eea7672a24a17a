"""The shared core of the sync and async clients.

Provider adapters and the polling lifecycle are written once, as generators that *yield*
instructions (:class:`Call` to make a request, :class:`Sleep` to wait) and receive results. The two
clients differ only in how they carry an instruction out: with ``httpx.Client`` and ``time.sleep``,
or with ``httpx.AsyncClient`` and ``asyncio.sleep``. Every response turns into a result or a
flowdeck error in :func:`finish`, the one place errors are mapped.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar

import httpx

from flowdeck._errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContractError,
    FlowdeckError,
    GoneError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StartOutcomeUnknown,
    StartResponseUnreadable,
    TransportError,
    ValidationError,
)
from flowdeck._secrets import scrub
from flowdeck._transport import _NEVER_SENT, retry_after_seconds

T = TypeVar("T")


class Operation(Protocol):
    """One API operation as openapi-python-client generates it: a module with these two functions.

    ``_get_kwargs(*args, **kwargs)`` gives the arguments of ``httpx.Client.request`` (URL relative to
    the base URL); ``_parse_response(client=..., response=...)`` gives the parsed model of a
    documented status, or None for an undocumented one.
    """

    @property
    def _get_kwargs(self) -> Callable[..., dict[str, Any]]: ...

    @property
    def _parse_response(self) -> Callable[..., Any]: ...


class Call(Generic[T]):
    """One request: a generated operation module, its arguments, and how to read its answer.

    Adapters build calls with :meth:`~flowdeck._providers._base.AdapterBase.call`, the one place
    that fills in the provider, base URL, auth headers and secrets. ``parse`` receives the generated
    client's parsed model for a 2xx answer. ``starts_run`` marks a request that may begin a paid run
    (never blindly retried; an unclear outcome raises :class:`StartOutcomeUnknown`). ``workflow``
    names what is being started, for that error. ``secrets`` are scrubbed from any error's message.
    ``timeout`` is a longer wait for the answer (a read timeout) for a call that answers only when
    its run ends; connecting, sending and waiting for a pooled connection keep the client's bounds.
    """

    # Not attrs: a call is never compared or copied, and an attrs class
    # compiles its methods at import. Treat it as frozen.
    __slots__ = (
        "args",
        "base_url",
        "headers",
        "kwargs",
        "module",
        "operation",
        "parse",
        "provider",
        "secrets",
        "starts_run",
        "timeout",
        "workflow",
    )

    def __init__(
        self,
        provider: str,
        operation: str,
        module: Operation,
        base_url: str,
        parse: Callable[[Any], T],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        starts_run: bool = False,
        workflow: str = "",
        timeout: float | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.module = module
        self.base_url = base_url
        self.parse = parse
        self.args = args
        self.kwargs: Mapping[str, Any] = {} if kwargs is None else kwargs
        self.headers: Mapping[str, str] = {} if headers is None else headers
        self.starts_run = starts_run
        self.workflow = workflow
        self.timeout = timeout
        self.secrets = secrets

    def __repr__(self) -> str:
        # Never the headers (credentials) nor the secrets.
        return (
            f"Call(provider={self.provider!r}, operation={self.operation!r}, base_url={self.base_url!r}, "
            f"args={self.args!r}, kwargs={self.kwargs!r}, starts_run={self.starts_run!r}, "
            f"workflow={self.workflow!r}, timeout={self.timeout!r})"
        )

    def request_kwargs(self, timeout: httpx.Timeout) -> dict[str, Any]:
        """The arguments of ``httpx.Client.request`` for this call, built by the generated module.

        ``timeout`` is the client's; a call with its own ``timeout`` waits longer for its answer
        only: a long run must not turn into a long wait for a connection (a pool with no free
        connection would then hold the call for the whole run time before it is retried).
        """
        kwargs: dict[str, Any] = self.module._get_kwargs(*self.args, **self.kwargs)
        kwargs["url"] = self.base_url + kwargs["url"]
        kwargs["headers"] = {**kwargs.get("headers", {}), **self.headers}
        kwargs["timeout"] = timeout if self.timeout is None else read_timeout(timeout, self.timeout)
        # Never redirected: httpx would send custom credential headers to
        # another host, and a redirected start could run twice.
        kwargs["follow_redirects"] = False
        return kwargs


def read_timeout(base: httpx.Timeout, read: float) -> httpx.Timeout:
    """``base`` with a different read timeout only.

    >>> read_timeout(httpx.Timeout(30.0, connect=10.0), 600.0)
    Timeout(connect=10.0, read=600.0, write=30.0, pool=30.0)
    """
    return httpx.Timeout(connect=base.connect, read=read, write=base.write, pool=base.pool)


class Sleep:
    """Wait ``seconds`` before the next instruction.

    >>> Sleep(1.5)
    Sleep(seconds=1.5)
    """

    __slots__ = ("seconds",)  # a plain class, like Call

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Sleep(seconds={self.seconds!r})"


Instruction = Call[Any] | Sleep
Op = Generator[Instruction, Any, T]
"""An operation written once: yields instructions, receives their results, returns a ``T``."""


_STATUS_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    406: InsufficientCreditsError,
    409: ConflictError,
    410: GoneError,
    422: ValidationError,
    429: RateLimitError,
}


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return response.text


def _message(body: Any) -> str:
    """The message of an error body, on one line.

    >>> _message({"detail": "flow not found"})
    'flow not found'
    >>> _message("<!DOCTYPE HTML>\\n<html><body>\\n  <h1>Not Found</h1>\\n</body></html>")
    'an HTML page, not the API: check the base URL (Not Found)'
    """
    if isinstance(body, str) and body.lstrip().startswith("<"):
        # A server's or proxy's page: its text is noise, its title a clue.
        words = " ".join(re.sub(r"<!?[^>]*>", " ", body).split())
        return f"an HTML page, not the API: check the base URL ({words[:120]})"
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
            if value is not None:
                return json.dumps(value)[:300]
    return " ".join(str(body).split())[:300] or "(empty body)"


def _request_id(response: httpx.Response, body: Any) -> str | None:
    rid: str | None = response.headers.get("x-request-id")
    if rid is None and isinstance(body, dict) and isinstance(body.get("request_id"), str):
        rid = str(body["request_id"])
    return rid


E = TypeVar("E", bound=FlowdeckError)


def redacted(call: Call[Any], exc: E) -> E:
    """``exc`` with the call's secrets scrubbed from its message (so from ``str`` and ``repr``) and reason.

    Attributes holding the response itself (``body``) keep it as received.
    """
    if call.secrets:
        exc.args = tuple(scrub(a, call.secrets) if isinstance(a, str) else a for a in exc.args)
        if isinstance(exc, ContractError):
            exc.reason = scrub(exc.reason, call.secrets)
    return exc


def error_for_status(call: Call[Any], response: httpx.Response) -> FlowdeckError:
    """The typed error for an error status (or :class:`StartOutcomeUnknown` for a start's 5xx)."""
    return redacted(call, _error_for_status(call, response))


def _error_for_status(call: Call[Any], response: httpx.Response) -> FlowdeckError:
    body = _body(response)
    status = response.status_code
    if call.starts_run and status >= 500:
        return StartOutcomeUnknown(
            f"HTTP {status}",
            provider=call.provider,
            operation=call.operation,
            workflow=call.workflow,
            status_code=status,
            body=body,
        )
    common: dict[str, Any] = {
        "provider": call.provider,
        "operation": call.operation,
        "status_code": status,
        "body": body,
        "request_id": _request_id(response, body),
    }
    if status == 429:
        return RateLimitError(_message(body), retry_after=retry_after_seconds(response.headers), **common)
    cls = _STATUS_ERRORS.get(status, ServerError if status >= 500 else ApiError)
    return cls(_message(body), **common)


def error_for_transport(call: Call[Any], exc: httpx.TransportError) -> FlowdeckError:
    """The typed error for a failure below HTTP; a start that may have been sent is 'outcome unknown'."""
    _forget_locals(exc)
    return redacted(call, _error_for_transport(call, exc))


def _forget_locals(exc: BaseException | None) -> None:
    """Clear the locals of the frames that ``exc`` and its causes left, ended since they raised.

    They hold the request's headers, and a traceback shown with its locals (``pytest -l``, Sentry,
    rich) would print the credentials in them. A frame still running (the caller's) cannot be cleared.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            with contextlib.suppress(RuntimeError):  # a frame still running
                tb.tb_frame.clear()
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__


def _error_for_transport(call: Call[Any], exc: httpx.TransportError) -> FlowdeckError:
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if call.starts_run and not isinstance(exc, _NEVER_SENT):
        return StartOutcomeUnknown(reason, provider=call.provider, operation=call.operation, workflow=call.workflow)
    if isinstance(exc, httpx.TimeoutException):
        return RequestTimeoutError(reason, provider=call.provider, operation=call.operation)
    if isinstance(exc, _NEVER_SENT) and call.starts_run:
        reason += " (the request was never sent, so no run was started)"
    return TransportError(reason, provider=call.provider, operation=call.operation)


def _unreadable(response: httpx.Response) -> bool:
    try:
        json.loads(response.content)
    except (ValueError, RecursionError):
        return True
    return False


def _contract_error(call: Call[Any], response: httpx.Response, reason: str) -> ContractError:
    common: dict[str, Any] = {
        "provider": call.provider,
        "operation": call.operation,
        "status_code": response.status_code,
        "body": response.content,
        "unreadable": _unreadable(response),
        "secrets": call.secrets,
    }
    if call.starts_run:
        return redacted(call, StartResponseUnreadable(reason, workflow=call.workflow, **common))
    return redacted(call, ContractError(reason, **common))


def finish(call: Call[T], response: httpx.Response) -> T:
    """Turn a complete response into the call's result or a flowdeck error."""
    if response.status_code >= 400:
        raise error_for_status(call, response)
    try:
        # The generated parser knows each documented status's schema.
        parsed = call.module._parse_response(client=_PARSE_ONLY, response=response)
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise _contract_error(call, response, f"{type(exc).__name__}: {exc}") from _scrubbed(call, exc)
    if parsed is None and response.status_code != 204:
        raise _contract_error(call, response, f"undocumented status code {response.status_code}")
    try:
        return call.parse(parsed)
    except ContractError as exc:
        exc.body, exc.status_code = response.content, response.status_code  # the raw body, always
        redacted(call, exc)
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _contract_error(call, response, f"{type(exc).__name__}: {exc}") from _scrubbed(call, exc)


def _scrubbed(call: Call[Any], exc: Exception) -> Exception:
    """A parser's exception, chained as the cause, may quote the body: scrub it too (it shows in tracebacks)."""
    if call.secrets:
        exc.args = tuple(scrub(a, call.secrets) if isinstance(a, str) else a for a in exc.args)
    return exc


class _ParseOnly:
    """Stands in for a generated client where its parser only asks whether to raise on odd statuses.

    A plain class: one constant instance with no fields, so nothing attrs would generate (``__init__``,
    ``__eq__``, ``__repr__``) is ever called, and building it would slow ``import flowdeck``.
    """

    __slots__ = ()
    raise_on_unexpected_status = False


_PARSE_ONLY = _ParseOnly()
