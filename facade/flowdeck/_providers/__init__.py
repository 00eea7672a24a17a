"""The provider registry: every provider flowdeck knows, each declared by one module.

The built-in providers' modules (``flowdeck._providers.<name>``, each with a ``PROVIDER``) load on
first use, with the generated client each imports: ``import flowdeck`` stays fast, and a program that
uses one provider never imports the other three. Other providers join with :func:`register`.
Client namespaces, reference parsing, ``flowdeck doctor`` and ``flowdeck.testing`` all ask here.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypedDict

from flowdeck._errors import InvalidRequestError
from flowdeck._models import WorkflowRef

if TYPE_CHECKING:
    from flowdeck._providers._base import (
        Adapter,
        AdapterBase,
        Bulk,
        Checks,
        Listed,
        MockSpec,
        Provider,
        RecentRuns,
        RefSyntax,
        RunSupport,
    )
    from flowdeck._providers.databar import AsyncDatabar, Databar
    from flowdeck._providers.gumloop import AsyncGumloop, Gumloop
    from flowdeck._providers.stackai import AsyncStackAI, StackAI
    from flowdeck._providers.superai import AsyncSuperAI, SuperAI
    from flowdeck._secrets import Secret

BUILTIN = ("databar", "stackai", "gumloop", "superai")

_registered: dict[str, Provider] = {}
_lock = threading.Lock()  # first use may come from several threads at once


class Credentials(TypedDict, total=False):
    """The built-in providers' credentials as keyword arguments of ``Client`` and ``AsyncClient`` (each a
    ``Setting.argument`` of its provider); one not given is read from its variable (``DATABAR_API_KEY``...)."""

    databar_api_key: str | Secret | None
    stackai_api_key: str | Secret | None
    gumloop_api_key: str | Secret | None
    gumloop_user_id: str | None
    superai_token: str | Secret | None
    superai_email: str | None
    superai_password: str | Secret | None


def check_credentials(given: Mapping[str, object], client: str) -> None:
    """A ``TypeError`` for a keyword that is no credential, as Python raises for any unknown keyword.

    >>> check_credentials({"databar_apikey": "k"}, "Client")
    Traceback (most recent call last):
    ...
    TypeError: Client.__init__() got an unexpected keyword argument 'databar_apikey'
    """
    for name in given:
        if name not in Credentials.__optional_keys__:
            raise TypeError(f"{client}.__init__() got an unexpected keyword argument {name!r}")


class Namespaces:
    """The types of ``client.<provider>`` for the built-in providers (a registered provider's namespace is
    there too, untyped); each provider's module loads when its namespace is first used."""

    if TYPE_CHECKING:
        databar: Databar
        stackai: StackAI
        gumloop: Gumloop
        superai: SuperAI


class AsyncNamespaces:
    """The types of ``async_client.<provider>`` for the built-in providers."""

    if TYPE_CHECKING:
        databar: AsyncDatabar
        stackai: AsyncStackAI
        gumloop: AsyncGumloop
        superai: AsyncSuperAI


def register(provider: Provider) -> Provider:
    """Add ``provider``; a name already taken (a built-in's too) is a ``ValueError``.

    >>> register(get("databar"))
    Traceback (most recent call last):
    ...
    ValueError: a provider named 'databar' is already registered
    """
    with _lock:
        if provider.name in _registered or provider.name in BUILTIN:
            raise ValueError(f"a provider named {provider.name!r} is already registered")
        _registered[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    """Remove a provider added with :func:`register` (built-ins stay)."""
    with _lock:
        if name in BUILTIN:
            raise ValueError(f"{name!r} is built in")
        _registered.pop(name, None)


@contextmanager
def registered(provider: Provider) -> Iterator[Provider]:
    """``provider`` registered for the duration of a ``with`` block (tests, plugins tried out)."""
    register(provider)
    try:
        yield provider
    finally:
        unregister(provider.name)


def names() -> tuple[str, ...]:
    """Every provider's name, built-ins first; loads nothing."""
    return BUILTIN + tuple(_registered)


def get(name: str) -> Provider:
    """The provider called ``name``; :class:`InvalidRequestError` naming the known ones otherwise.

    >>> get("gumloop").title
    'Gumloop'
    >>> get("gumlop")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    flowdeck.InvalidRequestError: unknown provider 'gumlop' (did you mean 'gumloop'?); expected one of databar, ...
    """
    if name in BUILTIN:
        provider: Provider = importlib.import_module(f"flowdeck._providers.{name}").PROVIDER
        return provider
    try:
        return _registered[name]
    except KeyError:
        import difflib  # only for the error

        close = difflib.get_close_matches(name, names(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidRequestError(
            f"unknown provider {name[:40]!r}{hint}; expected one of {', '.join(names())}"
        ) from None


def providers() -> list[Provider]:
    """Every provider (loading the built-ins' modules)."""
    return [get(name) for name in names()]


def parse_ref(text: str | WorkflowRef) -> WorkflowRef:
    """Parse a workflow reference with its provider's syntax; :class:`InvalidRequestError` naming what is wrong.

    >>> parse_ref("databar:flow/123")
    WorkflowRef(provider='databar', kind='flow', id='123', org=None)
    >>> parse_ref("gumloop:a/b")
    Traceback (most recent call last):
    ...
    flowdeck.InvalidRequestError: gumloop reference must be gumloop:<id>: 'gumloop:a/b'
    """
    if isinstance(text, WorkflowRef):
        return text
    if not isinstance(text, str):
        raise InvalidRequestError(f"workflow reference must be a string, got {type(text).__name__}")
    name, sep, path = text.partition(":")
    if not sep or name not in names():
        import difflib  # only for the error

        close = difflib.get_close_matches(name, names(), n=1) if sep else []
        hint = f" (did you mean {f'{close[0]}:{path}'[:60]!r}?)" if close else ""
        raise InvalidRequestError(
            f"workflow reference {text[:60]!r} must start with one of {', '.join(n + ':' for n in names())}{hint}"
        )
    provider = get(name)
    return provider.refs.parse(provider.name, path)


# Loaded with the first provider module: `import flowdeck` and a new
# client need only names and parse_ref.
_DECLARATIONS = frozenset(
    {
        "Adapter",
        "AdapterBase",
        "Bulk",
        "Checks",
        "Listed",
        "MockSpec",
        "Provider",
        "RecentRuns",
        "RefSyntax",
        "RunSupport",
    }
)


def __getattr__(name: str) -> object:
    if name in _DECLARATIONS:
        from flowdeck._providers import _base

        return getattr(_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILTIN",
    "Adapter",
    "AdapterBase",
    "AsyncNamespaces",
    "Bulk",
    "Checks",
    "Credentials",
    "Listed",
    "MockSpec",
    "Namespaces",
    "Provider",
    "RecentRuns",
    "RefSyntax",
    "RunSupport",
    "check_credentials",
    "get",
    "names",
    "parse_ref",
    "providers",
    "register",
    "registered",
    "unregister",
]
