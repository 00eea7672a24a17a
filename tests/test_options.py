"""Client options are spelled out: a misspelt one is a TypeError at runtime and an error for mypy.

This file is type-checked by `make lint` (mypy --strict, so warn_unused_ignores): each
`# type: ignore[call-arg]` below is needed only while mypy rejects the misspelling. If an option
were ever accepted as `**options: Any` again, the ignore would be unused and `make lint` would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


# Option values: refused at construction (and by with_options), naming the option and the value,
# never later inside httpx or, worse, after a paid run was started.

BAD_OPTIONS = [
    ("timeout", -1),
    ("timeout", 0),
    ("timeout", float("nan")),
    ("timeout", float("inf")),
    ("timeout", None),
    ("timeout", 1e12),  # overflows asyncio's and the socket layer's clocks
    ("timeout", "30"),
    ("timeout", True),
    ("max_retries", -1),
    ("max_retries", 1.5),
    ("max_retries", "2"),
    ("wait_timeout", -1),
    ("wait_timeout", float("nan")),
    ("wait_timeout", "60"),
    ("max_response_bytes", 0),
    ("max_response_bytes", 100),  # below any ordinary answer: every start would end unknown
    ("max_response_bytes", 2.0**30),
    ("max_response_seconds", 0),
    ("max_response_seconds", -0.5),
    ("max_response_seconds", float("nan")),
    ("max_response_seconds", float("inf")),
]


@pytest.mark.parametrize(("name", "value"), BAD_OPTIONS)
@pytest.mark.parametrize("kind", [flowdeck.Client, flowdeck.AsyncClient])
def test_a_bad_option_value_is_a_typed_error_naming_it(kind: Any, name: str, value: object) -> None:
    with pytest.raises(flowdeck.InvalidRequestError) as info:
        kind(env={}, **{name: value})
    assert str(info.value).startswith(f"{name} must be ")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [-1, 0, float("nan"), "3", True])
def test_async_only_options_are_checked_by_the_same_rule(value: object) -> None:
    with pytest.raises(flowdeck.InvalidRequestError, match=rf"max_concurrent_requests must be .*{value!r}"):
        flowdeck.AsyncClient(env={}, max_concurrent_requests=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value"), [("max_retries", -1), ("timeout", -1.0), ("timeout", float("nan"))])
def test_with_options_checks_its_values_too(name: str, value: Any) -> None:
    with flowdeck.Client(env={}) as client, pytest.raises(flowdeck.InvalidRequestError, match=f"^{name} must be "):
        client.with_options(**{name: value})


async def test_async_with_options_checks_its_values_too() -> None:
    async with flowdeck.AsyncClient(env={}) as client:
        with pytest.raises(flowdeck.InvalidRequestError, match=r"^max_retries must be "):
            client.with_options(max_retries=-1)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0.5, "max_retries": 0, "wait_timeout": None},
        {"timeout": 86_400, "wait_timeout": float("inf")},  # inf: no deadline, as None
        {"timeout": 1, "wait_timeout": 0, "max_response_bytes": 64 * 1024, "max_response_seconds": 0.5},
    ],
)
def test_good_option_values_are_kept(options: dict[str, Any]) -> None:
    with flowdeck.Client(env={}, **options) as client:
        assert client.with_options(**{k: v for k, v in options.items() if k in ("timeout", "max_retries")})


def test_a_bad_wait_timeout_per_call_is_a_typed_error(mock_env: dict[str, str]) -> None:
    with flowdeck.Client(env=mock_env) as client:
        run = client.start("gumloop:digest", {"topic": "a"})
        for bad in (-1, float("nan"), "5"):
            with pytest.raises(flowdeck.InvalidRequestError, match=rf"^timeout must be .*{bad!r}"):
                client.wait(run, timeout=bad)  # type: ignore[arg-type]


def test_the_longest_timeout_accepted_works_on_every_stack(mock_env: dict[str, str]) -> None:
    import asyncio

    with flowdeck.Client(env=mock_env, timeout=86_400) as client:
        assert client.run("gumloop:digest", {"topic": "a"}).succeeded

    async def main(backend: Any) -> bool:
        async with flowdeck.AsyncClient(env=mock_env, timeout=86_400, http_backend=backend) as client:
            return (await client.run("gumloop:digest", {"topic": "a"})).succeeded

    assert asyncio.run(main("httpcore")) and asyncio.run(main("aiohttp"))


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"initial": 0}, "initial"),  # polled without pause: ~1,700 requests for a 2 s run
        ({"initial": -1}, "initial"),
        ({"initial": float("nan")}, "initial"),
        ({"initial": "0.5"}, "initial"),
        ({"factor": 0.5}, "factor"),  # shrinking intervals
        ({"factor": float("inf")}, "factor"),
        ({"max_interval": -1}, "max_interval"),
        ({"max_interval": float("inf")}, "max_interval"),
        ({"initial": 20.0}, "max_interval"),  # above the default cap of 10 s: say which to change
        ({"max_poll_errors": -1}, "max_poll_errors"),
        ({"max_poll_errors": 2.5}, "max_poll_errors"),
        ({"max_poll_errors": True}, "max_poll_errors"),
    ],
)
def test_a_poll_policy_that_would_poll_without_pause_or_end_is_refused(options: dict[str, Any], name: str) -> None:
    with pytest.raises(flowdeck.InvalidRequestError, match=f"^PollPolicy: {name} must be .*, not "):
        flowdeck.PollPolicy(**options)


def test_a_poll_policy_is_checked_when_evolved_too() -> None:
    import attrs

    with pytest.raises(flowdeck.InvalidRequestError, match="initial"):
        attrs.evolve(flowdeck.PollPolicy(), initial=0)


@pytest.mark.parametrize(
    "options",
    [{}, {"initial": 0.01, "max_interval": 0.01}, {"initial": 2, "factor": 1, "max_interval": 2, "max_poll_errors": 0}],
)
def test_sound_poll_policies_are_kept(options: dict[str, Any]) -> None:
    policy = flowdeck.PollPolicy(**options)
    assert all(policy.interval(n) > 0 for n in range(5))


@pytest.mark.parametrize("where", ["base_urls", "env"])
def test_a_password_in_a_base_url_never_shows(where: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="flowdeck")
    url = "https://user:s3cret-pw@127.0.0.1:1/v1?api_key=s3cret-key"
    env = {"DATABAR_API_KEY": "db-key-0001", **({"DATABAR_BASE_URL": url} if where == "env" else {})}
    options: dict[str, Any] = {"base_urls": {"databar": url}} if where == "base_urls" else {}
    with flowdeck.Client(env=env, max_retries=0, **options) as client:
        config = client.config("databar")
        texts = [repr(config), str(config), repr(client), f"{config}"]
        assert "'https://***@127.0.0.1:1/v1'" in repr(config)  # as flowdeck doctor shows it
        with pytest.raises(flowdeck.TransportError) as info:  # nothing listens on port 1
            client.databar.get_task("t-1")
        texts += [str(info.value), repr(info.value), *(r.getMessage() for r in caplog.records)]
    assert not any("s3cret" in text for text in texts)


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [("databr", "databar"), ("superai_atuh", "superai_auth"), ("Gumloop", "gumloop"), ("x", None)],
)
@pytest.mark.parametrize("kind", [flowdeck.Client, flowdeck.AsyncClient])
def test_an_unknown_base_urls_key_is_a_typed_error_naming_it(kind: Any, key: str, suggestion: str | None) -> None:
    with pytest.raises(flowdeck.InvalidRequestError) as info:
        kind(env={}, base_urls={"databar": "https://eu.example", key: "https://x.example"})
    message = str(info.value)
    assert f"named {key!r}" in message
    assert message.endswith("the names are: databar, gumloop, stackai, superai, superai_auth")
    assert (f"did you mean {suggestion!r}?" in message) if suggestion else "did you mean" not in message


def test_every_url_name_of_every_provider_is_a_base_urls_key(mock_env: dict[str, str]) -> None:
    urls = {"databar": mock_env["DATABAR_BASE_URL"], "superai": mock_env["SUPERAI_BASE_URL"]}
    with flowdeck.Client(env={}, superai_token="t", base_urls={**urls, "superai_auth": "https://a.example"}) as c:
        assert c.config("superai").urls == {"base": urls["superai"], "auth": "https://a.example"}


@pytest.mark.parametrize("base_urls", [["databar"], {"databar": None}, {"databar": 42}])
def test_base_urls_of_the_wrong_shape_are_a_typed_error(base_urls: Any) -> None:
    with pytest.raises(flowdeck.InvalidRequestError, match=r"^base_urls"):
        flowdeck.Client(env={}, base_urls=base_urls)


# A client that cannot be used says so, as httpx does, in flowdeck's own error.


def test_a_closed_client_refuses_every_call(mock_env: dict[str, str]) -> None:
    client = flowdeck.Client(env=mock_env)
    run = client.start("gumloop:digest", {"topic": "a"})
    copy = client.with_options(max_retries=0)
    client.close()
    calls: list[Callable[[], object]] = [
        lambda: client.start("gumloop:digest", {"topic": "a"}),
        lambda: client.refresh(run),
        lambda: copy.refresh(run),  # copies share the connections, so they close with it
        lambda: client.gumloop.get_run(run.id),
        lambda: client.wait_many([run]),
        lambda: list(client.as_completed([run])),
        lambda: client.__enter__(),
    ]
    for call in calls:
        with pytest.raises(flowdeck.ClientStateError, match=r"^this flowdeck.Client has been closed"):
            call()
    client.close()  # closing twice is harmless, as in httpx


async def test_a_closed_async_client_refuses_every_call(mock_env: dict[str, str]) -> None:
    async with flowdeck.AsyncClient(env=mock_env) as client:
        run = await client.start("gumloop:digest", {"topic": "a"})
    with pytest.raises(flowdeck.ClientStateError, match=r"^this flowdeck.AsyncClient has been closed"):
        await client.refresh(run)
    with pytest.raises(flowdeck.ClientStateError, match="has been closed"):
        await client.wait_many([run])
    with pytest.raises(flowdeck.ClientStateError, match="has been closed"):
        await client.__aenter__()


def test_an_async_client_used_in_a_second_event_loop_says_why(mock_env: dict[str, str]) -> None:
    import asyncio

    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    client = flowdeck.AsyncClient(env=mock_env)
    try:
        run = first.run_until_complete(client.start("gumloop:digest", {"topic": "a"}))  # its connection stays pooled
        with pytest.raises(flowdeck.ClientStateError, match="first used in another event loop") as info:
            second.run_until_complete(client.refresh(run))
        assert isinstance(info.value, RuntimeError)  # as httpx's own "client has been closed"
        with pytest.raises(flowdeck.ClientStateError, match="can only be closed there"):
            second.run_until_complete(client.with_options(max_retries=0).close())
    finally:
        first.run_until_complete(client._http.aclose())  # what close() in the right loop does
        first.close()
        second.close()


def test_an_async_client_serves_one_loop_after_another_when_made_in_each(mock_env: dict[str, str]) -> None:
    import asyncio

    async def main() -> bool:
        async with flowdeck.AsyncClient(env=mock_env) as client:
            return (await client.run("gumloop:digest", {"topic": "a"})).succeeded

    assert asyncio.run(main()) and asyncio.run(main())


def test_a_secret_formats_as_its_mask() -> None:
    secret = flowdeck.Secret("sk-live-123")
    masked = "Secret('********')"
    assert f"{secret:>20}|{secret:<20}|{secret}" == f"{masked:>20}|{masked:<20}|{masked}"
    assert "sk-live" not in f"{secret:>40}"


def test_dir_of_the_package_shows_its_public_names_only() -> None:
    names = dir(flowdeck)
    assert "TYPE_CHECKING" not in names and "_client" not in names
    assert set(flowdeck.__all__) <= set(names) and "__version__" in names
