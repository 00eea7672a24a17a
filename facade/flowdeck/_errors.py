"""Every exception flowdeck raises, in one place.

Catch :class:`FlowdeckError` for everything, a group (:class:`ApiError`, :class:`TransportError`,
:class:`RunError`) or a precise leaf. Messages never contain credentials: they are built from
status codes, provider names, ids and response bodies, and every configured credential value is
scrubbed from them (a provider may echo a key in an error body). The ``body`` attributes keep the
provider's answer as received, unscrubbed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowdeck._models import Run
from flowdeck._secrets import scrub

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConfigurationError",
    "ConflictError",
    "ContractError",
    "FlowdeckError",
    "GoneError",
    "InsecureTransportError",
    "InsufficientCreditsError",
    "InvalidBaseURLError",
    "InvalidRequestError",
    "MissingCredentialError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "RunCancelled",
    "RunError",
    "RunExpired",
    "RunFailed",
    "ServerError",
    "StartOutcomeUnknown",
    "StartResponseUnreadable",
    "TransportError",
    "UnknownStatusError",
    "UnsupportedOperationError",
    "ValidationError",
    "WaitManyError",
    "WaitTimeout",
]


class FlowdeckError(Exception):
    """Base class of every error flowdeck raises."""


# Configuration and local checks: raised before anything is sent.


class ConfigurationError(FlowdeckError):
    """The client is configured in a way that cannot work."""


class MissingCredentialError(ConfigurationError):
    """A provider was used without its credential; ``variable`` names the environment variable to set."""

    def __init__(self, provider: str, variable: str) -> None:
        self.provider = provider
        self.variable = variable
        super().__init__(f"{provider}: no credential configured; set {variable} or pass it to the client")


class InsecureTransportError(ConfigurationError):
    """Credentials would be sent over plain http:// to a host that is not loopback.

    ``provider``, ``host`` and ``source`` (where the URL was set) let a caller word its own advice;
    the message gives the library's (``allow_insecure_http=True``).
    """

    def __init__(self, provider: str, host: str, source: str) -> None:
        self.provider = provider
        self.host = host
        self.source = source
        super().__init__(
            f"{provider}: refusing to send credentials to http://{host} (from {source}; only https, "
            "or http to a loopback host; pass allow_insecure_http=True to override)"
        )


class InvalidBaseURLError(ConfigurationError):
    """A configured URL is not an http(s) URL with a host; ``variable`` names where it was set."""

    def __init__(self, provider: str, variable: str, url: str) -> None:
        self.provider = provider
        self.variable = variable
        super().__init__(f"{provider}: invalid base URL in {variable}: {url!r} (expected https://<host>[/<path>])")


class InvalidRequestError(FlowdeckError, ValueError):
    """An argument (workflow reference, id, inputs, a client option) is invalid; detected locally, nothing was sent."""


class ClientStateError(FlowdeckError, RuntimeError):
    """The client cannot be used as it is: it has been closed, or (``AsyncClient``) it belongs to another
    event loop, whose connections it holds. Nothing was sent. A ``RuntimeError`` too, as httpx's is."""


class UnsupportedOperationError(FlowdeckError):
    """The provider has no such operation (e.g. cancelling a StackAI run)."""


# Transport errors: no HTTP response was received.


class TransportError(FlowdeckError):
    """The request failed below HTTP (connection refused or reset, timeout), after any retries."""

    def __init__(self, message: str, *, provider: str, operation: str) -> None:
        self.provider = provider
        self.operation = operation
        super().__init__(f"{provider} {operation}: {message}")


class RequestTimeoutError(TransportError):
    """The request timed out, after any retries."""


class StartOutcomeUnknown(FlowdeckError):
    """A request that starts a paid run may or may not have started it.

    Raised instead of retrying when the request reached the provider but no clear answer came back
    (a timeout after sending, a dropped connection, a 5xx). Retrying could start the run twice, so
    the caller decides: look the run up in the provider's UI, or start again knowingly. ``body`` is
    the answer as received, if any (not scrubbed of credentials, unlike the message).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        workflow: str,
        status_code: int | None = None,
        body: Any = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.workflow = workflow
        self.status_code = status_code
        self.body = body
        super().__init__(
            f"{provider} {operation} for {workflow}: outcome unknown ({message}); "
            "the run may have started, so it was not retried"
        )


# HTTP errors: the provider answered with an error status.


class ApiError(FlowdeckError):
    """The provider answered with an error status; ``body`` is the parsed JSON or raw text.

    ``body`` is the provider's answer as received: unlike the message and the repr, it is not
    scrubbed of credentials (some providers echo the key they rejected), so log it with care.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        operation: str,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
    ) -> None:
        self.provider = provider
        self.operation = operation
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        suffix = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{provider} {operation}: HTTP {status_code}: {message}{suffix}")


class BadRequestError(ApiError):
    """400: the provider rejected the request's parameters; ``details`` holds field errors if given."""

    @property
    def details(self) -> list[Any]:
        """Field-level errors from the body (FastAPI ``detail`` lists, Databar ``fields``/``rows``)."""
        body = self.body if isinstance(self.body, dict) else {}
        for key in ("detail", "fields", "rows", "details"):
            value = body.get(key)
            if isinstance(value, list):
                return value
            if isinstance(value, dict) and key == "detail":
                return [{"loc": [k], "msg": v} for k, v in value.items()]
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("details"), list):
            return list(error["details"])
        return []


class ValidationError(BadRequestError):
    """422: the request did not match the provider's schema; see ``details``."""


class AuthenticationError(ApiError):
    """401: the credential is missing, wrong or expired."""


class PermissionDeniedError(ApiError):
    """403: the credential is not allowed to do this (Databar also answers 403 for a bad key)."""


class NotFoundError(ApiError):
    """404: unknown workflow or run."""


class InsufficientCreditsError(ApiError):
    """406 (Databar): not enough credits, or the plan does not allow it."""


class ConflictError(ApiError):
    """409: the run is in a state that forbids this (e.g. cancelling a finished task)."""


class GoneError(ApiError):
    """410: the run's data has expired (Databar keeps results 24 hours)."""


class RateLimitError(ApiError):
    """429 after any retries; ``retry_after`` is the provider's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(ApiError):
    """5xx after any retries."""


# Contract errors: the provider answered something our spec says it cannot.


class ContractError(FlowdeckError):
    """A response does not match the provider's spec; ``body`` is the raw body, ``reason`` what is wrong.

    ``body`` holds the bytes as received (not scrubbed of credentials, unlike the message).

    ``unreadable`` is True when the body is not JSON at all (truncated, an HTML error page, empty):
    usually a proxy or network fault rather than a changed API, so polls try again.
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str,
        operation: str,
        status_code: int,
        body: bytes,
        unreadable: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        self.reason = scrub(reason, secrets)
        self.unreadable = unreadable
        self.provider = provider
        self.operation = operation
        self.status_code = status_code
        self.body = body
        super().__init__(
            f"{provider} {operation}: HTTP {status_code} response breaks the contract: {self.reason}; "
            f"body={_preview(body, secrets)!r}"
        )


def _preview(body: bytes, secrets: Iterable[str]) -> str:
    # Scrubbed before the cut, which could leave half a secret.
    return scrub(body[:4096].decode("utf-8", "replace"), secrets)[:200]


class StartResponseUnreadable(ContractError, StartOutcomeUnknown):  # type: ignore[misc]  # status_code fits both
    """A start request was answered 2xx, but the answer breaks the contract: the run probably exists.

    Both a :class:`ContractError` (the body is attached) and a :class:`StartOutcomeUnknown` (so code
    that avoids double starts treats it as such).
    """

    def __init__(
        self,
        reason: str,
        *,
        provider: str,
        operation: str,
        workflow: str,
        status_code: int,
        body: bytes,
        unreadable: bool = False,
        secrets: Iterable[str] = (),
    ) -> None:
        # What both parents promise, set once: their __init__s clash.
        self.reason, self.unreadable, self.workflow = scrub(reason, secrets), unreadable, workflow
        self.provider, self.operation, self.status_code, self.body = provider, operation, status_code, body
        FlowdeckError.__init__(
            self,
            f"{provider} {operation} for {workflow}: HTTP {status_code} answer breaks the contract ({self.reason}); "
            f"the run may have started, so it was not retried; body={_preview(body, secrets)!r}",
        )


class UnknownStatusError(ContractError):
    """A run reported a status string flowdeck does not know; surfaced instead of polled forever."""

    def __init__(self, status: str, **kwargs: Any) -> None:
        self.status = status
        super().__init__(f"unknown run status {status!r}", **kwargs)


# Run outcomes: the run itself ended badly, or did not end in time.


class RunError(FlowdeckError):
    """Base class of run outcomes; ``run`` is the last known :class:`~flowdeck.Run`."""

    def __init__(self, run: Run, message: str | None = None) -> None:
        self.run = run
        what = message or f"run {run.id} ended {run.status.value}"
        detail = f": {run.error}" if run.error else ""
        super().__init__(f"{run.workflow}: {what}{detail}")  # the reference names the provider


class RunFailed(RunError):
    """The run ended FAILED; ``run.error`` holds the provider's message."""


class RunCancelled(RunError):
    """The run ended CANCELLED; ``run.outputs`` may hold partial results."""


class RunExpired(RunError):
    """The run's results expired before they were read (Databar: 24 hours)."""


class WaitTimeout(RunError):
    """``wait`` reached its deadline before the run ended; the run goes on at the provider."""


class WaitManyError(FlowdeckError):
    """Waiting for some of many runs failed (``wait_many``, ``as_completed``); every other run was waited for.

    Like ``concurrent.futures``, one run's failure does not cost the others their results: they are
    polled to their end (or the deadline) first. ``failures`` pairs each run whose wait failed (as last
    seen) with the error that ended it: a provider that does not know the run (404), a status flowdeck
    does not know, polls failing more than ``PollPolicy.max_poll_errors`` times in a row. ``runs`` holds
    every run in the order given, ended or as last seen. The first failure is the ``__cause__``.
    """

    def __init__(self, runs: list[Run], failures: list[tuple[Run, FlowdeckError]]) -> None:
        self.runs = runs
        self.failures = failures
        named = "; ".join(f"{run.provider} run {run.id}: {exc}" for run, exc in failures[:3])
        more = f"; and {len(failures) - 3} more" if len(failures) > 3 else ""
        super().__init__(
            f"could not wait for {len(failures)} of {len(runs)} runs ({named}{more}); every run, as last seen, "
            "is in .runs"
        )
