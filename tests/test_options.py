"""Client options are spelled out: a misspelt one is a TypeError at runtime and an error for mypy.

This file is type-checked by `make lint` (mypy --strict, so warn_unused_ignores): each
`# type: ignore[call-arg]` below is needed only while mypy rejects the misspelling. If an option
were accepted as `**options: Any`, the ignore would be unused and `make lint` would fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flowdeck
import pytest


def test_misspelt_option() -> None:
    """A misspelt option is a TypeError on both clients."""
    with pytest.raises(TypeError, match="max_retires"):
        flowdeck.Client(max_retires=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="max_retires"):
        flowdeck.AsyncClient(max_retires=3)  # type: ignore[call-arg]


def test_with_options_misspelt() -> None:
    """with_options refuses a misspelt option."""
    with flowdeck.Client(env={}) as client, pytest.raises(TypeError, match="max_retires"):
        client.with_options(max_retires=0)  # type: ignore[call-arg]


def test_namespaces_typed() -> None:
    """Provider namespaces are typed attributes; a copy gets its own."""
    with flowdeck.Client(env={}) as client:
        with pytest.raises(AttributeError, match="databr"):
            client.databr  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test
        assert type(client.databar).__name__ == "Databar"
        assert client.with_options(max_retries=0).databar._client is not client  # a copy gets its own


def test_options_same_on_both() -> None:
    """Every option has the same name on both clients, less the async-only ones."""
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


def _options_id(value: object) -> str | None:
    """A test id for a dict of options, as they would be passed: ``initial=0,factor=0.5``."""
    return ",".join(f"{k}={v!r}" for k, v in value.items()) if isinstance(value, dict) else None


@pytest.mark.parametrize(("name", "value"), BAD_OPTIONS)
@pytest.mark.parametrize("kind", [flowdeck.Client, flowdeck.AsyncClient])
def test_bad_option_value(kind: Any, name: str, value: object) -> None:
    """A bad option value is an InvalidRequestError naming it and the value."""
    with pytest.raises(flowdeck.InvalidRequestError) as info:
        kind(env={}, **{name: value})
    assert str(info.value).startswith(f"{name} must be ")
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [-1, 0, float("nan"), "3", True])
def test_async_only_options_checked(value: object) -> None:
    """The async-only options are checked by the same rule."""
    with pytest.raises(flowdeck.InvalidRequestError, match=rf"max_concurrent_requests must be .*{value!r}"):
        flowdeck.AsyncClient(env={}, max_concurrent_requests=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value"), [("max_retries", -1), ("timeout", -1.0), ("timeout", float("nan"))])
def test_with_options_checks(name: str, value: Any) -> None:
    """with_options checks its values too."""
    with flowdeck.Client(env={}) as client, pytest.raises(flowdeck.InvalidRequestError, match=f"^{name} must be "):
        client.with_options(**{name: value})


async def test_async_with_options_checks() -> None:
    """The async client's with_options checks its values too."""
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
    ids=_options_id,
)
def test_good_options_kept(options: dict[str, Any]) -> None:
    """Sound option values, edges included, are kept."""
    with flowdeck.Client(env={}, **options) as client:
        assert client.with_options(**{k: v for k, v in options.items() if k in ("timeout", "max_retries")})


def test_bad_wait_timeout(mock_env: dict[str, str]) -> None:
    """A bad per-call wait timeout is an InvalidRequestError."""
    with flowdeck.Client(env=mock_env) as client:
        run = client.start("gumloop:digest", {"topic": "a"})
        for bad in (-1, float("nan"), "5"):
            with pytest.raises(flowdeck.InvalidRequestError, match=rf"^timeout must be .*{bad!r}"):
                client.wait(run, timeout=bad)  # type: ignore[arg-type]


def test_longest_timeout_works(mock_env: dict[str, str]) -> None:
    """The longest timeout accepted works on every HTTP stack."""
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
        ({"initial": 0}, "initial"),  # no pause between polls
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
    ids=_options_id,
)
def test_bad_poll_policy(options: dict[str, Any], name: str) -> None:
    """A poll policy that would poll without pause or end is refused, naming the field."""
    with pytest.raises(flowdeck.InvalidRequestError, match=f"^PollPolicy: {name} must be .*, not "):
        flowdeck.PollPolicy(**options)


def test_poll_policy_evolved() -> None:
    """A poll policy is checked when evolved too."""
    import attrs

    with pytest.raises(flowdeck.InvalidRequestError, match="initial"):
        attrs.evolve(flowdeck.PollPolicy(), initial=0)


@pytest.mark.parametrize(
    "options",
    [{}, {"initial": 0.01, "max_interval": 0.01}, {"initial": 2, "factor": 1, "max_interval": 2, "max_poll_errors": 0}],
    ids=_options_id,
)
def test_sound_poll_policies(options: dict[str, Any]) -> None:
    """Sound poll policies are kept and pause between polls."""
    policy = flowdeck.PollPolicy(**options)
    assert all(policy.interval(n) > 0 for n in range(5))


@pytest.mark.parametrize("where", ["base_urls", "env"])
def test_base_url_password_hidden(where: str, caplog: pytest.LogCaptureFixture) -> None:
    """A password or key in a base URL never shows in reprs, strings or logs."""
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
def test_unknown_base_urls_key(kind: Any, key: str, suggestion: str | None) -> None:
    """An unknown base_urls key is a typed error naming it and the valid names."""
    with pytest.raises(flowdeck.InvalidRequestError) as info:
        kind(env={}, base_urls={"databar": "https://eu.example", key: "https://x.example"})
    message = str(info.value)
    assert f"named {key!r}" in message
    assert message.endswith("the names are: databar, gumloop, stackai, superai, superai_auth")
    assert (f"did you mean {suggestion!r}?" in message) if suggestion else "did you mean" not in message


def test_url_names_are_keys(mock_env: dict[str, str]) -> None:
    """Every URL name of every provider is a base_urls key."""
    urls = {"databar": mock_env["DATABAR_BASE_URL"], "superai": mock_env["SUPERAI_BASE_URL"]}
    with flowdeck.Client(env={}, superai_token="t", base_urls={**urls, "superai_auth": "https://a.example"}) as c:
        assert c.config("superai").urls == {"base": urls["superai"], "auth": "https://a.example"}


@pytest.mark.parametrize("base_urls", [["databar"], {"databar": None}, {"databar": 42}])
def test_base_urls_shape(base_urls: Any) -> None:
    """base_urls of the wrong shape is an InvalidRequestError."""
    with pytest.raises(flowdeck.InvalidRequestError, match=r"^base_urls"):
        flowdeck.Client(env={}, base_urls=base_urls)


# A client that cannot be used says so, as httpx does, in flowdeck's own error.


def test_closed_client(mock_env: dict[str, str]) -> None:
    """A closed client, and its copies, refuse every call."""
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


async def test_closed_async_client(mock_env: dict[str, str]) -> None:
    """A closed async client refuses every call and re-entry."""
    async with flowdeck.AsyncClient(env=mock_env) as client:
        run = await client.start("gumloop:digest", {"topic": "a"})
    with pytest.raises(flowdeck.ClientStateError, match=r"^this flowdeck.AsyncClient has been closed"):
        await client.refresh(run)
    with pytest.raises(flowdeck.ClientStateError, match="has been closed"):
        await client.wait_many([run])
    with pytest.raises(flowdeck.ClientStateError, match="has been closed"):
        await client.__aenter__()


def test_second_event_loop(mock_env: dict[str, str]) -> None:
    """An async client used in a second event loop says why."""
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


def test_new_client_per_loop(mock_env: dict[str, str]) -> None:
    """An async client made in each event loop serves one loop after another."""
    import asyncio

    async def main() -> bool:
        async with flowdeck.AsyncClient(env=mock_env) as client:
            return (await client.run("gumloop:digest", {"topic": "a"})).succeeded

    assert asyncio.run(main()) and asyncio.run(main())


def test_secret_formats_masked() -> None:
    """A Secret formats as its mask, with any format spec."""
    secret = flowdeck.Secret("sk-live-123")
    masked = "Secret('********')"
    assert f"{secret:>20}|{secret:<20}|{secret}" == f"{masked:>20}|{masked:<20}|{masked}"
    assert "sk-live" not in f"{secret:>40}"


def test_dir_public_names() -> None:
    """dir(flowdeck) shows its public names only."""
    names = dir(flowdeck)
    assert "TYPE_CHECKING" not in names and "_client" not in names
    assert set(flowdeck.__all__) <= set(names) and "__version__" in names
