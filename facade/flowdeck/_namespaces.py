"""The base of each provider's own namespace, ``client.<provider>.<operation>(...)``.

Each provider module defines its two namespaces (sync and async) on these bases; the operations are
one-liners over the adapter, where the logic lives, written once. A namespace needs only a
:class:`Driver` (what a client does), so this module depends on no client.
"""

from __future__ import annotations

from typing import ClassVar, Generic, Protocol, TypeVar, cast

from flowdeck._core import Op
from flowdeck._providers._base import Adapter

A = TypeVar("A", bound=Adapter)
T = TypeVar("T")


class Driver(Protocol):
    """What a namespace needs of :class:`flowdeck.Client`."""

    def adapter(self, provider: str) -> Adapter:
        """The provider's adapter."""
        ...

    def drive(self, op: Op[T]) -> T:
        """Carry out an operation."""
        ...


class AsyncDriver(Protocol):
    """What a namespace needs of :class:`flowdeck.AsyncClient`."""

    def adapter(self, provider: str) -> Adapter:
        """The provider's adapter."""
        ...

    async def drive(self, op: Op[T]) -> T:
        """Carry out an operation."""
        ...


class Namespace(Generic[A]):
    """A provider's operations on the sync client; ``_adapter`` is the provider's adapter, typed."""

    provider: ClassVar[str]

    def __init__(self, client: Driver) -> None:
        self._client = client

    @property
    def _adapter(self) -> A:
        return cast(A, self._client.adapter(self.provider))

    def __repr__(self) -> str:
        return f"<{self.provider} operations of {type(self._client).__name__}>"


class AsyncNamespace(Generic[A]):
    """A provider's operations on the async client."""

    provider: ClassVar[str]

    def __init__(self, client: AsyncDriver) -> None:
        self._client = client

    @property
    def _adapter(self) -> A:
        return cast(A, self._client.adapter(self.provider))

    def __repr__(self) -> str:
        return f"<{self.provider} operations of {type(self._client).__name__}>"
