"""The command line's single-run commands: run, status, cancel, usage errors, output shape, config, doctor."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import flowdeck
import pytest
from flowdeck._cli import app, batch, batch_run, inputs, run, status
from flowdeck.testing import MockConfig, MockProviders
from typer.testing import CliRunner

from tests._cli import (
    bash,
    interrupt_when,
    one_line_error,
    reap_spawned,  # noqa: F401 - an autouse fixture: no spawned process outlives its test
    spawn,
)
from tests._cli import flowdeck as run_flowdeck

runner = CliRunner()


@pytest.fixture
def slow_mocks() -> Any:
    with MockProviders(MockConfig(seed=5, run_seconds=(20.0, 20.0))) as mocks:
        yield mocks


def test_run_json(mock_env: dict[str, str]) -> None:
    """run --json prints the run with its outputs as JSON."""
    result = runner.invoke(app, ["run", "databar:flow/cli", "-i", "domain=stripe.com", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["status"] == "SUCCEEDED" and body["outputs"]["inputs"] == {"domain": "stripe.com"}


def test_run_failure_exit_1(mock_env: dict[str, str]) -> None:
    """A failed run exits 1 with the provider's reason."""
    result = runner.invoke(app, ["run", "gumloop:fail-flow", "-i", "topic=x"])
    assert result.exit_code == 1
    assert "FAILED" in result.output and "rate limited by upstream model" in result.output


def test_version() -> None:
    """--version prints flowdeck's version."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"flowdeck {flowdeck.__version__}"


def test_colon_equals_typed(served_mocks: MockProviders, mock_env: dict[str, str]) -> None:
    """-i key:=<json> keeps its JSON type; key=value stays a string."""
    flow = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    args = ["run", f"superai:{flow}", "-i", "file_key=a.pdf", "-i", "pages:=3", "-i", 'tags:=["x", 1]',
            "-i", "strict:=true", "-i", "label=3", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["run_id"]
    sent = next(r.inputs for r in served_mocks.states["superai"].runs.values() if r.id == run_id)
    assert sent == {"file_key": "a.pdf", "pages": 3, "tags": ["x", 1], "strict": True, "label": "3"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "pages:=[1,"], "-i 'pages:=[1,': the value after := is not JSON"),
        (["-i", "novalue"], "expected key=value (a string) or key:=<json>"),
        (["-i", "=x"], "expected key=value"),
        (["--timeout", "-5"], "-5 must be more than 0 seconds"),
        (["--timeout", "0"], "0 must be more than 0 seconds"),
        (["--bogus"], "No such option: --bogus"),
    ],
)
def test_run_usage_errors(served_mocks: MockProviders, mock_env: dict[str, str], args: list[str], message: str) -> None:
    """run's usage errors are one line and send nothing."""
    before = served_mocks.start_count
    line = one_line_error(runner.invoke(app, ["run", "superai:7c9e6679-7425-40de-944b-e07fc1f90ae7", *args]))
    assert message in line
    assert served_mocks.start_count == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1', "line 1: not valid JSON"),
        (b"[1, 2]", "must hold a JSON object, got list"),
        (b'{"name": "caf\xe9"}', "line 1: byte 0xe9 at column 14 is not utf-8; a JSON file must be UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "is a binary file"),
    ],
)
def test_inputs_file_errors(mock_env: dict[str, str], tmp_path: Path, content: bytes, message: str) -> None:
    """A bad --inputs file is a one-line error."""
    inputs = tmp_path / "in.json"
    inputs.write_bytes(content)
    assert message in one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs)]))


def test_missing_inputs_file(mock_env: dict[str, str], tmp_path: Path) -> None:
    """A missing --inputs file is a one-line error."""
    line = one_line_error(runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(tmp_path / "none.json")]))
    assert "no such file" in line


def test_no_wait_status_cancel(mock_env: dict[str, str], tmp_path: Path) -> None:
    """run --no-wait, then status and cancel by the printed id."""
    inputs = tmp_path / "in.json"
    inputs.write_text(json.dumps({"domain": "a.com"}))
    started = runner.invoke(app, ["run", "databar:flow/x", "--inputs", str(inputs), "--no-wait", "--json"])
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.stdout)["run_id"]
    shown = runner.invoke(app, ["status", "databar", run_id, "--json"])
    assert json.loads(shown.stdout)["run_id"] == run_id
    refused = runner.invoke(app, ["cancel", "stackai", "anything"])
    assert refused.exit_code == 2 and "does not support" in refused.output


def test_no_wait_hints(mock_env: dict[str, str]) -> None:
    """run --no-wait prints the commands that follow and cancel the run."""
    result = runner.invoke(app, ["run", "gumloop:nowait-hint", "-i", "topic=x", "--no-wait"])
    assert result.exit_code == 0, result.output
    run_id = re.search(r"run (\S+):", result.stdout)
    assert run_id is not None
    assert f"flowdeck status gumloop {run_id.group(1)}" in result.stderr
    assert f"flowdeck cancel gumloop {run_id.group(1)}" in result.stderr


def test_status_prints_known(slow_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """status and cancel print only what is known of a run, no nulls."""
    for key, value in slow_mocks.env.items():
        monkeypatch.setenv(key, value)
    started = runner.invoke(app, ["run", "databar:flow/known", "-i", "domain=a.com", "--no-wait", "--json"])
    run_id = json.loads(started.stdout)["run_id"]
    for command in ("status", "cancel"):
        result = runner.invoke(app, [command, "databar", run_id, "--json"])
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert None not in body.values(), body  # no "url": null and the like
        assert "workflow" not in body, body  # a run looked up by id: its workflow is not known, not invented
        assert body["run_id"] == run_id and body["provider"] == "databar"
    human = runner.invoke(app, ["status", "databar", run_id])
    assert human.stdout.startswith(f"databar run {run_id}: ") and "databar:run/" not in human.stdout


def test_stackai_status_refused(mock_env: dict[str, str]) -> None:
    """status on StackAI, which has no status endpoint, exits 2."""
    line = one_line_error(runner.invoke(app, ["status", "stackai", "never-existed"]), code=2)
    assert "stackai has no status endpoint" in line and "PENDING" not in line


def test_status_unknown_run(mock_env: dict[str, str]) -> None:
    """status of an unknown run is HTTP 404, naming the provider once."""
    line = one_line_error(runner.invoke(app, ["status", "gumloop", "no-such-run"]), code=1)
    assert "HTTP 404" in line and line.count("gumloop") == 1  # the provider is named once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "nowhere", "x"], "unknown provider 'nowhere'"),
        (["status", "databar", ".."], "databar run id is not a valid id"),
        (["cancel"], "Missing argument 'PROVIDER'"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_command_usage_errors(mock_env: dict[str, str], args: list[str], message: str) -> None:
    """Unknown providers, bad ids, missing arguments and commands are usage errors."""
    assert message in one_line_error(runner.invoke(app, args))


def test_bare_flowdeck_prints_help() -> None:
    """flowdeck with no command prints its help."""
    result = runner.invoke(app, [])
    assert result.exit_code == 0 and "Commands" in result.stdout and "batch" in result.stdout


def test_markup_prints_literally(mock_env: dict[str, str]) -> None:
    """Rich markup and emoji codes in references and inputs print literally."""
    ok = runner.invoke(app, ["run", "gumloop:rocket", "-i", "topic=[bold]x[/bold] :smile:"])
    assert ok.exit_code == 0, ok.output
    assert "gumloop:rocket run " in ok.stderr and "\N{ROCKET}" not in ok.output
    failed = runner.invoke(app, ["run", "gumloop:fail-[red]x", "-i", "topic=x"])
    assert failed.exit_code == 1
    assert "gumloop:fail-[red]x run " in failed.stderr
    refused = one_line_error(runner.invoke(app, ["run", "gumloop:[b]a/b[/b]"]))
    assert "'gumloop:[b]a/b[/b]'" in refused
    echoed = runner.invoke(app, ["run", "databar:flow/echo", "-i", "domain=:rocket: [i]x[/i]"])
    assert echoed.exit_code == 0, echoed.output
    assert json.loads(echoed.stdout.splitlines()[-1])["inputs"] == {"domain": ":rocket: [i]x[/i]"}


def test_piped_output_is_never_wrapped(served_mocks: MockProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output is never wrapped, whatever COLUMNS says."""
    long_domain = "a-very-long-subdomain-name." * 8 + "example.com"
    result = run_flowdeck(
        ["run", "databar:flow/" + "w" * 100, "-i", f"domain={long_domain}", "--json"], served_mocks.env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one JSON object, one line, however long
    assert json.loads(result.stdout)["outputs"]["inputs"]["domain"] == long_domain
    monkeypatch.setenv("COLUMNS", "40")  # what a pipe's reader might have set: still no wrapping
    for key, value in served_mocks.env.items():
        monkeypatch.setenv(key, value)
    human = runner.invoke(app, ["run", "databar:flow/" + "w" * 100, "-i", f"domain={long_domain}"])
    (outputs,) = human.stdout.splitlines()  # the outputs alone on stdout; the run's line on stderr
    first = human.stderr.splitlines()[0]
    assert first.startswith("databar:flow/" + "w" * 100 + " run ") and json.loads(outputs)["inputs"]


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


def test_clients_closed(mock_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every client the command line opens is closed."""
    opened: list[flowdeck.Client] = []
    closed: list[flowdeck.Client] = []

    class Tracked(flowdeck.Client):
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            opened.append(self)

        def close(self) -> None:
            closed.append(self)
            super().close()

    for module in (run, status, inputs, batch):  # each command module that opens a client
        monkeypatch.setattr(module, "Client", Tracked)
    csv = tmp_path / "in.csv"
    csv.write_text("topic\nx\n")
    for args in (
        ["run", "gumloop:closed", "-i", "topic=x"],
        ["status", "gumloop", "no-such-run"],
        ["batch", "gumloop:closed", str(csv), "--out", str(tmp_path / "o.jsonl")],
    ):
        runner.invoke(app, args)
    assert len(opened) == 3 and closed == opened


# --- Ctrl-C and timeouts --------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_during_run(slow_mocks: MockProviders) -> None:
    """Ctrl-C while a run is waited on prints its id and how to follow it."""
    proc = spawn(["run", "gumloop:long-one", "-i", "topic=x"], slow_mocks.env)
    polled = slow_mocks.states["gumloop"].calls
    _, stderr = interrupt_when(proc, lambda: polled["get_pipeline_run"] > 0)  # started, now waiting
    assert proc.returncode == 130, stderr
    (run_id,) = slow_mocks.states["gumloop"].runs
    assert run_id in stderr and "goes on at gumloop" in stderr and "Traceback" not in stderr
    hints = [line.strip() for line in stderr.splitlines() if line.strip().startswith("flowdeck ")]
    assert hints == [f"flowdeck status gumloop {run_id}", f"flowdeck cancel gumloop {run_id}"]
    pasted = bash(hints[0] + " --json", slow_mocks.env)  # the hint, pasted into a shell, follows the run
    assert pasted.returncode == 0, pasted.stderr
    assert json.loads(pasted.stdout)["status"] == "RUNNING"
    cancelled = bash(hints[1], slow_mocks.env)
    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout, cancelled.stderr


@pytest.mark.slow
def test_ctrl_c_stackai_run(slow_mocks: MockProviders) -> None:
    """Ctrl-C while a StackAI run starts says it may or may not have started."""
    proc = spawn(["run", "stackai:acme/long", "-i", "in-0=x"], slow_mocks.env)
    _, stderr = interrupt_when(proc, lambda: slow_mocks.states["stackai"].start_count == 1)
    assert proc.returncode == 130
    assert stderr.strip().splitlines() == [
        "error: interrupted while starting stackai:acme/long: the run may or may not have started; check at stackai"
    ]


def test_run_timeout_hint(slow_mocks: MockProviders) -> None:
    """A run past --timeout names the run and how to follow it."""
    result = run_flowdeck(["run", "databar:flow/slow", "-i", "domain=x", "--timeout", "0.3"], slow_mocks.env)
    assert result.returncode == 1
    (run_id,) = slow_mocks.states["databar"].runs
    assert result.stderr.strip().splitlines() == [
        f"error: run {run_id} still RUNNING after --timeout 0.3s; it goes on at databar: "
        f"follow it with `flowdeck status databar {run_id}`"
    ]


# --- doctor (rebuilt by the provider registry work; kept green here) ------------------------------


def test_plugin_client_on_mocks(flowdeck_client: flowdeck.Client) -> None:
    """The pytest plugin's flowdeck_client fixture runs against the mocks."""
    run = flowdeck_client.run(f"superai:{'7c9e6679-7425-40de-944b-e07fc1f90ae7'}", {"file_key": "x.pdf"})
    assert run.succeeded and run.outputs["extract"]["fields"] == ["file_key"]


def test_environment_untouched(mock_env: dict[str, str]) -> None:
    """The command line leaves os.environ as it found it."""
    before = dict(os.environ)
    runner.invoke(app, ["run", "databar:flow/env", "-i", "domain=x"])
    assert dict(os.environ) == before


async def test_batch_http_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch runs on aiohttp when installed and on httpcore otherwise."""
    from flowdeck._aiohttp import AiohttpTransport
    from flowdeck._transport import ShardedAsyncTransport

    async with batch_run.batch_client() as client:
        assert isinstance(client._http._inner, AiohttpTransport)  # type: ignore[union-attr]
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    async with batch_run.batch_client() as client:
        assert isinstance(client._http._inner.others, ShardedAsyncTransport)  # type: ignore[union-attr]
