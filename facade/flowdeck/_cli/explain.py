"""The one line a user reads for an error, in the command line's terms (what to check, which variable)."""

from __future__ import annotations

import os

import httpx

from flowdeck._batch.outcomes import row_error
from flowdeck._config import shown_url
from flowdeck._errors import (
    ApiError,
    FlowdeckError,
    InsecureTransportError,
    MissingCredentialError,
    StartOutcomeUnknown,
    TransportError,
)
from flowdeck._providers import get as provider_spec
from flowdeck._providers import names as provider_names

_NO_SUCH_HOST = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo",
    "no address associated",
    "name resolution",
    "no such host",
)


def url_of(provider: str, operation: str) -> tuple[str, str]:
    """Where ``operation`` of ``provider`` connects (``host:port``), and what set that URL, to check.

    >>> url_of("gumloop", "start_pipeline")  # doctest: +SKIP
    ('127.0.0.1:1', 'set by GUMLOOP_BASE_URL=http://127.0.0.1:1/api/v1: check it')
    """
    spec = provider_spec(provider)
    config = spec.config.configure(provider, os.environ)
    setting = spec.config.url_of(operation)
    key = setting.key
    url = httpx.URL(config.urls[key])
    where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    doctor = " (flowdeck doctor --network tries it)" if key == spec.config.urls[0].key else ""
    if config.url_sources[key] == setting.variable:
        return where, f"set by {setting.variable}={shown_url(str(url))}: check it{doctor}"
    return where, f"{spec.title}'s own URL ({setting.variable} is not set): check the network{doctor}"


def _unreachable(exc: TransportError) -> str | None:
    """The line for a connection that could not be made: the host and port, why, and the variable that
    set that URL (the HTTP library's own text says none of it); None for other transport failures.

    >>> import httpx
    >>> try:
    ...     raise TransportError("ConnectError: ...", provider="databar", operation="get_task") from httpx.ConnectError(
    ...         "[Errno 111] Connection refused")
    ... except TransportError as exc:
    ...     print(_unreachable(exc))  # doctest: +ELLIPSIS
    databar: cannot connect to ... (connection refused), ...; nothing was sent
    """
    cause = exc.__cause__
    if not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout) or exc.provider not in provider_names():
        return None
    text = str(cause).lower()
    if isinstance(cause, httpx.ConnectTimeout):
        why = "no answer in time"
    elif any(words in text for words in _NO_SUCH_HOST):
        why = "no such host"
    elif "refused" in text or "connect call failed" in text:
        why = "connection refused"
    elif "certificate verify failed" in text:
        why = "its TLS certificate is not trusted: SSL_CERT_FILE names a CA bundle to trust"
    else:
        why = "no connection"
    where, source = url_of(exc.provider, exc.operation)
    sent = "; nothing was sent" + (", so no run was started" if "never sent" in str(exc) else "")
    return f"{exc.provider}: cannot connect to {where} ({why}), {source}{sent}"


def explain(exc: FlowdeckError) -> str:
    """The one line a user reads for ``exc``: what to do, in the command line's terms."""
    if isinstance(exc, TransportError) and (line := _unreachable(exc)) is not None:
        return line
    if isinstance(exc, TransportError | StartOutcomeUnknown) and isinstance(exc.__cause__, httpx.TransportError):
        return row_error(exc)  # in words, as a batch's rows say it
    if isinstance(exc, MissingCredentialError):
        return f"{exc.provider}: no credential; set {exc.variable} (flowdeck doctor shows what is set)"
    if isinstance(exc, InsecureTransportError):
        # The library advises a keyword; the CLI allows https only.
        from flowdeck._doctor import insecure_advice

        return f"{exc.provider}: {insecure_advice(exc)}"
    if (
        isinstance(exc, ApiError)
        and exc.provider in provider_names()
        and provider_spec(exc.provider).checks.rejects(exc)
    ):
        # The provider refuses the credential (perhaps with a 400):
        # name where it came from, never what it is.
        spec = provider_spec(exc.provider)
        how = "flowdeck doctor --verify asks the provider" if spec.checks.verify else spec.checks.unverifiable
        return f"{exc}; check {' / '.join(credential_variables(exc.provider))} ({how})"
    return str(exc)


def credential_variables(provider: str) -> list[str]:
    """The variables of ``provider``'s credential that are set (the ones a refusal is about: SuperAI's
    email and password, or its token), the user's or account's ids among them; all of them if none is.

    >>> credential_variables("databar")
    ['DATABAR_API_KEY']
    """
    settings = provider_spec(provider).config.settings
    return [s.variable for s in settings if os.environ.get(s.variable)] or [s.variable for s in settings]
