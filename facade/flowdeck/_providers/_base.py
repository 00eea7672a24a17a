"""The protocol every provider adapter implements, and helpers they share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol

from flowdeck._config import ProviderConfig
from flowdeck._core import Op
from flowdeck._errors import InvalidRequestError, UnknownStatusError, UnsupportedOperationError
from flowdeck._models import Run, Status, WorkflowRef, check_id

MAX_INPUT_BYTES = 1_000_000  # assumption: no provider documents a limit; 1 MB of JSON is far past any real row


class Adapter(Protocol):
    """What flowdeck needs from a provider: start a run, look at it again, cancel it."""

    name: ClassVar[str]

    def __init__(self, config: ProviderConfig) -> None: ...

    def start(self, ref: WorkflowRef, inputs: Mapping[str, Any]) -> Op[Run]:
        """Start ``ref`` with ``inputs``; the returned run may already be terminal (StackAI)."""
        ...

    def refresh(self, run: Run) -> Op[Run]:
        """A newer snapshot of ``run``."""
        ...

    def cancel(self, run: Run) -> Op[Run]:
        """Ask the provider to stop ``run``; :class:`UnsupportedOperationError` if it cannot."""
        ...


def response_id(value: object, what: str) -> str:
    """An id read from a response; raises ValueError (a contract error once mapped) if unusable."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is {type(value).__name__}, not a string")
    try:
        return check_id(value, what)
    except InvalidRequestError as exc:
        raise ValueError(str(exc)) from None


def unset(value: Any) -> Any:
    """The generated clients' ``UNSET`` as ``None``."""
    return None if type(value).__name__ == "Unset" else value


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


def map_status(provider: str, table: Mapping[str, Status], value: object, *, operation: str, raw: Any) -> Status:
    """The uniform status of a provider status string; unknown or mistyped ones are contract errors."""
    if not isinstance(value, str):
        raise TypeError(f"status is {type(value).__name__}, not a string")
    try:
        return table[value]
    except KeyError:
        # body and status code are replaced by the raw response's where the call is finished
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
