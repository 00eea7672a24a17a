"""What became of a batch's rows: each row's error in words, failures grouped, the summary."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs
import httpx

from flowdeck._errors import (
    ApiError,
    ConfigurationError,
    FlowdeckError,
    InvalidRequestError,
    StartOutcomeUnknown,
    TransportError,
    UnsupportedOperationError,
)
from flowdeck._models import Run
from flowdeck._providers import get as provider_spec

# Start errors a rerun would meet again.
PERMANENT_STATUS_CODES = frozenset({400, 401, 403, 404, 406, 422})
# Rows reached but not started: the summary counts each apart.
UNSTARTED = ("UNKNOWN", "REJECTED", "NOT_STARTED")


@attrs.frozen
class FailureGroup:
    """Rows that ended the same way: status, provider, error type and message (request ids left out)."""

    status: str
    provider: str
    error_type: str | None
    reason: str
    rows: tuple[int, ...]


@attrs.frozen
class CredentialRefusal:
    """A provider refused the batch's credential (HTTP 401 or 403, or a refused login) at ``row``;
    ``held_back`` rows of that provider were then never sent (they stay NOT_STARTED)."""

    provider: str
    row: int
    status_code: int
    error_type: str
    held_back: int = 0


@attrs.define
class BatchSummary:
    """What a batch did: outcomes by status (all rows, including earlier attempts) and by provider.

    ``started_now`` counts rows, ``runs_started`` the runs they started (a bulk task runs many rows);
    ``unstarted`` the rows this attempt reached but did not start, by status (UNKNOWN: maybe started,
    REJECTED: refused at start, NOT_STARTED); ``refused`` the providers that refused the credential.
    """

    total: int
    skipped: int
    statuses: Counter[str] = attrs.field(factory=Counter)
    by_provider: dict[str, Counter[str]] = attrs.field(factory=dict)
    failures: list[FailureGroup] = attrs.field(factory=list)
    started_now: int = 0
    resumed: int = 0
    seconds: float = 0.0
    runs_started: int = 0
    unstarted: Counter[str] = attrs.field(factory=Counter)
    refused: dict[str, CredentialRefusal] = attrs.field(factory=dict)
    # What --reconcile did first, per provider (None: not asked).
    reconciled: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        """True if every row succeeded."""
        return self.statuses.get("SUCCEEDED", 0) == self.total

    @property
    def not_started(self) -> int:
        """Rows neither started (now or earlier), done earlier, of unknown start, nor refused at start."""
        unknown, rejected = self.unstarted.get("UNKNOWN", 0), self.unstarted.get("REJECTED", 0)
        return self.total - self.skipped - self.started_now - self.resumed - unknown - rejected


_REQUEST_ID = re.compile(r" \(request id [^)]*\)")
_RUN_ID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)


def reason(error: object) -> str:
    """An error message as a group's reason: its last line (where logs put the failure), ids left out.

    >>> reason("run 8e3d4616-749a-4f35-8cae-91087948f589 started\\nERROR: node failed (request id r-1)")
    'ERROR: node failed'
    """
    lines = [line.strip() for line in str(error or "").splitlines() if line.strip()]
    text = _REQUEST_ID.sub("", lines[-1]) if lines else ""
    return _RUN_ID.sub("<id>", text).strip() or "(no message)"


def failure_groups(results: Mapping[int, Mapping[str, Any]]) -> list[FailureGroup]:
    """Rows that did not succeed, grouped by status, error type and message; largest group first.

    >>> failure_groups({2: {"status": "FAILED", "provider": "gumloop", "error_type": None, "error": "boom"}})
    [FailureGroup(status='FAILED', provider='gumloop', error_type=None, reason='boom', rows=(2,))]
    """
    groups: dict[tuple[str, str, str | None, str], list[int]] = {}
    for row in sorted(results):
        record = results[row]
        if record.get("status") == "SUCCEEDED":
            continue
        key = (
            str(record.get("status")),
            str(record.get("provider")),
            record.get("error_type"),
            reason(record.get("error")),
        )
        groups.setdefault(key, []).append(row)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[1][0]))
    return [FailureGroup(*key, rows=tuple(rows)) for key, rows in ordered]


def credits_spent(run: Run) -> float | None:
    """The credits ``run`` spent, where its provider reports it (``Checks.cost``); else None."""
    cost = provider_spec(run.provider).checks.cost
    return None if cost is None else cost(run)


# httpx's transport failures in words, most specific first.
_CONNECTION_FAILURES = {
    "ConnectTimeout": "timed out connecting",
    "ConnectError": "could not connect (connection refused, or no such host)",
    "ReadTimeout": "no answer in time",
    "WriteTimeout": "timed out sending the request",
    "PoolTimeout": "no connection free in time",
    "TimeoutException": "no answer in time",
    "ReadError": "the connection broke while the answer was read",
    "WriteError": "the connection broke while the request was sent",
    "RemoteProtocolError": "the server closed the connection before answering in full",
    "TransportError": "the connection failed",
}


def row_error(exc: FlowdeckError) -> str:
    """The one line a result records for ``exc``: flowdeck's words, not an HTTP library's.

    A failure below HTTP carries the HTTP library's own text (aiohttp's reads like ``400, message=...``
    for a body cut short, which looks like an HTTP status it is not); it is said in words instead.
    Errors with an answer from the provider keep their message (the provider's words are useful).

    >>> import httpx
    >>> try:
    ...     raise TransportError("ReadError: <ContentLengthError: 400, ...>", provider="gumloop",
    ...                          operation="get_pl_run") from httpx.ReadError("400, message=...")
    ... except TransportError as exc:
    ...     row_error(exc)
    'gumloop get_pl_run: the connection broke while the answer was read'
    """
    cause = exc.__cause__
    if not isinstance(exc, TransportError | StartOutcomeUnknown) or not isinstance(cause, httpx.TransportError):
        return str(exc)
    names = [klass.__name__ for klass in type(cause).__mro__]
    what = next((_CONNECTION_FAILURES[n] for n in names if n in _CONNECTION_FAILURES), "the connection failed")
    if isinstance(exc, StartOutcomeUnknown):
        return (
            f"{exc.provider} {exc.operation}: {what}, after the start request was sent; the run may have "
            "started, so it was not retried"
        )
    never_sent = " (the request was never sent, so no run was started)" if "never sent" in str(exc) else ""
    return f"{exc.provider} {exc.operation}: {what}{never_sent}"


def is_rejection(exc: FlowdeckError) -> bool:
    """True if a start failed in a way a rerun would meet again (the request itself was refused)."""
    if isinstance(exc, ApiError):
        return exc.status_code in PERMANENT_STATUS_CODES
    return isinstance(exc, InvalidRequestError | ConfigurationError | UnsupportedOperationError)
