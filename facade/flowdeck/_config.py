"""Configuration: explicit arguments first, then the environment. Secrets never print."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from flowdeck._errors import ConfigurationError, InsecureTransportError, MissingCredentialError

_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # visible ASCII: what a token header value can carry

DEFAULT_BASE_URLS = {
    "databar": "https://api.databar.ai",
    "stackai": "https://api.stack-ai.com",
    "gumloop": "https://api.gumloop.com/api/v1",
    "superai": "https://flows.super.ai/api",
}
DEFAULT_SUPERAI_AUTH_URL = "https://core.flows.super.ai"


@attrs.frozen(repr=False)
class Secret:
    """A credential. Its ``repr`` and ``str`` never show the value; call :meth:`reveal` to use it.

    >>> Secret("sk-123")
    Secret('********')
    """

    _value: str

    def reveal(self) -> str:
        """The secret value, for putting into a request header and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def _secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value) if value else None


@attrs.frozen
class ProviderConfig:
    """One provider's settings. ``credentials`` maps a name (``api_key``...) to a :class:`Secret`."""

    name: str
    base_url: str
    credentials: Mapping[str, Secret | None] = attrs.field(factory=dict)
    extra: Mapping[str, str] = attrs.field(factory=dict)
    allow_insecure_http: bool = False

    def require(self, key: str, variable: str) -> Secret:
        """The credential ``key``, or :class:`MissingCredentialError` naming ``variable``.

        A credential that cannot go into an HTTP header (non-ASCII, whitespace, control characters)
        is refused here, naming the variable but never echoing the value.
        """
        value = self.credentials.get(key)
        if value is None:
            raise MissingCredentialError(self.name, variable)
        check_header_safe(self.name, variable, value.reveal())
        return value

    def check_transport(self, url: str | None = None) -> None:
        """Refuse to send credentials over plain http:// unless the host is loopback or it was allowed."""
        parts = urlsplit(url or self.base_url)
        if parts.scheme == "https" or self.allow_insecure_http:
            return
        if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
            return
        raise InsecureTransportError(
            f"{self.name}: refusing to send credentials to {parts.scheme}://{parts.hostname} "
            "(only https, or http to a loopback host; pass allow_insecure_http=True to override)"
        )


def check_header_safe(provider: str, variable: str, value: str) -> str:
    """``value`` if it can go into an HTTP header; else a :class:`ConfigurationError` that never echoes it."""
    if not _HEADER_SAFE.fullmatch(value):
        raise ConfigurationError(
            f"{provider}: {variable} contains characters that cannot be sent in an HTTP header "
            "(whitespace, control or non-ASCII characters); check how it was copied"
        )
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def provider_configs(
    env: Mapping[str, str] | None = None,
    *,
    databar_api_key: str | Secret | None = None,
    stackai_api_key: str | Secret | None = None,
    gumloop_api_key: str | Secret | None = None,
    gumloop_user_id: str | None = None,
    superai_token: str | Secret | None = None,
    superai_email: str | None = None,
    superai_password: str | Secret | None = None,
    base_urls: Mapping[str, str] | None = None,
    allow_insecure_http: bool = False,
) -> dict[str, ProviderConfig]:
    """Build every provider's settings from explicit values, falling back to ``env`` (default ``os.environ``).

    Nothing is required here: a missing credential is reported when that provider is first used.
    """
    env = os.environ if env is None else env
    urls = dict(base_urls or {})

    def url(name: str) -> str:
        return (urls.get(name) or env.get(f"{name.upper()}_BASE_URL") or DEFAULT_BASE_URLS[name]).rstrip("/")

    def pick(explicit: str | Secret | None, variable: str) -> Secret | None:
        return _secret(explicit) if explicit is not None else _secret(env.get(variable))

    def make(name: str, credentials: dict[str, Secret | None], extra: dict[str, str] | None = None) -> ProviderConfig:
        return ProviderConfig(name, url(name), credentials, extra or {}, allow_insecure_http)

    superai_auth = (urls.get("superai_auth") or env.get("SUPERAI_AUTH_URL") or DEFAULT_SUPERAI_AUTH_URL).rstrip("/")
    return {
        "databar": make("databar", {"api_key": pick(databar_api_key, "DATABAR_API_KEY")}),
        "stackai": make("stackai", {"api_key": pick(stackai_api_key, "STACKAI_API_KEY")}),
        "gumloop": make(
            "gumloop",
            {"api_key": pick(gumloop_api_key, "GUMLOOP_API_KEY")},
            {"user_id": gumloop_user_id or env.get("GUMLOOP_USER_ID", "")},
        ),
        "superai": make(
            "superai",
            {
                "token": pick(superai_token, "SUPERAI_TOKEN"),
                "password": pick(superai_password, "SUPERAI_PASSWORD"),
            },
            {"email": superai_email or env.get("SUPERAI_EMAIL", ""), "auth_url": superai_auth},
        ),
    }
