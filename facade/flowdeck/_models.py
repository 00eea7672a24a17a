"""flowdeck's value types: immutable, comparable, safe to log."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

import attrs

from flowdeck._errors import InvalidRequestError

PROVIDERS = ("databar", "stackai", "gumloop", "superai")


class Status(enum.Enum):
    """The uniform run status every provider's own status string maps to."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        """True once the run can no longer change."""
        return self in _TERMINAL


_TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})

# An id is put into a URL path. The generated clients percent-encode it, but "." and ".." would still
# be dot-segments, and control characters or huge ids are never valid ids: refuse them up front.
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


@attrs.frozen
class WorkflowRef:
    """A provider-independent reference to a workflow, written as a string.

    Forms: ``databar:flow/<id>``, ``databar:waterfall/<id>``, ``stackai:<org>/<flow>``,
    ``gumloop:<saved_item_id>``, ``superai:<flow uuid>``.

    >>> ref = WorkflowRef.parse("stackai:acme/f123")
    >>> (ref.provider, ref.kind, ref.id, ref.org)
    ('stackai', 'flow', 'f123', 'acme')
    >>> str(ref)
    'stackai:acme/f123'
    """

    provider: str
    kind: str
    id: str
    org: str | None = None

    @classmethod
    def parse(cls, text: str | WorkflowRef) -> WorkflowRef:
        """Parse a reference string; raise :class:`InvalidRequestError` naming what is wrong."""
        if isinstance(text, WorkflowRef):
            return text
        if not isinstance(text, str):
            raise InvalidRequestError(f"workflow reference must be a string, got {type(text).__name__}")
        provider, sep, rest = text.partition(":")
        if not sep or provider not in PROVIDERS:
            raise InvalidRequestError(
                f"workflow reference {text[:60]!r} must start with one of {', '.join(p + ':' for p in PROVIDERS)}"
            )
        parts = rest.split("/")
        if provider == "databar":
            if len(parts) != 2 or parts[0] not in ("flow", "waterfall"):
                raise InvalidRequestError(
                    f"databar reference must be databar:flow/<id> or databar:waterfall/<id>: {text[:60]!r}"
                )
            return cls(provider, parts[0], check_id(parts[1], "databar workflow id"))
        if provider == "stackai":
            if len(parts) != 2:
                raise InvalidRequestError(f"stackai reference must be stackai:<org_id>/<flow_id>: {text[:60]!r}")
            return cls(
                provider, "flow", check_id(parts[1], "stackai flow id"), org=check_id(parts[0], "stackai org id")
            )
        if len(parts) != 1:
            raise InvalidRequestError(f"{provider} reference must be {provider}:<id>: {text[:60]!r}")
        return cls(provider, "flow", check_id(parts[0], f"{provider} workflow id"))

    def __str__(self) -> str:
        if self.provider == "databar":
            return f"databar:{self.kind}/{self.id}"
        if self.org is not None:
            return f"{self.provider}:{self.org}/{self.id}"
        return f"{self.provider}:{self.id}"


@attrs.frozen
class Run:
    """One workflow run as last seen: an immutable snapshot; ``client.refresh(run)`` gives a newer one.

    ``provider_status`` is the provider's own word (``processing``, ``DONE``...); ``status`` is the
    uniform :class:`Status`. ``raw`` is the provider's last response body, for what flowdeck does
    not model.
    """

    provider: str
    workflow: WorkflowRef
    id: str
    status: Status
    provider_status: str
    outputs: Any = None
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    url: str | None = None
    raw: Any = attrs.field(default=None, repr=False, eq=False)

    @property
    def is_terminal(self) -> bool:
        """True once the run can no longer change."""
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        """True if the run ended SUCCEEDED."""
        return self.status is Status.SUCCEEDED


@attrs.frozen
class TaskOutput:
    """One task execution of a SuperAI flow execution: where SuperAI keeps outputs."""

    name: str
    index: int | None
    status: str
    output: Any = None
    error: str | None = None
