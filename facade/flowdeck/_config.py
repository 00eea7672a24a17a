"""Configuration: what each provider needs (declared in its module), read from explicit arguments, then
the environment. Secret values are held as :class:`~flowdeck.Secret` and never print.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

import attrs
import httpx

from flowdeck._errors import ConfigurationError, InsecureTransportError, InvalidBaseURLError, MissingCredentialError
from flowdeck._secrets import Secret

_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # visible ASCII


@attrs.frozen
class Setting:
    """One value a provider is configured with: its key, its environment variable, whether it is secret.

    ``header`` says the value is sent in an HTTP header, so it must be visible ASCII. ``argument`` is
    the keyword of :class:`flowdeck.Client` that sets it explicitly, for the built-in providers.
    """

    key: str
    variable: str
    secret: bool = True
    header: bool = True
    argument: str | None = None


@attrs.frozen
class URLSetting:
    """A URL a provider talks to: overridable by ``Client(base_urls={name: ...})`` or ``variable``.

    ``operations``: the operations sent to this URL (by their generated names); every other operation
    goes to the first URL, the base URL.
    """

    key: str
    name: str
    variable: str
    default: str
    operations: tuple[str, ...] = ()


@attrs.frozen
class ConfigSpec:
    """What one provider needs configured.

    ``requires`` lists alternatives, each a tuple of setting keys that together make the provider
    usable (SuperAI: a token, or an email and a password). The first URL is the API's base URL.
    """

    settings: tuple[Setting, ...]
    urls: tuple[URLSetting, ...]
    requires: tuple[tuple[str, ...], ...]

    def setting(self, key: str) -> Setting:
        """The setting named ``key``."""
        return next(s for s in self.settings if s.key == key)

    def url_of(self, operation: str) -> URLSetting:
        """The URL ``operation`` is sent to (the base URL unless another URL lists it).

        >>> spec = ConfigSpec((), (URLSetting("base", "x", "X_URL", "https://x"),
        ...                        URLSetting("auth", "x_auth", "X_AUTH_URL", "https://a", ("login",))), ())
        >>> spec.url_of("login").key, spec.url_of("get_run").key
        ('auth', 'base')
        """
        return next((u for u in self.urls if operation in u.operations), self.urls[0])

    def configure(
        self,
        name: str,
        env: Mapping[str, str],
        *,
        explicit: Mapping[str, str | Secret | None] | None = None,
        base_urls: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
    ) -> ProviderConfig:
        """This provider's settings: explicit arguments (by ``Setting.argument``) first, then ``env``.

        Nothing is checked here: a missing or malformed value is reported when the provider is used
        (or by ``flowdeck doctor``).
        """
        explicit = explicit or {}
        urls = base_urls or {}
        values: dict[str, Secret | str | None] = {}
        for s in self.settings:
            given = explicit.get(s.argument) if s.argument else None
            raw = given if given is not None else env.get(s.variable)
            values[s.key] = _as_value(raw, secret=s.secret)
        resolved: dict[str, str] = {}
        sources: dict[str, str] = {}
        for u in self.urls:
            if urls.get(u.name):
                resolved[u.key], sources[u.key] = urls[u.name], f"base_urls[{u.name!r}]"
            elif env.get(u.variable):
                resolved[u.key], sources[u.key] = env[u.variable], u.variable
            else:
                resolved[u.key], sources[u.key] = u.default, "default"
            resolved[u.key] = resolved[u.key].rstrip("/")
        return ProviderConfig(name, self, values, resolved, sources, allow_insecure_http)


def _as_value(raw: str | Secret | None, *, secret: bool) -> Secret | str | None:
    if raw is None or raw == "":
        return None
    if secret:
        return raw if isinstance(raw, Secret) else Secret(raw)
    return raw.reveal() if isinstance(raw, Secret) else raw


@attrs.frozen
class ProviderConfig:
    """One provider's resolved settings. Secret values are :class:`Secret`; the repr shows none of them,
    nor a URL's user:password part or query (see :func:`shown_url`).

    ``url_sources`` says where each URL came from (its variable, the ``base_urls`` argument, or
    ``default``), so an error can name what to fix.
    """

    name: str
    spec: ConfigSpec = attrs.field(repr=False)
    values: Mapping[str, Secret | str | None]
    # A URL may carry a password: shown as doctor shows it.
    urls: Mapping[str, str] = attrs.field(repr=lambda urls: repr({k: shown_url(v) for k, v in urls.items()}))
    url_sources: Mapping[str, str]
    allow_insecure_http: bool = False

    @property
    def base_url(self) -> str:
        """The API's base URL (the first URL of the spec)."""
        return self.urls[self.spec.urls[0].key]

    def is_set(self, key: str) -> bool:
        """Whether setting ``key`` has a value."""
        return self.values.get(key) is not None

    def get(self, key: str) -> str | None:
        """The value of setting ``key`` (revealed if secret), or None."""
        value = self.values.get(key)
        return value.reveal() if isinstance(value, Secret) else value

    def require(self, key: str) -> str:
        """The value of ``key``, or :class:`MissingCredentialError` naming its variable."""
        value = self.get(key)
        if value is None:
            raise MissingCredentialError(self.name, self.spec.setting(key).variable)
        return value

    def secrets(self) -> tuple[str, ...]:
        """Every secret value configured: what is scrubbed from messages."""
        return tuple(v.reveal() for v in self.values.values() if isinstance(v, Secret))

    def check(self) -> None:
        """Refuse a configuration that cannot work, before anything is sent; never echoes a secret.

        Checks each URL (a URL with a scheme and a host; https, or http to loopback unless
        ``allow_insecure_http``), then that some alternative of ``spec.requires`` is complete, then
        that values sent in headers can be (visible ASCII).
        """
        for u in self.spec.urls:
            self.check_url(self.urls[u.key], self.url_sources[u.key])
        satisfied = [alt for alt in self.spec.requires if all(self.is_set(k) for k in alt)]
        if not satisfied:
            raise MissingCredentialError(self.name, self._missing())
        for s in self.spec.settings:
            value = self.get(s.key)
            if value is not None and s.header:
                check_header_safe(self.name, s.variable, value)

    def _missing(self) -> str:
        """What to set: the closest alternative's missing variables, or every alternative when none is started."""
        started = [alt for alt in self.spec.requires if any(self.is_set(k) for k in alt)]
        if started:
            alt = max(started, key=lambda a: sum(self.is_set(k) for k in a))
            return " and ".join(self.spec.setting(k).variable for k in alt if not self.is_set(k))
        first, *others = [" and ".join(self.spec.setting(k).variable for k in alt) for alt in self.spec.requires]
        return first + "".join(f" (or {o})" for o in others)

    def check_url(self, url: str, source: str) -> None:
        """``url`` must be http(s) with a host, and may carry credentials over plain http only to loopback.

        It is parsed as the requests will parse it (httpx), and must hold no whitespace: a port like
        ``80a``, a tab or a space pasted in front would otherwise fail only once a start was on its way,
        where a failure cannot tell "never sent" from "may have started".
        """
        try:
            parsed: httpx.URL | None = httpx.URL(url)
        except httpx.InvalidURL:  # e.g. an unclosed IPv6 bracket
            parsed = None
        host = parsed.host if parsed is not None else ""
        if (
            parsed is None
            or parsed.scheme not in ("http", "https")
            or not host
            or not (parsed.port is None or 0 < parsed.port < 65536)  # httpx takes any number
            or any(c.isspace() for c in url)
        ):
            raise InvalidBaseURLError(self.name, source, shown_url(url))
        if parsed.scheme == "https" or self.allow_insecure_http or _is_loopback(host):
            return
        raise InsecureTransportError(self.name, host, source)


def shown_url(url: str) -> str:
    """``url`` safe to print: without a user:password part or a query (a key could be put in either).

    >>> shown_url("https://me:pw@api.example.com/v1?api_key=k")
    'https://***@api.example.com/v1'
    """
    return re.sub(r"//[^/@?#]*@", "//***@", url).split("?")[0].split("#")[0][:80]


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
