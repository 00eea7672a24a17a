"""`flowdeck doctor`: each provider ready / not configured / misconfigured with the reason; exit 1 when
none is usable or one is misconfigured; --json; never a credential's value; no network unless --network."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flowdeck import _providers
from flowdeck._cli import app
from typer.testing import CliRunner

from tests._cli import closed_port

runner = CliRunner()
KEY, PASSWORD = "db-very-secret-4711", "su-password-0815"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider variable from the machine running the tests may leak into a diagnosis."""
    for provider in _providers.providers():
        for variable in [s.variable for s in provider.config.settings] + [u.variable for u in provider.config.urls]:
            monkeypatch.delenv(variable, raising=False)


def doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    """Run `flowdeck doctor --json` and the table form; return the exit code, the JSON by provider, the table."""
    as_json = runner.invoke(app, ["doctor", "--json", *args], env=env)
    table = runner.invoke(app, ["doctor", *args], env={**env, "COLUMNS": "220"})
    assert as_json.exit_code == table.exit_code, (as_json.output, table.output)
    body = json.loads(as_json.stdout)
    return as_json.exit_code, {p["provider"]: p for p in body["providers"]}, table.output


def test_nothing_configured() -> None:
    """With nothing configured doctor exits 1 and says what to set."""
    code, found, table = doctor({})
    assert code == 1
    assert {p: d["state"] for p, d in found.items()} == dict.fromkeys(_providers.BUILTIN, "not configured")
    assert found["databar"]["reason"] == "set DATABAR_API_KEY"
    assert found["superai"]["reason"] == "set SUPERAI_TOKEN (or SUPERAI_EMAIL and SUPERAI_PASSWORD)"
    assert "no provider is usable" in table and 'eval "$(flowdeck mock --env)"' in table


def test_superai_email_password() -> None:
    """SuperAI's email and password are a ready setup."""
    code, found, table = doctor({"SUPERAI_EMAIL": "me@example.com", "SUPERAI_PASSWORD": PASSWORD})
    assert code == 0
    assert found["superai"]["state"] == "ready" and found["superai"]["reason"] is None
    assert found["superai"]["variables"]["SUPERAI_TOKEN"] == "not set"
    assert "1 of 4 providers ready: SuperAI Flows" in table


INVALID = "invalid base URL in"
MISCONFIGURED = [
    ({"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": "htp://api.databar.ai"}, "databar", f"{INVALID} DATABAR_BASE_URL"),
    ({"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": "/v1/no-host"}, "databar", f"{INVALID} DATABAR_BASE_URL"),
    ({"STACKAI_BASE_URL": "https://"}, "stackai", f"{INVALID} STACKAI_BASE_URL"),
    ({"SUPERAI_TOKEN": "t", "SUPERAI_AUTH_URL": "core.flows.super.ai"}, "superai", f"{INVALID} SUPERAI_AUTH_URL"),
    ({"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": "http://db.example"}, "databar", "credentials to http://db.example"),
    ({"GUMLOOP_API_KEY": KEY}, "gumloop", "GUMLOOP_USER_ID not set"),
    ({"SUPERAI_EMAIL": "me@example.com"}, "superai", "SUPERAI_PASSWORD not set"),
    ({"STACKAI_API_KEY": "two words"}, "stackai", "STACKAI_API_KEY contains characters that cannot be sent"),
]


@pytest.mark.parametrize(("env", "provider", "reason"), MISCONFIGURED)
def test_misconfigured_reason(env: dict[str, str], provider: str, reason: str) -> None:
    """A misconfigured provider names the variable and the reason."""
    code, found, table = doctor(env)
    assert code == 1  # the only provider touched is not usable
    assert found[provider]["state"] == "misconfigured" and reason in found[provider]["reason"]
    assert "misconfigured" in table  # the table's cells wrap to the terminal's width: the JSON has the words


def test_value_never_printed() -> None:
    """A credential's value is never printed, in the table or JSON."""
    env = {
        "DATABAR_API_KEY": KEY, "STACKAI_API_KEY": "sa-key with space 9931", "SUPERAI_EMAIL": "me@example.com",
        "SUPERAI_PASSWORD": PASSWORD, "GUMLOOP_API_KEY": "gl-secret-5523",
        "GUMLOOP_BASE_URL": "https://user:gl-url-secret-77@api.gumloop.com/api/v1?api_key=gl-query-secret-88",
    }  # fmt: skip
    code, found, table = doctor(env)
    assert code == 1 and found["databar"]["state"] == "ready"  # 1: StackAI and Gumloop are misconfigured
    as_json = runner.invoke(app, ["doctor", "--json"], env=env).output
    for value in (KEY, "sa-key with space 9931", PASSWORD, "gl-secret-5523", "gl-url-secret-77", "gl-query-secret-88"):
        assert value not in table and value not in as_json, value


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_network_only_if_asked(counting_server: tuple[str, list[str]]) -> None:
    """doctor sends no request unless --network is asked for."""
    url, seen = counting_server
    env = {"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": url}
    code, found, _ = doctor(env)
    assert code == 0 and found["databar"]["reachable"] is None and seen == []
    assert runner.invoke(app, ["doctor", "--no-network"], env=env).exit_code == 0 and seen == []
    result = runner.invoke(app, ["doctor", "--network", "--json"], env=env)
    reached = {p["provider"]: p["reachable"] for p in json.loads(result.stdout)["providers"]}
    assert reached["databar"] == "yes (HTTP 404)" and seen == ["/"]


def test_network_unreachable(
    counting_server: tuple[str, list[str]],
) -> None:
    """doctor --network calls an unreachable provider unreachable and exits 1."""
    url, _ = counting_server
    env = {"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": f"http://127.0.0.1:{closed_port()}",
           "GUMLOOP_API_KEY": "g", "GUMLOOP_USER_ID": "u", "GUMLOOP_BASE_URL": url}  # fmt: skip
    code, found, table = doctor(env, "--network")
    assert code == 1
    assert found["databar"]["reachable"] == "unreachable (connection refused, or no such host)"
    assert found["databar"]["usable"] is False and found["gumloop"]["usable"] is True
    summary = table.strip().splitlines()[-1]
    assert summary == ("1 of 4 providers ready; unreachable: Databar (check the network and the base URL)"), summary
    databar_row = next(line for line in table.splitlines() if "Databar" in line)
    assert "unreachable" in databar_row and "ready" not in databar_row
    assert doctor({k: v for k, v in env.items() if not k.startswith("DATABAR")}, "--network")[0] == 0


def test_plain_http_advice() -> None:
    """A plain-http base URL gets the command line's advice, not a Python keyword."""
    code, found, _ = doctor({"DATABAR_API_KEY": KEY, "DATABAR_BASE_URL": "http://db.example"})
    assert code == 1
    assert found["databar"]["reason"] == (
        "refusing to send credentials to http://db.example over plain http; set DATABAR_BASE_URL to an "
        "https:// URL (plain http is accepted only for a loopback host)"
    )


def test_misconfigured_in_summary() -> None:
    """A half-set provider fails the check even beside a ready one (gh auth status), and is named."""
    env = {"DATABAR_API_KEY": KEY, "GUMLOOP_API_KEY": "gl-secret-5523"}
    code, found, table = doctor(env)
    assert code == 1 and found["gumloop"]["state"] == "misconfigured"
    assert doctor({"DATABAR_API_KEY": KEY})[0] == 0  # the others not configured at all: fine
    body = json.loads(runner.invoke(app, ["doctor", "--json"], env=env).stdout)
    assert body["summary"] == "1 of 4 providers ready; misconfigured: Gumloop (see the table)"
    assert "misconfigured: Gumloop" in table


def test_verify_superai_account() -> None:
    """The login email is shown (which account was accepted: not a secret); password and token never are."""
    from flowdeck.testing import MockConfig, MockProviders

    config = MockConfig(superai_password=PASSWORD, superai_token="su-token-1234")
    with MockProviders(config) as mocks:
        env = {k: v for k, v in mocks.env.items() if k != "SUPERAI_TOKEN"}  # log in with email and password
        code, found, table = doctor(env, "--verify")
    assert code == 0
    assert found["superai"]["verify"] == "valid"
    assert found["superai"]["verify_reason"] == "login accepted for mock@example.com"
    for secret in (PASSWORD, "su-token-1234", config.databar_key, config.gumloop_key, config.stackai_key):
        assert secret not in table and secret not in json.dumps(found), secret


def _without_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    for provider in _providers.providers():
        for variable in [s.variable for s in provider.config.settings] + [u.variable for u in provider.config.urls]:
            monkeypatch.delenv(variable, raising=False)


def test_verify_rejected_not_ready(monkeypatch: pytest.MonkeyPatch, mock_env: dict[str, str]) -> None:
    """A key the provider refuses is shown as rejected, never as `ready` beside `rejected: HTTP 403`."""
    _without_providers(monkeypatch)
    monkeypatch.setenv("DATABAR_BASE_URL", mock_env["DATABAR_BASE_URL"])
    monkeypatch.setenv("DATABAR_API_KEY", "not-the-mocks-key")
    table = runner.invoke(app, ["doctor", "--verify"])
    assert table.exit_code == 1, table.output
    [row] = [line for line in table.stdout.splitlines() if "Databar" in line and "DATABAR_API_KEY" in line]
    assert "key rejected" in row and "ready" not in row and "HTTP 403" in row, row
    body = json.loads(runner.invoke(app, ["doctor", "--verify", "--json"]).stdout)
    [databar] = [p for p in body["providers"] if p["provider"] == "databar"]
    assert databar["usable"] is False and body["summary"].startswith("0 of 4 providers ready")
