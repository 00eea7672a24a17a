"""Configured credentials are scrubbed from every message, repr, traceback and log line flowdeck makes,
even when a provider echoes them back in an error body. The raw ``body`` keeps the answer as received."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from typing import Any

import flowdeck
import httpx
import pytest
import respx
from flowdeck._secrets import MIN_EMBEDDED, scrub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests._fakes import BASES, ENV, EXEC_UUID, FakeClock, client

DB, SU, AUTH = BASES["databar"], BASES["superai"], BASES["superai_auth"]
# What a key can be: anything that fits an HTTP header (flowdeck refuses the rest before sending).
KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12, max_size=48)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(logging.DEBUG)
    logger = logging.getLogger("flowdeck")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield seen
    logger.removeHandler(handler)
    logger.setLevel(old)


def texts_of(exc: BaseException, records: list[logging.LogRecord]) -> list[str]:
    logged = [r.getMessage() for r in records]
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc)), *logged]


ECHOES = {
    "401 JSON detail": lambda key: httpx.Response(401, json={"detail": f"invalid key {key}"}),
    "400 field list": lambda key: httpx.Response(400, json={"error": "BAD", "fields": [{"value": key}]}),
    "403 nested error": lambda key: httpx.Response(403, json={"error": {"message": f"key {key} is revoked"}}),
    "502 HTML page": lambda key: httpx.Response(502, text=f"<html>upstream said {key}</html>"),
    "200 breaking the contract": lambda key: httpx.Response(200, json={"task_id": 7, "debug": {"apikey": key}}),
}


@pytest.mark.parametrize("echo", list(ECHOES))
@FUZZ
@given(key=KEYS)
def test_echoed_key_scrubbed(echo: str, key: str, records: list[logging.LogRecord]) -> None:
    """A key echoed in an answer never reaches messages, reprs, tracebacks or logs."""
    records.clear()
    answer = ECHOES[echo](key)
    with respx.mock as mock, client(FakeClock(), env={"DATABAR_API_KEY": key}, max_retries=0) as c:
        mock.get(f"{DB}/v1/tasks/t-1").mock(return_value=answer)
        with pytest.raises(flowdeck.FlowdeckError) as info:
            c.databar.get_task("t-1")
    texts = texts_of(info.value, records)
    assert not [t for t in texts if key in t], texts[0]
    if echo == "401 JSON detail":  # the key was in the message, and eight marker characters replaced it
        assert re.fullmatch(r"databar get_task: HTTP 401: invalid key (.)\1{7}", str(info.value)), str(info.value)
    # The body is the answer as received: the key is still in it (as its docstring says).
    body = info.value.body  # type: ignore[attr-defined]
    if isinstance(info.value, flowdeck.ContractError):
        assert body == answer.content
    else:
        assert body == (answer.json() if answer.headers["content-type"] == "application/json" else answer.text)


@FUZZ
@given(password=KEYS)
def test_echoed_password_scrubbed(password: str, records: list[logging.LogRecord]) -> None:
    """A password echoed by the login is scrubbed too."""
    records.clear()
    env = {**ENV, "SUPERAI_PASSWORD": password}
    with respx.mock as mock, client(FakeClock(), env=env, max_retries=0) as c:
        mock.get(f"{SU}/auth/anon-key").respond(json={"anon_key": "anon-public"})
        mock.post(f"{AUTH}/auth/v1/token").respond(400, json={"error": f"wrong password {password!r}"})
        with pytest.raises(flowdeck.BadRequestError) as info:
            c.superai.get_execution(EXEC_UUID)
    assert not [t for t in texts_of(info.value, records) if password in t]


def test_session_token_scrubbed() -> None:
    """A session token obtained at login is scrubbed."""
    with respx.mock as mock, client(FakeClock(), max_retries=0) as c:
        mock.get(f"{SU}/auth/anon-key").respond(json={"anon_key": "anon-public"})
        token = "jwt-session-0123456789"
        mock.post(f"{AUTH}/auth/v1/token").respond(json={"access_token": token, "expires_in": 3600})
        mock.get(f"{SU}/flow-executions/{EXEC_UUID}").respond(403, json={"error": {"message": f"bad {token}"}})
        with pytest.raises(flowdeck.PermissionDeniedError) as info:
            c.superai.get_execution(EXEC_UUID)
    assert "jwt-session-0123456789" not in str(info.value) + repr(info.value)


@given(
    text=st.text(max_size=80),
    secrets=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4),
)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_scrub_any_text(text: str, secrets: list[str]) -> None:
    """scrub leaves no secret standing alone, whatever the text and secrets."""
    # Secrets planted at the edges and next to each other, where replacement could join pieces.
    planted = secrets[0] + text + "".join(secrets) + text[:3] + secrets[-1]
    out = scrub(planted, secrets)
    assert not [s for s in secrets if len(s) >= MIN_EMBEDDED and s in out]
    # Shorter than any real key: kept inside words, never standing alone.
    assert not [s for s in secrets if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", out)]
    assert scrub("nothing to see", secrets) == "nothing to see" or any(s in "nothing to see" for s in secrets)


def _locals_holding(error: BaseException, secret: str) -> list[str]:
    """Every frame variable, along the error's traceback and its causes, whose repr shows ``secret``.

    What ``pytest -l``, Sentry or ``traceback.TracebackException(capture_locals=True)`` print."""
    found: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename == __file__:  # the test's own frames hold what it was given
                tb = tb.tb_next
                continue
            for name, value in frame.f_locals.items():
                try:
                    shown = repr(value)
                except Exception:  # noqa: S112 - a repr that fails shows nothing
                    continue
                if secret in shown:
                    found.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_code.co_name}:{name}")
            tb = tb.tb_next
        current = current.__cause__ or current.__context__
    return found


KEY = "sk-live-" + "SUPERSECRET-in-locals"


@pytest.mark.parametrize("backend", ["sync", "httpcore", "aiohttp"])
@pytest.mark.parametrize("failure", ["403", "refused"])
async def test_no_key_in_frame_locals(backend: str, failure: str) -> None:
    """No frame of a failed call holds the key in a local variable."""
    from flowdeck.testing import MockProviders

    with MockProviders() as mocks:
        url = mocks.env["DATABAR_BASE_URL"]
        if failure == "refused":
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{s.getsockname()[1]}"
        options: dict[str, Any] = {
            "databar_api_key": KEY,
            "base_urls": {"databar": url},
            "allow_insecure_http": True,
            "max_retries": 0,
        }
        if backend != "sync":
            options["http_backend"] = backend
        with pytest.raises(flowdeck.FlowdeckError) as caught:
            if backend == "sync":
                with flowdeck.Client(env={}, **options) as sync:
                    sync.start("databar:flow/1", {"domain": "a"})
            else:
                async with flowdeck.AsyncClient(env={}, **options) as client:
                    await client.start("databar:flow/1", {"domain": "a"})
    assert _locals_holding(caught.value, KEY) == [], "\n".join(_locals_holding(caught.value, KEY))
