"""One module per provider, each an :class:`~flowdeck._providers._base.Adapter`."""

from __future__ import annotations

from flowdeck._config import ProviderConfig
from flowdeck._providers._base import Adapter
from flowdeck._providers.databar import DatabarAdapter
from flowdeck._providers.gumloop import GumloopAdapter
from flowdeck._providers.stackai import StackAIAdapter
from flowdeck._providers.superai import SuperAIAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "databar": DatabarAdapter,
    "stackai": StackAIAdapter,
    "gumloop": GumloopAdapter,
    "superai": SuperAIAdapter,
}


def make_adapter(config: ProviderConfig) -> Adapter:
    """The adapter for ``config.name``; checks credentials and transport security first."""
    return ADAPTERS[config.name](config)


__all__ = ["ADAPTERS", "Adapter", "make_adapter"]
