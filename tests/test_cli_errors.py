"""How a command's failures read: a wrong or missing credential, base URL or host names the variable
to set; a number of no use says why; keys are scrubbed from what is printed, and the exit code is 1 or 2."""

from __future__ import annotations

import functools
import json
import socket
from pathlib import Path

import pytest
from flowdeck import Client
from flowdeck._cli import app
from flowdeck._secrets import scrub
from typer.testing import CliRunner

from tests._cli import (
    closed_port,
    jsonl,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    results,
)

runner = CliRunner()
UUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_plain_http_names_variable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusing plain HTTP names the variable to set, not a Python keyword."""
    monkeypatch.setenv("DATABAR_BASE_URL", "http://example.com")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"]))
    assert "set DATABAR_BASE_URL to an https:// URL" in line
    assert "allow_insecure_http" not in line


def test_rejected_key_names_variable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected key names the variable to check, never the key."""
    monkeypatch.setenv("DATABAR_API_KEY", "not-the-key")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"]), code=1)
    assert "HTTP 403" in line and "check DATABAR_API_KEY" in line
    assert "not-the-key" not in line


def test_rejected_stackai_key(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A rejected StackAI key is not sent to doctor --verify, which cannot check it."""
    monkeypatch.setenv("STACKAI_API_KEY", "not-the-key")
    line = one_line_error(runner.invoke(app, ["run", "stackai:acme/summarize", "-i", "in-0=x"]), code=1)
    assert "check STACKAI_API_KEY" in line and "doctor --verify" not in line
    assert "a key can only be verified by running a flow" in line


def test_one_char_key_readable(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-character key is not scrubbed from inside the words of an error."""
    # A key `a` scrubbed from inside words would leave "d********t********b********r": nothing to read,
    # and no safer (the key is one letter). The line reads as written.
    monkeypatch.setenv("DATABAR_API_KEY", "a")
    line = one_line_error(runner.invoke(app, ["status", "databar", "abc"]), code=1)
    assert line.startswith("error: databar get_task: HTTP 403: "), line
    assert "********" not in line


@pytest.mark.parametrize("key", ["a", "ab", "k3y"])
def test_short_key_scrubbed(key: str) -> None:
    """A short key standing alone in an answer is still scrubbed."""
    # What a provider echoes as a token ("invalid key a") is replaced whatever its length.
    text = f'invalid key {key}; got "{key}" in {{"apikey": "{key}"}} for databar'
    out = scrub(text, [key])
    assert out == 'invalid key ********; got "********" in {"apikey": "********"} for databar'


def test_refused_connection(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection names the host, port and the variable that set them."""
    port = closed_port()
    monkeypatch.setenv("DATABAR_BASE_URL", f"http://127.0.0.1:{port}")
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "-i", "domain=a"]), code=1)
    assert line == (
        f"error: databar: cannot connect to 127.0.0.1:{port} (connection refused), set by "
        f"DATABAR_BASE_URL=http://127.0.0.1:{port}: check it (flowdeck doctor --network tries it); "
        "nothing was sent, so no run was started"
    )
    line = one_line_error(runner.invoke(app, ["status", "databar", "abc"]), code=1)
    assert f"cannot connect to 127.0.0.1:{port} (connection refused), set by DATABAR_BASE_URL=" in line


def test_superai_login_url_named(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """SuperAI's login URL is named when it is the one that cannot connect."""
    port = closed_port()
    monkeypatch.setenv("SUPERAI_AUTH_URL", f"http://127.0.0.1:{port}/api")
    line = one_line_error(runner.invoke(app, ["run", f"superai:{UUID}", "-i", "file_key=x"]), code=1)
    assert line.startswith(
        f"error: superai: cannot connect to 127.0.0.1:{port} (connection refused), set by SUPERAI_AUTH_URL="
    ), line
    assert "ConnectError" not in line and "Errno" not in line


def test_no_such_host_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host that does not resolve is said in words, on either HTTP stack."""
    # No lookup is made (loopback only): the error is what the HTTP library raises for a name that does
    # not resolve, on either of flowdeck's HTTP stacks.
    import httpx
    from flowdeck._cli.explain import explain
    from flowdeck._errors import TransportError

    monkeypatch.delenv("GUMLOOP_BASE_URL", raising=False)
    for text in ("[Errno -2] Name or service not known", "Cannot connect to host x:443 ssl:default [nodename nor "
                 "servname provided, or not known]"):  # fmt: skip
        try:
            raise TransportError("ConnectError: ...", provider="gumloop", operation="get_pl_run") from (
                httpx.ConnectError(text)
            )
        except TransportError as exc:
            assert explain(exc) == (
                "gumloop: cannot connect to api.gumloop.com:443 (no such host), Gumloop's own URL "
                "(GUMLOOP_BASE_URL is not set): check the network (flowdeck doctor --network tries it); "
                "nothing was sent"
            )


def test_wrong_superai_password(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A wrong SuperAI password names the login variables, in a run and a batch."""
    monkeypatch.setenv("SUPERAI_PASSWORD", "wrong-password")
    line = one_line_error(runner.invoke(app, ["run", f"superai:{UUID}", "-i", "file_key=x"]), code=1)
    assert line == (
        "error: superai get_token: HTTP 400: Invalid login credentials; check SUPERAI_EMAIL / SUPERAI_PASSWORD "
        "(flowdeck doctor --verify asks the provider)"
    )
    assert "wrong-password" not in line

    # In a batch: one login refused, the other rows not sent, and the next step is the credential's.
    inputs = jsonl(tmp_path / "in.jsonl", [{"file_key": f"{i}.pdf"} for i in range(4)])
    done = runner.invoke(app, ["batch", f"superai:{UUID}", str(inputs), "--out", str(tmp_path / "o.jsonl"), "--json"])
    assert [r["status"] for r in results(tmp_path / "o.jsonl")] == ["REJECTED", *["NOT_STARTED"] * 3]
    steps = {group["next"].split(", then run: ")[0] for group in json.loads(done.stdout)["failures"]}
    assert steps == {"check SUPERAI_EMAIL / SUPERAI_PASSWORD"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "gumloop:x", "--timeout", "inf"], "'--timeout': inf must be a finite number of seconds"),
        (["run", "gumloop:x", "--timeout", "nan"], "'--timeout': nan must be a finite number of seconds"),
        (["run", "gumloop:x", "--timeout", "0"], "'--timeout': 0 must be more than 0 seconds"),
        (["batch", "gumloop:x", "IN", "--out", "OUT", "--rate", "inf/s"], "--rate 'inf/s': must be a finite number"),
        (["batch", "gumloop:x", "IN", "--out", "OUT", "--rate", "5/d"], "like 10/s, 300/m or 1000/h"),
    ],
)
def test_useless_numbers(args: list[str], message: str, mock_env: dict[str, str], tmp_path: Path) -> None:
    """An infinite, NaN or zero timeout or rate is refused, saying what is wrong."""
    inputs = jsonl(tmp_path / "in.jsonl", [{"topic": "a"}])
    args = [str(inputs) if a == "IN" else str(tmp_path / "o.jsonl") if a == "OUT" else a for a in args]
    assert message in one_line_error(runner.invoke(app, args))


@pytest.mark.parametrize(
    ("value", "variable"),
    [
        ("htp://127.0.0.1:1", "DATABAR_BASE_URL"),
        ("/v1/api", "DATABAR_BASE_URL"),
        ("https://", "DATABAR_BASE_URL"),
        # Each of these is caught before the start is sent, not as a traceback or "may have started".
        ("http://127.0.0.1:80a", "DATABAR_BASE_URL"),
        ("http://127.0.0.1:99999", "DATABAR_BASE_URL"),
        ("http://127.0.0.1:1\t", "DATABAR_BASE_URL"),
        (" http://127.0.0.1:1", "DATABAR_BASE_URL"),
    ],
)
def test_mistyped_base_url(
    mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str, variable: str
) -> None:
    """A mistyped base URL is invalid before any request and names its variable."""
    monkeypatch.setenv("DATABAR_BASE_URL", value)
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"]))
    assert "invalid base URL" in line and variable in line and "insecure" not in line and "refusing" not in line


def test_mistyped_superai_auth_url(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A mistyped SUPERAI_AUTH_URL is named as the invalid variable."""
    monkeypatch.setenv("SUPERAI_AUTH_URL", "htps://auth")
    line = one_line_error(runner.invoke(app, ["run", "superai:7c9e6679-7425-40de-944b-e07fc1f90ae7"]))
    assert "invalid base URL" in line and "SUPERAI_AUTH_URL" in line


def test_missing_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A missing credential is exit 2 naming the variable, and nothing is written."""
    for key in ("DATABAR_API_KEY", "GUMLOOP_API_KEY", "GUMLOOP_USER_ID"):
        monkeypatch.delenv(key, raising=False)
    result = runner.invoke(app, ["run", "databar:flow/1", "-i", "domain=x"])
    assert result.exit_code == 2 and "DATABAR_API_KEY" in result.output
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    result = runner.invoke(app, ["batch", "gumloop:abc", str(csv), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "GUMLOOP_API_KEY" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_start_timeout_in_words(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A start with no answer in time is said in words, never an HTTP library's class name."""
    import flowdeck._cli.run as run_command

    with socket.socket() as listener:  # accepts connections (its backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        monkeypatch.setenv("GUMLOOP_BASE_URL", f"http://127.0.0.1:{listener.getsockname()[1]}")
        monkeypatch.setattr(run_command, "Client", functools.partial(Client, timeout=0.5))
        line = one_line_error(runner.invoke(app, ["run", "gumloop:x", "-i", "a=b"]), code=1)
    assert line == (
        "error: gumloop start_pipeline: no answer in time, after the start request was sent; "
        "the run may have started, so it was not retried"
    )
