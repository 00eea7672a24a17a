"""``flowdeck doctor``: is each provider usable with this environment? Never prints a secret (an email is not one).

Each provider's state comes from the registry's declaration and the same checks the client makes
before its first request (URLs, credentials, header safety), so doctor and the client cannot
disagree. Nothing is sent unless asked: :func:`reach` (``--network``) tries each base URL without
credentials; :func:`verify` (``--verify``) makes one cheap authenticated read per ready provider, the
read its module declares (``Checks.verify``), and says whether the provider accepted the credential.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import httpx

from flowdeck import _providers
from flowdeck._config import ProviderConfig, shown_url
from flowdeck._errors import (
    ConfigurationError,
    FlowdeckError,
    InsecureTransportError,
    MissingCredentialError,
    TransportError,
)


class Verdict(enum.Enum):
    """What the provider said of the credential (``--verify``)."""

    VALID = "valid"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    UNVERIFIED = "not verified"


class State(enum.Enum):
    """Whether a provider can be used as configured."""

    READY = "ready"
    NOT_CONFIGURED = "not configured"
    MISCONFIGURED = "misconfigured"


@attrs.frozen
class Diagnosis:
    """One provider's state. ``variables`` maps each of its settings' variables to whether it is set (never
    its value); ``base_url_source`` is where the base URL came from (its variable, or ``default``)."""

    provider: str
    title: str
    state: State
    reason: str | None
    variables: Mapping[str, bool]
    base_url: str
    base_url_source: str
    reachable: str | None = None
    verdict: Verdict | None = None
    verdict_reason: str | None = None

    @property
    def unreachable(self) -> bool:
        """True if ``--network`` or ``--verify`` could not reach the provider."""
        return (self.reachable or "").startswith(UNREACHABLE) or self.verdict is Verdict.UNREACHABLE

    @property
    def usable(self) -> bool:
        """Ready, not found unreachable, and its key not rejected (``--verify``)."""
        return self.state is State.READY and not self.unreachable and self.verdict is not Verdict.REJECTED

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "provider": self.provider,
            "title": self.title,
            "state": self.state.value,
            "usable": self.usable,
            "reason": self.reason,
            "variables": {k: "set" if v else "not set" for k, v in self.variables.items()},
            "base_url": self.base_url,
            "base_url_source": self.base_url_source,
            "reachable": self.reachable,
            **({} if self.verdict is None else {"verify": self.verdict.value, "verify_reason": self.verdict_reason}),
        }


UNREACHABLE = "unreachable"


def insecure_advice(exc: InsecureTransportError) -> str:
    """The command line's advice for a plain-http base URL (the library's names a Python keyword).

    >>> insecure_advice(InsecureTransportError("databar", "db.example", "DATABAR_BASE_URL"))
    'refusing to send credentials to http://db.example over plain http; set DATABAR_BASE_URL to an https:// \
URL (plain http is accepted only for a loopback host)'
    """
    return (
        f"refusing to send credentials to http://{exc.host} over plain http; set {exc.source} to an https:// URL "
        "(plain http is accepted only for a loopback host)"
    )


def diagnose(env: Mapping[str, str] | None = None) -> list[Diagnosis]:
    """Every registered provider's state under ``env`` (default ``os.environ``); sends nothing.

    >>> [(d.provider, d.state.value) for d in diagnose({"DATABAR_API_KEY": "k", "SUPERAI_EMAIL": "a@b.c"})]
    [('databar', 'ready'), ('stackai', 'not configured'), ('gumloop', 'not configured'), ('superai', 'misconfigured')]
    """
    env = dict(os.environ if env is None else env)
    return [_diagnose(provider, provider.configure(env)) for provider in _providers.providers()]


def _diagnose(provider: _providers.Provider, config: ProviderConfig) -> Diagnosis:
    spec = provider.config
    variables = {s.variable: config.is_set(s.key) for s in spec.settings}
    state, reason = State.READY, None
    try:
        provider.make_adapter(config)  # only checks and builds: no request
    except MissingCredentialError as exc:
        if any(config.is_set(s.key) for s in spec.settings):
            state, reason = State.MISCONFIGURED, f"{exc.variable} not set"
        else:
            state, reason = State.NOT_CONFIGURED, f"set {exc.variable}"
    except InsecureTransportError as exc:
        state, reason = State.MISCONFIGURED, insecure_advice(exc)
    except ConfigurationError as exc:
        state, reason = State.MISCONFIGURED, str(exc).removeprefix(f"{provider.name}: ")
    first = spec.urls[0]
    return Diagnosis(
        provider.name,
        provider.title,
        state,
        reason,
        variables,
        shown_url(config.urls[first.key]),
        config.url_sources[first.key],
    )


def reach(diagnoses: Iterable[Diagnosis], timeout: float = 3.0) -> list[Diagnosis]:
    """The diagnoses with ``reachable`` filled in: one GET of each valid base URL, without credentials."""
    out = []
    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        for d in diagnoses:
            if d.state is State.MISCONFIGURED and "base URL" in (d.reason or ""):
                out.append(d)
                continue
            try:
                reached = f"yes (HTTP {http.get(d.base_url).status_code})"
            except httpx.TimeoutException:
                reached = f"{UNREACHABLE} (no answer within {timeout:g}s)"
            except httpx.ConnectError:
                reached = f"{UNREACHABLE} (connection refused, or no such host)"
            except httpx.HTTPError as exc:
                reached = f"{UNREACHABLE} ({type(exc).__name__})"
            out.append(attrs.evolve(d, reachable=reached))
    return out


def verify(
    diagnoses: Iterable[Diagnosis], env: Mapping[str, str] | None = None, timeout: float = 10.0
) -> list[Diagnosis]:
    """The diagnoses with ``verdict`` filled in for ready providers: one authenticated read each, no retries.

    The reason never holds a credential: error messages are scrubbed of the configured secrets where
    they are made (``flowdeck._core``).

    >>> [(d.provider, d.verdict.value) for d in verify(diagnose(mock_env), mock_env) if d.verdict]
    [('databar', 'valid'), ('stackai', 'not verified'), ('gumloop', 'valid'), ('superai', 'valid')]
    """
    from flowdeck._client import Client  # imported only when asked

    env = dict(os.environ if env is None else env)
    out = []
    with Client(env=env, max_retries=0, timeout=timeout) as client:
        for d in diagnoses:
            if d.state is not State.READY:
                out.append(d)
                continue
            checks = _providers.get(d.provider).checks
            if checks.verify is None:
                out.append(attrs.evolve(d, verdict=Verdict.UNVERIFIED, verdict_reason=checks.unverifiable))
                continue
            try:
                verdict, why = Verdict.VALID, client.drive(checks.verify(client.adapter(d.provider)))
            except TransportError as exc:
                verdict, why = Verdict.UNREACHABLE, str(exc)
            except FlowdeckError as exc:
                verdict, why = (Verdict.REJECTED if checks.rejects(exc) else Verdict.UNVERIFIED), str(exc)
            out.append(attrs.evolve(d, verdict=verdict, verdict_reason=why))
    return out


def table(diagnoses: list[Diagnosis]) -> Any:
    """A rich table of the diagnoses (the CLI prints it)."""
    from rich.markup import escape
    from rich.table import Table

    colours = {State.READY: "green", State.NOT_CONFIGURED: "yellow", State.MISCONFIGURED: "red"}
    show_reach = any(d.reachable is not None for d in diagnoses)
    show_verdict = any(d.verdict is not None for d in diagnoses)
    verdict_colours = {
        Verdict.VALID: "green",
        Verdict.REJECTED: "red",
        Verdict.UNREACHABLE: "red",
        Verdict.UNVERIFIED: "yellow",
    }
    result = Table(title="flowdeck providers")
    optional = [*(["reachable"] if show_reach else []), *(["key"] if show_verdict else [])]
    for column in ("provider", "state", "variables", "base URL", *optional):
        result.add_column(column, overflow="fold")
    for d in diagnoses:
        state = f"[{colours[d.state]}]{d.state.value}[/]" + (f": {escape(d.reason)}" if d.reason else "")
        if d.state is State.READY and d.unreachable:  # configured, but of no use from here
            state = f"[red]{UNREACHABLE}[/]"
        elif d.state is State.READY and d.verdict is Verdict.REJECTED:  # configured, but the provider says no
            state = "[red]key rejected[/]"
        variables = "\n".join(f"{name} {'set' if on else '[dim]not set[/]'}" for name, on in d.variables.items())
        source = "" if d.base_url_source == "default" else f" (from {d.base_url_source})"
        row = [d.title, state, variables, escape(d.base_url + source)]
        key = "-"
        if d.verdict is not None:
            key = f"[{verdict_colours[d.verdict]}]{d.verdict.value}[/]: {escape(d.verdict_reason or '')}"
        result.add_row(*row, *([escape(d.reachable or "-")] if show_reach else []), *([key] if show_verdict else []))
    return result


def summary(diagnoses: list[Diagnosis]) -> str:
    """One line: how many providers are usable, which are not and why, and what to do when none is.

    A misconfigured provider is named even when others are ready: its variables are set, so it was
    probably meant to work (the exit code stays 0 while one provider is usable).

    >>> summary(diagnose({"DATABAR_API_KEY": "k", "SUPERAI_EMAIL": "a@b.c"}))
    '1 of 4 providers ready; misconfigured: SuperAI Flows (see the table)'
    """
    ready = [d.title for d in diagnoses if d.usable]
    rejected = [d.title for d in diagnoses if d.verdict is Verdict.REJECTED]
    unreachable = [d.title for d in diagnoses if d.state is State.READY and d.unreachable]
    misconfigured = [d.title for d in diagnoses if d.state is State.MISCONFIGURED]
    trouble = [f"credentials rejected by {', '.join(rejected)}"] if rejected else []
    trouble += [f"unreachable: {', '.join(unreachable)} (check the network and the base URL)"] if unreachable else []
    trouble += [f"misconfigured: {', '.join(misconfigured)} (see the table)"] if misconfigured else []
    if trouble:
        return f"{len(ready)} of {len(diagnoses)} providers ready; {'; '.join(trouble)}"
    if ready:
        return f"{len(ready)} of {len(diagnoses)} providers ready: {', '.join(ready)}"
    return (
        "no provider is usable: set a provider's credentials (see the table), "
        'or serve local mock providers in the background with: eval "$(flowdeck mock --env)"'
    )
