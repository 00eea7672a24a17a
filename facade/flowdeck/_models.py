"""flowdeck's value types: immutable, comparable, safe to log.

This module is a leaf: it imports nothing from flowdeck, so the error module can name :class:`Run`
without an import circle. Validation that raises flowdeck errors (ids, reference syntax) lives in the
provider registry (``flowdeck._providers``), one layer up. The values only a provider's answers
carry (a workflow's description, an account) live in ``flowdeck._details``, loaded with the providers:
building an attrs class compiles its methods, and ``import flowdeck`` builds only what running a
workflow needs.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs


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
        """True once the run has ended: it cannot change again."""
        return self in _TERMINAL


_TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.EXPIRED})


@attrs.frozen
class WorkflowRef:
    """A provider-independent reference to a workflow, written ``<provider>:[<kind>/][<org>/]<id>``.

    Forms: ``databar:flow/<id>``, ``databar:waterfall/<id>``, ``stackai:<org>/<flow>``,
    ``gumloop:<saved_item_id>``, ``superai:<flow uuid>``. ``kind`` is written only by providers with
    more than one kind of workflow (Databar); it is ``None`` elsewhere. Each provider declares its
    syntax in its module under ``flowdeck._providers``.

    Parse one with :func:`flowdeck.parse_ref` (the registry knows each provider's syntax):

    >>> ref = flowdeck.parse_ref("stackai:acme/f123")
    >>> (ref.provider, ref.kind, ref.id, ref.org)
    ('stackai', None, 'f123', 'acme')
    >>> str(ref)
    'stackai:acme/f123'
    >>> str(WorkflowRef("databar", "waterfall", "email_getter"))
    'databar:waterfall/email_getter'
    """

    provider: str
    kind: str | None
    id: str
    org: str | None = None

    def __str__(self) -> str:
        parts = [p for p in (self.kind, self.org, self.id) if p is not None]
        return f"{self.provider}:{'/'.join(parts)}"


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
        """True once the run has ended: it cannot change again."""
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        """True if the run ended SUCCEEDED."""
        return self.status is Status.SUCCEEDED


def credits_text(credits: float) -> str:
    """Credits as people write them: 1,000,000 or 12.5, never 1e+06.

    >>> credits_text(1e6), credits_text(12.5), credits_text(0.125), credits_text(2.0004)
    ('1,000,000', '12.5', '0.125', '2')
    """
    text = f"{credits:,.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
