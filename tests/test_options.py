"""Client options are spelled out: a misspelt one is a TypeError at runtime and an error for mypy.

This file is type-checked by `make lint` (mypy --strict, so warn_unused_ignores): each
`# type: ignore[call-arg]` below is needed only while mypy rejects the misspelling. If an option
were ever accepted as `**options: Any` again, the ignore would be unused and `make lint` would fail.
"""

from __future__ import annotations

import flowdeck
import pytest


def test_a_misspelt_option_is_refused_by_both_clients() -> None:
    with pytest.raises(TypeError, match="max_retires"):
        flowdeck.Client(max_retires=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="max_retires"):
        flowdeck.AsyncClient(max_retires=3)  # type: ignore[call-arg]


def test_with_options_refuses_a_misspelt_option() -> None:
    with flowdeck.Client(env={}) as client, pytest.raises(TypeError, match="max_retires"):
        client.with_options(max_retires=0)  # type: ignore[call-arg]


def test_provider_namespaces_are_typed_attributes() -> None:
    with flowdeck.Client(env={}) as client:
        with pytest.raises(AttributeError, match="databr"):
            client.databr  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test
        assert type(client.databar).__name__ == "Databar"
        assert client.with_options(max_retries=0).databar._client is not client  # a copy gets its own


def test_every_option_has_the_same_name_on_both_clients() -> None:
    import inspect

    sync = set(inspect.signature(flowdeck.Client).parameters) - {"http_client", "sleep"}
    both = set(inspect.signature(flowdeck.AsyncClient).parameters) - {"http_client", "sleep"}
    assert (
        both - sync == {"max_concurrent_requests", "http_backend", "adaptive_rate"} and sync <= both
    )  # asyncio's alone
