"""The normalized specs as schemathesis schemas, and response validation that names the operation."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import schemathesis

ROOT = Path(__file__).resolve().parents[1]


PROVIDERS = ("databar", "stackai", "gumloop", "superai")


@cache
def schema(provider: str) -> Any:
    """The schemathesis schema of a provider's normalized spec (cached: one object per provider)."""
    return schemathesis.openapi.from_path(str(ROOT / "specs" / "normalized" / f"{provider}.yaml"))


def documented_errors(operations: Iterable[str]) -> list[tuple[str, int]]:
    """Each error status (400 and up) the spec documents for each of ``operations`` ("provider opId")."""
    cases = []
    for name in operations:
        provider, op_id = name.split()
        for result in schema(provider).get_all_operations():
            op = result.ok()
            if op.definition.raw.get("operationId") == op_id:
                cases += [(name, int(code)) for code in op.definition.raw["responses"] if int(code) >= 400]
    return cases


@cache
def _routes(provider: str) -> list[tuple[str, re.Pattern[str], Any]]:
    routes = []
    for result in schema(provider).get_all_operations():
        op = result.ok()
        pattern = re.compile("(?:.*?)" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)) + "$")
        routes.append((op.method.upper(), pattern, op))
    return routes


def operation_for(provider: str, method: str, path: str) -> Any:
    """The spec operation serving ``method path`` (the base path prefix may be anything)."""
    for verb, pattern, op in _routes(provider):
        if verb == method and pattern.match(path):
            return op
    raise AssertionError(f"{provider}: {method} {path} is not an operation of the spec")


def validate(provider: str, response: httpx.Response) -> None:
    """Assert ``response`` conforms to the spec; the failure names provider, operation and mismatch."""
    request = response.request
    op = operation_for(provider, request.method, urlsplit(str(request.url)).path)
    response.read()
    try:
        op.validate_response(response)
    except Exception as exc:
        raise AssertionError(f"{provider} {op.definition.raw.get('operationId')} ({op.label}): {exc}") from exc


def validating_hook(provider: str, seen: list[str] | None = None) -> Any:
    """An httpx response hook that validates every response against ``provider``'s spec."""

    def hook(response: httpx.Response) -> None:
        validate(provider, response)
        if seen is not None:
            seen.append(f"{response.request.method} {response.status_code}")

    return hook


def validating_http_client(urls: dict[str, str], seen: list[str] | None = None, **hooks: Any) -> httpx.Client:
    """An httpx client for flowdeck that validates each response against the spec of the provider it came from."""
    from flowdeck._transport import RetryTransport

    by_origin = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}": p for p, u in urls.items()}

    def hook(response: httpx.Response) -> None:
        url = urlsplit(str(response.request.url))
        validating_hook(by_origin[f"{url.scheme}://{url.netloc}"], seen)(response)

    return httpx.Client(
        transport=RetryTransport(httpx.HTTPTransport()),
        event_hooks={"response": [hook], "request": list(hooks.get("request", []))},
    )


def examples(full: int) -> int:
    """How many examples a fuzzing suite draws: ``full`` under ``make contract`` (FLOWDECK_CONTRACT_FULL=1),
    half in ``make test``, whose whole suite must stay under three minutes on two cores. The draws are
    derandomized: the same half every run, a subset of the full run's.

    >>> examples(30) in (15, 30)
    True
    """
    return full if os.environ.get("FLOWDECK_CONTRACT_FULL") == "1" else max(1, full // 2)
