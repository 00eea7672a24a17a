"""One module per provider, each an :class:`~flowdeck._providers._base.Adapter`.

Adapters (and the generated client each imports) load on first use: ``import flowdeck`` stays fast,
and a program that uses one provider never imports the other three.
"""

from __future__ import annotations

import importlib

from flowdeck._config import ProviderConfig
from flowdeck._providers._base import Adapter

ADAPTERS: dict[str, tuple[str, str]] = {
    "databar": ("flowdeck._providers.databar", "DatabarAdapter"),
    "stackai": ("flowdeck._providers.stackai", "StackAIAdapter"),
    "gumloop": ("flowdeck._providers.gumloop", "GumloopAdapter"),
    "superai": ("flowdeck._providers.superai", "SuperAIAdapter"),
}


def make_adapter(config: ProviderConfig) -> Adapter:
    """The adapter for ``config.name``; checks credentials and transport security first."""
    module, name = ADAPTERS[config.name]
    cls: type[Adapter] = getattr(importlib.import_module(module), name)
    return cls(config)


__all__ = ["ADAPTERS", "Adapter", "make_adapter"]
